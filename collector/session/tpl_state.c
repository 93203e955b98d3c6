/*
 * tpl_state.c - the template state file's envelope (tpl_state.h).
 *
 * Big-endian, versioned by its magic, closed by a CRC-32 of everything
 * before it so that a torn or foreign file is refused as a whole rather
 * than half applied:
 *
 *   "FQTPLST" 0x01, i64 saved_ms, u32 n, n entries, u32 crc32
 *   entry: u16 len + source, u8 is6, 16 address bytes, u16 port,
 *          u8 version, u32 domain, u8 flags (1 seq_valid, 2 have_last,
 *          4 have_sysinit), u32 seq_next, fixbuf_seq, last_seq,
 *          last_uptime, last_export_secs, sampling, i64 sysinit_ms,
 *          u8 n_samplers + (u32 id, u32 interval) each, i64
 *          refreshed_ms, u32 len + datagram
 */
#include "tpl_state.h"
#include "fq_error.h"

#include <zlib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t magic[8] = { 'F', 'Q', 'T', 'P', 'L', 'S', 'T', 1 };

#define MAX_SOURCE 1024
#define MAX_DGRAM 65535
#define MAX_ENTRIES (1u << 20)

int
fq_tpl_state_add(struct fq_tpl_state *st, const struct fq_tpl_state_entry *e)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		struct fq_tpl_state_entry *v = realloc(st->v, cap * sizeof *v);
		if (v == NULL)
			return -FQ_ENOMEM;
		st->v = v;
		st->cap = cap;
	}
	struct fq_tpl_state_entry *d = &st->v[st->n];
	*d = *e;
	d->source = strdup(e->source);
	d->dgram = malloc(e->dgram_len ? e->dgram_len : 1);
	if (d->source == NULL || d->dgram == NULL) {
		free(d->source);
		free(d->dgram);
		return -FQ_ENOMEM;
	}
	memcpy(d->dgram, e->dgram, e->dgram_len);
	st->n++;
	return 0;
}

void
fq_tpl_state_fini(struct fq_tpl_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].source);
		free(st->v[i].dgram);
	}
	free(st->v);
	memset(st, 0, sizeof *st);
}

/* ---- writing ---- */

struct wbuf {
	uint8_t *p;    /* owned */
	size_t len, cap;
	int oom;
};

static void
put(struct wbuf *w, const void *src, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (p == NULL) {
			w->oom = 1;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void
put_be(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(w, b, n);
}

static void
put_entry(struct wbuf *w, const struct fq_tpl_state_entry *e)
{
	size_t sl = strlen(e->source);
	put_be(w, sl, 2);
	put(w, e->source, sl);
	put_be(w, e->is6, 1);
	put(w, e->addr, 16);
	put_be(w, e->port, 2);
	put_be(w, e->version, 1);
	put_be(w, e->domain, 4);
	put_be(w, (uint64_t)(e->seq_valid ? 1 : 0) | (e->have_last ? 2 : 0) |
	       (e->have_sysinit ? 4 : 0), 1);
	const uint32_t u[] = { e->seq_next, e->fixbuf_seq, e->last_seq,
			       e->last_uptime, e->last_export_secs,
			       e->sampling };
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
		put_be(w, u[i], 4);
	put_be(w, (uint64_t)e->sysinit_ms, 8);
	put_be(w, e->n_samplers, 1);
	for (size_t i = 0; i < e->n_samplers; i++) {
		put_be(w, e->sampler_id[i], 4);
		put_be(w, e->sampler_interval[i], 4);
	}
	put_be(w, (uint64_t)e->refreshed_ms, 8);
	put_be(w, e->dgram_len, 4);
	put(w, e->dgram, e->dgram_len);
}

int
fq_tpl_state_encode(const struct fq_tpl_state *st, uint8_t **buf, size_t *len)
{
	struct wbuf w = { NULL, 0, 0, 0 };
	put(&w, magic, sizeof magic);
	put_be(&w, (uint64_t)st->saved_ms, 8);
	put_be(&w, st->n, 4);
	for (size_t i = 0; i < st->n; i++)
		put_entry(&w, &st->v[i]);
	if (!w.oom)
		put_be(&w, crc32(0, w.p, (uInt)w.len), 4);
	if (w.oom) {
		free(w.p);
		return -FQ_ENOMEM;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

/* ---- reading ---- */

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	char *why;
	size_t why_len;
	int bad;       /* a reason is in why */
};

static int fail(struct rbuf *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(struct rbuf *r, const char *fmt, ...)
{
	if (r->bad)
		return -1;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->why, r->why_len, "offset %zu: %s", r->off, msg);
	r->bad = 1;
	return -1;
}

/* n bytes at the cursor, or NULL (said: the file ends early). */
static const uint8_t *
take(struct rbuf *r, size_t n, const char *what)
{
	if (r->bad)
		return NULL;
	if (r->len - r->off < n) {
		fail(r, "the file ends inside %s", what);
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t
get_be(struct rbuf *r, size_t n, const char *what)
{
	const uint8_t *p = take(r, n, what);
	uint64_t v = 0;
	for (size_t i = 0; p && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int
get_entry(struct rbuf *r, struct fq_tpl_state_entry *e)
{
	memset(e, 0, sizeof *e);
	size_t sl = (size_t)get_be(r, 2, "a source's length");
	if (!r->bad && (sl == 0 || sl > MAX_SOURCE))
		return fail(r, "a source name of %zu bytes", sl);
	const uint8_t *s = take(r, sl, "a source name");
	if (s && memchr(s, '\0', sl))
		return fail(r, "a source name holds a NUL byte");
	e->is6 = (uint8_t)get_be(r, 1, "an address");
	const uint8_t *a = take(r, 16, "an address");
	if (a)
		memcpy(e->addr, a, 16);
	e->port = (uint16_t)get_be(r, 2, "a port");
	e->version = (uint8_t)get_be(r, 1, "a version");
	e->domain = (uint32_t)get_be(r, 4, "a domain");
	unsigned flags = (unsigned)get_be(r, 1, "flags");
	if (!r->bad && (e->is6 > 1 || (e->version != 9 && e->version != 10) ||
			flags > 7))
		return fail(r, "an entry that is not a v9 or IPFIX domain");
	e->seq_valid = flags & 1;
	e->have_last = (flags >> 1) & 1;
	e->have_sysinit = (flags >> 2) & 1;
	uint32_t *u[] = { &e->seq_next, &e->fixbuf_seq, &e->last_seq,
			  &e->last_uptime, &e->last_export_secs, &e->sampling };
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
		*u[i] = (uint32_t)get_be(r, 4, "a domain's state");
	e->sysinit_ms = (int64_t)get_be(r, 8, "a domain's state");
	e->n_samplers = (uint8_t)get_be(r, 1, "samplers");
	if (e->n_samplers > FQ_TPL_STATE_SAMPLERS)
		return fail(r, "%u samplers", e->n_samplers);
	for (size_t i = 0; i < e->n_samplers; i++) {
		e->sampler_id[i] = (uint32_t)get_be(r, 4, "a sampler");
		e->sampler_interval[i] = (uint32_t)get_be(r, 4, "a sampler");
	}
	e->refreshed_ms = (int64_t)get_be(r, 8, "a time");
	e->dgram_len = (uint32_t)get_be(r, 4, "a datagram's length");
	if (!r->bad && (e->dgram_len < 16 || e->dgram_len > MAX_DGRAM))
		return fail(r, "a datagram of %u bytes", e->dgram_len);
	const uint8_t *d = take(r, e->dgram_len, "a datagram");
	if (r->bad)
		return -1;
	e->source = malloc(sl + 1);
	e->dgram = malloc(e->dgram_len);
	if (e->source == NULL || e->dgram == NULL) {
		free(e->source);
		free(e->dgram);
		return -FQ_ENOMEM;
	}
	memcpy(e->source, s, sl);
	e->source[sl] = '\0';
	memcpy(e->dgram, d, e->dgram_len);
	return 0;
}

/* The entries after the header; 0, -1 (said) or -FQ_ENOMEM. */
static int
get_entries(struct fq_tpl_state *st, struct rbuf *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fq_tpl_state_entry e;
		int rc = get_entry(r, &e);
		if (rc == 0) {
			rc = fq_tpl_state_add(st, &e);
			free(e.source);
			free(e.dgram);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
fq_tpl_state_decode(struct fq_tpl_state *st, const uint8_t *buf, size_t len,
		    char *why, size_t why_len)
{
	memset(st, 0, sizeof *st);
	struct rbuf r = { buf, len, 0, why, why_len, 0 };
	if (len < sizeof magic + 16 || memcmp(buf, magic, 7) != 0) {
		fail(&r, "not a flowq template state file");
		return -FQ_ECORRUPT;
	}
	if (buf[7] != magic[7]) {
		fail(&r, "template state format %u (this flowq reads %u)",
		     buf[7], magic[7]);
		return -FQ_EUNSUP;
	}
	uint32_t want = (uint32_t)buf[len - 4] << 24 |
			(uint32_t)buf[len - 3] << 16 |
			(uint32_t)buf[len - 2] << 8 | buf[len - 1];
	if (crc32(0, buf, (uInt)(len - 4)) != want) {
		r.off = len - 4;
		fail(&r, "checksum mismatch: torn or altered");
		return -FQ_ECORRUPT;
	}
	r.len = len - 4;
	r.off = sizeof magic;
	st->saved_ms = (int64_t)get_be(&r, 8, "the header");
	size_t n = (size_t)get_be(&r, 4, "the header");
	if (n > MAX_ENTRIES)
		fail(&r, "%zu entries", n);
	int rc = r.bad ? -1 : get_entries(st, &r, n);
	if (rc == 0 && r.off != r.len)
		rc = fail(&r, "%zu bytes after the last entry", r.len - r.off);
	if (rc < 0)
		fq_tpl_state_fini(st);
	return rc == -FQ_ENOMEM ? rc : rc < 0 ? -FQ_ECORRUPT : 0;
}

/* ---- files ---- */

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int
fq_tpl_state_save(const struct fq_tpl_state *st, const char *path, char *why,
		  size_t why_len)
{
	uint8_t *buf;
	size_t len;
	if (fq_tpl_state_encode(st, &buf, &len) < 0) {
		snprintf(why, why_len, "%s: out of memory", path);
		return -FQ_ENOMEM;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc = fd < 0 || write_all(fd, buf, len) < 0 || fsync(fd) < 0 ? -1 : 0;
	int err = errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -1;
		err = errno;
	}
	free(buf);
	if (rc < 0) {
		unlink(tmp);
		snprintf(why, why_len, "%s: cannot write: %s", path, strerror(err));
		return -FQ_EIO;
	}
	return 0;
}

int
fq_tpl_state_load(struct fq_tpl_state *st, const char *path, char *why,
		  size_t why_len)
{
	memset(st, 0, sizeof *st);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -FQ_ENOENT : -FQ_EIO;
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	while (buf != NULL) {
		len += fread(buf + len, 1, cap - len, f);
		if (len < cap || cap >= (size_t)1 << 30)
			break;
		uint8_t *nb = realloc(buf, cap * 2);
		if (nb == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	int err = ferror(f);
	fclose(f);
	if (buf == NULL || err) {
		free(buf);
		snprintf(why, why_len, "%s: cannot read", path);
		return buf == NULL ? -FQ_ENOMEM : -FQ_EIO;
	}
	char r[200];
	int rc = fq_tpl_state_decode(st, buf, len, r, sizeof r);
	if (rc < 0)
		snprintf(why, why_len, "%s: %s", path,
			 rc == -FQ_ENOMEM ? "out of memory" : r);
	free(buf);
	return rc;
}
