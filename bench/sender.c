/*
 * sender.c - rate-controlled replay of export datagrams to a loopback UDP
 * port, for flowq's live loss curve.
 *
 * Loads datagrams from raw:/ipfix:-style files (split by their own NetFlow
 * v5/v9/IPFIX headers, like collector/source_raw.c) or from pcap/pcapng
 * captures (UDP payloads of Ethernet/raw-IP frames, no reassembly), then
 * sends them round robin at a fixed rate with sendmmsg() in batches, paced
 * against CLOCK_MONOTONIC so that the average rate is exact even when one
 * batch is late.  Only loopback destinations are accepted.
 *
 * Build:  cc -O2 -o sender bench/sender.c -lpcap
 * Usage:  sender [-r PPS] [-n COUNT | -t SECONDS] [-b BATCH] [-6] PORT FILE...
 *   -r PPS      datagrams per second (default 10000; 0 = as fast as possible)
 *   -n COUNT    datagrams to send (default: one pass over the files)
 *   -t SECONDS  send for this long instead
 *   -b BATCH    datagrams per sendmmsg() (default 32)
 *   -6          send to [::1] instead of 127.0.0.1
 *
 * Prints one line: sent, seconds, achieved rate, send errors.  Compare with
 * flowq's counters (`datagrams`, `kernel_drops` of the udp:// source) for
 * the loss at that rate, e.g.
 *   flowq print --count --stats-json -s udp://127.0.0.1:9995 &
 *   ./sender -r 200000 -t 10 9995 ../shared/data/exports/raw/logstash-netflow5.dat
 *   kill -INT %1
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct dgram {
	uint8_t *data;          /* owned */
	size_t len;
};

static struct dgram *dgs;
static size_t n_dgs, cap_dgs;

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
	int sndbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	struct mmsghdr *mm = calloc((size_t)batch, sizeof *mm);
	struct iovec *iov = calloc((size_t)batch, sizeof *iov);
	if (mm == NULL || iov == NULL)
		return 1;
	long long sent = 0, errors = 0;
	size_t next = 0;
	double t0 = now();
	for (;;) {
		double t = now() - t0;
		if (secs > 0 ? t >= secs : sent >= count)
			break;
		int k = batch;
		if (secs <= 0 && count - sent < k)
			k = (int)(count - sent);
		/* Pace: the batch is due when sent / rate seconds have gone. */
		if (rate > 0) {
			double due = (double)sent / rate;
			if (due > t) {
				double d = due - t;
				struct timespec ts = { (time_t)d,
					(long)((d - (double)(time_t)d) * 1e9) };
				nanosleep(&ts, NULL);
			}
		}
		for (int i = 0; i < k; i++) {
			iov[i].iov_base = dgs[next].data;
			iov[i].iov_len = dgs[next].len;
			memset(&mm[i].msg_hdr, 0, sizeof mm[i].msg_hdr);
			mm[i].msg_hdr.msg_name = &to;
			mm[i].msg_hdr.msg_namelen = tl;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			next = (next + 1) % n_dgs;
		}
		int r = sendmmsg(fd, mm, (unsigned)k, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED) {
				perror("sendmmsg");
				return 1;
			}
			errors += k;
			r = k;          /* count them as attempted */
		} else if (r < k) {
			errors += k - r;
		}
		sent += k;
	}
	double el = now() - t0;
	printf("sent %lld datagrams in %.3f s (%.0f/s), %lld send errors, "
	       "%zu distinct datagrams\n", sent, el, el > 0 ? (double)sent / el
	       : 0.0, errors, n_dgs);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-r PPS] [-n COUNT | -t SECONDS] [-b BATCH] "
		"[-6] PORT FILE...\n", argv[0]);
	return 2;
}
