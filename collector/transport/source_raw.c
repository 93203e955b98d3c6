/*
 * source_raw.c - replay of `raw:` datagram dumps and `ipfix:` files.
 *
 * A raw: file is export datagrams written back to back with no framing
 * (the Logstash fixtures in ../shared/data/exports/raw are such files); an
 * ipfix: file is an RFC 5655 sequence of IPFIX messages.  Both are split
 * by the protocols' own headers (framing/raw_split.c).
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
#include "wire.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "raw_split.h"
#include "replay.h"
#include "source_kind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Keep at least FQ_RAW_MAX_DGRAM + 4 bytes buffered unless at end of file. */
static int
raw_fill(struct source_raw *s)
{
	if (s->eof || s->end - s->pos >= FQ_RAW_MAX_DGRAM + 4)
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
	switch (fq__be16(dg.data)) {
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
		if (!fq__raw_split(s->buf + s->pos, s->end - s->pos,
				   s->ipfix_only, &len, &skip, &why)) {
			raw_malformed(s, why);
			fq__replay_finish(r);
			return;
		}
		/* Export times are read only when --speed paces the replay. */
		const uint8_t *dgram = s->buf + s->pos;
		int64_t wait = r->pace.speed > 0
			? fq_pace_wait(&r->pace, fq__raw_export_ms(dgram, len))
			: 0;
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
