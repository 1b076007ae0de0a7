#!/usr/bin/python3
"""Reference subagent for the walk benchmark: Debian's python3-pyagentx
serving the same instances as a cpsmm module (read from a file of
"OID TYPE VALUE" lines), behind an snmpd configured like ours.

Usage: pyagentx_ref.py AGENTX_SOCKET INSTANCES_FILE
Only used by the benchmark to measure the reference in the same run.
"""
import sys
import logging

import pyagentx

SUBTREE = "1.3.6.1.4.1.868.2.4"


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            oid, typ, val = line.rstrip("\n").split(" ", 2)
            rows.append((oid, typ, val))
    return rows


class Table(pyagentx.Updater):
    rows = []

    def update(self):
        for oid, typ, val in self.rows:
            sub = oid[len(SUBTREE) + 1:]
            if typ == "INTEGER":
                self.set_INTEGER(sub, int(val))
            elif typ == "STRING":
                self.set_OCTETSTRING(sub, val)
            elif typ == "IPADDRESS":
                self.set_IPADDRESS(sub, val)
            elif typ == "OID":
                self.set_OBJECTIDENTIFIER(sub, val)
            elif typ == "TIMETICKS":
                self.set_TIMETICKS(sub, int(val))
            elif typ == "COUNTER32":
                self.set_COUNTER32(sub, int(val))


class Agent(pyagentx.Agent):
    def setup(self):
        # A long update period: the benchmark measures serving, not updating.
        self.register(SUBTREE, Table, freq=3600)


def main():
    pyagentx.SOCKET_PATH = sys.argv[1]
    Table.rows = load(sys.argv[2])
    logging.basicConfig(level=logging.WARNING)
    a = Agent()
    try:
        a.start()
    except KeyboardInterrupt:
        pass
    finally:
        a.stop()


if __name__ == "__main__":
    main()
