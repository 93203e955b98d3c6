/*
 * query.c - the front end's entry point and the helpers its passes share:
 * error reporting into the diagnostics list, arena allocation, the table
 * of protocol names.  Name suggestions are
 * core's (fq_suggest.h).
 */
#include "query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "internal.h"
#include "partition.h"

struct fq_query {
	struct fq_arena arena;   /* owns everything below */
	struct fq_plan plan;
	struct fq_plan_partition part;   /* plan.partition points here */
};

void *
fq__alloc(struct fq__ctx *c, size_t size)
{
	/*
	 * A pathological query (one group filter of 100k lines used by
	 * every branch, ...) must not allocate without bound: past the
	 * budget the compile stops with an error.
	 */
	if (c->arena->total > FQ__MAX_ARENA || size > FQ__MAX_ARENA) {
		c->too_big = 1;
		c->oom = 1;
		return NULL;
	}
	void *p = fq_arena_alloc(c->arena, size ? size : 1);
	if (p == NULL)
		c->oom = 1;
	return p;
}

/*
 * Arrays the front end builds grow in the arena: capacity is the next
 * power of two >= n, at least 4, so it need not be stored; a full array
 * is copied into one twice its size (the old one stays in the arena).
 */
void *
fq__push(struct fq__ctx *c, void **v, size_t *n, size_t sz)
{
	size_t cap = 4;
	while (cap < *n)
		cap *= 2;
	if (*n == 0 || *n == cap) {
		size_t ncap = *n == 0 ? 4 : cap * 2;
		char *nv = fq__alloc(c, ncap * sz);
		if (nv == NULL)
			return NULL;
		if (*n)
			memcpy(nv, *v, *n * sz);
		*v = nv;
	}
	char *slot = (char *)*v + (*n)++ * sz;
	memset(slot, 0, sz);
	return slot;
}

int
fq__push_ptr(struct fq__ctx *c, void ***v, size_t *n, void *x)
{
	void **slot = fq__push(c, (void **)v, n, sizeof(void *));
	if (slot == NULL)
		return -1;
	*slot = x;
	return 0;
}

uint32_t
fq__line_of(const struct fq__ctx *c, uint32_t off)
{
	uint32_t lo = 0, hi = c->nlines;
	if (c->line_start == NULL)
		return 1;
	/* Last line start <= off. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->line_start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

static void report(struct fq__ctx *c, enum fq_severity sev, uint32_t off,
		   uint32_t len, const char *note, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

static void
report(struct fq__ctx *c, enum fq_severity sev, uint32_t off, uint32_t len,
       const char *note, const char *fmt, va_list ap)
{
	char msg[400];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fq_diag_add(c->diag, sev, c->file, c->src, c->len, off, len, note,
		    "%s", msg);
}

void
fq__error(struct fq__ctx *c, uint32_t off, uint32_t len, const char *note,
	  const char *fmt, ...)
{
	va_list ap;
	c->nerrors++;
	if (c->nerrors > FQ__MAX_ERRORS)
		return;
	if (c->lexing && c->nlex_err < FQ__MAX_ERRORS)
		c->lex_err[c->nlex_err++] = off;
	va_start(ap, fmt);
	report(c, FQ_SEV_ERROR, off, len, note, fmt, ap);
	va_end(ap);
}

void
fq__warning(struct fq__ctx *c, uint32_t off, uint32_t len, const char *note,
	    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(c, FQ_SEV_WARNING, off, len, note, fmt, ap);
	va_end(ap);
}

int
fq__line_has_lex_error(const struct fq__ctx *c, uint32_t off)
{
	uint32_t ls = off, le = off;
	while (ls > 0 && c->src[ls - 1] != '\n')
		ls--;
	while (le < c->len && c->src[le] != '\n')
		le++;
	for (int i = 0; i < c->nlex_err; i++)
		if (c->lex_err[i] >= ls && c->lex_err[i] <= le)
			return 1;
	return 0;
}

int
fq__streq(const char *s, size_t len, const char *lit)
{
	size_t l = strlen(lit);
	return l == len && memcmp(s, lit, len) == 0;
}

/* IANA protocol numbers an operator names in filters (case-insensitive). */
static const struct {
	const char *name;
	int num;
} protocols[] = {
	{ "HOPOPT", 0 }, { "ICMP", 1 }, { "IGMP", 2 }, { "IPIP", 4 },
	{ "IPv4", 4 }, { "TCP", 6 }, { "EGP", 8 }, { "IGP", 9 }, { "UDP", 17 },
	{ "DCCP", 33 }, { "IPv6", 41 }, { "RSVP", 46 }, { "GRE", 47 },
	{ "ESP", 50 }, { "AH", 51 }, { "ICMPv6", 58 }, { "IPv6-ICMP", 58 },
	{ "EIGRP", 88 }, { "OSPF", 89 }, { "OSPFIGP", 89 }, { "ETHERIP", 97 },
	{ "PIM", 103 }, { "VRRP", 112 }, { "L2TP", 115 }, { "ISIS", 124 },
	{ "SCTP", 132 }, { "UDPLite", 136 }, { "MPLS-in-IP", 137 },
};

int
fq__protocol_lookup(const char *s, size_t len, int *num, const char **suggest)
{
	const size_t np = sizeof(protocols) / sizeof(protocols[0]);
	const char *names[sizeof(protocols) / sizeof(protocols[0])];
	for (size_t i = 0; i < np; i++) {
		names[i] = protocols[i].name;
		if (strlen(protocols[i].name) == len &&
		    strncasecmp(protocols[i].name, s, len) == 0) {
			*num = protocols[i].num;
			return 1;
		}
	}
	*suggest = fq_suggest(s, len, names, np);
	return 0;
}

/*
 * The passes report in their own order (lexer, parser, validator); a
 * person reads a file top to bottom.  Stable insertion sort by position
 * of the entries this compile added (at most FQ_DIAG_MAX).
 */
static void
sort_diags(struct fq_diag *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct fq_diag_entry e = d->v[i];
		size_t j = i;
		while (j > from && (d->v[j - 1].line > e.line ||
				    (d->v[j - 1].line == e.line &&
				     d->v[j - 1].col > e.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = e;
	}
}

/* Where each line of c->src starts, for fq__line_of(). */
static int
line_table(struct fq__ctx *c)
{
	uint32_t nl = 1;
	for (size_t i = 0; i < c->len; i++)
		nl += c->src[i] == '\n';
	c->line_start = fq__alloc(c, nl * sizeof(uint32_t));
	if (c->line_start == NULL)
		return -1;
	c->line_start[0] = 0;
	c->nlines = 1;
	for (size_t i = 0; i < c->len; i++)
		if (c->src[i] == '\n')
			c->line_start[c->nlines++] = (uint32_t)(i + 1);
	return 0;
}

int
fq_query_compile(struct fq_query **out, const char *filename,
		 const char *text, size_t len, struct fq_diag *diag)
{
	*out = NULL;
	struct fq_query *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -FQ_ENOMEM;
	fq_arena_init(&q->arena, 64 * 1024);
	struct fq__ctx c;
	memset(&c, 0, sizeof(c));
	c.arena = &q->arena;
	c.diag = diag;
	c.file = filename ? filename : "<query>";
	int rc = 0;
	size_t first_diag = diag->n;

	if (len > FQ__MAX_INPUT) {
		fq_diag_add(diag, FQ_SEV_ERROR, c.file, NULL, 0, 0, 0, NULL,
			    "query file too large (%zu bytes; the limit is %u)",
			    len, (unsigned)FQ__MAX_INPUT);
		rc = -FQ_EPARSE;
		goto fail;
	}
	char *src = fq_arena_strndup(&q->arena, text, len);
	if (src == NULL) {
		rc = -FQ_ENOMEM;
		goto fail;
	}
	c.src = src;
	c.len = len;
	if (line_table(&c) < 0) {
		rc = -FQ_ENOMEM;
		goto fail;
	}

	struct fq__token *toks;
	size_t ntoks;
	c.lexing = 1;
	rc = fq__lex(&c, &toks, &ntoks);
	c.lexing = 0;
	if (rc < 0)
		goto fail;
	struct fq__file file;
	rc = fq__parse(&c, toks, ntoks, &file);
	if (rc < 0)
		goto fail;
	/*
	 * Validate even after syntax errors: the statements that parsed
	 * still get their name and type errors reported.
	 */
	if (c.nerrors < FQ__MAX_ERRORS) {
		rc = fq__validate(&c, &file, &q->plan);
		if (rc < 0)
			goto fail;
	}
	if (c.oom) {
		rc = -FQ_ENOMEM;
		goto fail;
	}
	if (c.nerrors > 0) {
		rc = -FQ_EPARSE;
		goto fail;
	}
	q->plan.file = fq_arena_strndup(&q->arena, c.file, strlen(c.file));
	rc = fq_plan_partition(&q->plan, &q->part);
	if (rc < 0)
		goto fail;
	q->plan.partition = &q->part;
	sort_diags(diag, first_diag);
	*out = q;
	return 0;
fail:
	if (c.too_big) {
		fq_diag_add(diag, FQ_SEV_ERROR, c.file, NULL, 0, 0, 0, NULL,
			    "query too complex: compiling it needs more than %u MiB",
			    (unsigned)(FQ__MAX_ARENA >> 20));
		rc = -FQ_EPARSE;
	}
	sort_diags(diag, first_diag);
	if (c.nerrors > FQ__MAX_ERRORS)
		fq_diag_add(diag, FQ_SEV_ERROR, c.file, NULL, 0, 0, 0, NULL,
			    "too many errors (%d), stopped", c.nerrors);
	fq_query_free(q);
	return rc;
}

int
fq_query_compile_file(struct fq_query **out, const char *path,
		      struct fq_diag *diag)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fq_diag_add(diag, FQ_SEV_ERROR, path, NULL, 0, 0, 0, NULL,
			    "cannot open query file: %s", strerror(errno));
		return -FQ_EIO;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int rc = 0;
	if (buf == NULL) {
		rc = -FQ_ENOMEM;
		goto out;
	}
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > FQ__MAX_INPUT)
			break;   /* fq_query_compile reports the size */
		if (n == 0)
			break;
		if (len == cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = -FQ_ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		fq_diag_add(diag, FQ_SEV_ERROR, path, NULL, 0, 0, 0, NULL,
			    "cannot read query file: %s", strerror(errno));
		rc = -FQ_EIO;
		goto out;
	}
	rc = fq_query_compile(out, path, buf, len, diag);
out:
	free(buf);
	fclose(f);
	return rc;
}

const struct fq_plan *
fq_query_plan(const struct fq_query *q)
{
	return &q->plan;
}

void
fq_query_free(struct fq_query *q)
{
	if (q == NULL)
		return;
	fq_plan_partition_fini(&q->part);
	fq_arena_fini(&q->arena);
	free(q);
}
