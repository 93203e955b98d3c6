/*
 * alertsend.c - live alert-latency sender for bench/alert-latency.
 *
 * Sends NetFlow v5 datagrams (30 records each) to a loopback UDP port at a
 * fixed background rate of flow records per second, paced against
 * CLOCK_MONOTONIC, with every record's times rewritten to "now": the
 * header carries the wall clock (unix_secs/unix_nsecs) and a sysUptime
 * against which First/Last give the wanted absolute times (SPEC section 1:
 * ms = unix_secs*1000 + unix_nsecs/1e6 - (uint32)(sysUptime - t)).
 *
 * Into that background it plants patterns at known times, each with its
 * own client (or scanner) address as key, 100.64.0.0 + plant number + 1:
 *
 *   http   the Flowy paper's HTTP download (examples/http-download.flw):
 *          three request flows client -> server:80 (A, TCP flags 0x1b,
 *          500 bytes each) and their three responses server:80 -> client
 *          (B, 0x1b, 50000 bytes each), same port set, every B during A;
 *          the last response completes the pattern.
 *   scan   a port scan (bench/queries/port-scan.flw): 25 TCP SYN-only
 *          flows from the scanner to 25 ports of one target, 100 ms
 *          apart; the 20th completes the pattern (n >= 20).
 *   http3  bench/queries/http-download-3.flw: the client's DNS query
 *          (UDP to port 53) 3.3 s before, then an http download as above.
 *          It is also an http download, so it matches that query too.
 *
 * Background records never complete a pattern: UDP between random hosts
 * (ports >= 1024), TCP to ports other than 80 with flags 0x1b; and, to give
 * the groupers and mergers state to keep, near misses: port 80 flows
 * without SYN/FIN (they fail the group filter, 1%), DNS queries of random
 * clients (1%) and single SYN probes from random sources (0.1%).  Random
 * background addresses lie in 10.0.0.0/8, 172.16.0.0/12 and
 * 192.168.0.0/16; planted ones in 100.64.0.0/10 and 198.18.0.0/15, so no
 * background record can join a planted group.
 *
 * Background records end 1-1000 ms before their datagram is sent and last
 * 0-3 s (under a --max-duration of 5 s); planted ones end before theirs.
 *
 * Timing: the datagram that carries a pattern's completing record is sent
 * by itself, in its own sendmmsg(); CLOCK_REALTIME is read just before that
 * call.  At the end one line per plant goes to the log (-l):
 *   plant TYPE KEY COMPLETE_NS DEADLINE_MS START_NS
 * COMPLETE_NS the wall clock (ns) at the send of the completing datagram
 * (0: it was not sent, a send error),
 * DEADLINE_MS the latest group deadline of the pattern's groups in data
 * time (SPEC section 5: the first record's etime + 1 s for the delta-1s
 * groupers of the http queries, the last probe's etime + 60 s for the
 * rdelta-60s scan grouper): its final match is due at DEADLINE + M + L.
 * Then stdout gets one summary line:
 *   sent D datagrams R records in S s: X datagrams/s Y records/s,
 *   E send errors; plants P
 *
 * Built by meson (bench/alertsend), or: cc -O2 -o alertsend bench/alertsend.c
 * Usage: alertsend [-r RATE] [-t SECONDS] [-T TAIL] [-i INTERVAL]
 *                  [-f FIRST] [-p TYPES] [-b BATCH] [-s SEED] [-l LOG] PORT
 *   -r RATE      records per second, planted ones included (default 100000)
 *   -t SECONDS   seconds during which patterns are planted (default 30)
 *   -T TAIL      background only for this long afterwards, so that the
 *                last patterns' groups close (default 0)
 *   -i INTERVAL  seconds between two plants of the same type (default 0.5);
 *                the types are staggered by INTERVAL / number of types
 *   -f FIRST     seconds before the first plant (default 1)
 *   -p TYPES     comma-separated plant types (default http,scan,http3)
 *   -b BATCH     largest sendmmsg() batch (default 16)
 *   -s SEED      background randomness (default 1)
 *   -l LOG       plant log (default: stderr)
 * Only the loopback address is sent to.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PER_DGRAM 30
#define V5_HDR 24
#define V5_REC 48
#define DGRAM_LEN (V5_HDR + PER_DGRAM * V5_REC)
#define MAX_BATCH 256

enum { T_HTTP, T_SCAN, T_HTTP3, N_TYPES };
static const char *type_name[N_TYPES] = { "http", "scan", "http3" };

/* A flow record with absolute times (wall ms). */
struct rec {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t prot, flags;
	uint32_t pkts, bytes;
	int64_t stime, etime;
};

/* A planted record: sent in the first datagram built at or after due. */
struct item {
	int64_t due_ns;         /* CLOCK_MONOTONIC */
	struct rec r;
	size_t seq;             /* creation order, for a stable sort */
	int plant;
	int completes;          /* its datagram completes the plant */
};

struct plant {
	int type;
	uint32_t key;
	int64_t start_ns;       /* wall clock, planned */
	int64_t deadline_ms;
	int64_t complete_ns;    /* wall clock at the send, 0 = not sent */
};

static struct item *items;
static size_t n_items, cap_items;
static struct plant *plants;
static size_t n_plants, cap_plants;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) * n >> 32);
}

static int64_t
clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		perror("realloc");
		exit(1);
	}
	return p;
}

/* Monotonic -> wall clock mapping, taken once at the start. */
static int64_t mono0, wall0;

static int64_t
wall_ms_at(int64_t mono_ns)
{
	return (wall0 + (mono_ns - mono0)) / 1000000;
}

static void
add_item(int64_t due_ns, const struct rec *r, int plant, int completes)
{
	if (n_items == cap_items) {
		cap_items = cap_items ? 2 * cap_items : 1024;
		items = xrealloc(items, cap_items * sizeof *items);
	}
	items[n_items].due_ns = due_ns;
	items[n_items].r = *r;
	items[n_items].seq = n_items;
	items[n_items].plant = plant;
	items[n_items].completes = completes;
	n_items++;
}

static struct rec
mk(uint32_t src, uint32_t dst, unsigned sport, unsigned dport, unsigned prot,
   unsigned flags, uint32_t pkts, uint32_t bytes, int64_t stime, int64_t etime)
{
	struct rec r = { src, dst, (uint16_t)sport, (uint16_t)dport,
			 (uint8_t)prot, (uint8_t)flags, pkts, bytes, stime,
			 etime };
	return r;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			(uint32_t)(c) << 8 | (uint32_t)(d))

/*
 * The HTTP download of client -> server, complete at monotonic time t:
 * A1..A3 and B1, B2 sent 20 ms before, B3 at t.  Times relative to t
 * (wall ms tw): A = [tw-3000, tw-100], B1..B3 within it (B d A).
 * Returns the latest group deadline (first record's etime + 1 s).
 */
static int64_t
plant_http(int p, uint32_t client, uint32_t server, int64_t t)
{
	int64_t tw = wall_ms_at(t), early = t - 20 * 1000000LL;
	unsigned port0 = 20000 + (unsigned)(p % 40000);
	for (int k = 0; k < 3; k++) {
		struct rec a = mk(client, server, port0 + (unsigned)k, 80, 6,
				  0x1b, 6, 500, tw - 3000 + 100 * k,
				  tw - 200 + 50 * k);
		add_item(early, &a, p, 0);
	}
	for (int k = 0; k < 3; k++) {
		struct rec b = mk(server, client, 80, port0 + (unsigned)k, 6,
				  0x1b, 40, 50000, tw - 2990 + 100 * k,
				  tw - 210 + 45 * k);
		add_item(k < 2 ? early : t, &b, p, k == 2);
	}
	/* A1 ends at tw-200, B1 at tw-210: the A group's deadline is last. */
	return tw - 200 + 1000;
}

static void
new_plant(int type, int64_t start_mono)
{
	if (n_plants == cap_plants) {
		cap_plants = cap_plants ? 2 * cap_plants : 256;
		plants = xrealloc(plants, cap_plants * sizeof *plants);
	}
	int p = (int)n_plants++;
	struct plant *pl = &plants[p];
	memset(pl, 0, sizeof *pl);
	pl->type = type;
	pl->key = IP(100, 64, 0, 0) + (uint32_t)p + 1;
	pl->start_ns = wall0 + (start_mono - mono0);
	uint32_t server = IP(198, 18, 0, 0) + (uint32_t)p + 1;
	if (type == T_HTTP) {
		pl->deadline_ms = plant_http(p, pl->key, server,
					     start_mono + 20 * 1000000LL);
	} else if (type == T_HTTP3) {
		/* DNS query at start, ending 10 ms before; the download
		 * completes 3.28 s later and starts 290 ms after the query
		 * ended (C < A delta 10s). */
		int64_t t = start_mono + 3280 * 1000000LL;
		int64_t tw = wall_ms_at(t);
		struct rec c = mk(pl->key, IP(198, 19, 0, 53), 33000, 53, 17,
				  0, 1, 70, tw - 3300, tw - 3290);
		add_item(start_mono, &c, p, 0);
		int64_t d = plant_http(p, pl->key, server, t);
		int64_t dc = tw - 3290 + 1000;
		pl->deadline_ms = d > dc ? d : dc;
	} else {
		static const unsigned ports[25] = {
			21, 22, 23, 25, 110, 111, 135, 139, 143, 443, 445,
			993, 995, 1433, 1521, 1723, 2049, 3306, 3389, 5432,
			5900, 6379, 8080, 8443, 27017 };
		int64_t last = 0;
		for (int k = 0; k < 25; k++) {
			int64_t t = start_mono + (int64_t)k * 100000000LL;
			int64_t tw = wall_ms_at(t);
			struct rec s = mk(pl->key, server, 40000 + (unsigned)k,
					  ports[(k * 7 + p) % 25], 6, 0x02, 1,
					  44, tw - 3, tw - 1);
			add_item(t, &s, p, k == 19);
			last = tw - 1;
		}
		pl->deadline_ms = last + 60000;
	}
}

static int
cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->due_ns != y->due_ns)
		return x->due_ns < y->due_ns ? -1 : 1;
	/* Same due time: creation order. */
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A background record ending 1-1000 ms before now_ms. */
static void
background(struct rec *r, int64_t now_ms)
{
	uint32_t kind = rnd_below(10000);
	int64_t e = now_ms - 1 - rnd_below(1000);
	int64_t s = e - rnd_below(3000);
	uint32_t c9 = IP(10, 0, 0, 0) | rnd_below(1u << 23);   /* 10.0/9 */
	uint32_t u9 = IP(10, 128, 0, 0) | rnd_below(1u << 23); /* 10.128/9 */
	uint32_t srv = IP(172, 16, 0, 0) | rnd_below(1u << 20);
	unsigned eph = 1024 + rnd_below(64512);
	if (kind < 50) {                /* 0.5%: web request, no SYN/FIN */
		*r = mk(u9, srv, eph, 80, 6, 0x18, 3, 300, s, e);
	} else if (kind < 100) {        /* 0.5%: web response, no SYN/FIN */
		*r = mk(srv, u9, 80, eph, 6, 0x18, 3, 3000, s, e);
	} else if (kind < 200) {        /* 1%: DNS query of a random client */
		*r = mk(c9, IP(192, 168, 0, 53), eph, 53, 17, 0, 1, 70, e, e);
	} else if (kind < 210) {        /* 0.1%: one SYN probe */
		*r = mk(c9, srv, eph, 1 + rnd_below(65535), 6, 0x02, 1, 44,
			e, e);
		if (r->dport == 80 || r->dport == 53)
			r->dport = 81;
	} else if (kind < 6000) {       /* TCP to other ports */
		static const unsigned tp[8] = { 443, 22, 25, 993, 3389, 8443,
						5222, 1935 };
		*r = mk(c9, srv, eph, tp[rnd_below(8)], 6, 0x1b,
			1 + rnd_below(100), 40 + rnd_below(150000), s, e);
	} else {                        /* UDP between random hosts */
		*r = mk(c9, IP(192, 168, 0, 0) | rnd_below(1u << 16), eph,
			1024 + rnd_below(64512), 17, 0, 1 + rnd_below(20),
			40 + rnd_below(30000), s, e);
	}
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One v5 record; uptime `up` is the header's sysUptime at header ms hms. */
static void
encode(uint8_t *p, const struct rec *r, uint32_t up, int64_t hms)
{
	memset(p, 0, V5_REC);
	put32(p, r->src);
	put32(p + 4, r->dst);
	put16(p + 12, 1);
	put16(p + 14, 2);
	put32(p + 16, r->pkts);
	put32(p + 20, r->bytes);
	put32(p + 24, up - (uint32_t)(hms - r->stime));
	put32(p + 28, up - (uint32_t)(hms - r->etime));
	put16(p + 32, r->sport);
	put16(p + 34, r->dport);
	p[37] = r->flags;
	p[38] = r->prot;
	put16(p + 40, 64512);
	put16(p + 42, 64513);
	p[44] = 24;
	p[45] = 16;
}

static void
usage(void)
{
	fprintf(stderr, "usage: alertsend [-r RATE] [-t SECONDS] [-T TAIL] "
		"[-i INTERVAL] [-f FIRST] [-p TYPES] [-b BATCH] [-s SEED] "
		"[-l LOG] PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	double rate = 100000, secs = 30, tail = 0, interval = 0.5, first = 1;
	int batch = 16, c;
	unsigned long long seed = 1;
	const char *logpath = NULL, *types = "http,scan,http3";
	while ((c = getopt(argc, argv, "r:t:T:i:f:p:b:s:l:")) != -1) {
		switch (c) {
		case 'r': rate = atof(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'T': tail = atof(optarg); break;
		case 'i': interval = atof(optarg); break;
		case 'f': first = atof(optarg); break;
		case 'p': types = optarg; break;
		case 'b': batch = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'l': logpath = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 1 || rate < PER_DGRAM || secs < 0 || tail < 0 ||
	    interval <= 0 || batch < 1 || batch > MAX_BATCH)
		usage();
	int port = atoi(argv[optind]);
	if (port <= 0 || port > 65535)
		usage();
	int want[N_TYPES] = { 0 }, ntypes = 0;
	{
		char *s = strdup(types), *save = NULL;
		for (char *t = strtok_r(s, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			int k;
			for (k = 0; k < N_TYPES; k++)
				if (strcmp(t, type_name[k]) == 0)
					break;
			if (k == N_TYPES) {
				fprintf(stderr, "alertsend: unknown type %s\n",
					t);
				return 2;
			}
			if (!want[k])
				ntypes++;
			want[k] = 1;
		}
		free(s);
	}
	rng ^= seed * 0x9e3779b97f4a7c15ULL;
	if (rng == 0)
		rng = 1;

	struct sockaddr_in to;
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
		perror("socket/connect");
		return 1;
	}
	int sndbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);

	/* The plants, all laid out before the first datagram. */
	mono0 = clock_ns(CLOCK_MONOTONIC);
	wall0 = clock_ns(CLOCK_REALTIME);
	const int64_t span_ns[N_TYPES] = { 20000000LL, 1900000000LL,
					   3280000000LL };
	int slot = 0;
	for (int k = 0; k < N_TYPES; k++) {
		if (!want[k])
			continue;
		double off = first + interval * slot++ / ntypes;
		for (int j = 0;; j++) {
			int64_t st = mono0 + (int64_t)((off + j * interval) *
						       1e9);
			/* Completion (and its scan's last probe, 0.5 s
			 * later) within the planting time. */
			if (st + span_ns[k] + 500000000LL >
			    mono0 + (int64_t)(secs * 1e9))
				break;
			new_plant(k, st);
		}
	}
	qsort(items, n_items, sizeof *items, cmp_item);

	static uint8_t buf[MAX_BATCH][DGRAM_LEN];
	struct mmsghdr mm[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < MAX_BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = DGRAM_LEN;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	const double dps = rate / PER_DGRAM;
	const int64_t end = mono0 + (int64_t)((secs + tail) * 1e9);
	const int64_t boot_ms = wall0 / 1000000 - 100000000; /* ~27.8 h up */
	long long attempted = 0, sent = 0, errors = 0;
	unsigned long long records = 0;
	uint32_t seq = 0;
	size_t next_item = 0;
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	for (;;) {
		int64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now >= end)
			break;
		long long due = (long long)((double)(now - t0) / 1e9 * dps) + 1;
		if (attempted >= due) {
			int64_t at = t0 + (int64_t)((double)attempted / dps *
						    1e9);
			struct timespec ts = { (time_t)(at / 1000000000),
					       (long)(at % 1000000000) };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					NULL);
			continue;
		}
		/* Plants completed by the datagrams of this batch (several
		 * when the sender was held up and their records fell due
		 * together); a completing datagram ends the batch. */
		int n = 0, ncomp = 0;
		static int comp[PER_DGRAM];
		int64_t wall = clock_ns(CLOCK_REALTIME);
		int64_t hms = wall / 1000000;
		uint32_t up = (uint32_t)(hms - boot_ms);
		while (n < batch && attempted + n < due) {
			uint8_t *d = buf[n];
			put16(d, 5);
			put16(d + 2, PER_DGRAM);
			put32(d + 4, up);
			put32(d + 8, (uint32_t)(wall / 1000000000));
			put32(d + 12, (uint32_t)(wall % 1000000000));
			put32(d + 16, seq);
			d[20] = 0;
			d[21] = 0;
			put16(d + 22, 0);
			seq += PER_DGRAM;
			for (int r = 0; r < PER_DGRAM; r++) {
				struct rec rec;
				if (next_item < n_items &&
				    items[next_item].due_ns <= now) {
					rec = items[next_item].r;
					if (items[next_item].completes)
						comp[ncomp++] =
						    items[next_item].plant;
					next_item++;
				} else
					background(&rec, hms);
				encode(d + V5_HDR + r * V5_REC, &rec, up, hms);
			}
			n++;
			if (ncomp)
				break;
		}
		int from = 0;
		if (ncomp && n > 1) {
			/* The completing datagram goes alone, after the
			 * others, with the clock read just before it. */
			int r = sendmmsg(fd, mm, (unsigned)(n - 1), 0);
			if (r < 0) {
				errors += n - 1;
			} else {
				sent += r;
				records += (unsigned long long)r * PER_DGRAM;
				errors += n - 1 - r;
			}
			from = n - 1;
		}
		int64_t ts = clock_ns(CLOCK_REALTIME);
		int r = sendmmsg(fd, mm + from, (unsigned)(n - from), 0);
		if (r < 0) {
			if (errno != EINTR && errors == 0)
				perror("sendmmsg");
			errors += n - from;
			r = 0;
		} else {
			errors += n - from - r;
		}
		sent += r;
		records += (unsigned long long)r * PER_DGRAM;
		for (int k = 0; k < ncomp && r > 0; k++)
			plants[comp[k]].complete_ns = ts;
		attempted += n;
	}
	double took = (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;

	FILE *log = stderr;
	if (logpath && (log = fopen(logpath, "w")) == NULL) {
		perror(logpath);
		return 1;
	}
	for (size_t i = 0; i < n_plants; i++) {
		const struct plant *p = &plants[i];
		fprintf(log, "plant %s %u.%u.%u.%u %lld %lld %lld\n",
			type_name[p->type], p->key >> 24, p->key >> 16 & 255,
			p->key >> 8 & 255, p->key & 255,
			(long long)p->complete_ns, (long long)p->deadline_ms,
			(long long)p->start_ns);
	}
	if (log != stderr)
		fclose(log);
	printf("sent %lld datagrams %llu records in %.3f s: %.0f datagrams/s "
	       "%.0f records/s, %lld send errors; plants %zu\n", sent, records,
	       took, sent / took, records / took, errors, n_plants);
	return 0;
}
