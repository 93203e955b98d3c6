/*
 * store_ipfix.c - the libfixbuf adapter of the store: records to IPFIX
 * messages (encoder) and stored files back to records (decoder).
 *
 * One internal template, whose layout is struct st_rec below, holds every
 * field of struct fq_record (IPv4 and IPv6 variants of each address); the
 * 16 external templates are the same spec array filtered by the families
 * a record's four addresses have (libfixbuf's spec flags), so a record's
 * template ID says which variant of each address it carries and the
 * decoder gives back the very family, value and prefix length that went
 * in.  Standard elements carry what IANA has a name for (collection time
 * is flowq's arrival, observationDomainId its domain, samplingInterval its
 * sampling); the NetFlow export header's unix_secs, unix_nsecs and
 * sysUpTime have no IANA element and go as enterprise elements 1..3 of
 * PEN 32473 (RFC 5612's number for documentation: flowq has no PEN of
 * its own; other readers skip enterprise elements they do not know).
 *
 * The encoder writes through a FILE* made with fopencookie() and no stdio
 * buffer: libfixbuf writes each finished message with one fwrite(), so
 * every call of the cookie is whole messages, which go to the store's
 * callback.  GLib stays in this file.
 */
#define _GNU_SOURCE
#include "store_ipfix.h"
#include "fq_error.h"
#include "fq_ip.h"

#include <fixbuf/public.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_TID 0x7f00          /* the internal template */
#define EXT_TID0 256            /* external: 256 + address families */
#define N_COMBOS 16
#define FQ_PEN 32473u

/* The in-memory record libfixbuf transcodes from and to. */
struct st_rec {
	uint8_t exp6[16], src6[16], dst6[16], nh6[16];
	uint64_t stime, etime, packets, bytes, arrival;
	uint32_t exp4, src4, dst4, nh4;
	uint32_t domain, input, output, src_as, dst_as, sampling;
	uint32_t unix_secs, unix_nsecs, sysuptime;
	uint16_t srcport, dstport, tcp_flags;
	uint8_t prot, tos, smask4, dmask4, smask6, dmask6, etype, eid;
	uint8_t pad[6];
};

_Static_assert(sizeof(struct st_rec) == 176, "st_rec has no holes");

/*
 * Spec flags: address k (exporter, srcip, dstip, nexthop) as IPv4 is bit
 * 2k, as IPv6 bit 2k+1; the padding is the internal template's alone.
 */
#define V4(k) (1u << (2 * (k)))
#define V6(k) (2u << (2 * (k)))
#define F_PAD (1u << 8)

static fbInfoElementSpec_t specs[] = {
	{ "exporterIPv6Address", 16, V6(0) },
	{ "sourceIPv6Address", 16, V6(1) },
	{ "destinationIPv6Address", 16, V6(2) },
	{ "ipNextHopIPv6Address", 16, V6(3) },
	{ "flowStartMilliseconds", 8, 0 },
	{ "flowEndMilliseconds", 8, 0 },
	{ "packetDeltaCount", 8, 0 },
	{ "octetDeltaCount", 8, 0 },
	{ "collectionTimeMilliseconds", 8, 0 },
	{ "exporterIPv4Address", 4, V4(0) },
	{ "sourceIPv4Address", 4, V4(1) },
	{ "destinationIPv4Address", 4, V4(2) },
	{ "ipNextHopIPv4Address", 4, V4(3) },
	{ "observationDomainId", 4, 0 },
	{ "ingressInterface", 4, 0 },
	{ "egressInterface", 4, 0 },
	{ "bgpSourceAsNumber", 4, 0 },
	{ "bgpDestinationAsNumber", 4, 0 },
	{ "samplingInterval", 4, 0 },
	{ "flowqExportSeconds", 4, 0 },
	{ "flowqExportNanoseconds", 4, 0 },
	{ "flowqExportSysUpTime", 4, 0 },
	{ "sourceTransportPort", 2, 0 },
	{ "destinationTransportPort", 2, 0 },
	{ "tcpControlBits", 2, 0 },
	{ "protocolIdentifier", 1, 0 },
	{ "ipClassOfService", 1, 0 },
	{ "sourceIPv4PrefixLength", 1, V4(1) },
	{ "destinationIPv4PrefixLength", 1, V4(2) },
	{ "sourceIPv6PrefixLength", 1, V6(1) },
	{ "destinationIPv6PrefixLength", 1, V6(2) },
	{ "engineType", 1, 0 },
	{ "engineId", 1, 0 },
	{ "paddingOctets", 6, F_PAD },
	FB_IESPEC_NULL
};

static fbInfoElement_t flowq_elems[] = {
	FB_IE_INIT_FULL("flowqExportSeconds", FQ_PEN, 1, 4, FB_IE_F_ENDIAN,
			0, 0, FB_UINT_32, NULL),
	FB_IE_INIT_FULL("flowqExportNanoseconds", FQ_PEN, 2, 4, FB_IE_F_ENDIAN,
			0, 0, FB_UINT_32, NULL),
	FB_IE_INIT_FULL("flowqExportSysUpTime", FQ_PEN, 3, 4, FB_IE_F_ENDIAN,
			0, 0, FB_UINT_32, NULL),
	FB_IE_NULL
};

/* The store's information model: libfixbuf's plus flowq's three
 * elements.  Built once, kept for the life of the process. */
static fbInfoModel_t *
store_model(void)
{
	static fbInfoModel_t *model;
	if (model == NULL) {
		model = fbInfoModelAlloc();
		fbInfoModelAddElementArray(model, flowq_elems);
	}
	return model;
}

static uint32_t
combo_flags(unsigned combo)
{
	uint32_t f = 0;
	for (unsigned k = 0; k < 4; k++)
		f |= (combo >> k & 1) ? V6(k) : V4(k);
	return f;
}

/* Add the internal template (and the 16 external ones) to `s`. */
static int
add_templates(fbSession_t *s, int external, char *why, size_t why_len)
{
	GError *err = NULL;
	fbInfoModel_t *m = store_model();
	fbTemplate_t *t = fbTemplateAlloc(m);
	if (!fbTemplateAppendSpecArray(t, specs, UINT32_MAX, &err) ||
	    !fbSessionAddTemplate(s, TRUE, INT_TID, t, &err))
		goto fail;
	for (unsigned c = 0; external && c < N_COMBOS; c++) {
		t = fbTemplateAlloc(m);
		if (!fbTemplateAppendSpecArray(t, specs, combo_flags(c), &err) ||
		    !fbSessionAddTemplate(s, FALSE, (uint16_t)(EXT_TID0 + c), t,
					  &err))
			goto fail;
	}
	return 0;
fail:
	snprintf(why, why_len, "store: libfixbuf template: %s",
		 err ? err->message : "?");
	g_clear_error(&err);
	return -FQ_EIO;
}

/* ---- encoder ---- */

struct fq__store_enc {
	fq__store_put_fn put;
	void *ctx;
	FILE *fp;                       /* owned: the cookie stream */
	fBuf_t *fbuf;                   /* owned: owns session, exporter */
	uint16_t cur_tid;
	int err;
};

static ssize_t
cookie_write(void *cookie, const char *buf, size_t len)
{
	struct fq__store_enc *e = cookie;
	if (e->put && e->put(e->ctx, buf, len) < 0)
		e->err = -FQ_EIO;
	/* Always "written": the store has counted a failure, and stdio
	 * must not retry or put the stream in error. */
	return (ssize_t)len;
}

int
fq__store_enc_new(fq__store_put_fn put, void *ctx, struct fq__store_enc **out,
		  char *why, size_t why_len)
{
	*out = NULL;
	struct fq__store_enc *e = calloc(1, sizeof *e);
	if (e == NULL) {
		snprintf(why, why_len, "store: out of memory");
		return -FQ_ENOMEM;
	}
	e->put = put;
	e->ctx = ctx;
	cookie_io_functions_t io = { NULL, cookie_write, NULL, NULL };
	e->fp = fopencookie(e, "w", io);
	if (e->fp == NULL) {
		free(e);
		snprintf(why, why_len, "store: out of memory");
		return -FQ_ENOMEM;
	}
	setvbuf(e->fp, NULL, _IONBF, 0);
	fbSession_t *s = fbSessionAlloc(store_model());
	int rc = add_templates(s, 1, why, why_len);
	if (rc < 0) {
		fbSessionFree(s);
		fclose(e->fp);
		free(e);
		return rc;
	}
	e->fbuf = fBufAllocForExport(s, fbExporterAllocFP(e->fp));
	GError *err = NULL;
	if (!fbSessionExportTemplates(s, &err) ||
	    !fBufSetInternalTemplate(e->fbuf, INT_TID, &err) ||
	    !fBufEmit(e->fbuf, &err)) {
		snprintf(why, why_len, "store: libfixbuf: %s",
			 err ? err->message : "?");
		g_clear_error(&err);
		fq__store_enc_free(e);
		return -FQ_EIO;
	}
	*out = e;
	return e->err;
}

static void
ip_out(const struct fq_ip *a, uint32_t *v4, uint8_t v6[16])
{
	if (a->is6)
		fq_ip_to_bytes(a, v6);
	else
		*v4 = (uint32_t)a->lo;
}

int
fq__store_enc_append(struct fq__store_enc *e, const struct fq_record *r)
{
	struct st_rec s;
	memset(&s, 0, sizeof s);
	unsigned combo = (unsigned)r->exporter.is6 | (unsigned)r->srcip.is6 << 1 |
			 (unsigned)r->dstip.is6 << 2 |
			 (unsigned)r->nexthop.is6 << 3;
	ip_out(&r->exporter, &s.exp4, s.exp6);
	ip_out(&r->srcip, &s.src4, s.src6);
	ip_out(&r->dstip, &s.dst4, s.dst6);
	ip_out(&r->nexthop, &s.nh4, s.nh6);
	s.stime = (uint64_t)r->stime;
	s.etime = (uint64_t)r->etime;
	s.packets = r->packets;
	s.bytes = r->bytes;
	s.arrival = (uint64_t)r->arrival;
	s.domain = r->domain;
	s.input = r->input;
	s.output = r->output;
	s.src_as = r->src_as;
	s.dst_as = r->dst_as;
	s.sampling = r->sampling;
	s.unix_secs = r->unix_secs;
	s.unix_nsecs = r->unix_nsecs;
	s.sysuptime = r->sysuptime;
	s.srcport = r->srcport;
	s.dstport = r->dstport;
	s.tcp_flags = r->tcp_flags;
	s.prot = r->prot;
	s.tos = r->tos;
	s.smask4 = s.smask6 = r->src_mask;
	s.dmask4 = s.dmask6 = r->dst_mask;
	s.etype = r->engine_type;
	s.eid = r->engine_id;
	GError *err = NULL;
	uint16_t tid = (uint16_t)(EXT_TID0 + combo);
	if (tid != e->cur_tid) {
		if (!fBufSetExportTemplate(e->fbuf, tid, &err))
			goto fail;
		e->cur_tid = tid;
	}
	if (!fBufAppend(e->fbuf, (uint8_t *)&s, sizeof s, &err))
		goto fail;
	int rc = e->err;
	e->err = 0;
	return rc;
fail:
	g_clear_error(&err);
	e->err = 0;
	return -FQ_EIO;
}

int
fq__store_enc_emit(struct fq__store_enc *e)
{
	GError *err = NULL;
	if (!fBufEmit(e->fbuf, &err)) {
		g_clear_error(&err);
		e->err = 0;
		return -FQ_EIO;
	}
	int rc = e->err;
	e->err = 0;
	return rc;
}

void
fq__store_enc_free(struct fq__store_enc *e)
{
	if (e == NULL)
		return;
	/* fBufFree() emits what is left: the callers emitted it already,
	 * and what a failed emit left is not to be written now. */
	e->put = NULL;
	if (e->fbuf)
		fBufFree(e->fbuf);
	fclose(e->fp);
	free(e);
}

/* ---- decoder ---- */

struct fq__store_dec {
	FILE *fp;                       /* owned */
	fBuf_t *fbuf;                   /* owned: owns session, collector */
	unsigned long long skipped;
	int failed;                     /* error[] says why */
	char error[256];
};

int
fq__store_dec_open(const char *path, struct fq__store_dec **out, char *why,
		   size_t why_len)
{
	*out = NULL;
	struct fq__store_dec *d = calloc(1, sizeof *d);
	if (d == NULL) {
		snprintf(why, why_len, "%s: out of memory", path);
		return -FQ_ENOMEM;
	}
	d->fp = fopen(path, "rb");
	if (d->fp == NULL) {
		snprintf(why, why_len, "%s: cannot open", path);
		free(d);
		return -FQ_EIO;
	}
	fbSession_t *s = fbSessionAlloc(store_model());
	int rc = add_templates(s, 0, why, why_len);
	if (rc < 0) {
		fbSessionFree(s);
		fclose(d->fp);
		free(d);
		return rc;
	}
	d->fbuf = fBufAllocForCollection(s, fbCollectorAllocFP(NULL, d->fp));
	GError *err = NULL;
	if (!fBufSetInternalTemplate(d->fbuf, INT_TID, &err)) {
		snprintf(why, why_len, "%s: libfixbuf: %s", path,
			 err ? err->message : "?");
		g_clear_error(&err);
		fq__store_dec_free(d);
		return -FQ_EIO;
	}
	*out = d;
	return 0;
}

static void
ip_in(struct fq_ip *a, int is6, uint32_t v4, const uint8_t v6[16])
{
	if (is6) {
		struct fq_ip x = fq_ip_v6(v6);
		fq_ip_set(a, &x);
	} else {
		a->lo = v4;
	}
}

static void
to_record(const struct st_rec *s, unsigned combo, struct fq_record *r)
{
	fq_record_clear(r);
	ip_in(&r->exporter, combo & 1, s->exp4, s->exp6);
	ip_in(&r->srcip, combo >> 1 & 1, s->src4, s->src6);
	ip_in(&r->dstip, combo >> 2 & 1, s->dst4, s->dst6);
	ip_in(&r->nexthop, combo >> 3 & 1, s->nh4, s->nh6);
	r->stime = (int64_t)s->stime;
	r->etime = (int64_t)s->etime;
	r->packets = s->packets;
	r->bytes = s->bytes;
	r->arrival = (int64_t)s->arrival;
	r->domain = s->domain;
	r->input = s->input;
	r->output = s->output;
	r->src_as = s->src_as;
	r->dst_as = s->dst_as;
	r->sampling = s->sampling;
	r->unix_secs = s->unix_secs;
	r->unix_nsecs = s->unix_nsecs;
	r->sysuptime = s->sysuptime;
	r->srcport = s->srcport;
	r->dstport = s->dstport;
	r->tcp_flags = s->tcp_flags;
	r->prot = s->prot;
	r->tos = s->tos;
	r->src_mask = (combo >> 1 & 1) ? s->smask6 : s->smask4;
	r->dst_mask = (combo >> 2 & 1) ? s->dmask6 : s->dmask4;
	r->engine_type = s->etype;
	r->engine_id = s->eid;
}

ssize_t
fq__store_dec_read(struct fq__store_dec *d, struct fq_record *recs,
		   size_t max)
{
	size_t n = 0;
	GError *err = NULL;
	if (d->failed)
		return -FQ_ECORRUPT;
	while (n < max) {
		uint16_t tid = 0;
		if (fBufNextCollectionTemplate(d->fbuf, &tid, &err) == NULL)
			goto end;
		struct st_rec s;
		size_t len = sizeof s;
		if (!fBufNext(d->fbuf, (uint8_t *)&s, &len, &err))
			goto end;
		if (tid < EXT_TID0 || tid >= EXT_TID0 + N_COMBOS) {
			d->skipped++;
			continue;
		}
		to_record(&s, (unsigned)(tid - EXT_TID0), &recs[n++]);
	}
	return (ssize_t)n;
end:
	if (g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOF)) {
		g_clear_error(&err);
		return (ssize_t)n;
	}
	snprintf(d->error, sizeof d->error, "%s",
		 err ? err->message : "libfixbuf read error");
	g_clear_error(&err);
	d->failed = 1;
	return n > 0 ? (ssize_t)n : -FQ_ECORRUPT;
}

const char *
fq__store_dec_error(const struct fq__store_dec *d)
{
	return d->error;
}

unsigned long long
fq__store_dec_skipped(const struct fq__store_dec *d)
{
	return d->skipped;
}

void
fq__store_dec_free(struct fq__store_dec *d)
{
	if (d == NULL)
		return;
	if (d->fbuf)
		fBufFree(d->fbuf);
	if (d->fp)
		fclose(d->fp);
	free(d);
}
