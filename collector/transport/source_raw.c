/*
 * source_raw.c - replay of `raw:` datagram dumps and `ipfix:` files.
 *
 * A raw: file is export datagrams written back to back with no framing
 * (the Logstash fixtures in ../shared/data/exports/raw are such files); an
 * ipfix: file is an RFC 5655 sequence of IPFIX messages.  Both are split
 * by the protocols' own headers:
 *
 *   NetFlow v5   24 + 48 * count bytes;
 *   IPFIX        the message length in its header (at least 16);
 *   NetFlow v9   no length in the header: walk the FlowSets (16-bit id,
 *                16-bit length >= 4).  At a FlowSet boundary a value in
 *                2-255 (9 for the next v9 header, also 5 or 10) can only
 *                start the next datagram, because FlowSet ids 2-255 are
 *                reserved; fewer than 4 bytes left cannot be a FlowSet
 *                either, and the next split reports them; a zero id with
 *                zero length starts
 *                padding, which runs to the next non-zero byte (the next
 *                header starts one byte before it, versions being < 256)
 *                or to the end of the file.  Padding is not part of either
 *                datagram.
 *
 * Zero bytes where a raw: datagram would start are padding as well.  A
 * datagram is at most 65535 bytes.
 *
 * raw: files: a datagram whose length cannot be determined (unknown
 * version, impossible length, truncated header) or that runs past the end
 * of the file is counted as malformed with its reason and ends the file;
 * that is not an error (SPEC section 2): the source finishes with status 0
 * after a warning naming the file and the offset.  ipfix: files hold
 * nothing but IPFIX messages, so there the same damage is a corrupt input
 * file: an error naming the file and offset, and status -FQ_ECORRUPT.
 *
 * All raw: and ipfix: sources of a run share one exporter, 0.0.0.0 port 0
 * with local_id FQ_REPLAY_LOCAL_ID, so a template file given before its
 * data file works.  Arrival time is 0: the decoder uses the export header
 * time.  Reading is buffered (2 x 64 KiB), a chunk of datagrams per loop
 * iteration (replay.c), as fast as the decoder goes, or at --speed X times
 * the pace of the export header times (the next datagram stays in the
 * buffer until it is due).
 */
#include "fq_datagram.h"
#include "fq_error.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "replay.h"
#include "source_kind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RAW_MAX_DGRAM 65535u
#define RAW_BUFSIZE (2u * 65536u)
#define RAW_CHUNK 256

struct source_raw {
	struct fq__replay r;        /* first: the replay source */
	int ipfix_only;             /* ipfix: file */
	const char *path;           /* file name: base.spec after the prefix */
	FILE *f;                    /* owned while replaying */
	uint8_t *buf;               /* owned, RAW_BUFSIZE */
	size_t pos, end;            /* unread bytes are buf[pos, end) */
	uint64_t file_off;          /* file offset of buf[0] */
	int eof;                    /* f has no more bytes */
	/* Counters. */
	uint64_t datagrams, bytes, v5, v9, ipfix, padding;
	uint64_t malformed;         /* 0 or 1: it ends the file */
	const char *malformed_why;  /* static string */
	uint64_t malformed_off;
};

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Keep at least RAW_MAX_DGRAM + 4 bytes buffered unless at end of file. */
static int
raw_fill(struct source_raw *s)
{
	if (s->eof || s->end - s->pos >= RAW_MAX_DGRAM + 4)
		return 0;
	memmove(s->buf, s->buf + s->pos, s->end - s->pos);
	s->file_off += s->pos;
	s->end -= s->pos;
	s->pos = 0;
	while (s->end < RAW_BUFSIZE) {
		size_t n = fread(s->buf + s->end, 1, RAW_BUFSIZE - s->end,
				 s->f);
		s->end += n;
		if (n == 0) {
			if (ferror(s->f))
				return -FQ_EIO;
			s->eof = 1;
			break;
		}
	}
	return 0;
}

/*
 * Length of the datagram at p (avail bytes, the rest of the file when
 * that is less than RAW_MAX_DGRAM + 4).  Returns 1 with *len and *skip
 * (padding after it), or 0 with *why when it cannot be determined.
 */
static int
split(const uint8_t *p, size_t avail, int ipfix_only, size_t *len,
      size_t *skip, const char **why)
{
	*skip = 0;
	if (avail < 4) {
		*why = "truncated header";
		return 0;
	}
	uint16_t ver = rd16(p);
	if (ipfix_only && ver != 10) {
		*why = "not an IPFIX message (version is not 10)";
		return 0;
	}
	if (ver == 5) {
		size_t n = 24 + 48 * (size_t)rd16(p + 2);
		if (n > RAW_MAX_DGRAM) {
			*why = "NetFlow v5 count too large";
			return 0;
		}
		if (n > avail) {
			*why = "NetFlow v5 datagram runs past the end of the file";
			return 0;
		}
		*len = n;
		return 1;
	}
	if (ver == 10) {
		size_t n = rd16(p + 2);
		if (n < 16) {
			*why = "IPFIX message length below 16";
			return 0;
		}
		if (n > avail) {
			*why = "IPFIX message runs past the end of the file";
			return 0;
		}
		*len = n;
		return 1;
	}
	if (ver != 9) {
		*why = "unknown version (cannot determine the length)";
		return 0;
	}
	if (avail < 20) {
		*why = "truncated NetFlow v9 header";
		return 0;
	}
	size_t pos = 20;
	for (;;) {
		if (pos == avail)
			break;                  /* end of file */
		size_t left = avail - pos;
		uint16_t id = left >= 2 ? rd16(p + pos) : p[pos];
		uint16_t flen = left >= 4 ? rd16(p + pos + 2) : 0;
		if (left >= 2 && id >= 2 && id <= 255)
			break;  /* reserved as a FlowSet id: the next header */
		if (id == 0 && flen == 0) {
			/* Padding up to the next header or the end. */
			size_t z = pos;
			while (z < avail && p[z] == 0)
				z++;
			*skip = z == avail ? z - pos : z - 1 - pos;
			break;
		}
		if (left < 4)
			break;  /* not a FlowSet: the next split says why */
		if (flen < 4) {
			*why = "NetFlow v9 FlowSet length below 4";
			return 0;
		}
		if (pos + flen > RAW_MAX_DGRAM) {
			*why = "NetFlow v9 datagram longer than 65535 bytes";
			return 0;
		}
		if (pos + flen > avail) {
			*why = "NetFlow v9 FlowSet runs past the end of the file";
			return 0;
		}
		pos += flen;
	}
	*len = pos;
	return 1;
}

static void
raw_release(struct fq__replay *r)
{
	struct source_raw *s = (struct source_raw *)r;
	if (s->f) {
		fclose(s->f);
		s->f = NULL;
	}
}

static void
raw_malformed(struct source_raw *s, const char *why)
{
	s->malformed++;
	s->malformed_why = why;
	s->malformed_off = s->file_off + s->pos;
	uint64_t rest = s->end - s->pos;
	if (s->ipfix_only) {
		fq_error("%s: corrupt IPFIX file at byte offset %llu: %s "
			 "(%llu messages before it were replayed)", s->path,
			 (unsigned long long)s->malformed_off, why,
			 (unsigned long long)s->datagrams);
		s->r.status = -FQ_ECORRUPT;
	} else {
		fq_warn("%s: malformed datagram at byte offset %llu: %s; "
			"the rest of the file (%s%llu bytes) is skipped",
			s->path, (unsigned long long)s->malformed_off, why,
			s->eof ? "" : "at least ", (unsigned long long)rest);
	}
}

/* Export time of a datagram, ms: the pace of raw:/ipfix: replay. */
static int64_t
export_ms(const uint8_t *p, size_t len)
{
	uint16_t ver = rd16(p);
	if (ver == 5 && len >= 16)
		return (int64_t)((uint32_t)rd16(p + 8) << 16 | rd16(p + 10)) *
		       1000 + ((uint32_t)rd16(p + 12) << 16 | rd16(p + 14)) /
		       1000000;
	if (ver == 9 && len >= 12)
		return (int64_t)((uint32_t)rd16(p + 8) << 16 | rd16(p + 10)) *
		       1000;
	if (ver == 10 && len >= 8)
		return (int64_t)((uint32_t)rd16(p + 4) << 16 | rd16(p + 6)) *
		       1000;
	return 0;
}

/* Zero bytes where a raw: datagram would start: padding. */
static void
raw_skip_padding(struct source_raw *s)
{
	for (;;) {
		if (s->end - s->pos < 2 && raw_fill(s) < 0)
			break;
		if (s->pos == s->end || s->buf[s->pos] != 0 ||
		    (s->end - s->pos >= 2 && s->buf[s->pos + 1] != 0))
			break;
		s->pos++;
		s->padding++;
	}
}

/* Hand the datagram at buf[pos] (len bytes, skip of padding after it) on. */
static void
raw_deliver(struct source_raw *s, size_t len, size_t skip)
{
	struct fq_datagram dg;
	memset(&dg, 0, sizeof dg);
	struct sockaddr_in *sin = (struct sockaddr_in *)&dg.src;
	sin->sin_family = AF_INET;      /* 0.0.0.0 port 0 */
	dg.data = s->buf + s->pos;
	dg.len = len;
	dg.local_id = FQ_REPLAY_LOCAL_ID;
	dg.transport = s->ipfix_only ? FQ_TRANSPORT_FILE : FQ_TRANSPORT_UDP;
	dg.arrival_ms = 0;
	switch (rd16(dg.data)) {
	case 5: s->v5++; break;
	case 9: s->v9++; break;
	default: s->ipfix++; break;
	}
	s->datagrams++;
	s->bytes += len;
	s->pos += len + skip;
	s->padding += skip;
	/* On a sink error the ingest calls our stop(): r.stopping. */
	(void)fq_ingest_datagram(s->r.base.ingest, &dg);
}

static void
raw_step(struct fq__replay *r)
{
	struct source_raw *s = (struct source_raw *)r;
	for (int i = 0; i < RAW_CHUNK; i++) {
		if (r->stopping) {
			fq__replay_finish(r);
			return;
		}
		if (raw_fill(s) < 0) {
			fq_error("%s: read error at byte offset %llu: %s",
				 s->path,
				 (unsigned long long)(s->file_off + s->end),
				 strerror(errno));
			r->status = -FQ_EIO;
			fq__replay_finish(r);
			return;
		}
		if (!s->ipfix_only)
			raw_skip_padding(s);
		if (s->pos == s->end) {
			fq__replay_finish(r);
			return;
		}
		size_t len, skip;
		const char *why;
		if (!split(s->buf + s->pos, s->end - s->pos, s->ipfix_only,
			   &len, &skip, &why)) {
			raw_malformed(s, why);
			fq__replay_finish(r);
			return;
		}
		int64_t wait = fq_pace_wait(&r->pace,
					    export_ms(s->buf + s->pos, len));
		if (wait > 0) {
			/* Not due: the datagram stays in the buffer. */
			fq__replay_wait(r, wait);
			return;
		}
		raw_deliver(s, len, skip);
	}
}

static int
raw_start(struct fq_source *src)
{
	struct source_raw *s = (struct source_raw *)src;
	s->f = fopen(s->path, "rb");
	if (s->f == NULL) {
		fq_error("%s: %s", s->path, strerror(errno));
		return -FQ_EIO;
	}
	s->buf = malloc(RAW_BUFSIZE);
	if (s->buf == NULL) {
		fq_error("%s: out of memory", s->path);
		fclose(s->f);
		s->f = NULL;
		return -FQ_ENOMEM;
	}
	fq__replay_run(&s->r);
	return 0;
}

static void
raw_free(struct fq_source *src)
{
	struct source_raw *s = (struct source_raw *)src;
	if (s->f)
		fclose(s->f);
	free(s->buf);
	free(s);
}

static void
raw_print_stats(struct fq_source *src, struct fq_out *o, int json)
{
	struct source_raw *s = (struct source_raw *)src;
	const char *kind = s->ipfix_only ? "ipfix" : "raw";
	if (json) {
		fq_out_str(o, "{\"source\":");
		fq_format_json_str(o, s->r.base.spec);
		fq_out_printf(o, ",\"kind\":\"%s\",\"datagrams\":%llu,"
			      "\"bytes\":%llu,\"v5\":%llu,\"v9\":%llu,"
			      "\"ipfix\":%llu,\"padding_bytes\":%llu,"
			      "\"malformed\":%llu", kind,
			      (unsigned long long)s->datagrams,
			      (unsigned long long)s->bytes,
			      (unsigned long long)s->v5,
			      (unsigned long long)s->v9,
			      (unsigned long long)s->ipfix,
			      (unsigned long long)s->padding,
			      (unsigned long long)s->malformed);
		if (s->malformed) {
			fq_out_printf(o, ",\"malformed_offset\":%llu,"
				      "\"malformed_reason\":",
				      (unsigned long long)s->malformed_off);
			fq_format_json_str(o, s->malformed_why);
		}
		fq_out_str(o, "}");
		return;
	}
	fq_out_printf(o, "source %s: datagrams %llu bytes %llu v5 %llu "
		      "v9 %llu ipfix %llu padding_bytes %llu malformed %llu",
		      s->r.base.spec, (unsigned long long)s->datagrams,
		      (unsigned long long)s->bytes, (unsigned long long)s->v5,
		      (unsigned long long)s->v9, (unsigned long long)s->ipfix,
		      (unsigned long long)s->padding,
		      (unsigned long long)s->malformed);
	if (s->malformed)
		fq_out_printf(o, " (at byte offset %llu: %s)",
			      (unsigned long long)s->malformed_off,
			      s->malformed_why);
	fq_out_str(o, "\n");
}

static const struct fq_source_ops raw_ops = {
	.kind = "raw",
	.start = raw_start,
	.stop = fq__replay_stop,
	.close = fq__replay_close,
	.free = raw_free,
	.print_stats = raw_print_stats,
};

static const struct fq_source_ops ipfix_ops = {
	.kind = "ipfix",
	.start = raw_start,
	.stop = fq__replay_stop,
	.close = fq__replay_close,
	.free = raw_free,
	.print_stats = raw_print_stats,
};

static const struct fq__replay_ops raw_replay_ops = {
	.step = raw_step,
	.release = raw_release,
};

static int
raw_new(const char *prefix, int ipfix_only, const char *path,
	const struct fq_source_opts *opts, struct fq_source **out, char *why,
	size_t why_len)
{
	int rc = fq__source_check_file(prefix, path, 1, why, why_len);
	if (rc < 0)
		return rc;
	struct source_raw *s = fq__source_alloc(sizeof *s,
		ipfix_only ? &ipfix_ops : &raw_ops, 0, prefix, path, why,
		why_len);
	if (s == NULL)
		return -FQ_ENOMEM;
	fq__replay_init(&s->r, &raw_replay_ops, opts);
	s->ipfix_only = ipfix_only;
	s->path = s->r.base.spec + strlen(prefix);
	*out = &s->r.base;
	return 0;
}

int
fq__source_raw_new(const char *path, const struct fq_source_opts *opts,
		   struct fq_source **out, char *why, size_t why_len)
{
	return raw_new("raw:", 0, path, opts, out, why, why_len);
}

int
fq__source_ipfix_new(const char *path, const struct fq_source_opts *opts,
		     struct fq_source **out, char *why, size_t why_len)
{
	return raw_new("ipfix:", 1, path, opts, out, why, why_len);
}
