/*
 * metrics_render.c - --stats-json as Prometheus text (metrics_render.h).
 *
 * The JSON tree (metrics_json.c) is walked once; every number becomes a
 * sample of a family (a metric name with its TYPE and HELP).  Samples are
 * gathered first and printed family by family, because the text format
 * wants a family's samples together while the JSON lists them per
 * exporter, per query; gathering also sums the samples that fold into one
 * series (exporters beyond the cap, one exporter seen on two sockets).
 *
 * The walk knows a path in the JSON as a pattern: `ingest.sources[].bytes`
 * for a member of an array's element, `engine.queries[].branches.*.late`
 * for a member under a map's key.  The tables below are keyed by these
 * patterns; everything they do not name follows the generic rules of
 * metrics_render.h.
 */
#include "metrics_render.h"
#include "metrics_json.h"
#include "fq_error.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mr_kind { MR_DEFAULT, MR_COUNTER, MR_GAUGE, MR_SKIP, MR_HIST };

/* Numbers (and histogram objects) the generic rules would not name or
 * type right.  `name` NULL keeps the generic name. */
static const struct mr_rule {
	const char *path, *name;
	enum mr_kind kind;
	const char *help;
} rules[] = {
	{ "ingest.sources[].kernel_drops", "flowq_socket_kernel_drops_total",
	  MR_COUNTER, "Datagrams the kernel dropped on the socket "
	  "(SO_RXQ_OVFL / /proc/net/udp)" },
	{ "ingest.sources[].rx_queue", "flowq_socket_rx_queue_bytes",
	  MR_GAUGE, "Bytes waiting in the socket's receive queue" },
	{ "ingest.sources[].rcvbuf", "flowq_socket_rcvbuf_bytes", MR_GAUGE,
	  "The socket's receive buffer as the kernel set it" },
	{ "ingest.sources[].rcvbuf_requested",
	  "flowq_socket_rcvbuf_requested_bytes", MR_GAUGE,
	  "The receive buffer flowq asked for (--rcvbuf)" },
	{ "ingest.sources[].open", NULL, MR_GAUGE, NULL },
	{ "ingest.exporters[].records", NULL, MR_SKIP, NULL },
	{ "ingest.exporters[].port", NULL, MR_SKIP, NULL },
	{ "ingest.exporters[].socket", NULL, MR_SKIP, NULL },
	{ "ingest.exporters[].templates_active", NULL, MR_GAUGE, NULL },
	{ "ingest.exporters[].domains", NULL, MR_GAUGE, NULL },
	{ "ingest.exporters[].malformed_by_reason.*", "flowq_malformed_total",
	  MR_COUNTER, "Malformed datagrams per exporter, by reason "
	  "(docs/decoders.md)" },
	{ "ingest.exporters[].anomalies_by_reason.*", "flowq_anomalies_total",
	  MR_COUNTER, "Anomalies per exporter (decoded all the same), by "
	  "reason (docs/decoders.md)" },
	{ "ingest.exporters[].by_domain[].records",
	  "flowq_exporter_records_total", MR_COUNTER,
	  "Records decoded per exporter session (address:port) and "
	  "observation domain" },
	{ "ingest.decoder.exporters_active", NULL, MR_GAUGE, NULL },
	{ "engine.state_bytes", "flowq_state_bytes", MR_GAUGE,
	  "Bytes of pipeline state held by all queries" },
	{ "engine.state_peak", "flowq_state_peak_bytes", MR_GAUGE,
	  "Largest pipeline state so far" },
	{ "engine.state_cap", "flowq_state_cap_bytes", MR_GAUGE,
	  "The state cap (--max-state)" },
	{ "engine.stream_lag_ms", "flowq_stream_lag_seconds", MR_GAUGE,
	  "How far stream time trails the latest arrival (includes "
	  "--lateness)" },
	{ "engine.queries[].matches", "flowq_query_matches_total", MR_COUNTER,
	  "Matches per query" },
	{ "engine.queries[].pending", NULL, MR_GAUGE, NULL },
	{ "engine.queries[].branches.*.open_groups", NULL, MR_GAUGE, NULL },
	{ "engine.queries[].latency.*.*", "flowq_alert_latency_seconds",
	  MR_HIST, "Delivery latency of matches: from the record that "
	  "completed the match to the sink handing it to the system" },
};

/* Objects whose keys are label values, and the name they continue. */
static const struct mr_map {
	const char *path, *label, *name;
} maps[] = {
	{ "ingest.exporters[].malformed_by_reason", "reason", NULL },
	{ "ingest.exporters[].anomalies_by_reason", "reason", NULL },
	{ "engine.queries[].branches", "branch", "branch" },
	{ "engine.queries[].latency", "sink", "alert_latency" },
	{ "engine.queries[].latency.*", "kind", NULL },
};

/* Arrays whose singular is not the key less its "s". */
static const struct mr_array {
	const char *path, *name;
} arrays[] = {
	{ "engine.queries", "query" },
	{ "ingest.exporters[].by_domain", "exporter" },
};

/* Histogram bounds: powers of two of microseconds, which are bounds of
 * the latency buckets (pipeline/latency.h), so each cumulative count is
 * exact: values <= 2^k - 1 us, from 127 us to 2.4 hours. */
#define MR_HIST_LO 7
#define MR_HIST_HI 33

#define MR_PATH 512
#define MR_LABELS 2048
#define MR_HASH 4096

struct mr_sample {
	struct mr_sample *next;    /* in its family, in order */
	struct mr_sample *hnext;
	char *key;                 /* name suffix + {labels} */
	int is_int;
	uint64_t u;
	double d;
};

struct mr_family {
	struct mr_family *next, *hnext;
	char *name;
	const char *type;
	char *help;
	struct mr_sample *first, *last;
};

struct mr_buf {
	char *p;
	size_t len, cap;
	int oom;
};

struct mr {
	struct mr_family *fams, *fams_last;
	struct mr_family *fhash[256];
	struct mr_sample *shash[MR_HASH];
	const struct fq_mj *exporters;   /* the array being capped */
	unsigned char *keep;             /* per exporter: 1 kept, 0 folded */
	size_t max_exporters;
	int oom;
};

/* Where the walk is: the path pattern, the name so far, the labels.
 * One for the whole walk: each step appends and, on its way back, cuts
 * the strings to where they were (a mark), so that nothing is copied per
 * number (1,000 exporters are some 25,000 numbers). */
struct mr_at {
	char path[MR_PATH];
	char name[MR_PATH];
	char labels[MR_LABELS];
	int folded;                /* under an exporter beyond the cap */
};

struct mr_mark {
	size_t path, name, labels;
	int folded;
};

static struct mr_mark
mark(const struct mr_at *at)
{
	return (struct mr_mark){ strlen(at->path), strlen(at->name),
				 strlen(at->labels), at->folded };
}

static void
back(struct mr_at *at, struct mr_mark k)
{
	at->path[k.path] = at->name[k.name] = at->labels[k.labels] = '\0';
	at->folded = k.folded;
}

static void
buf_add(struct mr_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *p = realloc(b->p, nc);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_printf(struct mr_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
buf_printf(struct mr_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Append to a fixed buffer, truncating (names and labels are short). */
static void
cat(char *dst, size_t cap, const char *a, const char *b)
{
	size_t n = strlen(dst), na = strlen(a), nb = strlen(b);
	if (n + na + nb >= cap)
		return;   /* never with flowq's keys: a name stays whole */
	memcpy(dst + n, a, na);
	memcpy(dst + n + na, b, nb + 1);
}

/* A JSON key as part of a metric or label name: [a-zA-Z0-9_]. */
static void
sanitize(char *dst, size_t cap, const char *s)
{
	size_t k = 0;
	for (; *s && k + 1 < cap; s++) {
		char c = *s;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_';
		dst[k++] = ok ? c : '_';
	}
	dst[k] = '\0';
}

/* Add label name="value" to at->labels, the value escaped as the text
 * format wants (backslash, double quote, newline). */
static void
add_label(struct mr_at *at, const char *name, const char *value)
{
	char esc[512], key[64];
	size_t k = 0;
	for (const char *s = value; *s && k + 4 < sizeof esc; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			esc[k++] = '\\';
			esc[k++] = *s == '\n' ? 'n' : *s;
		} else {
			esc[k++] = *s;
		}
	}
	esc[k++] = '"';
	esc[k] = '\0';
	sanitize(key, sizeof key, name);
	cat(key, sizeof key, "=\"", "");
	cat(at->labels, sizeof at->labels, *at->labels ? "," : "", key);
	cat(at->labels, sizeof at->labels, esc, "");
}

#define MR_NRULES (sizeof rules / sizeof rules[0])

/* Rules are looked up for every number: the length and the last
 * character tell most of them apart before strcmp() does. */
static const struct mr_rule *
find_rule(const char *path)
{
	static size_t len[MR_NRULES];
	if (len[0] == 0)
		for (size_t i = 0; i < MR_NRULES; i++)
			len[i] = strlen(rules[i].path);
	size_t n = strlen(path);
	for (size_t i = 0; n && i < MR_NRULES; i++)
		if (len[i] == n && rules[i].path[n - 1] == path[n - 1] &&
		    strcmp(rules[i].path, path) == 0)
			return &rules[i];
	return NULL;
}

static const struct mr_map *
find_map(const char *path)
{
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		if (strcmp(maps[i].path, path) == 0)
			return &maps[i];
	return NULL;
}

/* HELP: the table's words, then always the JSON path the family comes
 * from, so that a reader (and tests/service/metrics.py) can tell which
 * --stats-json counter a family is. */
static void
help_of(char *help, size_t cap, const struct mr_rule *r, const char *path)
{
	snprintf(help, cap, "%s%s(--stats-json %s)", r && r->help ? r->help : "",
		 r && r->help ? " " : "", path);
}

/* The family `name`, made (with its HELP from rule r and the JSON path)
 * the first time. */
static struct mr_family *
family(struct mr *m, const char *name, const char *type,
       const struct mr_rule *r, const char *path)
{
	unsigned h = hash(name) % 256;
	for (struct mr_family *f = m->fhash[h]; f; f = f->hnext)
		if (strcmp(f->name, name) == 0)
			return f;
	char help[3 * MR_PATH];
	help_of(help, sizeof help, r, path);
	struct mr_family *f = calloc(1, sizeof *f);
	if (f == NULL || (f->name = strdup(name)) == NULL ||
	    (f->help = strdup(help)) == NULL) {
		if (f)
			free(f->name);
		free(f);
		m->oom = 1;
		return NULL;
	}
	f->type = type;
	f->hnext = m->fhash[h];
	m->fhash[h] = f;
	if (m->fams_last)
		m->fams_last->next = f;
	else
		m->fams = f;
	m->fams_last = f;
	return f;
}

/* Add (or, for a series already there, sum into) a sample of family f:
 * `suffix` after the family's name (_bucket, _sum...), then labels. */
static void
sample(struct mr *m, struct mr_family *f, const char *suffix,
       const char *labels, int is_int, uint64_t u, double d)
{
	char key[3 * MR_PATH + MR_LABELS + 16] = "";
	cat(key, sizeof key, f->name, suffix);
	if (*labels) {
		cat(key, sizeof key, "{", labels);
		cat(key, sizeof key, "}", "");
	}
	unsigned h = hash(key) % MR_HASH;
	for (struct mr_sample *s = m->shash[h]; s; s = s->hnext) {
		if (strcmp(s->key, key) != 0)
			continue;
		s->is_int &= is_int;
		s->u += u;
		s->d += d;
		return;
	}
	struct mr_sample *s = calloc(1, sizeof *s);
	if (s == NULL || (s->key = strdup(key)) == NULL) {
		free(s);
		m->oom = 1;
		return;
	}
	*s = (struct mr_sample){ NULL, m->shash[h], s->key, is_int, u, d };
	m->shash[h] = s;
	if (f->last)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
}

/* A number of the JSON as a sample: integers exactly, others as double. */
static void
sample_num(struct mr *m, struct mr_family *f, const char *suffix,
	   const char *labels, const struct fq_mj *v, double scale)
{
	int is_int = v->type == FQ_MJ_BOOL ||
		     (scale == 1 && strspn(v->str, "0123456789") == strlen(v->str));
	uint64_t u = v->type == FQ_MJ_BOOL ? (uint64_t)v->num
		     : is_int ? strtoull(v->str, NULL, 10) : 0;
	sample(m, f, suffix, labels, is_int, u, v->num * scale);
}

static void walk(struct mr *m, const struct fq_mj *v, struct mr_at *at);

/* A number (or bool) at a leaf: its family by rule or generic name. */
static void
leaf(struct mr *m, const struct fq_mj *v, struct mr_at *at,
     const char *key)
{
	const struct mr_rule *r = find_rule(at->path);
	if ((r && r->kind == MR_SKIP) || v->type == FQ_MJ_NULL)
		return;
	char name[2 * MR_PATH + 16], k[MR_PATH];
	sanitize(k, sizeof k, key);
	name[0] = '\0';
	cat(name, sizeof name, "flowq_", at->name);
	cat(name, sizeof name, k, "");
	double scale = 1;
	enum mr_kind kind = r ? r->kind : MR_DEFAULT;
	size_t n = strlen(name);
	if (n > 3 && strcmp(name + n - 3, "_ms") == 0) {
		snprintf(name + n - 3, sizeof name - (n - 3), "_seconds");
		scale = 0.001;
		if (kind == MR_DEFAULT)
			kind = MR_GAUGE;
	}
	if (kind == MR_DEFAULT)
		kind = v->type == FQ_MJ_BOOL ? MR_GAUGE : MR_COUNTER;
	if (kind == MR_COUNTER && strstr(name, "_total") == NULL)
		cat(name, sizeof name, "_total", "");
	if (r && r->name)
		snprintf(name, sizeof name, "%s", r->name);
	struct mr_family *f = family(m, name, kind == MR_COUNTER ? "counter"
				     : "gauge", r, at->path);
	if (f)
		sample_num(m, f, "", at->labels, v, scale);
}

/* A latency histogram {count, sum_ms, max_ms, buckets: [[le_ms, n]...]}
 * as _bucket (cumulative, at the MR_HIST bounds), _sum, _count, and its
 * largest value as a gauge; the quantiles are Prometheus's to compute. */
static void
histogram(struct mr *m, const struct fq_mj *v, struct mr_at *at,
	  const struct mr_rule *r)
{
	const struct fq_mj *cnt = fq_mj_get(v, "count"),
			   *sum = fq_mj_get(v, "sum_ms"),
			   *max = fq_mj_get(v, "max_ms"),
			   *bk = fq_mj_get(v, "buckets");
	if (!cnt || cnt->type != FQ_MJ_NUM || !bk || bk->type != FQ_MJ_ARR)
		return;
	struct mr_family *f = family(m, r->name, "histogram", r, at->path);
	if (f == NULL)
		return;
	for (int e = MR_HIST_LO; e <= MR_HIST_HI; e++) {
		uint64_t bound = ((uint64_t)1 << e) - 1, c = 0;
		for (size_t i = 0; i < bk->n; i++) {
			const struct fq_mj *b = &bk->kids[i];
			if (b->type == FQ_MJ_ARR && b->n == 2 &&
			    b->kids[0].type == FQ_MJ_NUM &&
			    llround(b->kids[0].num * 1000) <= (long long)bound)
				c += (uint64_t)b->kids[1].num;
		}
		struct mr_mark k = mark(at);
		char s[32];
		snprintf(s, sizeof s, "%llu.%06llu",
			 (unsigned long long)(bound / 1000000),
			 (unsigned long long)(bound % 1000000));
		add_label(at, "le", s);
		sample(m, f, "_bucket", at->labels, 1, c, (double)c);
		back(at, k);
	}
	struct mr_mark k = mark(at);
	add_label(at, "le", "+Inf");
	sample_num(m, f, "_bucket", at->labels, cnt, 1);
	back(at, k);
	if (sum && sum->type == FQ_MJ_NUM)
		sample_num(m, f, "_sum", at->labels, sum, 0.001);
	sample_num(m, f, "_count", at->labels, cnt, 1);
	char path[MR_PATH + 8];
	snprintf(path, sizeof path, "%s.max_ms", at->path);
	struct mr_family *g = family(m, "flowq_alert_latency_max_seconds",
				     "gauge", NULL, path);
	if (g && max && max->type == FQ_MJ_NUM)
		sample_num(m, g, "", at->labels, max, 0.001);
}

/* An array's element: its strings are labels (an exporter's is
 * address:port, or "other" past the cap), its numbers samples. */
static void
element(struct mr *m, const struct fq_mj *arr, size_t i,
	struct mr_at *at)
{
	const struct fq_mj *e = &arr->kids[i];
	struct mr_mark k0 = mark(at);
	if (arr == m->exporters)
		at->folded = m->keep && !m->keep[i];
	for (size_t k = 0; e->type == FQ_MJ_OBJ && k < e->n; k++) {
		const struct fq_mj *kid = &e->kids[k];
		if (kid->type != FQ_MJ_STR)
			continue;
		const char *val = kid->str;
		char ep[128];
		if (arr == m->exporters && strcmp(kid->key, "exporter") == 0) {
			const struct fq_mj *port = fq_mj_get(e, "port");
			snprintf(ep, sizeof ep, strchr(val, ':') ? "[%s]:%s"
				 : "%s:%s", val, port && port->str ? port->str : "0");
			val = ep;
		}
		add_label(at, kid->key, at->folded ? "other" : val);
	}
	walk(m, e, at);
	back(at, k0);
}

static int
by_records(const void *a, const void *b)
{
	const double *x = a, *y = b;
	return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : (x[1] > y[1]) - (x[1] < y[1]);
}

/* Which exporters keep their own label: the max_exporters with the most
 * records (in their order of creation among equals). */
static void
cap_exporters(struct mr *m, const struct fq_mj *arr)
{
	m->exporters = arr;
	free(m->keep);
	m->keep = calloc(arr->n + 1, 1);
	double *rank = malloc((arr->n + 1) * 2 * sizeof *rank);
	if (m->keep == NULL || rank == NULL) {
		free(rank);
		m->oom = 1;
		return;
	}
	for (size_t i = 0; i < arr->n; i++) {
		const struct fq_mj *r = fq_mj_get(&arr->kids[i], "records");
		rank[2 * i] = r ? r->num : 0;
		rank[2 * i + 1] = (double)i;
	}
	qsort(rank, arr->n, 2 * sizeof *rank, by_records);
	for (size_t i = 0; i < arr->n && i < m->max_exporters; i++)
		m->keep[(size_t)rank[2 * i + 1]] = 1;
	free(rank);
}

/* Replace the name so far (a map's or an array's own); the old one is
 * kept in `saved` for restore_name(). */
static void
reset_name(struct mr_at *at, const char *name, char *saved)
{
	memcpy(saved, at->name, sizeof at->name);
	sanitize(at->name, sizeof at->name, name);
	cat(at->name, sizeof at->name, "_", "");
}

static void
restore_name(struct mr_at *at, const char *saved)
{
	memcpy(at->name, saved, sizeof at->name);
}

/* An object or array member (or a map's entry) below a number. */
static void
descend(struct mr *m, const struct fq_mj *v, struct mr_at *at,
	const char *key, const struct mr_map *map)
{
	/* With sinks keeping counters, the engine's object is one level
	 * down ({"exec": ..., "queries": {...}}): the same names either way. */
	if (strcmp(at->path, "engine.queries") == 0 && v->type == FQ_MJ_OBJ) {
		at->path[strlen("engine")] = '\0';
		walk(m, v, at);
		return;
	}
	if (!map && v->type == FQ_MJ_OBJ) {
		char k[MR_PATH];
		sanitize(k, sizeof k, key);
		cat(at->name, sizeof at->name, k, "_");
	}
	walk(m, v, at);
}

/* A member of an object (or a map's entry) one level down. */
static void
member(struct mr *m, const struct fq_mj *v, struct mr_at *at,
       const char *key, const struct mr_map *map)
{
	struct mr_mark k0 = mark(at);
	char saved[MR_PATH];
	int renamed = map && map->name;
	if (map) {
		cat(at->path, sizeof at->path, ".*", "");
		add_label(at, map->label, key);
		if (renamed)
			reset_name(at, map->name, saved);
	} else {
		cat(at->path, sizeof at->path, ".", key);
	}
	const struct mr_rule *r = find_rule(at->path);
	if (v->type == FQ_MJ_OBJ && r && r->kind == MR_HIST)
		histogram(m, v, at, r);
	else if (v->type == FQ_MJ_NUM || v->type == FQ_MJ_BOOL ||
		 v->type == FQ_MJ_NULL)
		leaf(m, v, at, map ? "" : key);
	else
		descend(m, v, at, key, map);
	if (renamed)
		restore_name(at, saved);
	back(at, k0);
}

/* The singular naming an array's elements: the table's, else the key
 * less its plural ending. */
static const char *
array_name(const struct mr_at *at, const char *key, char *name, size_t cap)
{
	for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
		if (strcmp(arrays[i].path, at->path) == 0)
			return arrays[i].name;
	sanitize(name, cap, key);
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == 's')
		name[n - 1] = '\0';
	return name;
}

static void
walk_array(struct mr *m, const struct fq_mj *v, struct mr_at *at)
{
	const char *key = strrchr(at->path, '.');
	char one[MR_PATH], saved[MR_PATH];
	struct mr_mark k0 = mark(at);
	reset_name(at, array_name(at, key ? key + 1 : at->path, one, sizeof one),
		   saved);
	if (strcmp(at->path, "ingest.exporters") == 0)
		cap_exporters(m, v);
	cat(at->path, sizeof at->path, "[]", "");
	for (size_t i = 0; i < v->n && !m->oom; i++)
		if (v->kids[i].type == FQ_MJ_OBJ)
			element(m, v, i, at);
	restore_name(at, saved);
	back(at, k0);
}

static void
walk(struct mr *m, const struct fq_mj *v, struct mr_at *at)
{
	if (v->type == FQ_MJ_ARR) {
		walk_array(m, v, at);
		return;
	}
	if (v->type != FQ_MJ_OBJ)
		return;
	const struct mr_map *map = find_map(at->path);
	for (size_t i = 0; i < v->n && !m->oom; i++)
		if (v->kids[i].type != FQ_MJ_STR)
			member(m, &v->kids[i], at, v->kids[i].key, map);
}

static void
print_help(struct mr_buf *b, const char *help)
{
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			buf_add(b, "\\\\", 2);
		else if (*s == '\n')
			buf_add(b, "\\n", 2);
		else
			buf_add(b, s, 1);
	}
}

/* " N\n" without printf: most of a scrape is integers. */
static void
put_u64(struct mr_buf *b, uint64_t u)
{
	char d[24];
	size_t k = sizeof d;
	d[--k] = '\n';
	do {
		d[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	d[--k] = ' ';
	buf_add(b, d + k, sizeof d - k);
}

static void
print_all(struct mr *m, struct mr_buf *b)
{
	for (struct mr_family *f = m->fams; f; f = f->next) {
		buf_printf(b, "# HELP %s ", f->name);
		print_help(b, f->help);
		buf_printf(b, "\n# TYPE %s %s\n", f->name, f->type);
		for (struct mr_sample *s = f->first; s; s = s->next) {
			buf_add(b, s->key, strlen(s->key));
			/* %.15g: what a double holds, without its noise
			 * (0.831 ms is 0.000831, not 0.00083099999...) */
			if (s->is_int)
				put_u64(b, s->u);
			else
				buf_printf(b, " %.15g\n", s->d);
		}
	}
}

static void
mr_free(struct mr *m)
{
	for (size_t h = 0; h < MR_HASH; h++)
		for (struct mr_sample *s = m->shash[h], *n; s; s = n) {
			n = s->hnext;
			free(s->key);
			free(s);
		}
	for (struct mr_family *f = m->fams, *n; f; f = n) {
		n = f->next;
		free(f->name);
		free(f->help);
		free(f);
	}
	free(m->keep);
}

int
fq_metrics_render(const char *json, size_t len, size_t max_exporters,
		  char **out, size_t *out_len)
{
	struct fq_mj root;
	*out = NULL;
	*out_len = 0;
	int rc = fq_mj_parse(json, len, &root);
	if (rc < 0)
		return rc;
	struct mr *m = calloc(1, sizeof *m);
	if (m == NULL) {
		fq_mj_free(&root);
		return -FQ_ENOMEM;
	}
	m->max_exporters = max_exporters;
	struct mr_at *at = calloc(1, sizeof *at);
	for (size_t i = 0; at && root.type == FQ_MJ_OBJ && i < root.n; i++) {
		memset(at, 0, sizeof *at);
		snprintf(at->path, sizeof at->path, "%s", root.kids[i].key);
		sanitize(at->name, sizeof at->name, root.kids[i].key);
		cat(at->name, sizeof at->name, "_", "");
		walk(m, &root.kids[i], at);
	}
	if (at == NULL)
		m->oom = 1;
	free(at);
	struct mr_buf b = { NULL, 0, 0, 0 };
	print_all(m, &b);
	rc = m->oom || b.oom ? -FQ_ENOMEM : 0;
	mr_free(m);
	free(m);
	fq_mj_free(&root);
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}
