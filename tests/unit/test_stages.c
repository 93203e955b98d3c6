/*
 * test_stages.c - the grouper and the merger driven directly through
 * their stage interface (pipeline/stage.h): records into a branch's
 * grouper, closed groups out of its group link; groups into the merger,
 * tuples out of its tuple link.  No engine, no sinks, no binary: the
 * test owns the parameters, stream time and the state total, and checks
 * each rule at its exact bound, where a one-character slip (< for <=)
 * changes the answer.
 *
 * Expected values are written out by hand from SPEC section 4 (the
 * grouper's comparison rules, the Allen table), never computed by the
 * code under test.
 *
 * Usage: test-stages CASE
 *   grouper-rules     delta / rdelta / = / != / > at and one past the bound
 *   grouper-closing   a group closes when T passes deadline + M, not before;
 *                     the window W bounds a group without time rules
 *   grouper-absolute  absolute rules start groups; others are dropped
 *   merger-allen      all 13 relations, with and without delta, at and one
 *                     past every bound, both arrival orders, batch and
 *                     streaming
 *   merger-subtract   a subtracting module rejects, or lets through
 *   merger-horizon    a stored group is dropped once T passes its horizon
 *                     and meets no later partner
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "pl.h"
#include "query.h"
#include "check.h"

#define MIN 60000LL
#define BASE 1335772141000LL   /* 2012-04-30T07:49:01Z */

/* What came out of a stage, by the rec_ids of the groups. */
#define MAXOUT 64
struct out {
	uint64_t ids[MAXOUT][8];   /* per group / tuple: rec_ids (0 ends) */
	size_t n;
};

/* One query's stages, without engine. */
struct h {
	struct fq_query *fq;
	const struct fq_plan *plan;
	int64_t T;
	struct pl_params p;
	struct pl_mem mem;
	struct pl_rec_pool pool;
	struct pl_branch br[4];
	struct pl_merger *mg;
	uint64_t next_id;
	struct out groups;         /* closed groups (grouper tests) */
	struct out tuples;         /* tuples: min_rec_id per plan branch */
};

/* Group link of the grouper tests: note the group's rec_ids. */
static void
take_group(void *to, struct pl_branch *from, struct pl_group *g)
{
	(void)from;
	struct h *h = to;
	if (h->groups.n < MAXOUT) {
		uint64_t *v = h->groups.ids[h->groups.n++];
		memset(v, 0, 8 * sizeof *v);
		for (uint32_t i = 0; i < g->n && i < 7; i++)
			v[i] = g->has_ids ? g->ids[i] : g->recs[i]->r.rec_id;
	}
	pl_group_unref(g);
}

/* Group link of the merger tests: straight into the merger. */
static void
to_merger(void *to, struct pl_branch *from, struct pl_group *g)
{
	(void)from;
	pl_merger_group(to, g);
	pl_group_unref(g);
}

static void
take_tuple(void *to, struct pl_group **g, int64_t time)
{
	(void)time;
	struct h *h = to;
	if (h->tuples.n < MAXOUT) {
		uint64_t *v = h->tuples.ids[h->tuples.n++];
		memset(v, 0, 8 * sizeof *v);
		for (size_t b = 0; b < h->plan->nbranches && b < 8; b++)
			v[b] = g[b] ? g[b]->min_rec_id : 0;
	}
}

static int
h_init(struct h *h, const char *text, int batch)
{
	memset(h, 0, sizeof *h);
	struct fq_diag d;
	fq_diag_init(&d);
	int rc = fq_query_compile(&h->fq, "test.flw", text, strlen(text), &d);
	if (rc < 0) {
		fq_diag_print(&d, stderr);
		fq_diag_fini(&d);
		return -1;
	}
	fq_diag_fini(&d);
	h->plan = fq_query_plan(h->fq);
	h->T = INT64_MIN;
	h->p = (struct pl_params){
		.batch = batch,
		.window = batch ? FQ_TIME_INF : 15 * MIN,
		.lateness = batch ? FQ_TIME_INF : 90000,
		.max_duration = 10 * MIN, .T = &h->T,
	};
	h->pool.mem = &h->mem;
	h->pool.copy = sizeof(struct fq_record);
	h->pool.slot = (offsetof(struct pl_rec, r) + h->pool.copy + 15) &
		       ~(size_t)15;
	if (h->plan->merger) {
		struct pl_tuple_link tl = { take_tuple, h };
		if (pl_merger_new(&h->mg, h->plan, &h->p, &h->mem, h->br, tl) < 0)
			return -1;
	}
	for (size_t b = 0; b < h->plan->nbranches; b++) {
		struct pl_branch *br = &h->br[b];
		br->pb = &h->plan->branches[b];
		br->index = b;
		br->p = &h->p;
		br->mem = &h->mem;
		br->pool = &h->pool;
		br->keep_recs = 1;
		br->out = h->mg ? (struct pl_group_link){ to_merger, NULL, h->mg }
				: (struct pl_group_link){ take_group, NULL, h };
		if (pl_grouper_init(br) < 0)
			return -1;
	}
	h->next_id = 1;
	return 0;
}

static void
h_fini(struct h *h)
{
	pl_merger_free(h->mg);
	for (size_t b = 0; b < h->plan->nbranches; b++)
		pl_grouper_fini(&h->br[b]);
	pl_rec_pool_fini(&h->pool);
	/* every stage gave back what it counted */
	CHECK(h->mem.bytes == 0, "state total %zu after teardown", h->mem.bytes);
	fq_query_free(h->fq);
}

/* A record [stime, etime] (ms after BASE) into branch b. */
static uint64_t
feed(struct h *h, size_t b, int64_t s, int64_t e, uint32_t src,
     uint16_t dport)
{
	struct fq_record r;
	fq_record_clear(&r);
	r.rec_id = h->next_id++;
	r.stime = BASE + s;
	r.etime = BASE + e;
	r.srcip = fq_ip_v4(src);
	r.dstip = fq_ip_v4(0x0a000002u);
	r.dstport = dport;
	r.prot = 6;
	r.bytes = 100;
	struct pl_branch *br = &h->br[b];
	struct pl_rec *rec = pl_rec_new(&h->pool, &r);
	rec->refs = 1;
	pl_grouper_record(br, rec, &r, 0, pl_grouper_probe_hash(br, &r));
	pl_rec_unref(&h->pool, rec);
	return r.rec_id;
}

/* End of input: every group closes, the merger lets everything go. */
static void
h_end(struct h *h)
{
	h->T = FQ_TIME_INF;
	for (size_t b = 0; b < h->plan->nbranches; b++)
		pl_grouper_close_until(&h->br[b], h->T, 1);
	if (h->mg)
		pl_merger_advance(h->mg, h->T, 1);
}

/* The groups that came out, as "1,2 3" (rec_ids; groups by spaces). */
static const char *
groups_str(const struct out *o, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < o->n; i++)
		for (size_t j = 0; j < 8 && o->ids[i][j]; j++)
			k += (size_t)snprintf(buf + k, len - k, "%s%" PRIu64,
					      j ? "," : (i ? " " : ""),
					      o->ids[i][j]);
	return buf;
}

/* ---- grouper ------------------------------------------------------------- */

#define GQ \
	"splitter S {}\n" \
	"grouper g {\n" \
	"    module m {\n" \
	"        srcip = srcip\n" \
	"        %s\n" \
	"    }\n" \
	"    aggregate srcip, count(rec_id) as n\n" \
	"}\n" \
	"ungrouper U {}\n" \
	"S branch A -> g -> U\n"

/*
 * One rule, two records of one source: r1 = [s1, e1], r2 = [s2, e2]
 * (ports p1, p2).  `joins` says whether SPEC section 4 puts r2 into r1's
 * group, worked out by hand in the table below.
 */
struct rule_case {
	const char *rule;
	int64_t s1, e1;
	uint16_t p1;
	int64_t s2, e2;
	uint16_t p2;
	int joins;
};

static const struct rule_case rule_cases[] = {
	/* rdelta: R = the last record; `<` holds iff r.stime <= R.etime + D */
	{ "etime < stime rdelta 1s", 0, 1000, 0, 2000, 2500, 0, 1 },
	{ "etime < stime rdelta 1s", 0, 1000, 0, 2001, 2500, 0, 0 },
	{ "etime <= stime rdelta 1s", 0, 1000, 0, 2000, 2000, 0, 1 },
	{ "etime <= stime rdelta 1s", 0, 1000, 0, 2001, 2001, 0, 0 },
	/* delta: R = the first record */
	{ "stime < stime delta 5s", 0, 100, 0, 5000, 5100, 0, 1 },
	{ "stime < stime delta 5s", 0, 100, 0, 5001, 5101, 0, 0 },
	/* `=` with delta: |R.a - r.b| <= D */
	{ "dstport = dstport delta 2", 0, 10, 80, 20, 30, 82, 1 },
	{ "dstport = dstport delta 2", 0, 10, 80, 20, 30, 83, 0 },
	{ "dstport = dstport delta 2", 0, 10, 80, 20, 30, 78, 1 },
	{ "dstport = dstport delta 2", 0, 10, 80, 20, 30, 77, 0 },
	/* `!=` with delta: |R.a - r.b| > D */
	{ "dstport != dstport delta 2", 0, 10, 80, 20, 30, 83, 1 },
	{ "dstport != dstport delta 2", 0, 10, 80, 20, 30, 82, 0 },
	/* `>` / `>=` with delta: r.b >= R.a - D */
	{ "dstport > dstport delta 2", 0, 10, 80, 20, 30, 78, 1 },
	{ "dstport > dstport delta 2", 0, 10, 80, 20, 30, 77, 0 },
	{ "dstport >= dstport delta 2", 0, 10, 80, 20, 30, 78, 1 },
	/* without delta: plain comparisons, R.a op r.b */
	{ "dstport < dstport", 0, 10, 80, 20, 30, 81, 1 },
	{ "dstport < dstport", 0, 10, 80, 20, 30, 80, 0 },
	{ "dstport <= dstport", 0, 10, 80, 20, 30, 80, 1 },
	{ "dstport <= dstport", 0, 10, 80, 20, 30, 79, 0 },
	{ "dstport = dstport", 0, 10, 80, 20, 30, 80, 1 },
	{ "dstport = dstport", 0, 10, 80, 20, 30, 81, 0 },
};

static void
grouper_rules(void)
{
	for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
		const struct rule_case *c = &rule_cases[i];
		for (int batch = 1; batch >= 0; batch--) {
			char text[1024], got[256];
			snprintf(text, sizeof text, GQ, c->rule);
			struct h h;
			if (h_init(&h, text, batch) < 0) {
				CHECK(0, "query for '%s' did not compile", c->rule);
				continue;
			}
			feed(&h, 0, c->s1, c->e1, 0x0a000001u, c->p1);
			feed(&h, 0, c->s2, c->e2, 0x0a000001u, c->p2);
			h_end(&h);
			const char *want = c->joins ? "1,2" : "1 2";
			groups_str(&h.groups, got, sizeof got);
			CHECK(strcmp(got, want) == 0,
			      "'%s' %s: r2 [%lld, %lld] port %u after r1 [%lld, "
			      "%lld] port %u: groups '%s', want '%s'", c->rule,
			      batch ? "batch" : "streaming", (long long)c->s2,
			      (long long)c->e2, c->p2, (long long)c->s1,
			      (long long)c->e1, c->p1, got, want);
			h_fini(&h);
		}
	}
}

/* Close at T; returns how many groups came out so far. */
static size_t
close_at(struct h *h, int64_t T)
{
	h->T = T;
	pl_grouper_close_until(&h->br[0], T, 0);
	return h->groups.n;
}

static void
grouper_closing(void)
{
	char text[1024];
	struct h h;
	/* deadline = last etime + 1 s; closes once T > deadline + M */
	snprintf(text, sizeof text, GQ, "etime < stime rdelta 1s");
	if (h_init(&h, text, 0) < 0) {
		CHECK(0, "query did not compile");
		return;
	}
	feed(&h, 0, 0, 500, 0x0a000001u, 0);
	int64_t deadline = BASE + 500 + 1000;
	CHECK(close_at(&h, deadline + 10 * MIN - 1) == 0, "closed before T = deadline + M");
	CHECK(close_at(&h, deadline + 10 * MIN) == 0, "closed at T = deadline + M");
	CHECK(close_at(&h, deadline + 10 * MIN + 1) == 1,
	      "not closed at T = deadline + M + 1");
	/* a record joining moves the deadline with its etime */
	feed(&h, 0, 20 * MIN, 20 * MIN + 100, 0x0a000002u, 0);
	feed(&h, 0, 20 * MIN + 1100, 20 * MIN + 3000, 0x0a000002u, 0);
	deadline = BASE + 20 * MIN + 3000 + 1000;
	CHECK(close_at(&h, deadline + 10 * MIN) == 1, "closed at the moved deadline + M");
	CHECK(close_at(&h, deadline + 10 * MIN + 1) == 2,
	      "not closed after the moved deadline + M");
	h_end(&h);
	h_fini(&h);

	/* no time rule: the deadline is G.stime + W; a record past W from
	 * the group's stime starts a group of its own */
	snprintf(text, sizeof text, GQ, "dstport = dstport");
	if (h_init(&h, text, 0) < 0) {
		CHECK(0, "query did not compile");
		return;
	}
	feed(&h, 0, 0, 100, 0x0a000001u, 80);
	feed(&h, 0, 15 * MIN, 15 * MIN + 100, 0x0a000001u, 80);     /* = W: joins */
	feed(&h, 0, 15 * MIN + 1, 15 * MIN + 100, 0x0a000001u, 80); /* > W */
	deadline = BASE + 15 * MIN;
	CHECK(close_at(&h, deadline + 10 * MIN) == 0, "window group closed early");
	CHECK(close_at(&h, deadline + 10 * MIN + 1) == 1,
	      "window group not closed at G.stime + W + M + 1");
	h_end(&h);
	char got[256];
	groups_str(&h.groups, got, sizeof got);
	CHECK(strcmp(got, "1,2 3") == 0, "window groups '%s', want '1,2 3'", got);
	h_fini(&h);
}

static void
grouper_absolute(void)
{
	static const char *q =
		"splitter S {}\n"
		"grouper g {\n"
		"    module web {\n"
		"        dstport = 80\n"
		"        srcip = srcip\n"
		"    }\n"
		"    module dns {\n"
		"        dstport = 53\n"
		"    }\n"
		"    aggregate count(rec_id) as n\n"
		"}\n"
		"ungrouper U {}\n"
		"S branch A -> g -> U\n";
	struct h h;
	if (h_init(&h, q, 1) < 0) {
		CHECK(0, "query did not compile");
		return;
	}
	/*
	 * Modules are ORed and a group is not tied to the module that made
	 * it: a record joins the oldest open group that some module accepts
	 * (SPEC section 4).  Module dns has no relative rule, so it accepts
	 * any open group for a record with dstport 53.
	 */
	feed(&h, 0, 0, 10, 0x0a000001u, 80);     /* 1: web starts G1 */
	feed(&h, 0, 5, 10, 0x0a000009u, 53);     /* 2: dns: G1, the oldest */
	feed(&h, 0, 6, 10, 0x0a000001u, 443);    /* 3: no module: dropped */
	feed(&h, 0, 7, 10, 0x0a000001u, 80);     /* 4: web, G1's key: G1 */
	feed(&h, 0, 8, 10, 0x0a000005u, 53);     /* 5: dns: G1 */
	feed(&h, 0, 9, 10, 0x0a000005u, 80);     /* 6: web, another key;
						    dns refuses: starts G2 */
	feed(&h, 0, 9, 10, 0x0a000005u, 80);     /* 7: web, G2's key: G2 */
	h_end(&h);
	char got[256];
	groups_str(&h.groups, got, sizeof got);
	CHECK(strcmp(got, "1,2,4,5 6,7") == 0, "groups '%s', want '1,2,4,5 6,7'",
	      got);
	CHECK(h.br[0].c.grouper_dropped == 1, "grouper_dropped %llu, want 1",
	      (unsigned long long)h.br[0].c.grouper_dropped);
	h_fini(&h);
}

/* ---- merger: Allen relations --------------------------------------------- */

#define MQ \
	"splitter S {}\n" \
	"merger M {\n" \
	"    module m {\n" \
	"        branches A, B\n" \
	"        A %s B%s\n" \
	"        %s\n" \
	"    }\n" \
	"    export m\n" \
	"}\n" \
	"ungrouper U {}\n" \
	"S branch A -> M\n" \
	"S branch B -> M\n" \
	"M -> U\n"

/* x (branch A) and y (branch B), ms after BASE; `holds` from the SPEC
 * section 4 table by hand. */
struct allen_case {
	const char *rel;
	int64_t delta;             /* -1: no delta written */
	int64_t xs, xe, ys, ye;
	int holds;
};

static const struct allen_case allen_cases[] = {
	/* x < y: x.etime < y.stime; with delta, y.stime - x.etime <= D */
	{ "<", -1, 0, 100, 101, 300, 1 },
	{ "<", -1, 0, 100, 100, 300, 0 },
	{ "<", 5, 0, 100, 105, 300, 1 },
	{ "<", 5, 0, 100, 106, 300, 0 },
	{ "<", 5, 0, 100, 100, 300, 0 },
	{ "<", 5, 0, 100, 101, 300, 1 },
	/* x > y: y < x */
	{ ">", -1, 101, 300, 0, 100, 1 },
	{ ">", -1, 100, 300, 0, 100, 0 },
	{ ">", 5, 105, 300, 0, 100, 1 },
	{ ">", 5, 106, 300, 0, 100, 0 },
	/* x m y: x.etime ~ y.stime */
	{ "m", -1, 0, 100, 100, 300, 1 },
	{ "m", -1, 0, 100, 101, 300, 0 },
	{ "m", -1, 0, 100, 99, 300, 0 },
	{ "m", 5, 0, 100, 105, 300, 1 },
	{ "m", 5, 0, 100, 106, 300, 0 },
	{ "m", 5, 0, 100, 95, 300, 1 },
	{ "m", 5, 0, 100, 94, 300, 0 },
	/* x mi y: y m x */
	{ "mi", -1, 100, 300, 0, 100, 1 },
	{ "mi", -1, 101, 300, 0, 100, 0 },
	{ "mi", 5, 105, 300, 0, 100, 1 },
	{ "mi", 5, 106, 300, 0, 100, 0 },
	/* x o y: x.stime < y.stime < x.etime < y.etime (delta ignored) */
	{ "o", -1, 0, 100, 1, 101, 1 },
	{ "o", -1, 0, 100, 0, 101, 0 },
	{ "o", -1, 0, 100, 100, 200, 0 },
	{ "o", -1, 0, 100, 99, 100, 0 },
	{ "o", -1, 0, 100, 99, 101, 1 },
	{ "o", 5, 0, 100, 99, 101, 1 },
	{ "o", 5, 0, 100, 100, 200, 0 },
	/* x oi y: y o x */
	{ "oi", -1, 1, 101, 0, 100, 1 },
	{ "oi", -1, 0, 101, 0, 100, 0 },
	{ "oi", -1, 100, 200, 0, 100, 0 },
	/* x s y: x.stime ~ y.stime and x.etime < y.etime */
	{ "s", -1, 0, 99, 0, 100, 1 },
	{ "s", -1, 0, 100, 0, 100, 0 },
	{ "s", -1, 1, 99, 0, 100, 0 },
	{ "s", 5, 5, 99, 0, 100, 1 },
	{ "s", 5, 6, 99, 0, 100, 0 },
	{ "s", 5, 0, 99, 5, 100, 1 },
	{ "s", 5, 0, 99, 6, 100, 0 },
	/* x si y: y s x */
	{ "si", -1, 0, 100, 0, 99, 1 },
	{ "si", -1, 0, 100, 0, 100, 0 },
	{ "si", 5, 0, 100, 5, 99, 1 },
	{ "si", 5, 0, 100, 6, 99, 0 },
	/* x d y: y.stime < x.stime and x.etime < y.etime (delta ignored) */
	{ "d", -1, 1, 99, 0, 100, 1 },
	{ "d", -1, 0, 99, 0, 100, 0 },
	{ "d", -1, 1, 100, 0, 100, 0 },
	{ "d", 5, 1, 99, 0, 100, 1 },
	{ "d", 5, 0, 99, 0, 100, 0 },
	/* x di y: y d x */
	{ "di", -1, 0, 100, 1, 99, 1 },
	{ "di", -1, 0, 100, 0, 99, 0 },
	{ "di", -1, 0, 100, 1, 100, 0 },
	/* x f y: x.etime ~ y.etime and x.stime > y.stime */
	{ "f", -1, 1, 100, 0, 100, 1 },
	{ "f", -1, 0, 100, 0, 100, 0 },
	{ "f", -1, 1, 101, 0, 100, 0 },
	{ "f", 5, 1, 105, 0, 100, 1 },
	{ "f", 5, 1, 106, 0, 100, 0 },
	{ "f", 5, 1, 95, 0, 100, 1 },
	{ "f", 5, 1, 94, 0, 100, 0 },
	/* x fi y: y f x */
	{ "fi", -1, 0, 100, 1, 100, 1 },
	{ "fi", -1, 0, 100, 0, 100, 0 },
	{ "fi", 5, 0, 100, 1, 105, 1 },
	{ "fi", 5, 0, 100, 1, 106, 0 },
	/* x = y: both ends ~ */
	{ "=", -1, 0, 100, 0, 100, 1 },
	{ "=", -1, 0, 100, 1, 100, 0 },
	{ "=", -1, 0, 100, 0, 101, 0 },
	{ "=", 5, 0, 100, 5, 95, 1 },
	{ "=", 5, 0, 100, 6, 100, 0 },
	{ "=", 5, 0, 100, 0, 106, 0 },
	{ "=", 5, 5, 105, 0, 100, 1 },
	/* long stored groups: the range search must reach back by the
	 * store's largest span */
	{ "d", -1, 5000, 5001, 0, 10000, 1 },
	{ "di", -1, 0, 10000, 5000, 5001, 1 },
	{ "f", -1, 9000, 10000, 0, 10000, 1 },
	{ "oi", -1, 9000, 20000, 0, 10000, 1 },
};

/*
 * Feed x then y (order 0) or y then x (order 1); tuples out.  With `eq`
 * the module also has `A.srcip = B.srcip`, and the join finds the
 * partner through the store's hash index, filtered by the Allen range;
 * without, through the range of the stime-sorted store: both paths are
 * bounds to get right.
 */
static size_t
allen_run(const struct allen_case *c, int batch, int order, int eq)
{
	char text[1024], dl[32] = "";
	if (c->delta >= 0)
		snprintf(dl, sizeof dl, " delta %lld", (long long)c->delta);
	snprintf(text, sizeof text, MQ, c->rel, dl, eq ? "A.srcip = B.srcip" : "");
	struct h h;
	if (h_init(&h, text, batch) < 0) {
		CHECK(0, "query 'A %s B%s' did not compile", c->rel, dl);
		return 0;
	}
	if (order == 0) {
		feed(&h, 0, c->xs, c->xe, 1, 0);
		feed(&h, 1, c->ys, c->ye, 1, 0);
	} else {
		feed(&h, 1, c->ys, c->ye, 1, 0);
		feed(&h, 0, c->xs, c->xe, 1, 0);
	}
	h_end(&h);
	size_t n = h.tuples.n;
	h_fini(&h);
	return n;
}

static void
merger_allen(void)
{
	for (size_t i = 0; i < sizeof allen_cases / sizeof allen_cases[0]; i++) {
		const struct allen_case *c = &allen_cases[i];
		for (int k = 0; k < 8; k++) {
			int batch = k & 1, order = k >> 1 & 1, eq = k >> 2;
			size_t n = allen_run(c, batch, order, eq);
			CHECK(n == (size_t)c->holds,
			      "x [%lld, %lld] %s y [%lld, %lld] delta %lld "
			      "(%s, %s first, %s): %zu tuples, want %d",
			      (long long)c->xs, (long long)c->xe, c->rel,
			      (long long)c->ys, (long long)c->ye,
			      (long long)c->delta, batch ? "batch" : "streaming",
			      order ? "y" : "x", eq ? "hash index" : "store range",
			      n, c->holds);
		}
	}
}

/* ---- merger: subtraction and horizon --------------------------------------- */

#define SQ \
	"splitter S {}\n" \
	"merger M {\n" \
	"    module m1 {\n" \
	"        branches A, B\n" \
	"        A.srcip = B.srcip\n" \
	"        A < B delta 10s\n" \
	"    }\n" \
	"    module m2 {\n" \
	"        branches A, C\n" \
	"        A.srcip = C.srcip\n" \
	"        C < A delta 5s\n" \
	"    }\n" \
	"    export m1\n" \
	"}\n" \
	"ungrouper U {}\n" \
	"S branch A -> M\n" \
	"S branch B -> M\n" \
	"S branch C -> M\n" \
	"M -> U\n"

static void
merger_subtract(void)
{
	for (int batch = 1; batch >= 0; batch--) {
		struct h h;
		if (h_init(&h, SQ, batch) < 0) {
			CHECK(0, "query did not compile");
			return;
		}
		/* host 1: C 5 s before A: rejected (C.etime + 5 s = A.stime) */
		feed(&h, 2, 0, 1000, 1, 0);
		uint64_t a1 = feed(&h, 0, 6000, 7000, 1, 0);
		feed(&h, 1, 8000, 9000, 1, 0);
		/* host 2: C 5.001 s before A: not a match of m2, the tuple
		 * stands */
		feed(&h, 2, 20000, 21000, 2, 0);
		uint64_t a2 = feed(&h, 0, 26001, 27000, 2, 0);
		uint64_t b2 = feed(&h, 1, 27001, 28000, 2, 0);
		/* host 3: the C group comes after the tuple was found: it
		 * still rejects (it can, until the release time) */
		feed(&h, 0, 40000, 41000, 3, 0);
		feed(&h, 1, 42000, 43000, 3, 0);
		feed(&h, 2, 35500, 36000, 3, 0);
		h_end(&h);
		CHECK(h.tuples.n == 1, "%s: %zu tuples, want 1 (host 2)",
		      batch ? "batch" : "streaming", h.tuples.n);
		if (h.tuples.n >= 1)
			CHECK(h.tuples.ids[0][0] == a2 && h.tuples.ids[0][1] == b2,
			      "tuple (%llu, %llu), want (%llu, %llu)",
			      (unsigned long long)h.tuples.ids[0][0],
			      (unsigned long long)h.tuples.ids[0][1],
			      (unsigned long long)a2, (unsigned long long)b2);
		CHECK(h.mg->c.rejected == 2, "rejected %llu, want 2",
		      (unsigned long long)h.mg->c.rejected);
		(void)a1;
		h_fini(&h);
	}
}

/* Move stream time to T, as the engine does. */
static void
advance_to(struct h *h, int64_t T)
{
	h->T = T;
	for (size_t b = 0; b < h->plan->nbranches; b++)
		pl_grouper_close_until(&h->br[b], T, 0);
	pl_merger_advance(h->mg, T, 0);
}

static void
merger_horizon(void)
{
	/* x < y delta 10 s: a stored x can pair with a y whose stime is up
	 * to x.etime + 10 s; branches without grouper have groups of one,
	 * whose front is T - M.  x is dropped once T - M passes
	 * x.etime + 10 s (a second of slack: the front moves per second). */
	char text[1024];
	snprintf(text, sizeof text, MQ, "<", " delta 10s", "");
	for (int late = 0; late < 2; late++) {
		struct h h;
		if (h_init(&h, text, 0) < 0) {
			CHECK(0, "query did not compile");
			return;
		}
		feed(&h, 0, 0, 1000, 1, 0);
		int64_t horizon = BASE + 1000 + 10000;
		/* up to the horizon: x stays */
		for (int64_t t = BASE; t <= horizon + 10 * MIN; t += 500)
			advance_to(&h, t);
		CHECK(h.mg->c.dropped_groups == 0,
		      "dropped before the front passed its horizon");
		if (late)
			for (int64_t t = horizon + 10 * MIN;
			     t <= horizon + 10 * MIN + 3000; t += 500)
				advance_to(&h, t);
		/* y at the very bound: pairs only if x is still stored */
		feed(&h, 1, 11000, 12000, 1, 0);
		h_end(&h);
		CHECK(h.tuples.n == (size_t)!late,
		      "%s: %zu tuples, want %d", late ? "after the horizon"
		      : "before the horizon", h.tuples.n, !late);
		CHECK(h.mg->c.dropped_groups >= (uint64_t)late,
		      "dropped_groups %llu", (unsigned long long)h.mg->c.dropped_groups);
		h_fini(&h);
	}
}

/*
 * A group that arrives when the front stands exactly at its horizon is
 * still stored: a partner may yet start at that very millisecond.
 */
static void
merger_horizon_exact(void)
{
	char text[1024];
	snprintf(text, sizeof text, MQ, "<", " delta 10s", "");
	struct h h;
	if (h_init(&h, text, 0) < 0) {
		CHECK(0, "query did not compile");
		return;
	}
	int64_t horizon = BASE + 1000 + 10000;   /* a whole second */
	for (int64_t t = BASE; t <= horizon + 10 * MIN; t += 500)
		advance_to(&h, t);
	CHECK(h.mg->front == horizon, "front %lld, want %lld",
	      (long long)h.mg->front, (long long)horizon);
	feed(&h, 0, 0, 1000, 1, 0);        /* x: its horizon is the front */
	feed(&h, 1, 11000, 12000, 1, 0);   /* y at the bound */
	h_end(&h);
	CHECK(h.tuples.n == 1, "x at the front's horizon: %zu tuples, want 1",
	      h.tuples.n);
	h_fini(&h);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test-stages CASE\n");
		return 2;
	}
	const char *c = argv[1];
	if (strcmp(c, "grouper-rules") == 0)
		grouper_rules();
	else if (strcmp(c, "grouper-closing") == 0)
		grouper_closing();
	else if (strcmp(c, "grouper-absolute") == 0)
		grouper_absolute();
	else if (strcmp(c, "merger-allen") == 0)
		merger_allen();
	else if (strcmp(c, "merger-subtract") == 0)
		merger_subtract();
	else if (strcmp(c, "merger-horizon") == 0) {
		merger_horizon();
		merger_horizon_exact();
	}
	else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
