/*
 * test_sources.c - unit tests of the transports and replay sources:
 * pcap link types, VLAN tags, IPv6 extension headers, fragment
 * reassembly, truncated captures, raw: and ipfix: splitting, the --record
 * writer's round trip, and live udp:// and tcp:// sockets on loopback.
 *
 * The sources are linked without the decoder: this file provides its own
 * fq_ingest_datagram() and fq_source_done(), which copy every datagram
 * into a list, so the tests see exactly what the decoder would get.  Test
 * captures are written here with libpcap's pcap_open_dead() + pcap_dump().
 *
 * Usage: test-sources CASE TMPDIR.  Exit 0 pass, 1 fail.
 */
#include "fq_datagram.h"
#include "fq_error.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_source.h"
#include "pcap_frame.h"
#include "pcap_recorder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures;
static const char *tmpdir = ".";

#define CHECK(c) do { if (!(c)) { failures++; \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); } \
	} while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { failures++; fprintf(stderr, "%s:%d: %s == %lld, " \
	"expected %s == %lld\n", __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)

/* ------------------------------------------------------------------ */
/* The fake ingest: collects datagrams. */

struct got {
	uint8_t *data;
	size_t len;
	struct sockaddr_storage src;
	uint32_t local_id;
	enum fq_transport transport;
	int64_t arrival_ms;
};

static struct got got[4096];
static size_t n_got;
static int stop_after;          /* call fq_ingest_stop-like stop after N */

int
fq_ingest_datagram(struct fq_ingest *ing, const struct fq_datagram *dg)
{
	(void)ing;
	if (n_got < sizeof got / sizeof got[0]) {
		struct got *g = &got[n_got];
		g->data = malloc(dg->len ? dg->len : 1);
		memcpy(g->data, dg->data, dg->len);
		g->len = dg->len;
		g->src = dg->src;
		g->local_id = dg->local_id;
		g->transport = dg->transport;
		g->arrival_ms = dg->arrival_ms;
	}
	n_got++;
	if (stop_after && n_got == (size_t)stop_after && ing->sources &&
	    !ing->sources->done)
		ing->sources->ops->stop(ing->sources);
	return 0;
}

/* fq_source.c links source_ft.c, which delivers records; unused here. */
int
fq_ingest_records(struct fq_ingest *ing, struct fq_record *recs, size_t n)
{
	(void)ing;
	(void)recs;
	(void)n;
	return 0;
}

void
fq_source_done(struct fq_source *src, int status)
{
	CHECK(!src->done);
	src->done = 1;
	src->status = status;
}

static void
reset_got(void)
{
	for (size_t i = 0; i < n_got && i < sizeof got / sizeof got[0]; i++)
		free(got[i].data);
	n_got = 0;
	stop_after = 0;
}

static struct fq_ingest ing;
/* Settings of the sources the tests create (t_speed sets --speed). */
static struct fq_source_opts src_opts;

/* Run one replay source to its end; returns its status. */
static int
run_source(const char *spec, struct fq_source **keep)
{
	char why[256];
	struct fq_source *src = NULL;
	int rc = fq_source_create(spec, &src_opts, &src, why, sizeof why);
	if (rc < 0) {
		fprintf(stderr, "create %s: %s\n", spec, why);
		return rc;
	}
	src->ingest = &ing;
	ing.sources = src;
	rc = src->ops->start(src);
	if (rc == 0)
		uv_run(ing.loop, UV_RUN_DEFAULT);
	else if (!src->done)
		fq_source_done(src, rc);
	CHECK(src->done);
	int status = src->status;
	if (keep) {
		*keep = src;
		return status;
	}
	src->ops->close(src);
	uv_run(ing.loop, UV_RUN_DEFAULT);
	free(src->spec);
	src->ops->free(src);
	ing.sources = NULL;
	return status;
}

static void
free_source(struct fq_source *src)
{
	src->ops->close(src);
	uv_run(ing.loop, UV_RUN_DEFAULT);
	free(src->spec);
	src->ops->free(src);
	ing.sources = NULL;
}

static char *
stats_of(struct fq_source *src, int json)
{
	static struct fq_out o;
	char path[512];
	snprintf(path, sizeof path, "%s/stats.txt", tmpdir);
	FILE *f = fopen(path, "w+");
	fq_out_init(&o, fileno(f));
	src->ops->print_stats(src, &o, json);
	fq_out_flush(&o);
	static char buf[8192];
	rewind(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Frame builders. */

struct frame {
	uint8_t b[70000];
	size_t n;
};

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* A payload of n bytes that names itself: NetFlow v9-looking header. */
static void
payload(uint8_t *p, size_t n, unsigned tag)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(tag * 31 + i * 7);
	if (n >= 2)
		put16(p, 9);
}

/* UDP header + payload into p; returns length. */
static size_t
udp(uint8_t *p, unsigned sport, unsigned dport, const uint8_t *pl, size_t n)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (unsigned)(8 + n));
	put16(p + 6, 0);
	memcpy(p + 8, pl, n);
	return 8 + n;
}

/* IPv4 header around `l4` bytes of proto at p+20; returns length. */
static size_t
ipv4(uint8_t *p, const char *src, const char *dst, unsigned proto,
     unsigned id, unsigned frag, size_t l4)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (unsigned)(20 + l4));
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = (uint8_t)proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	return 20 + l4;
}

static size_t
ipv6(uint8_t *p, const char *src, const char *dst, unsigned nh, size_t l4)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned)l4);
	p[6] = (uint8_t)nh;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	return 40 + l4;
}

/* Ethernet with `ntags` VLAN tags, then ethertype. */
static size_t
ether(uint8_t *p, unsigned type, int ntags)
{
	memset(p, 0, 12);
	p[5] = 1;
	p[11] = 2;
	size_t o = 12;
	for (int i = 0; i < ntags; i++) {
		put16(p + o, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
		put16(p + o + 2, (unsigned)(100 + i));
		o += 4;
	}
	put16(p + o, type);
	return o + 2;
}

struct pcapw {
	pcap_t *dead;
	pcap_dumper_t *d;
};

static void
pw_open(struct pcapw *w, const char *path, int dlt)
{
	w->dead = pcap_open_dead(dlt, 262144);
	w->d = pcap_dump_open(w->dead, path);
	if (w->d == NULL) {
		fprintf(stderr, "%s: %s\n", path, pcap_geterr(w->dead));
		exit(1);
	}
}

static void
pw_write(struct pcapw *w, const uint8_t *f, size_t n, int64_t ms)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = ms / 1000;
	h.ts.tv_usec = (ms % 1000) * 1000;
	h.caplen = (bpf_u_int32)n;
	h.len = (bpf_u_int32)n;
	pcap_dump((u_char *)w->d, &h, f);
}

static void
pw_close(struct pcapw *w)
{
	pcap_dump_close(w->d);
	pcap_close(w->dead);
}

static char *
tpath(const char *name)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
	return buf[i];
}

static void
check_src(const struct got *g, const char *addr, unsigned port)
{
	char a[INET6_ADDRSTRLEN] = "";
	unsigned p = 0;
	if (g->src.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&g->src;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
		p = ntohs(s->sin_port);
	} else if (g->src.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&g->src;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
		p = ntohs(s->sin6_port);
	}
	if (strcmp(a, addr) != 0 || p != port) {
		failures++;
		fprintf(stderr, "source %s:%u, expected %s:%u\n", a, p, addr,
			port);
	}
}

static void
check_payload(const struct got *g, size_t n, unsigned tag)
{
	uint8_t want[70000];
	payload(want, n, tag);
	CHECK_EQ(g->len, n);
	CHECK(g->len == n && memcmp(g->data, want, n) == 0);
}

/* ------------------------------------------------------------------ */
/* Cases. */

/* One IPv4 and one IPv6 datagram in every supported link type. */
static void
t_linktypes(void)
{
	static const int dlts[] = { DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL,
				    DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP };
	for (size_t k = 0; k < sizeof dlts / sizeof dlts[0]; k++) {
		int dlt = dlts[k];
		char name[64];
		snprintf(name, sizeof name, "link-%d.pcap", dlt);
		struct pcapw w;
		pw_open(&w, tpath(name), dlt);
		for (int v6 = 0; v6 <= 1; v6++) {
			struct frame f;
			uint8_t pl[300], l4[400];
			payload(pl, 100 + (size_t)v6, (unsigned)v6);
			size_t ln = udp(l4, 2000 + (unsigned)v6, 2055, pl,
					100 + (size_t)v6);
			size_t h = 0;
			unsigned et = v6 ? 0x86dd : 0x0800;
			switch (dlt) {
			case DLT_EN10MB: h = ether(f.b, et, 0); break;
			case DLT_RAW: h = 0; break;
			case DLT_LINUX_SLL:
				memset(f.b, 0, 16);
				put16(f.b + 14, et);
				h = 16;
				break;
			case DLT_LINUX_SLL2:
				memset(f.b, 0, 20);
				put16(f.b, et);
				h = 20;
				break;
			case DLT_NULL: {
				uint32_t af = v6 ? 30 : 2;  /* Darwin INET6 */
				memcpy(f.b, &af, 4);        /* host order */
				h = 4;
				break;
			}
			case DLT_LOOP:
				put32(f.b, v6 ? 24 : 2);
				h = 4;
				break;
			}
			if (v6) {
				memcpy(f.b + h + 40, l4, ln);
				f.n = h + ipv6(f.b + h, "2001:db8::1",
					       "2001:db8::2", 17, ln);
			} else {
				memcpy(f.b + h + 20, l4, ln);
				f.n = h + ipv4(f.b + h, "192.0.2.1",
					       "192.0.2.2", 17, 1, 0, ln);
			}
			pw_write(&w, f.b, f.n, 1700000000123LL + v6);
		}
		pw_close(&w);
		reset_got();
		char spec[600];
		snprintf(spec, sizeof spec, "pcap:%s", tpath(name));
		CHECK_EQ(run_source(spec, NULL), 0);
		CHECK_EQ(n_got, 2);
		if (n_got != 2) {
			fprintf(stderr, "  link type %d\n", dlt);
			continue;
		}
		check_payload(&got[0], 100, 0);
		check_src(&got[0], "192.0.2.1", 2000);
		CHECK_EQ(got[0].arrival_ms, 1700000000123LL);
		CHECK_EQ(got[0].local_id, FQ_REPLAY_LOCAL_ID);
		CHECK_EQ(got[0].transport, FQ_TRANSPORT_UDP);
		check_payload(&got[1], 101, 1);
		check_src(&got[1], "2001:db8::1", 2001);
		CHECK_EQ(got[1].arrival_ms, 1700000000124LL);
	}
	/* The bare-path spelling sniffs the magic, whatever the name. */
	reset_got();
	rename(tpath("link-1.pcap"), tpath("link-1.cap"));
	CHECK_EQ(run_source(tpath("link-1.cap"), NULL), 0);
	CHECK_EQ(n_got, 2);
	/* An unsupported link type is an error naming the file. */
	struct pcapw w;
	pw_open(&w, tpath("link-bad.pcap"), DLT_IEEE802_11);
	uint8_t z[64] = { 0 };
	pw_write(&w, z, sizeof z, 0);
	pw_close(&w);
	reset_got();
	CHECK(run_source(tpath("link-bad.pcap"), NULL) == -FQ_EUNSUP);
}

/* 802.1Q, QinQ, SLL with a VLAN tag; Ethernet padding is ignored. */
static void
t_vlan(void)
{
	struct pcapw w;
	pw_open(&w, tpath("vlan.pcap"), DLT_EN10MB);
	for (int tags = 0; tags <= 3; tags++) {
		struct frame f;
		uint8_t pl[64], l4[128];
		payload(pl, 20, (unsigned)tags);
		size_t ln = udp(l4, 3000 + (unsigned)tags, 2055, pl, 20);
		size_t h = ether(f.b, 0x0800, tags);
		memcpy(f.b + h + 20, l4, ln);
		f.n = h + ipv4(f.b + h, "10.0.0.1", "10.0.0.2", 17, 7, 0, ln);
		memset(f.b + f.n, 0xee, 10);    /* Ethernet padding */
		pw_write(&w, f.b, f.n + 10, 1000);
	}
	/* Nine tags: more than FQ_PF_MAX_VLAN, counted as not IP. */
	struct frame f;
	size_t h = ether(f.b, 0x0800, 9);
	memset(f.b + h, 0x45, 40);
	pw_write(&w, f.b, h + 40, 1000);
	pw_close(&w);
	reset_got();
	struct fq_source *src;
	CHECK_EQ(run_source(tpath("vlan.pcap"), &src), 0);
	CHECK_EQ(n_got, 4);
	for (size_t i = 0; i < n_got && i < 4; i++) {
		check_payload(&got[i], 20, (unsigned)i);
		check_src(&got[i], "10.0.0.1", 3000 + (unsigned)i);
	}
	const char *st = stats_of(src, 1);
	CHECK(strstr(st, "\"not_ip\":1") != NULL);
	CHECK(strstr(st, "\"kind\":\"pcap\"") != NULL);
	free_source(src);

	/* Linux cooked capture of a tagged frame. */
	pw_open(&w, tpath("vlan-sll.pcap"), DLT_LINUX_SLL);
	uint8_t pl[64], l4[128];
	payload(pl, 30, 5);
	size_t ln = udp(l4, 3100, 2055, pl, 30);
	memset(f.b, 0, 16);
	put16(f.b + 14, 0x8100);
	put16(f.b + 16, 42);
	put16(f.b + 18, 0x0800);
	memcpy(f.b + 20 + 20, l4, ln);
	f.n = 20 + ipv4(f.b + 20, "10.0.0.9", "10.0.0.2", 17, 7, 0, ln);
	pw_write(&w, f.b, f.n, 5);
	pw_close(&w);
	reset_got();
	CHECK_EQ(run_source(tpath("vlan-sll.pcap"), NULL), 0);
	CHECK_EQ(n_got, 1);
	if (n_got == 1) {
		check_payload(&got[0], 30, 5);
		check_src(&got[0], "10.0.0.9", 3100);
	}
}

/* IPv6 with hop-by-hop and destination options before UDP; TCP skipped. */
static void
t_ipv6(void)
{
	struct pcapw w;
	pw_open(&w, tpath("v6.pcap"), DLT_EN10MB);
	struct frame f;
	uint8_t pl[256], l4[512];
	payload(pl, 200, 6);
	size_t ln = udp(l4, 4739, 4739, pl, 200);
	size_t h = ether(f.b, 0x86dd, 1);
	uint8_t *x = f.b + h + 40;
	/* hop-by-hop (8 bytes) -> dest opts (16 bytes) -> UDP */
	memset(x, 0, 24);
	x[0] = 60;
	x[1] = 0;
	x[8] = 17;
	x[9] = 1;
	memcpy(x + 24, l4, ln);
	f.n = h + ipv6(f.b + h, "fe80::1", "ff02::1", 0, 24 + ln);
	pw_write(&w, f.b, f.n, 7);
	/* A TCP segment: not UDP. */
	h = ether(f.b, 0x86dd, 0);
	memset(f.b + h + 40, 0, 20);
	f.n = h + ipv6(f.b + h, "fe80::1", "ff02::1", 6, 20);
	pw_write(&w, f.b, f.n, 8);
	/* An ARP frame: not IP. */
	h = ether(f.b, 0x0806, 0);
	memset(f.b + h, 0, 28);
	pw_write(&w, f.b, h + 28, 9);
	/* A bad IPv6 payload length (past the frame). */
	h = ether(f.b, 0x86dd, 0);
	memcpy(f.b + h + 40, l4, ln);
	ipv6(f.b + h, "fe80::1", "ff02::1", 17, ln + 100);
	pw_write(&w, f.b, h + 40 + ln, 10);
	pw_close(&w);
	reset_got();
	struct fq_source *src;
	CHECK_EQ(run_source(tpath("v6.pcap"), &src), 0);
	CHECK_EQ(n_got, 1);
	if (n_got == 1) {
		check_payload(&got[0], 200, 6);
		check_src(&got[0], "fe80::1", 4739);
	}
	const char *st = stats_of(src, 0);
	CHECK(strstr(st, "not_udp 1") != NULL);
	CHECK(strstr(st, "not_ip 1") != NULL);
	CHECK(strstr(st, "short_frame 1") != NULL);
	free_source(src);
}

/* Write an IPv4 datagram as fragments of `fs` bytes in the given order. */
static void
write_v4_frags(struct pcapw *w, const char *src, unsigned id, size_t n,
	       unsigned tag, size_t fs, const int *order, int nord,
	       int64_t ms)
{
	uint8_t pl[70000], l4[70000];
	payload(pl, n, tag);
	size_t ln = udp(l4, 5000 + tag, 2055, pl, n);
	for (int k = 0; k < nord; k++) {
		size_t off = (size_t)order[k] * fs;
		if (off >= ln)
			continue;
		size_t m = ln - off < fs ? ln - off : fs;
		int more = off + m < ln;
		struct frame f;
		size_t h = ether(f.b, 0x0800, 0);
		memcpy(f.b + h + 20, l4 + off, m);
		f.n = h + ipv4(f.b + h, src, "192.0.2.2", 17, id,
			       (unsigned)(off / 8) | (more ? 0x2000 : 0), m);
		pw_write(w, f.b, f.n, ms);
	}
}

static void
t_fragments(void)
{
	struct pcapw w;
	pw_open(&w, tpath("frag.pcap"), DLT_EN10MB);
	/* 1: in order, 3 fragments. */
	int ord1[] = { 0, 1, 2 };
	write_v4_frags(&w, "192.0.2.10", 1, 3000, 1, 1480, ord1, 3, 1000);
	/* 2: reversed, with a duplicate fragment. */
	int ord2[] = { 2, 1, 1, 0 };
	write_v4_frags(&w, "192.0.2.11", 2, 3000, 2, 1480, ord2, 4, 1001);
	/* 3: interleaved with 4 (same id, other source). */
	int ordA[] = { 0 }, ordB[] = { 1 };
	write_v4_frags(&w, "192.0.2.12", 3, 2000, 3, 1480, ordA, 1, 1002);
	write_v4_frags(&w, "192.0.2.13", 3, 2000, 4, 1480, ordA, 1, 1002);
	write_v4_frags(&w, "192.0.2.13", 3, 2000, 4, 1480, ordB, 1, 1002);
	write_v4_frags(&w, "192.0.2.12", 3, 2000, 3, 1480, ordB, 1, 1002);
	/* 5: a 60000-byte datagram in 41 fragments. */
	int ord5[41];
	for (int i = 0; i < 41; i++)
		ord5[i] = 40 - i;
	write_v4_frags(&w, "192.0.2.14", 5, 60000, 5, 1480, ord5, 41, 1003);
	/* 6: a fragment that never completes (last one missing). */
	int ord6[] = { 0, 1 };
	write_v4_frags(&w, "192.0.2.15", 6, 4000, 6, 1480, ord6, 2, 1004);
	/* 7: a fragment pushing past 65535 bytes. */
	struct frame f;
	size_t h = ether(f.b, 0x0800, 0);
	memset(f.b + h + 20, 0, 800);
	f.n = h + ipv4(f.b + h, "192.0.2.16", "192.0.2.2", 17, 7,
		       (65000 / 8) | 0x2000, 800);
	pw_write(&w, f.b, f.n, 1005);
	/* IPv6: a datagram in 3 fragments, out of order. */
	uint8_t pl[5000], l4[5000];
	payload(pl, 3500, 8);
	size_t ln = udp(l4, 5008, 2055, pl, 3500);
	size_t offs[3] = { 1232, 0, 2464 };
	for (int k = 0; k < 3; k++) {
		size_t off = offs[k];
		size_t m = ln - off < 1232 ? ln - off : 1232;
		int more = off + m < ln;
		h = ether(f.b, 0x86dd, 0);
		uint8_t *fh = f.b + h + 40;
		fh[0] = 17;
		fh[1] = 0;
		put16(fh + 2, (unsigned)off | (more ? 1 : 0));
		put32(fh + 4, 0xabcdef01);
		memcpy(fh + 8, l4 + off, m);
		f.n = h + ipv6(f.b + h, "2001:db8::77", "2001:db8::2", 44,
			       8 + m);
		pw_write(&w, f.b, f.n, 1006);
	}
	pw_close(&w);
	reset_got();
	struct fq_source *src;
	CHECK_EQ(run_source(tpath("frag.pcap"), &src), 0);
	CHECK_EQ(n_got, 6);
	if (n_got == 6) {
		check_payload(&got[0], 3000, 1);
		check_src(&got[0], "192.0.2.10", 5001);
		check_payload(&got[1], 3000, 2);
		check_payload(&got[2], 2000, 4);
		check_src(&got[2], "192.0.2.13", 5004);
		check_payload(&got[3], 2000, 3);
		check_src(&got[3], "192.0.2.12", 5003);
		check_payload(&got[4], 60000, 5);
		check_payload(&got[5], 3500, 8);
		check_src(&got[5], "2001:db8::77", 5008);
	}
	const char *st = stats_of(src, 1);
	CHECK(strstr(st, "\"reassembled\":6") != NULL);
	CHECK(strstr(st, "\"reassembly_timeout\":1") != NULL);
	CHECK(strstr(st, "\"bad_fragment\":1") != NULL);
	free_source(src);

	/* Many incomplete datagrams: the table stays bounded (evictions). */
	pw_open(&w, tpath("frag-flood.pcap"), DLT_EN10MB);
	for (unsigned id = 0; id < 1000; id++) {
		int o[] = { 0 };
		write_v4_frags(&w, "192.0.2.20", id, 3000, 9, 1480, o, 1,
			       2000);
	}
	int o2[] = { 0, 1, 2 };
	write_v4_frags(&w, "192.0.2.21", 1, 3000, 10, 1480, o2, 3, 2000);
	/* Then a datagram much later: the old ones time out. */
	write_v4_frags(&w, "192.0.2.21", 2, 3000, 11, 1480, ord1, 1, 100000);
	write_v4_frags(&w, "192.0.2.21", 2, 3000, 11, 1480, ord1 + 1, 2,
		       100000);
	pw_close(&w);
	reset_got();
	CHECK_EQ(run_source(tpath("frag-flood.pcap"), &src), 0);
	CHECK_EQ(n_got, 2);
	st = stats_of(src, 1);
	char want[64];
	/* 1000 + 1 complete one through a full table of 64; the 63 left
	 * time out when the capture clock moves on by 98 s. */
	snprintf(want, sizeof want, "\"reassembly_evicted\":%d",
		 1000 - FQ_PF_MAX_REASM + 1);
	CHECK(strstr(st, want) != NULL);
	snprintf(want, sizeof want, "\"reassembly_timeout\":%d",
		 FQ_PF_MAX_REASM - 1);
	CHECK(strstr(st, want) != NULL);
	if (strstr(st, want) == NULL)
		fprintf(stderr, "  %s\n", st);
	free_source(src);
}

/* A capture cut in the middle of a packet, and one with a snaplen cut. */
static void
t_truncated(void)
{
	struct pcapw w;
	pw_open(&w, tpath("trunc-full.pcap"), DLT_EN10MB);
	for (int i = 0; i < 5; i++) {
		struct frame f;
		uint8_t pl[600], l4[700];
		payload(pl, 500, (unsigned)i);
		size_t ln = udp(l4, 6000, 2055, pl, 500);
		size_t h = ether(f.b, 0x0800, 0);
		memcpy(f.b + h + 20, l4, ln);
		f.n = h + ipv4(f.b + h, "192.0.2.30", "192.0.2.2", 17, 1, 0,
			       ln);
		pw_write(&w, f.b, f.n, 10 + i);
	}
	pw_close(&w);
	/* Keep 24 + 3 * (16 + 542) + 100 bytes: the 4th packet is cut. */
	FILE *in = fopen(tpath("trunc-full.pcap"), "rb");
	FILE *out = fopen(tpath("trunc.pcap"), "wb");
	uint8_t buf[4096];
	size_t keep = 24 + 3 * (16 + 542) + 100;
	size_t n = fread(buf, 1, keep, in);
	CHECK_EQ(n, keep);
	fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	reset_got();
	CHECK_EQ(run_source(tpath("trunc.pcap"), NULL), -FQ_ECORRUPT);
	CHECK_EQ(n_got, 3);
	/* Cut inside a record header. */
	out = fopen(tpath("trunc2.pcap"), "wb");
	fwrite(buf, 1, 24 + 2 * (16 + 542) + 7, out);
	fclose(out);
	reset_got();
	CHECK_EQ(run_source(tpath("trunc2.pcap"), NULL), -FQ_ECORRUPT);
	CHECK_EQ(n_got, 2);
	/* Not a capture at all. */
	out = fopen(tpath("notpcap.pcap"), "wb");
	fputs("hello, this is not a capture\n", out);
	fclose(out);
	reset_got();
	CHECK(run_source(tpath("notpcap.pcap"), NULL) < 0);
	CHECK_EQ(n_got, 0);
	/* Snaplen cut: counted, not delivered; the next packet is. */
	pw_open(&w, tpath("snap.pcap"), DLT_EN10MB);
	struct frame f;
	uint8_t pl[600], l4[700];
	payload(pl, 500, 1);
	size_t ln = udp(l4, 6000, 2055, pl, 500);
	size_t h = ether(f.b, 0x0800, 0);
	memcpy(f.b + h + 20, l4, ln);
	f.n = h + ipv4(f.b + h, "192.0.2.31", "192.0.2.2", 17, 1, 0, ln);
	struct pcap_pkthdr ph;
	ph.ts.tv_sec = 1;
	ph.ts.tv_usec = 0;
	ph.caplen = 96;
	ph.len = (bpf_u_int32)f.n;
	pcap_dump((u_char *)w.d, &ph, f.b);
	pw_write(&w, f.b, f.n, 2000);
	pw_close(&w);
	reset_got();
	struct fq_source *src;
	CHECK_EQ(run_source(tpath("snap.pcap"), &src), 0);
	CHECK_EQ(n_got, 1);
	CHECK(strstr(stats_of(src, 0), "snaplen_cut 1") != NULL);
	free_source(src);
	/* The replay stops when the ingest stops it (sink error). */
	reset_got();
	stop_after = 2;
	CHECK_EQ(run_source(tpath("trunc-full.pcap"), NULL), 0);
	CHECK_EQ(n_got, 2);
}

/* Datagram builders for raw: files. */
static size_t
v5(uint8_t *p, unsigned count, unsigned tag)
{
	size_t n = 24 + 48 * (size_t)count;
	payload(p, n, tag);
	put16(p, 5);
	put16(p + 2, count);
	return n;
}

static size_t
v9(uint8_t *p, const unsigned *set_ids, const unsigned *set_lens, int nsets,
   unsigned tag)
{
	size_t n = 20;
	for (int i = 0; i < nsets; i++)
		n += set_lens[i];
	payload(p, n, tag);
	put16(p, 9);
	put16(p + 2, (unsigned)nsets);
	size_t o = 20;
	for (int i = 0; i < nsets; i++) {
		put16(p + o, set_ids[i]);
		put16(p + o + 2, set_lens[i]);
		/* set contents must not matter: make them look hostile */
		if (set_lens[i] >= 8)
			put16(p + o + 4, 9);
		o += set_lens[i];
	}
	return n;
}

static size_t
ipfix(uint8_t *p, size_t len, unsigned tag)
{
	payload(p, len, tag);
	put16(p, 10);
	put16(p + 2, (unsigned)len);
	return len;
}

static void
write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
}

static size_t offs[64], lens[64];

static void
check_split(size_t n, const uint8_t *file)
{
	CHECK_EQ(n_got, n);
	for (size_t i = 0; i < n && i < n_got; i++) {
		CHECK_EQ(got[i].len, lens[i]);
		CHECK(got[i].len == lens[i] &&
		      memcmp(got[i].data, file + offs[i], lens[i]) == 0);
		CHECK_EQ(got[i].arrival_ms, 0);
		CHECK_EQ(got[i].local_id, FQ_REPLAY_LOCAL_ID);
		check_src(&got[i], "0.0.0.0", 0);
	}
}

static void
t_raw(void)
{
	static uint8_t file[300000];
	size_t n = 0, k = 0;
	unsigned ids1[] = { 0, 256, 1 }, lens1[] = { 28, 100, 24 };
	unsigned ids2[] = { 300 }, lens2[] = { 64 };
	unsigned ids3[] = { 256, 0 }, lens3[] = { 1392, 8 };
#define ADD(expr) do { offs[k] = n; lens[k] = (expr); n += lens[k]; k++; } \
	while (0)
	ADD(v5(file + n, 2, 1));
	ADD(v9(file + n, ids1, lens1, 3, 2));
	ADD(v9(file + n, ids2, lens2, 1, 3));
	memset(file + n, 0, 6);         /* padding between datagrams */
	n += 6;
	ADD(ipfix(file + n, 300, 4));
	ADD(v9(file + n, ids3, lens3, 2, 5));
	ADD(v5(file + n, 30, 6));
	ADD(v5(file + n, 0, 7));
	ADD(v9(file + n, ids2, lens2, 1, 8));
	memset(file + n, 0, 3);         /* trailing padding */
	n += 3;
	write_file(tpath("ok.raw"), file, n);
	reset_got();
	char spec[600];
	snprintf(spec, sizeof spec, "raw:%s", tpath("ok.raw"));
	struct fq_source *src;
	CHECK_EQ(run_source(spec, &src), 0);
	check_split(k, file);
	const char *st = stats_of(src, 1);
	CHECK(strstr(st, "\"padding_bytes\":9") != NULL);
	CHECK(strstr(st, "\"malformed\":0") != NULL);
	CHECK(strstr(st, "\"v5\":3,\"v9\":4,\"ipfix\":1") != NULL);
	free_source(src);

	/* Malformed tails: each ends the file, status 0, counted. */
	static const struct {
		const char *name;
		const uint8_t tail[8];
		size_t tail_len;
		const char *reason;
	} tails[] = {
		{ "v5-short", { 0, 5, 0, 2, 1, 2, 3, 4 }, 8,
		  "runs past the end" },
		{ "v5-header", { 0, 5, 0, 2 }, 4, "runs past the end" },
		{ "unknown", { 0, 7, 1, 2, 3, 4, 5, 6 }, 8, "unknown version" },
		{ "ipfix-short", { 0, 10, 0, 200, 0, 0, 0, 0 }, 8,
		  "IPFIX message runs past the end" },
		{ "ipfix-len", { 0, 10, 0, 8, 0, 0, 0, 0 }, 8, "below 16" },
		{ "tiny", { 1 }, 1, "truncated header" },
	};
	for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
		size_t m = offs[2] + lens[2];   /* first three datagrams */
		memcpy(file + m, tails[t].tail, tails[t].tail_len);
		if (strcmp(tails[t].name, "ipfix-short") == 0) {
			memset(file + m + 8, 0, 100);
			m += 100;
		}
		write_file(tpath("bad.raw"), file, m + tails[t].tail_len);
		reset_got();
		CHECK_EQ(run_source(spec[0] ? "raw:" : "", NULL), -FQ_EINVAL);
		snprintf(spec, sizeof spec, "raw:%s", tpath("bad.raw"));
		CHECK_EQ(run_source(spec, &src), 0);
		check_split(3, file);
		st = stats_of(src, 1);
		CHECK(strstr(st, "\"malformed\":1") != NULL);
		CHECK(strstr(st, tails[t].reason) != NULL);
		if (strstr(st, tails[t].reason) == NULL)
			fprintf(stderr, "  %s: %s\n", tails[t].name, st);
		free_source(src);
	}
	/* v9 cases: a FlowSet running past the end; length below 4. */
	n = 0;
	k = 0;
	ADD(v9(file + n, ids2, lens2, 1, 3));
	unsigned ids4[] = { 256 }, lens4[] = { 200 };
	v9(file + n, ids4, lens4, 1, 9);
	write_file(tpath("bad9.raw"), file, n + 100);
	reset_got();
	snprintf(spec, sizeof spec, "raw:%s", tpath("bad9.raw"));
	CHECK_EQ(run_source(spec, &src), 0);
	check_split(1, file);
	CHECK(strstr(stats_of(src, 0), "FlowSet runs past the end") != NULL);
	free_source(src);
	unsigned lens5[] = { 2 };
	v9(file + n, ids4, lens5, 1, 9);
	put16(file + n + 22, 2);
	write_file(tpath("bad9b.raw"), file, n + 40);
	reset_got();
	snprintf(spec, sizeof spec, "raw:%s", tpath("bad9b.raw"));
	CHECK_EQ(run_source(spec, &src), 0);
	check_split(1, file);
	CHECK(strstr(stats_of(src, 0), "length below 4") != NULL);
	free_source(src);
	/* An empty file: nothing, status 0. */
	write_file(tpath("empty.raw"), file, 0);
	reset_got();
	snprintf(spec, sizeof spec, "raw:%s", tpath("empty.raw"));
	CHECK_EQ(run_source(spec, NULL), 0);
	CHECK_EQ(n_got, 0);
	/* A missing file is refused at creation. */
	snprintf(spec, sizeof spec, "raw:%s", tpath("missing.raw"));
	CHECK_EQ(run_source(spec, NULL), -FQ_ENOENT);
#undef ADD
}

static void
t_ipfix_file(void)
{
	static uint8_t file[300000];
	size_t n = 0, k = 0;
	/* 200 messages of varying length, up to 65535 bytes. */
	for (unsigned i = 0; i < 200 && n + 65535 < sizeof file; i++) {
		size_t len = i == 3 ? 65535 : 16 + (i * 37) % 1400;
		offs[k % 64] = n;
		lens[k % 64] = len;
		n += ipfix(file + n, len, i);
		k++;
	}
	write_file(tpath("ok.ipfix"), file, n);
	reset_got();
	char spec[600];
	snprintf(spec, sizeof spec, "ipfix:%s", tpath("ok.ipfix"));
	struct fq_source *src;
	CHECK_EQ(run_source(spec, &src), 0);
	CHECK_EQ(n_got, k);
	size_t off = 0;
	for (size_t i = 0; i < n_got && i < k; i++) {
		size_t len = i == 3 ? 65535 : 16 + (i * 37) % 1400;
		CHECK_EQ(got[i].len, len);
		CHECK(memcmp(got[i].data, file + off, len) == 0);
		CHECK_EQ(got[i].transport, FQ_TRANSPORT_FILE);
		check_src(&got[i], "0.0.0.0", 0);
		off += len;
	}
	CHECK(strstr(stats_of(src, 1), "\"kind\":\"ipfix\"") != NULL);
	free_source(src);
	/* Truncated last message: corrupt file, what came before counts. */
	write_file(tpath("trunc.ipfix"), file, n - 10);
	reset_got();
	snprintf(spec, sizeof spec, "ipfix:%s", tpath("trunc.ipfix"));
	CHECK_EQ(run_source(spec, NULL), -FQ_ECORRUPT);
	CHECK_EQ(n_got, k - 1);
	/* A NetFlow v5 datagram inside an ipfix: file is corrupt. */
	size_t m = ipfix(file, 100, 1);
	m += v5(file + m, 1, 2);
	write_file(tpath("mixed.ipfix"), file, m);
	reset_got();
	snprintf(spec, sizeof spec, "ipfix:%s", tpath("mixed.ipfix"));
	CHECK_EQ(run_source(spec, NULL), -FQ_ECORRUPT);
	CHECK_EQ(n_got, 1);
	/* ... while raw: takes it. */
	reset_got();
	snprintf(spec, sizeof spec, "raw:%s", tpath("mixed.ipfix"));
	CHECK_EQ(run_source(spec, NULL), 0);
	CHECK_EQ(n_got, 2);
}

/* pcap_recorder.c writes; the pcap source reads back the same datagrams. */
static void
t_record(void)
{
	char why[256];
	struct fq_pcap_recorder *r;
	CHECK_EQ(fq_pcap_recorder_open(tpath("rec.pcap"), &r, why, sizeof why),
		 0);
	static const size_t sizes[] = { 0, 1, 100, 1464, 9000, 65507, 65535 };
	struct fq_datagram dg;
	uint8_t *pl = malloc(70000);
	int i = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		for (int fam = 0; fam < 3; fam++, i++) {
			memset(&dg, 0, sizeof dg);
			payload(pl, sizes[s], (unsigned)i);
			if (fam == 0) {
				struct sockaddr_in *a = (void *)&dg.src;
				a->sin_family = AF_INET;
				a->sin_port = htons(2055 + (unsigned)i);
				inet_pton(AF_INET, "198.51.100.7",
					  &a->sin_addr);
			} else if (fam == 1) {
				struct sockaddr_in6 *a = (void *)&dg.src;
				a->sin6_family = AF_INET6;
				a->sin6_port = htons(4739 + (unsigned)i);
				inet_pton(AF_INET6, "2001:db8::9",
					  &a->sin6_addr);
			}
			/* fam 2: no address (raw:/ipfix: replay) */
			dg.data = pl;
			dg.len = sizes[s];
			dg.arrival_ms = 1700000000000LL + i * 1001;
			CHECK_EQ(fq_pcap_recorder_write(r, &dg), 0);
		}
	}
	CHECK_EQ(fq_pcap_recorder_count(r), (uint64_t)i);
	CHECK_EQ(fq_pcap_recorder_close(r), 0);
	reset_got();
	CHECK_EQ(run_source(tpath("rec.pcap"), NULL), 0);
	CHECK_EQ(n_got, (size_t)i);
	i = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		for (int fam = 0; fam < 3 && (size_t)i < n_got; fam++, i++) {
			check_payload(&got[i], sizes[s], (unsigned)i);
			CHECK_EQ(got[i].arrival_ms,
				 1700000000000LL + i * 1001);
			if (fam == 0)
				check_src(&got[i], "198.51.100.7",
					  2055 + (unsigned)i);
			else if (fam == 1)
				check_src(&got[i], "2001:db8::9",
					  4739 + (unsigned)i);
			else
				check_src(&got[i], "0.0.0.0", 0);
		}
	}
	/* tshark-compatible: the frames are checksummed (IPv6 UDP). */
	free(pl);
	/* An unwritable path is an error with a reason. */
	CHECK(fq_pcap_recorder_open("/nonexistent/dir/x.pcap", &r, why,
				  sizeof why) < 0);
	CHECK(strstr(why, "/nonexistent/dir/x.pcap") != NULL);
}

/* ------------------------------------------------------------------ */
/* Live sockets on loopback. */

static uv_timer_t guard;
static int timed_out;

static void
guard_cb(uv_timer_t *t)
{
	(void)t;
	timed_out = 1;
	uv_stop(t->loop);
}

static void
run_until(size_t want, int ms)
{
	timed_out = 0;
	uv_timer_start(&guard, guard_cb, (uint64_t)ms, 0);
	while (n_got < want && !timed_out)
		uv_run(ing.loop, UV_RUN_ONCE);
	uv_timer_stop(&guard);
}

static struct fq_source *
live(const char *spec)
{
	char why[256];
	struct fq_source *src = NULL;
	int rc = fq_source_create(spec, &src_opts, &src, why, sizeof why);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", spec, why);
		failures++;
		return NULL;
	}
	src->ingest = &ing;
	CHECK(src->live);
	ing.sources = src;
	if (src->ops->start(src) != 0) {
		failures++;
		src->ops->close(src);
		uv_run(ing.loop, UV_RUN_NOWAIT);
		free(src->spec);
		src->ops->free(src);
		ing.sources = NULL;
		return NULL;
	}
	return src;
}

/* The bound port, from the source's own counters' name. */
static unsigned
bound_port(struct fq_source *src)
{
	const char *st = stats_of(src, 0);
	const char *c = strstr(st, ": ");
	if (c == NULL)
		return 0;
	const char *p = c;
	while (p > st && p[-1] != ':')
		p--;
	return (unsigned)atoi(p);
}

static void
t_udp(void)
{
	uv_timer_init(ing.loop, &guard);
	static const char *specs[2] = { "udp://127.0.0.1:0", "udp://[::1]:0" };
	for (int v6 = 0; v6 < 2; v6++) {
		reset_got();
		struct fq_source *src = live(specs[v6]);
		if (src == NULL)
			continue;
		unsigned port = bound_port(src);
		CHECK(port != 0);
		int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_storage to;
		socklen_t tl;
		memset(&to, 0, sizeof to);
		if (v6) {
			struct sockaddr_in6 *a = (void *)&to;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)port);
			a->sin6_addr = in6addr_loopback;
			tl = sizeof *a;
		} else {
			struct sockaddr_in *a = (void *)&to;
			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)port);
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			tl = sizeof *a;
		}
		static const size_t sizes[] = { 24, 1464, 8000, 65507 };
		uint8_t *pl = malloc(70000);
		for (int i = 0; i < 200; i++) {
			size_t n = sizes[i % 4];
			if (v6 && n == 65507)
				n = 65527;
			payload(pl, n, (unsigned)i);
			CHECK_EQ(sendto(fd, pl, n, 0, (struct sockaddr *)&to,
					tl), (long)n);
			if (i % 20 == 19)
				run_until((size_t)i + 1, 2000);
		}
		run_until(200, 5000);
		CHECK_EQ(n_got, 200);
		struct sockaddr_storage me;
		socklen_t ml = sizeof me;
		getsockname(fd, (struct sockaddr *)&me, &ml);
		unsigned myport = ntohs(v6 ? ((struct sockaddr_in6 *)&me)->sin6_port
				       : ((struct sockaddr_in *)&me)->sin_port);
		for (size_t i = 0; i < n_got && i < 200; i++) {
			size_t n = sizes[i % 4];
			if (v6 && n == 65507)
				n = 65527;
			check_payload(&got[i], n, (unsigned)i);
			check_src(&got[i], v6 ? "::1" : "127.0.0.1", myport);
			CHECK_EQ(got[i].transport, FQ_TRANSPORT_UDP);
			CHECK(got[i].arrival_ms > 1600000000000LL);
		}
		free(pl);
		close(fd);
		const char *st = stats_of(src, 1);
		CHECK(strstr(st, "\"datagrams\":200") != NULL);
		CHECK(strstr(st, "\"kernel_drops\":0") != NULL);
		CHECK(strstr(st, "\"recvmmsg\":true") != NULL);
		if (strstr(st, "\"kernel_drops\":0") == NULL)
			fprintf(stderr, "  %s\n", st);
		src->ops->stop(src);
		CHECK(src->done);
		free_source(src);
	}
	/* Bad spellings. */
	char why[256];
	struct fq_source *src;
	static const char *bad[] = { "udp://", "udp://1.2.3.4", "udp://x:1",
				     "udp://1.2.3.4:70000", "udp://::1:5",
				     "udp://[::1]5", "tcp://1.2.3.4:-1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ(fq_source_create(bad[i], NULL, &src, why, sizeof why),
			 -FQ_EINVAL);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(ing.loop, UV_RUN_DEFAULT);
}

/* A tiny TCP client on the same loop. */
struct client {
	uv_tcp_t h;
	uv_connect_t req;
	int connected;
};

static void
client_connect_cb(uv_connect_t *req, int status)
{
	struct client *c = req->data;
	CHECK_EQ(status, 0);
	c->connected = 1;
}

static void
client_write(struct client *c, const uint8_t *b, size_t n)
{
	uv_buf_t buf = uv_buf_init((char *)b, (unsigned)n);
	CHECK_EQ(uv_try_write((uv_stream_t *)&c->h, &buf, 1), (long)n);
}

static void
client_open(struct client *c, unsigned port)
{
	memset(c, 0, sizeof *c);
	uv_tcp_init(ing.loop, &c->h);
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", (int)port, &a);
	c->req.data = c;
	uv_tcp_connect(&c->req, &c->h, (struct sockaddr *)&a,
		       client_connect_cb);
	timed_out = 0;
	uv_timer_start(&guard, guard_cb, 3000, 0);
	while (!c->connected && !timed_out)
		uv_run(ing.loop, UV_RUN_ONCE);
	uv_timer_stop(&guard);
}

static void
spin(int ms)
{
	timed_out = 0;
	uv_timer_start(&guard, guard_cb, (uint64_t)ms, 0);
	while (!timed_out)
		uv_run(ing.loop, UV_RUN_ONCE);
}

static void
t_tcp(void)
{
	uv_timer_init(ing.loop, &guard);
	reset_got();
	struct fq_source *src = live("tcp://127.0.0.1:0");
	if (src == NULL)
		return;
	unsigned port = bound_port(src);
	CHECK(port != 0);
	static uint8_t stream[200000];
	size_t n = 0;
	for (unsigned i = 0; i < 10; i++)
		n += ipfix(stream + n, i == 5 ? 65535 : 16 + i * 100, i);
	struct client a, b;
	client_open(&a, port);
	client_open(&b, port);
	/* a: in odd-sized pieces; b: all at once, then a half message. */
	size_t o = 0;
	while (o < n) {
		size_t m = n - o < 777 ? n - o : 777;
		client_write(&a, stream + o, m);
		o += m;
		if (o % (777 * 16) == 0)
			spin(5);
	}
	run_until(10, 5000);
	CHECK_EQ(n_got, 10);
	/* b: messages 0 and 1, then 30 bytes of message 2. */
	client_write(&b, stream, 100);
	client_write(&b, stream + 100, 16 + 116 - 100 + 30);
	run_until(12, 5000);
	CHECK_EQ(n_got, 12);
	if (n_got == 12) {
		CHECK_EQ(got[10].len, 16);
		CHECK_EQ(got[11].len, 116);
		CHECK(memcmp(got[11].data, stream + 16, 116) == 0);
	}
	size_t off = 0;
	for (size_t i = 0; i < 10 && i < n_got; i++) {
		size_t len = i == 5 ? 65535 : 16 + i * 100;
		CHECK_EQ(got[i].len, len);
		CHECK(memcmp(got[i].data, stream + off, len) == 0);
		CHECK_EQ(got[i].transport, FQ_TRANSPORT_TCP);
		off += len;
	}
	uv_close((uv_handle_t *)&b.h, NULL);   /* disconnect mid-message */
	spin(100);
	const char *st = stats_of(src, 1);
	CHECK(strstr(st, "\"connections\":2") != NULL);
	CHECK(strstr(st, "\"half_sent\":1") != NULL);
	CHECK(strstr(st, "\"messages\":12") != NULL);
	CHECK(strstr(st, "\"open\":1") != NULL);
	/* Not IPFIX: the connection is closed, counted. */
	struct client c;
	client_open(&c, port);
	uint8_t junk[32];
	memset(junk, 0x41, sizeof junk);
	client_write(&c, junk, sizeof junk);
	spin(100);
	st = stats_of(src, 1);
	CHECK(strstr(st, "\"framing_errors\":1") != NULL);
	CHECK(strstr(st, "\"open\":1") != NULL);
	if (strstr(st, "\"open\":1") == NULL)
		fprintf(stderr, "  %s\n", st);
	uv_close((uv_handle_t *)&c.h, NULL);
	/* Stop with a connection open: everything closes. */
	src->ops->stop(src);
	CHECK(src->done);
	uv_close((uv_handle_t *)&a.h, NULL);
	uv_close((uv_handle_t *)&guard, NULL);
	free_source(src);
}

/* Mutated raw: files: never a crash, datagrams stay inside the file. */
static void
t_raw_random(void)
{
	static uint8_t file[20000];
	uint32_t seed = 777;
	unsigned ids[] = { 0, 256, 1 }, slens[] = { 28, 100, 24 };
	char spec[600];
	snprintf(spec, sizeof spec, "raw:%s", tpath("rand.raw"));
	for (int it = 0; it < 300; it++) {
		size_t n = 0;
		for (int k = 0; k < 8; k++) {
			seed = seed * 1103515245 + 12345;
			switch ((seed >> 16) % 3) {
			case 0: n += v5(file + n, (seed >> 8) % 5, 1); break;
			case 1: n += v9(file + n, ids, slens, 3, 2); break;
			default: n += ipfix(file + n, 16 + (seed >> 9) % 500,
					    3); break;
			}
		}
		int flips = 1 + (int)((seed >> 4) % 8);
		for (int f = 0; f < flips; f++) {
			seed = seed * 1103515245 + 12345;
			file[(seed >> 8) % n] ^= (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245 + 12345;
		size_t cut = (seed & 1) ? (seed >> 8) % (n + 1) : n;
		write_file(tpath("rand.raw"), file, cut);
		reset_got();
		CHECK_EQ(run_source(spec, NULL), 0);
		size_t total = 0;
		for (size_t i = 0; i < n_got; i++)
			total += got[i].len;
		CHECK(total <= cut);
	}
}

static int64_t
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
stop_cb(uv_timer_t *t)
{
	(void)t;
	if (ing.sources && !ing.sources->done)
		ing.sources->ops->stop(ing.sources);
}

/* --speed: 3 s of capture at speed 10 take about 300 ms. */
static void
t_speed(void)
{
	struct pcapw w;
	pw_open(&w, tpath("speed.pcap"), DLT_EN10MB);
	for (int i = 0; i < 4; i++) {
		struct frame f;
		uint8_t pl[64], l4[128];
		payload(pl, 24, (unsigned)i);
		size_t ln = udp(l4, 7000, 2055, pl, 24);
		size_t h = ether(f.b, 0x0800, 0);
		memcpy(f.b + h + 20, l4, ln);
		f.n = h + ipv4(f.b + h, "10.1.1.1", "10.1.1.2", 17, 1, 0, ln);
		pw_write(&w, f.b, f.n, 1700000000000LL + i * 1000);
	}
	pw_close(&w);
	src_opts.replay_speed = 10;
	reset_got();
	int64_t t0 = mono();
	CHECK_EQ(run_source(tpath("speed.pcap"), NULL), 0);
	int64_t el = mono() - t0;
	CHECK_EQ(n_got, 4);
	CHECK(el >= 290 && el < 1500);
	fprintf(stderr, "pcap: 3 s at speed 10 took %lld ms\n", (long long)el);
	/* raw: paced by export header time (v5 unix_secs). */
	static uint8_t file[1000];
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		size_t m = v5(file + n, 1, (unsigned)i);
		put32(file + n + 8, 1700000000u + (uint32_t)i * 2);
		put32(file + n + 12, 0);
		n += m;
	}
	write_file(tpath("speed.raw"), file, n);
	char spec[600];
	snprintf(spec, sizeof spec, "raw:%s", tpath("speed.raw"));
	reset_got();
	t0 = mono();
	CHECK_EQ(run_source(spec, NULL), 0);
	el = mono() - t0;
	CHECK_EQ(n_got, 3);
	CHECK(el >= 390 && el < 1500);
	fprintf(stderr, "raw: 4 s at speed 10 took %lld ms\n", (long long)el);
	/* Stop while waiting for the next datagram: done at once. */
	reset_got();
	stop_after = 1;
	t0 = mono();
	CHECK_EQ(run_source(spec, NULL), 0);
	CHECK_EQ(n_got, 1);
	CHECK(mono() - t0 < 150);
	/* Stop (SIGINT) while the timer waits: done at once. */
	reset_got();
	uv_timer_t stopper;
	uv_timer_init(ing.loop, &stopper);
	uv_timer_start(&stopper, stop_cb, 50, 0);
	t0 = mono();
	CHECK_EQ(run_source(spec, NULL), 0);
	CHECK_EQ(n_got, 1);
	CHECK(mono() - t0 < 150);
	uv_close((uv_handle_t *)&stopper, NULL);
	uv_run(ing.loop, UV_RUN_DEFAULT);
	src_opts.replay_speed = 0;
}

/* Random and mutated frames: the parser never crashes, never delivers
 * more than the frame holds. */
static void
t_frame_random(void)
{
	static const int dlts[] = { DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL,
				    DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP };
	uint32_t seed = 12345;
	uint8_t *buf = malloc(70000);
	for (size_t k = 0; k < sizeof dlts / sizeof dlts[0]; k++) {
		struct fq_pf *pf;
		CHECK_EQ(fq_pf_new(dlts[k], &pf), 0);
		for (int it = 0; it < 40000; it++) {
			seed = seed * 1103515245 + 12345;
			size_t n = (seed >> 8) % 200;
			/* Start from a valid-looking frame, then mutate. */
			size_t h = dlts[k] == DLT_EN10MB ? ether(buf, it & 1 ?
					0x86dd : 0x0800, (int)(seed & 3)) : 0;
			if (it & 1)
				ipv6(buf + h, "::1", "::2", it & 2 ? 44 : 17, n);
			else
				ipv4(buf + h, "1.2.3.4", "5.6.7.8", 17,
				     seed & 7, (seed >> 3) & 0x3fff, n);
			for (size_t i = h + 40; i < h + 40 + n; i++)
				buf[i] = (uint8_t)(seed >> (i % 24));
			int flips = (int)((seed >> 20) % 6);
			for (int f = 0; f < flips; f++) {
				seed = seed * 1103515245 + 12345;
				buf[(seed >> 8) % (h + 40 + n)] ^=
					(uint8_t)(seed >> 16);
			}
			size_t cap = h + 40 + n;
			if (seed & 0x100)
				cap = (seed >> 4) % (cap + 1);
			struct fq_pf_udp u;
			if (fq_pf_parse(pf, buf, cap, cap + (seed & 0x200 ? 10
					: 0), it / 100, &u)) {
				CHECK(u.len <= 65535);
			}
		}
		fq_pf_finish(pf);
		const struct fq_pf_stats *st = fq_pf_stats(pf);
		uint64_t sum = st->datagrams;
		for (int r = 0; r < FQ_PF_NREASONS; r++)
			sum += st->reason[r];
		CHECK(sum >= st->frames - st->reassembled);
		fq_pf_free(pf);
	}
	free(buf);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CASE [TMPDIR]\n", argv[0]);
		return 2;
	}
	/* One directory per case: meson runs the cases in parallel. */
	static char dir[512];
	snprintf(dir, sizeof dir, "%s/sources-%s", argc > 2 ? argv[2] : ".",
		 argv[1]);
	mkdir(dir, 0755);
	tmpdir = dir;
	fq_log_set_progname("test-sources");
	fq_log_set_level(FQ_LOG_ERROR);
	memset(&ing, 0, sizeof ing);
	ing.loop = uv_default_loop();
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "linktypes", t_linktypes },
		{ "vlan", t_vlan },
		{ "ipv6", t_ipv6 },
		{ "fragments", t_fragments },
		{ "truncated", t_truncated },
		{ "raw", t_raw },
		{ "ipfix-file", t_ipfix_file },
		{ "record", t_record },
		{ "udp", t_udp },
		{ "tcp", t_tcp },
		{ "frame-random", t_frame_random },
		{ "speed", t_speed },
		{ "raw-random", t_raw_random },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(argv[1], cases[i].name) != 0 &&
		    strcmp(argv[1], "all") != 0)
			continue;
		cases[i].fn();
		if (strcmp(argv[1], "all") != 0) {
			reset_got();
			printf("%s: %s\n", argv[1], failures ? "FAIL" : "ok");
			return failures ? 1 : 0;
		}
	}
	reset_got();
	if (strcmp(argv[1], "all") != 0) {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	printf("all: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
	return failures ? 1 : 0;
}
