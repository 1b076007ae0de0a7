/*
 * cagent: the ceiling of the walk benchmark. A minimal AgentX (RFC 2741)
 * subagent written for cpsmm: it connects to a master's unix socket, opens
 * a session, registers one subtree and answers Get, GetNext and GetBulk
 * from a fixed table of instances loaded from a file, with one read(2) and
 * one write(2) per request and nothing else. It stands for the fastest any
 * subagent can be behind the same snmpd, so the benchmark can say how far
 * cpsmm is from it in the same run.
 *
 * Usage: cagent SOCKET SUBTREE INSTANCES
 *
 * INSTANCES has one instance a line, in any order:
 *   OID TYPE VALUE
 * TYPE is the AgentX varbind type number: 2 Integer (VALUE decimal),
 * 4 OctetString and 64 IpAddress (VALUE hex, "-" for empty), 6 Object
 * Identifier (VALUE dotted), 65 Counter32, 66 Gauge32, 67 TimeTicks
 * (decimal), 70 Counter64 (decimal).
 *
 * Not a general subagent: no Sets (answered notWritable), no contexts, no
 * notifications. Exits when the master closes the session.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	T_OPEN = 1, T_CLOSE = 2, T_REGISTER = 3, T_GET = 5, T_GETNEXT = 6,
	T_GETBULK = 7, T_TESTSET = 8, T_COMMITSET = 9, T_UNDOSET = 10,
	T_CLEANUPSET = 11, T_PING = 13, T_RESPONSE = 18,
	F_NONDEFAULT_CONTEXT = 0x08, F_NBO = 0x10,
	V_INTEGER = 2, V_OCTETS = 4, V_NULL = 5, V_OID = 6, V_IPADDR = 64,
	V_COUNTER32 = 65, V_GAUGE32 = 66, V_TIMETICKS = 67, V_OPAQUE = 68,
	V_COUNTER64 = 70, V_NOSUCHOBJECT = 128, V_ENDOFMIBVIEW = 130,
	MAXSUB = 128,
	E_NOTWRITABLE = 17, E_PARSE = 266,
};

struct oid {
	int n;
	uint32_t s[MAXSUB];
};

struct inst {
	struct oid name;
	int type;
	uint64_t num;         /* Integer, counters, ticks */
	unsigned char *bytes; /* octets, IpAddress */
	int len;
	struct oid oidval; /* ObjectIdentifier */
};

static struct inst *tab;
static int ntab;

static int cmp(const struct oid *a, const struct oid *b)
{
	int n = a->n < b->n ? a->n : b->n;
	for (int i = 0; i < n; i++)
		if (a->s[i] != b->s[i])
			return a->s[i] < b->s[i] ? -1 : 1;
	return (a->n > b->n) - (a->n < b->n);
}

static int parse_oid(const char *p, struct oid *o)
{
	o->n = 0;
	if (*p == '.')
		p++;
	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || o->n == MAXSUB)
			return -1;
		o->s[o->n++] = (uint32_t)v;
		p = end;
		if (*p == '.')
			p++;
		else if (*p)
			return -1;
	}
	return 0;
}

static int cmp_inst(const void *a, const void *b)
{
	return cmp(&((const struct inst *)a)->name, &((const struct inst *)b)->name);
}

static void load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(1);
	}
	char line[8192], o[2048], v[6000];
	int cap = 0, type;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%2047s %d %5999s", o, &type, v) != 3)
			continue;
		if (ntab == cap) {
			cap = cap ? 2 * cap : 256;
			tab = realloc(tab, cap * sizeof *tab);
		}
		struct inst *in = &tab[ntab];
		memset(in, 0, sizeof *in);
		if (parse_oid(o, &in->name) < 0) {
			fprintf(stderr, "bad OID %s\n", o);
			exit(1);
		}
		in->type = type;
		switch (type) {
		case V_OCTETS:
		case V_IPADDR:
		case V_OPAQUE:
			if (strcmp(v, "-") != 0) {
				in->len = strlen(v) / 2;
				in->bytes = malloc(in->len + 1);
				for (int i = 0; i < in->len; i++)
					sscanf(v + 2 * i, "%2hhx", &in->bytes[i]);
			}
			break;
		case V_OID:
			if (parse_oid(v, &in->oidval) < 0) {
				fprintf(stderr, "bad OID value %s\n", v);
				exit(1);
			}
			break;
		case V_INTEGER:
			in->num = (uint32_t)strtol(v, NULL, 10);
			break;
		default:
			in->num = strtoull(v, NULL, 10);
		}
		ntab++;
	}
	fclose(f);
	qsort(tab, ntab, sizeof *tab, cmp_inst);
}

/* Byte order of the PDU at hand: the request's, mirrored in the answer. */
static int nbo;

static uint32_t get32(const unsigned char *p)
{
	if (nbo)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get16(const unsigned char *p)
{
	return nbo ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	if (nbo) {
		p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
	} else {
		p[3] = v >> 24, p[2] = v >> 16, p[1] = v >> 8, p[0] = v;
	}
	return p + 4;
}

static unsigned char *put16(unsigned char *p, uint16_t v)
{
	if (nbo)
		p[0] = v >> 8, p[1] = v;
	else
		p[1] = v >> 8, p[0] = v;
	return p + 2;
}

/* get_oid decodes an OID at p (at most lim bytes); it returns the bytes
 * used or -1. */
static int get_oid(const unsigned char *p, int lim, struct oid *o, int *include)
{
	if (lim < 4)
		return -1;
	int n = p[0], prefix = p[1];
	if (include)
		*include = p[2];
	if (4 + 4 * n > lim || n + 5 > MAXSUB)
		return -1;
	o->n = 0;
	if (prefix) {
		static const uint32_t inet[] = {1, 3, 6, 1};
		memcpy(o->s, inet, sizeof inet);
		o->s[4] = prefix;
		o->n = 5;
	}
	for (int i = 0; i < n; i++)
		o->s[o->n++] = get32(p + 4 + 4 * i);
	return 4 + 4 * n;
}

static unsigned char *put_oid(unsigned char *p, const struct oid *o)
{
	int skip = 0;
	p[1] = 0;
	if (o->n >= 5 && o->s[0] == 1 && o->s[1] == 3 && o->s[2] == 6 && o->s[3] == 1 && o->s[4] > 0 && o->s[4] < 256) {
		p[1] = o->s[4];
		skip = 5;
	}
	p[0] = o->n - skip, p[2] = 0, p[3] = 0;
	p += 4;
	for (int i = skip; i < o->n; i++)
		p = put32(p, o->s[i]);
	return p;
}

static unsigned char *put_octets(unsigned char *p, const unsigned char *b, int len)
{
	p = put32(p, len);
	memcpy(p, b, len);
	p += len;
	while (len++ & 3)
		*p++ = 0;
	return p;
}

static unsigned char *put_vb(unsigned char *p, const struct oid *name, const struct inst *in, int exc)
{
	int type = in ? in->type : exc;
	p = put16(p, type);
	p[0] = p[1] = 0;
	p = put_oid(p + 2, name);
	if (!in)
		return p;
	switch (type) {
	case V_OCTETS:
	case V_IPADDR:
	case V_OPAQUE:
		return put_octets(p, in->bytes, in->len);
	case V_OID:
		return put_oid(p, &in->oidval);
	case V_COUNTER64:
		if (nbo)
			p = put32(p, in->num >> 32), p = put32(p, in->num);
		else
			p = put32(p, in->num), p = put32(p, in->num >> 32);
		return p;
	case V_NULL:
		return p;
	default:
		return put32(p, (uint32_t)in->num);
	}
}

/* next finds the first instance after start (or at it, with include)
 * and before end (when end is not empty); NULL if none. */
static const struct inst *next(const struct oid *start, int include, const struct oid *end)
{
	int lo = 0, hi = ntab;
	while (lo < hi) { /* first index with name >= start */
		int mid = (lo + hi) / 2;
		if (cmp(&tab[mid].name, start) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ntab && !include && cmp(&tab[lo].name, start) == 0)
		lo++;
	if (lo == ntab)
		return NULL;
	if (end->n && cmp(&tab[lo].name, end) >= 0)
		return NULL;
	return &tab[lo];
}

static const struct inst *exact(const struct oid *o)
{
	const struct inst *in = next(o, 1, &(struct oid){0});
	return in && cmp(&in->name, o) == 0 ? in : NULL;
}

static int fd;
static uint32_t session, packet;

static void writeall(const unsigned char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("write");
			exit(1);
		}
		b += w, n -= w;
	}
}

/* header writes a 20-byte header at p; the payload length is filled in by
 * finish. */
static unsigned char *header(unsigned char *p, int type, uint32_t sid, uint32_t tid, uint32_t pid)
{
	p[0] = 1, p[1] = type, p[2] = nbo ? F_NBO : 0, p[3] = 0;
	put32(p + 4, sid);
	put32(p + 8, tid);
	put32(p + 12, pid);
	return p + 20;
}

static void finish(unsigned char *buf, unsigned char *end)
{
	put32(buf + 16, end - buf - 20);
	writeall(buf, end - buf);
}

static unsigned char in[1 << 20], out[1 << 20];
static size_t have;

/* readpdu returns the next whole PDU in in[], reading as needed; its
 * length (header included) goes to *len. */
static unsigned char *readpdu(size_t *len)
{
	static size_t off;
	for (;;) {
		if (have - off >= 20) {
			nbo = in[off + 2] & F_NBO;
			size_t plen = get32(in + off + 16);
			if (plen > sizeof in - 20) {
				fprintf(stderr, "PDU too large\n");
				exit(1);
			}
			if (have - off >= 20 + plen) {
				unsigned char *p = in + off;
				*len = 20 + plen;
				off += *len;
				return p;
			}
		}
		if (off) { /* keep the partial PDU at the start */
			memmove(in, in + off, have - off);
			have -= off, off = 0;
		}
		ssize_t n = read(fd, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(0);
		have += n;
	}
}

/* request sends a PDU of ours (Open, Register) and returns the answer's
 * error. */
static int request(unsigned char *end)
{
	finish(out, end);
	size_t len;
	unsigned char *r = readpdu(&len);
	if (r[1] != T_RESPONSE) {
		fprintf(stderr, "expected a Response, got type %d\n", r[1]);
		exit(1);
	}
	session = get32(r + 4);
	return get16(r + 20 + 4);
}

static void answer(const unsigned char *req, size_t len)
{
	int type = req[1];
	uint32_t sid = get32(req + 4), tid = get32(req + 8), pid = get32(req + 12);
	const unsigned char *p = req + 20, *lim = req + len;
	unsigned char *o = header(out, T_RESPONSE, sid, tid, pid);
	unsigned char *status = o + 4;
	o = put32(o, 0);            /* sysUpTime */
	o = put16(put16(o, 0), 0); /* error, index */
	if (req[2] & F_NONDEFAULT_CONTEXT && (type == T_GET || type == T_GETNEXT || type == T_GETBULK)) {
		if (lim - p < 4)
			goto parse;
		uint32_t clen = get32(p);
		p += 4 + ((clen + 3) & ~3u);
	}
	switch (type) {
	case T_GET:
	case T_GETNEXT:
	case T_GETBULK: {
		int nonrep = 0, maxrep = 0;
		if (type == T_GETBULK) {
			if (lim - p < 4)
				goto parse;
			nonrep = get16(p), maxrep = get16(p + 2);
			p += 4;
		}
		struct oid start[64], end[64];
		int incl[64], n = 0;
		while (p < lim && n < 64) {
			int u = get_oid(p, lim - p, &start[n], &incl[n]);
			if (u < 0)
				goto parse;
			p += u;
			u = get_oid(p, lim - p, &end[n], NULL);
			if (u < 0)
				goto parse;
			p += u;
			n++;
		}
		if (type == T_GET) {
			for (int i = 0; i < n; i++)
				o = put_vb(o, &start[i], exact(&start[i]), V_NOSUCHOBJECT);
			break;
		}
		if (type == T_GETNEXT)
			nonrep = n;
		if (nonrep > n)
			nonrep = n;
		for (int i = 0; i < nonrep; i++) {
			const struct inst *x = next(&start[i], incl[i], &end[i]);
			o = put_vb(o, x ? &x->name : &start[i], x, V_ENDOFMIBVIEW);
		}
		for (int r = 0; r < maxrep && nonrep < n; r++) {
			int more = 0;
			for (int i = nonrep; i < n; i++) {
				const struct inst *x = next(&start[i], incl[i], &end[i]);
				o = put_vb(o, x ? &x->name : &start[i], x, V_ENDOFMIBVIEW);
				if (x) {
					start[i] = x->name, incl[i] = 0, more = 1;
				}
				if (o - out > (long)sizeof out - 8192)
					goto done;
			}
			if (!more)
				break;
		}
		break;
	}
	case T_TESTSET:
		put16(status, E_NOTWRITABLE);
		put16(status + 2, 1);
		break;
	case T_CLEANUPSET:
		return; /* no answer (RFC 2741 7.2.4.4) */
	case T_CLOSE:
		finish(out, o);
		exit(0);
	default: /* Ping, CommitSet, UndoSet */
		break;
	}
done:
	finish(out, o);
	return;
parse:
	put16(status, E_PARSE);
	finish(out, status + 4);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s SOCKET SUBTREE INSTANCES\n", argv[0]);
		return 2;
	}
	struct oid subtree;
	if (parse_oid(argv[2], &subtree) < 0) {
		fprintf(stderr, "bad subtree %s\n", argv[2]);
		return 2;
	}
	load(argv[3]);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) >= sizeof sa.sun_path) {
		fprintf(stderr, "socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror(argv[1]);
		return 1;
	}

	nbo = 1;
	unsigned char *p = header(out, T_OPEN, 0, 0, ++packet);
	p[0] = 5, p[1] = p[2] = p[3] = 0; /* timeout 5 s */
	struct oid none = {0};
	p = put_oid(p + 4, &none);
	static const unsigned char descr[] = "cpsmm C reference subagent";
	p = put_octets(p, descr, sizeof descr - 1);
	if (request(p)) {
		fprintf(stderr, "Open refused\n");
		return 1;
	}
	nbo = 1;
	p = header(out, T_REGISTER, session, 0, ++packet);
	p[0] = 0, p[1] = 127, p[2] = 0, p[3] = 0; /* timeout, priority, range */
	p = put_oid(p + 4, &subtree);
	if (request(p)) {
		fprintf(stderr, "Register refused\n");
		return 1;
	}
	fprintf(stderr, "session %u: %d instances under %s\n", session, ntab, argv[2]);

	for (;;) {
		size_t len;
		unsigned char *req = readpdu(&len);
		if (req[1] == T_RESPONSE) /* to nothing of ours */
			continue;
		answer(req, len);
	}
}
