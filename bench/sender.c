/*
 * sender.c - rate-controlled replay of export datagrams to a loopback UDP
 * port, for flowq's live loss curve (bench/live-loss).
 *
 * Loads datagrams from raw:/ipfix:-style files (split by their own NetFlow
 * v5/v9/IPFIX headers, like collector/framing/raw_split.c) or from pcap/pcapng
 * captures (UDP payloads of Ethernet/raw-IP frames, no reassembly), then
 * sends them round robin at a fixed rate with sendmmsg() in batches, paced
 * against CLOCK_MONOTONIC so that the average rate is exact even when one
 * batch is late.  Only loopback destinations are accepted.
 *
 * It counts the flow records it sends (v5 header count; v9/IPFIX data
 * records of the templates seen earlier in the input, options records not
 * included, as flowq and nfdump count them), so received/sent can be given
 * in records whatever the input.
 *
 * Built by meson (bench/sender), or: cc -O2 -o sender bench/sender.c -lpcap
 * Usage:  sender [-r PPS] [-n COUNT | -t SECONDS] [-b BATCH] [-6] PORT FILE...
 *   -r PPS      datagrams per second (default 10000; 0 = as fast as possible)
 *   -n COUNT    datagrams to send (default: one pass over the files; 0
 *               sends nothing and only reports the input's counts)
 *   -t SECONDS  send for this long instead
 *   -b BATCH    datagrams per sendmmsg() (default 32)
 *   -6          send to [::1] instead of 127.0.0.1
 *
 * Prints one line: datagrams and records sent, seconds, achieved rates,
 * send errors, and the input's datagrams and records per pass.  Compare
 * with flowq's counters (`records`, `kernel_drops` of the udp:// source)
 * for the loss at that rate, e.g.
 *   flowq print --count --stats-json -s udp://127.0.0.1:9995 &
 *   ./sender -r 200000 -t 10 9995 ../shared/data/exports/raw/logstash-netflow5.dat
 *   kill -INT %1
 *
 * On loopback the receive side of the kernel (routing, UDP enqueue, waking
 * the reader) runs inside the sender's sendmmsg(), so the sender pays for
 * most of the kernel work: pin it to another CPU than the receiver.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct dgram {
	uint8_t *data;          /* owned */
	size_t len;
	unsigned records;       /* flow records in it (count_records()) */
};

static struct dgram *dgs;
static size_t n_dgs, cap_dgs;

static unsigned count_records(const uint8_t *p, size_t n);

static void
add(const uint8_t *p, size_t n)
{
	if (n_dgs == cap_dgs) {
		cap_dgs = cap_dgs ? cap_dgs * 2 : 1024;
		dgs = realloc(dgs, cap_dgs * sizeof *dgs);
		if (dgs == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	dgs[n_dgs].data = malloc(n ? n : 1);
	if (dgs[n_dgs].data == NULL) {
		perror("malloc");
		exit(1);
	}
	memcpy(dgs[n_dgs].data, p, n);
	dgs[n_dgs].len = n;
	dgs[n_dgs].records = count_records(p, n);
	n_dgs++;
}

static unsigned
rd16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

/* Length of the datagram at p, 0 if it cannot be determined. */
static size_t
split_len(const uint8_t *p, size_t avail)
{
	if (avail < 4)
		return 0;
	unsigned ver = rd16(p);
	size_t n;
	if (ver == 5)
		n = 24 + 48 * (size_t)rd16(p + 2);
	else if (ver == 10)
		n = rd16(p + 2) >= 16 ? rd16(p + 2) : 0;
	else if (ver == 9) {
		n = 20;
		while (n + 4 <= avail) {
			unsigned id = rd16(p + n), len = rd16(p + n + 2);
			if ((id >= 2 && id <= 255) || (id == 0 && len == 0))
				break;
			if (len < 4)
				return 0;
			n += len;
		}
	} else
		return 0;
	return n <= avail && n <= 65535 ? n : 0;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * v9/IPFIX templates seen so far in the input, only to count data records:
 * field lengths (65535 = variable, IPFIX) and the fixed record length.
 * Counting happens once, while loading, so a linear search is fine.
 */
struct tpl {
	uint32_t domain;
	uint16_t ver, id;
	int options;            /* options records are not flow records */
	unsigned n;
	uint16_t *lens;         /* owned */
	size_t fixed;           /* record length when no field is variable */
	int var;
};

static struct tpl *tpls;
static size_t n_tpls;

static struct tpl *
tpl_find(unsigned ver, uint32_t domain, unsigned id, int create)
{
	for (size_t i = 0; i < n_tpls; i++)
		if (tpls[i].ver == ver && tpls[i].domain == domain &&
		    tpls[i].id == id)
			return &tpls[i];
	if (!create)
		return NULL;
	struct tpl *t = realloc(tpls, (n_tpls + 1) * sizeof *tpls);
	if (t == NULL) {
		perror("realloc");
		exit(1);
	}
	tpls = t;
	t = &tpls[n_tpls++];
	memset(t, 0, sizeof *t);
	t->ver = (uint16_t)ver;
	t->domain = domain;
	t->id = (uint16_t)id;
	return t;
}

/* Template (or options template) records of one set; returns nothing,
 * malformed input just stops the walk (the receiver judges it). */
static void
parse_templates(unsigned ver, uint32_t domain, const uint8_t *s,
		const uint8_t *e, int options)
{
	while (e - s >= 4) {
		unsigned id = rd16(s), cnt = rd16(s + 2);
		if (id < 256)
			return;                 /* set padding */
		s += 4;
		if (ver == 9 && options) {
			/* v9: scope and option lengths in bytes */
			if (e - s < 2)
				return;
			cnt = (cnt + rd16(s)) / 4;
			s += 2;
		} else if (options && cnt > 0) {
			if (e - s < 2)
				return;
			s += 2;                 /* IPFIX scope field count */
		}
		struct tpl *t = tpl_find(ver, domain, id, 1);
		free(t->lens);
		t->lens = NULL;
		t->n = 0;
		t->fixed = 0;
		t->var = 0;
		t->options = options;
		if (cnt == 0)
			continue;               /* IPFIX withdrawal */
		t->lens = malloc(cnt * sizeof *t->lens);
		if (t->lens == NULL) {
			perror("malloc");
			exit(1);
		}
		for (unsigned i = 0; i < cnt; i++) {
			if (e - s < 4) {
				t->n = 0;       /* cut: unusable */
				return;
			}
			unsigned ie = rd16(s), len = rd16(s + 2);
			s += 4;
			if (ver == 10 && (ie & 0x8000)) {
				if (e - s < 4) {
					t->n = 0;
					return;
				}
				s += 4;         /* enterprise number */
			}
			t->lens[i] = (uint16_t)len;
			if (ver == 10 && len == 65535)
				t->var = 1;
			else
				t->fixed += len;
		}
		t->n = cnt;
	}
}

/* Data records of template t in one set (the rest is padding). */
static unsigned
data_records(const struct tpl *t, const uint8_t *s, const uint8_t *e)
{
	if (t->n == 0 || t->options)
		return 0;
	if (!t->var)
		return t->fixed ? (unsigned)((size_t)(e - s) / t->fixed) : 0;
	unsigned recs = 0;
	for (;;) {
		const uint8_t *q = s;
		for (unsigned i = 0; i < t->n; i++) {
			size_t l = t->lens[i];
			if (l == 65535) {
				if (q >= e)
					return recs;
				l = *q++;
				if (l == 255) {
					if (e - q < 2)
						return recs;
					l = rd16(q);
					q += 2;
				}
			}
			if ((size_t)(e - q) < l)
				return recs;
			q += l;
		}
		if (q == s)
			return recs;            /* empty records: stop */
		recs++;
		s = q;
	}
}

/* Flow records in one datagram (v9/IPFIX: of templates loaded before). */
static unsigned
count_records(const uint8_t *p, size_t n)
{
	if (n < 4)
		return 0;
	unsigned ver = rd16(p);
	if (ver == 5)
		return rd16(p + 2);
	size_t off = ver == 9 ? 20 : 16;
	if ((ver != 9 && ver != 10) || n < off)
		return 0;
	uint32_t domain = rd32(p + off - 4);
	unsigned recs = 0;
	while (n - off >= 4) {
		unsigned id = rd16(p + off), len = rd16(p + off + 2);
		if (len < 4 || len > n - off)
			break;
		const uint8_t *s = p + off + 4, *e = p + off + len;
		if (id == (ver == 9 ? 0u : 2u))
			parse_templates(ver, domain, s, e, 0);
		else if (id == (ver == 9 ? 1u : 3u))
			parse_templates(ver, domain, s, e, 1);
		else if (id >= 256) {
			const struct tpl *t = tpl_find(ver, domain, id, 0);
			if (t != NULL)
				recs += data_records(t, s, e);
		}
		off += len;
	}
	return recs;
}

static void
load_raw(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	size_t cap = 1 << 20, len = 0;
	uint8_t *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	if (b == NULL) {
		perror("malloc");
		exit(1);
	}
	size_t pos = 0;
	while (pos < len) {
		if (b[pos] == 0 && (pos + 1 == len || b[pos + 1] == 0)) {
			pos++;
			continue;
		}
		size_t n = split_len(b + pos, len - pos);
		if (n == 0) {
			fprintf(stderr, "%s: stops at byte offset %zu\n", path,
				pos);
			break;
		}
		add(b + pos, n);
		pos += n;
	}
	free(b);
}

static void
load_pcap(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	if (pc == NULL) {
		fprintf(stderr, "%s: %s\n", path, err);
		exit(1);
	}
	int dlt = pcap_datalink(pc);
	struct pcap_pkthdr *h;
	const u_char *p;
	while (pcap_next_ex(pc, &h, &p) == 1) {
		size_t n = h->caplen, o = 0;
		unsigned type = 0;
		if (dlt == DLT_EN10MB) {
			if (n < 14)
				continue;
			type = rd16(p + 12);
			o = 14;
			while ((type == 0x8100 || type == 0x88a8) && n >= o + 4) {
				type = rd16(p + o + 2);
				o += 4;
			}
		} else if (dlt != DLT_RAW)
			continue;
		if (n <= o)
			continue;
		if (dlt == DLT_RAW)
			type = p[0] >> 4 == 6 ? 0x86dd : 0x0800;
		if (type == 0x0800 && n >= o + 20 && p[o + 9] == 17 &&
		    (rd16(p + o + 6) & 0x3fff) == 0)
			o += (size_t)(p[o] & 15) * 4;
		else if (type == 0x86dd && n >= o + 40 && p[o + 6] == 17)
			o += 40;
		else
			continue;
		if (n < o + 8 || rd16(p + o + 4) < 8 || o + rd16(p + o + 4) > n)
			continue;
		add(p + o + 8, rd16(p + o + 4) - 8u);
	}
	pcap_close(pc);
}

static int
is_pcap(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t m[4] = { 0 };
	if (f == NULL)
		return 0;
	size_t n = fread(m, 1, 4, f);
	fclose(f);
	static const uint8_t magics[5][4] = {
		{ 0xa1, 0xb2, 0xc3, 0xd4 }, { 0xd4, 0xc3, 0xb2, 0xa1 },
		{ 0xa1, 0xb2, 0x3c, 0x4d }, { 0x4d, 0x3c, 0xb2, 0xa1 },
		{ 0x0a, 0x0d, 0x0d, 0x0a },
	};
	for (int i = 0; n == 4 && i < 5; i++)
		if (memcmp(m, magics[i], 4) == 0)
			return 1;
	return 0;
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double rate = 10000, secs = 0;
	long long count = -1;
	int batch = 32, v6 = 0, c;
	while ((c = getopt(argc, argv, "r:n:t:b:6")) != -1) {
		switch (c) {
		case 'r': rate = atof(optarg); break;
		case 'n': count = atoll(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'b': batch = atoi(optarg); break;
		case '6': v6 = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind < 2 || batch < 1 || batch > 1024 || rate < 0)
		goto usage;
	int port = atoi(argv[optind]);
	if (port <= 0 || port > 65535)
		goto usage;
	for (int i = optind + 1; i < argc; i++) {
		const char *f = argv[i];
		if (strncmp(f, "raw:", 4) == 0 || strncmp(f, "ipfix:", 6) == 0)
			load_raw(strchr(f, ':') + 1);
		else if (strncmp(f, "pcap:", 5) == 0)
			load_pcap(f + 5);
		else if (is_pcap(f))
			load_pcap(f);
		else
			load_raw(f);
	}
	if (n_dgs == 0) {
		fprintf(stderr, "no datagrams in the files\n");
		return 1;
	}
	if (count < 0 && secs <= 0)
		count = (long long)n_dgs;
	/* Loopback only. */
	struct sockaddr_storage to;
	socklen_t tl;
	memset(&to, 0, sizeof to);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		tl = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&to;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		tl = sizeof *a;
	}
	int fd = socket(to.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	/*
	 * Connected: the route is looked up once, not per datagram (about 5%
	 * of the sender's time on loopback otherwise), and the messages carry
	 * no address.  A receiver that is not (yet) there shows as
	 * ECONNREFUSED send errors.
	 */
	if (connect(fd, (struct sockaddr *)&to, tl) != 0) {
		perror("connect");
		return 1;
	}
	int sndbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	/* Wake from nanosleep() within microseconds, not the default 50 us
	 * slack: a batch is due every few hundred microseconds at 100k/s. */
	(void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
	/*
	 * The messages of every datagram, built once, with the first `batch`
	 * repeated at the end, so that any run of up to `batch` datagrams of
	 * the round robin is one contiguous slice: &mm[next].
	 */
	size_t ring = n_dgs + (size_t)batch;
	struct mmsghdr *mm = calloc(ring, sizeof *mm);
	struct iovec *iov = calloc(ring, sizeof *iov);
	if (mm == NULL || iov == NULL) {
		perror("calloc");
		return 1;
	}
	unsigned long long pass_records = 0;
	for (size_t i = 0; i < n_dgs; i++)
		pass_records += dgs[i].records;
	for (size_t i = 0; i < ring; i++) {
		iov[i].iov_base = dgs[i % n_dgs].data;
		iov[i].iov_len = dgs[i % n_dgs].len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	/* attempted paces the run; sent/records count what the kernel took. */
	long long attempted = 0, sent = 0, errors = 0;
	unsigned long long records = 0;
	size_t next = 0;
	double t0 = now();
	for (;;) {
		double t = now() - t0;
		if (secs > 0 ? t >= secs : attempted >= count)
			break;
		int k = batch;
		if (secs <= 0 && count - attempted < k)
			k = (int)(count - attempted);
		/* Pace: the batch is due when attempted / rate seconds have
		 * gone; a late batch is not waited for, so the average holds. */
		if (rate > 0) {
			double due = (double)attempted / rate;
			if (due > t) {
				double d = due - t;
				struct timespec ts = { (time_t)d,
					(long)((d - (double)(time_t)d) * 1e9) };
				nanosleep(&ts, NULL);
			}
		}
		int r = sendmmsg(fd, &mm[next], (unsigned)k, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED && errno != EINTR) {
				perror("sendmmsg");
				return 1;
			}
			/* The first datagram failed: skip it. */
			errors++;
			r = 0;
			next = (next + 1) % n_dgs;
			attempted++;
		}
		/* A short count means the next one failed: it is retried by
		 * the next call, which reports its error. */
		for (int i = 0; i < r; i++)
			records += dgs[(next + (size_t)i) % n_dgs].records;
		sent += r;
		attempted += r;
		next = (next + (size_t)r) % n_dgs;
	}
	double el = now() - t0;
	printf("sent %lld datagrams %llu records in %.3f s: %.0f datagrams/s "
	       "%.0f records/s, %lld send errors; input %zu datagrams %llu "
	       "records\n", sent, records, el, el > 0 ? (double)sent / el : 0.0,
	       el > 0 ? (double)records / el : 0.0, errors, n_dgs,
	       pass_records);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-r PPS] [-n COUNT | -t SECONDS] [-b BATCH] "
		"[-6] PORT FILE...\n", argv[0]);
	return 2;
}
