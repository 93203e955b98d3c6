/*
 * engine.c - stream time, query wiring and match output.
 *
 * The engine is the sink of the ingest path.  Per record it (1) decides
 * whether the record is late or future against stream time T, (2) runs
 * every query's branch filters and hands the record to the groupers of the
 * branches it passed, (3) advances T, and when T moved closes the groups
 * whose deadline + M it passed and lets the mergers release and drop what
 * T allows.  Everything happens per record, never per batch, so the result
 * does not depend on how the input was cut into batches: the same records
 * give byte-identical output live or replayed.
 *
 * Stream time (SPEC section 5): T = min over active exporters of their
 * largest etime, minus the lateness L; an exporter silent for
 * --exporter-idle (arrival time) stops holding T back; a record whose
 * etime is more than --max-skew past its arrival is "future" and does not
 * move T; T never decreases.  With --batch, T stays at minus infinity until
 * the end of input, when it becomes plus infinity for everyone.
 *
 * Bounded state (--max-state, docs/streaming.md "Bounded state"): every
 * stage counts the bytes it holds in the engine's running total
 * (struct pl_mem); after each record, when the total is over the cap,
 * shed() closes the oldest open groups early and evicts the oldest
 * stored merger groups until it is back under seven eighths of the cap.
 */
#include "fq_table.h"
#include "pl.h"
#include "fq_error.h"
#include "fq_format.h"
#include "fq_log.h"
#include "fq_time.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pl_exp {
	struct fq_ip addr;
	uint32_t domain;
	int64_t max_etime;         /* INT64_MIN until a non-future record */
	int64_t last_arrival;
};

void
fq_engine_opts_default(struct fq_engine_opts *o)
{
	memset(o, 0, sizeof *o);
	o->window = FQ_DEFAULT_WINDOW;
	o->lateness = FQ_DEFAULT_LATENESS;
	o->max_duration = FQ_DEFAULT_MAX_DURATION;
	o->max_skew = FQ_DEFAULT_MAX_SKEW;
	o->exporter_idle = FQ_DEFAULT_EXPORTER_IDLE;
	o->max_state_bytes = fq_engine_default_max_state();
}

/* A cgroup memory limit in bytes, or UINT64_MAX (none, or unreadable). */
static uint64_t
cgroup_limit(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return UINT64_MAX;
	unsigned long long v;
	int ok = fscanf(f, "%llu", &v) == 1;   /* "max" does not parse */
	fclose(f);
	return ok && v > 0 ? (uint64_t)v : UINT64_MAX;
}

/*
 * FQ_DEFAULT_MAX_STATE_MB, or half of the memory flowq may use if that is
 * less: the machine's (sysconf) or its cgroup's limit (v2, then v1), so
 * that a small VM or container is protected too.  Half, because the cap
 * counts pipeline state only: decoder, sockets, output buffers and
 * malloc's own slack come on top.  Whole MiB, at least 16.
 */
size_t
fq_engine_default_max_state(void)
{
	uint64_t cap = (uint64_t)FQ_DEFAULT_MAX_STATE_MB << 20;
	uint64_t mem = UINT64_MAX;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psize > 0)
		mem = (uint64_t)pages * (uint64_t)psize;
	uint64_t cg = cgroup_limit("/sys/fs/cgroup/memory.max");
	if (cg == UINT64_MAX)
		cg = cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
	if (cg < mem)
		mem = cg;
	if (mem / 2 < cap)
		cap = mem / 2 & ~(uint64_t)((1 << 20) - 1);
	if (cap < (16u << 20))
		cap = 16u << 20;
	return cap > SIZE_MAX ? SIZE_MAX : (size_t)cap;
}

/* ---- record pool -------------------------------------------------------- */

#define SLAB_RECS 1024

struct pl_rec *
pl_rec_new(struct pl_rec_pool *p, const struct fq_record *r)
{
	if (p->free == NULL) {
		char *slab = fq_slab_alloc(SLAB_RECS * p->slot);
		if (slab == NULL)
			return NULL;
		if (p->nslabs == p->cap_slabs) {
			size_t cap = p->cap_slabs ? p->cap_slabs * 2 : 16;
			void **s = realloc(p->slabs, cap * sizeof *s);
			if (s == NULL) {
				fq_slab_free(slab, SLAB_RECS * p->slot);
				return NULL;
			}
			p->slabs = s;
			p->cap_slabs = cap;
		}
		p->slabs[p->nslabs++] = slab;
		for (size_t i = 0; i < SLAB_RECS; i++) {
			struct pl_rec *x = (struct pl_rec *)(void *)(slab + i * p->slot);
			x->next_free = p->free;
			p->free = x;
		}
	}
	struct pl_rec *rec = p->free;
	p->free = rec->next_free;
	memcpy(&rec->r, r, p->copy);
	rec->refs = 0;
	rec->printed = 0;
	rec->next_free = NULL;
	p->live++;
	/* Live records, not slabs: slabs are never given back, but a freed
	 * record is reused before a new slab is taken, so the slabs stay
	 * within one slab of the most records ever live at once. */
	pl_mem_add(p->mem, p->slot);
	return rec;
}

void
pl_rec_unref(struct pl_rec_pool *p, struct pl_rec *rec)
{
	if (--rec->refs > 0)
		return;
	rec->next_free = p->free;
	p->free = rec;
	p->live--;
	pl_mem_sub(p->mem, p->slot);
}

void
pl_rec_pool_fini(struct pl_rec_pool *p)
{
	for (size_t i = 0; i < p->nslabs; i++)
		fq_slab_free(p->slabs[i], SLAB_RECS * p->slot);
	free(p->slabs);
	memset(p, 0, sizeof *p);
}

/* ---- output ------------------------------------------------------------- */

static void
out_json_string(struct fq_out *o, const char *s)
{
	fq_out_write(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			fq_out_write(o, e, 2);
		} else if (c < 0x20) {
			char e[8];
			snprintf(e, sizeof e, "\\u%04x", c);
			fq_out_str(o, e);
		} else {
			fq_out_write(o, s, 1);
		}
	}
	fq_out_write(o, "\"", 1);
}

/* Shortest text that reads back as the same double. */
static void
out_real(struct fq_out *o, double d)
{
	char b[40];
	if (!isfinite(d)) {
		fq_out_str(o, "null");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(b, sizeof b, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
	/* Keep reals recognisable as reals. */
	if (!strpbrk(b, ".eEn"))
		strcat(b, ".0");
	fq_out_str(o, b);
}

/*
 * The member names of the output -- the query's, each branch's, each
 * aggregate's -- escaped once when the query is added, as `pre"name"post`:
 * escaping them byte by byte for every match was a tenth of a merger
 * query's output time.
 */
static int
jname_make(struct pl_jname *j, const char *pre, const char *name,
	   const char *post)
{
	size_t n = strlen(pre) + strlen(post) + 2 + 6 * strlen(name) + 1;
	char *p = malloc(n);
	if (p == NULL)
		return -1;
	size_t k = 0;
	for (const char *c = pre; *c; c++)
		p[k++] = *c;
	p[k++] = '"';
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		if (*c == '"' || *c == '\\') {
			p[k++] = '\\';
			p[k++] = (char)*c;
		} else if (*c < 0x20) {
			k += (size_t)snprintf(p + k, n - k, "\\u%04x", *c);
		} else {
			p[k++] = (char)*c;
		}
	}
	p[k++] = '"';
	for (const char *c = post; *c; c++)
		p[k++] = *c;
	p[k] = '\0';
	j->s = p;
	j->n = k;
	return 0;
}

static void
jname_free(struct pl_jname *j)
{
	free(j->s);
	j->s = NULL;
	j->n = 0;
}

static int
query_jnames(struct pl_query *q)
{
	if (jname_make(&q->jhead, "{\"query\":", q->name, ",\"match\":") < 0)
		return -1;
	for (size_t b = 0; b < q->plan->nbranches; b++) {
		struct pl_branch *br = &q->br[b];
		const struct fq_plan_grouper *pg = br->gr.pg;
		if (jname_make(&br->jkey, "", q->plan->branches[b].name, ":") < 0)
			return -1;
		if (pg == NULL || pg->naggs == 0)
			continue;
		br->jagg = calloc(pg->naggs, sizeof *br->jagg);
		if (br->jagg == NULL)
			return -1;
		for (size_t k = 0; k < pg->naggs; k++)
			if (jname_make(&br->jagg[k], ",", pg->aggs[k].name, ":") < 0)
				return -1;
	}
	return 0;
}

static char *
put_lit(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put_lit(p, lit, sizeof(lit) - 1)

/* Room for a number or a quoted address and a separator. */
#define JSON_VAL_MAX (FQ_IP_STRLEN + 8)

static char *
put_ip(char *p, const struct fq_ip *ip)
{
	*p++ = '"';
	p += fq_ip_format(ip, p);
	*p++ = '"';
	return p;
}

/*
 * A group's members, straight into the output buffer: its times, its
 * rec_ids, then each aggregate as pl_group_value() gives it (value.c):
 * this is the same switch, without building a struct pl_val for each.
 */
static void
out_group_json(struct fq_out *o, const struct pl_group *g)
{
	char *p0 = fq_out_reserve(o, 160), *p = p0;
	p = PUT_LIT(p, "{\"stime\":");
	p += fq_fmt_i64(p, g->stime);
	p = PUT_LIT(p, ",\"etime\":");
	p += fq_fmt_i64(p, g->etime);
	p = PUT_LIT(p, ",\"duration\":");
	p += fq_fmt_i64(p, g->etime - g->stime);
	p = PUT_LIT(p, ",\"records\":");
	p += fq_fmt_u64(p, g->n);
	p = PUT_LIT(p, ",\"rec_ids\":[");
	fq_out_commit(o, (size_t)(p - p0));
	/* Records join groups in input order, so recs[] is ascending. */
	for (uint32_t i = 0; i < g->n; i++) {
		p0 = p = fq_out_reserve(o, 24);
		if (i)
			*p++ = ',';
		p += fq_fmt_u64(p, g->has_ids ? g->ids[i] : g->recs[i]->r.rec_id);
		fq_out_commit(o, (size_t)(p - p0));
	}
	fq_out_write(o, "]", 1);
	const struct pl_branch *br = g->br;
	const struct fq_plan_grouper *pg = br->gr.pg;
	if (pg) {
		for (size_t k = 0; k < pg->naggs; k++) {
			const struct fq_agg *a = &pg->aggs[k];
			const struct pl_agg *v = pl_group_agg(g, k);
			const struct pl_jname *jn = &br->jagg[k];
			if (a->fn == FQ_AGG_AVG) {
				fq_out_write(o, jn->s, jn->n);
				out_real(o, v->cnt ? (double)v->i / (double)v->cnt
						   : 0.0);
				continue;
			}
			fq_out_write(o, jn->s, jn->n);
			p0 = p = fq_out_reserve(o, JSON_VAL_MAX);
			if (a->fn == FQ_AGG_UNION) {
				const struct pl_set *set = pl_group_set(g, k);
				*p++ = '[';
				for (uint32_t e = 0; e < set->n; e++) {
					fq_out_commit(o, (size_t)(p - p0));
					p0 = p = fq_out_reserve(o, JSON_VAL_MAX);
					if (e)
						*p++ = ',';
					if (set->elem == FQ_V_INT)
						p += fq_fmt_i64(p, set->ints[e]);
					else
						p = put_ip(p, &set->ips[e]);
				}
				*p++ = ']';
			} else if (a->fn == FQ_AGG_COUNT) {
				p += fq_fmt_i64(p, (int64_t)v->cnt);
			} else if (a->vtype == FQ_V_IP) {
				p = put_ip(p, &v->ip);
			} else {
				p += fq_fmt_i64(p, v->i);
			}
			fq_out_commit(o, (size_t)(p - p0));
		}
	} else {
		/*
		 * A group of one: its aggregates are the record's fields,
		 * formatted straight into the output buffer (one member at a
		 * time through fq_out_str was most of a filter query's cost).
		 */
		static const uint8_t skip[FQ_F_COUNT] = {
			[FQ_F_REC_ID] = 1, [FQ_F_STIME] = 1,
			[FQ_F_ETIME] = 1, [FQ_F_DURATION] = 1,
		};
		p = fq_out_reserve(o, FQ_JSON_RECORD_MAX);
		fq_out_commit(o, fq_format_json_members(&g->recs[0]->r, p,
							 skip));
	}
	fq_out_write(o, "}", 1);
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct pl_rec *x = *(struct pl_rec *const *)a;
	const struct pl_rec *y = *(struct pl_rec *const *)b;
	if (x->r.stime != y->r.stime)
		return x->r.stime < y->r.stime ? -1 : 1;
	return x->r.rec_id < y->r.rec_id ? -1 : x->r.rec_id > y->r.rec_id;
}

/* The records of a match not printed before, in (stime, rec_id) order. */
static size_t
match_records(struct pl_query *q, struct pl_group **g, struct pl_rec ***out)
{
	size_t total = 0;
	for (size_t b = 0; b < q->plan->nbranches; b++)
		if (g[b])
			total += g[b]->n;
	struct pl_rec **v = malloc((total ? total : 1) * sizeof *v);
	if (v == NULL)
		return 0;
	size_t n = 0;
	for (size_t b = 0; b < q->plan->nbranches; b++) {
		if (!g[b])
			continue;
		for (uint32_t i = 0; i < g[b]->n; i++) {
			struct pl_rec *r = g[b]->recs[i];
			if (r->printed)
				continue;
			r->printed = 1;   /* also de-duplicates across branches */
			v[n++] = r;
		}
	}
	qsort(v, n, sizeof *v, cmp_rec);
	*out = v;
	return n;
}

static void
write_json_match(struct pl_query *q, struct fq_out *o, uint64_t num,
		 int64_t time, struct pl_group **g, struct pl_rec **recs,
		 size_t nrecs, int with_recs)
{
	fq_out_write(o, q->jhead.s, q->jhead.n);
	char *p0 = fq_out_reserve(o, 64), *p = p0;
	p += fq_fmt_u64(p, num);
	p = PUT_LIT(p, ",\"time\":");
	p += fq_fmt_i64(p, time);
	p = PUT_LIT(p, ",\"groups\":{");
	fq_out_commit(o, (size_t)(p - p0));
	int first = 1;
	for (size_t k = 0; k < q->plan->nbranches; k++) {
		size_t b = q->order[k];
		if (!g[b])
			continue;
		if (!first)
			fq_out_write(o, ",", 1);
		first = 0;
		fq_out_write(o, q->br[b].jkey.s, q->br[b].jkey.n);
		out_group_json(o, g[b]);
	}
	fq_out_str(o, "}");
	if (with_recs) {
		fq_out_str(o, ",\"records\":[");
		for (size_t i = 0; i < nrecs; i++) {
			char *rp = fq_out_reserve(o, FQ_JSON_RECORD_MAX + 1);
			size_t len = 0;
			if (i)
				rp[len++] = ',';
			len += fq_format_json(&recs[i]->r, rp + len);
			fq_out_commit(o, len);
		}
		fq_out_str(o, "]");
	}
	fq_out_str(o, "}\n");
}

static void
write_match(struct pl_query *q, struct pl_group **g, int64_t time)
{
	struct fq_out *o = q->e->o.out;
	uint64_t num = ++q->matches;
	if (q->e->o.count && !q->e->o.exec_out)
		return;   /* engine_finish prints the number */
	int with_recs = q->keep_recs;
	struct pl_rec **recs = NULL;
	size_t nrecs = 0;
	if (with_recs)
		nrecs = match_records(q, g, &recs);

	if (q->e->o.exec_out) {
		/* One line per flush: the hook forwards it at once. */
		write_json_match(q, q->e->o.exec_out, num, time, g, recs, nrecs,
				 with_recs);
		fq_out_flush(q->e->o.exec_out);
	}
	if (q->e->o.count) {
		/* --exec only: the hook has it */
	} else if (q->e->o.json) {
		write_json_match(q, o, num, time, g, recs, nrecs, with_recs);
	} else {
		char ts[FQ_TIME_STRLEN];
		fq_time_format(time, ts);
		fq_out_printf(o, "# %s match %llu at %s\n", q->name,
			      (unsigned long long)num, ts);
		for (size_t k = 0; k < q->plan->nbranches; k++) {
			size_t b = q->order[k];
			if (!g[b])
				continue;
			fq_out_printf(o, "#   %s: ", q->plan->branches[b].name);
			out_group_json(o, g[b]);
			fq_out_str(o, "\n");
		}
		if (with_recs) {
			char prefix[160];
			snprintf(prefix, sizeof prefix, "%s %llu  ", q->name,
				 (unsigned long long)num);
			for (size_t i = 0; i < nrecs; i++)
				fq_format_text_line(o, &recs[i]->r, prefix);
		}
	}
	free(recs);
}

/* --batch order: latest etime, then smallest rec_ids by branch name. */
static struct pl_query *sort_q;

static int
cmp_match(const void *a, const void *b)
{
	const struct pl_match *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	for (size_t k = 0; k < sort_q->plan->nbranches; k++) {
		size_t br = sort_q->order[k];
		uint64_t u = x->g[br] ? x->g[br]->min_rec_id : 0;
		uint64_t v = y->g[br] ? y->g[br]->min_rec_id : 0;
		if (u != v)
			return u < v ? -1 : 1;
	}
	return 0;
}

static void
flush_batch(struct pl_query *q)
{
	if (q->nbatch == 0)
		return;
	size_t nb = q->plan->nbranches;
	sort_q = q;
	qsort(q->batch, q->nbatch, sizeof *q->batch, cmp_match);
	for (size_t i = 0; i < q->nbatch; i++) {
		write_match(q, q->batch[i].g, q->batch[i].time);
		for (size_t b = 0; b < nb; b++)
			pl_group_unref(q->batch[i].g[b]);
		pl_mem_free(q->mem, nb * sizeof *q->batch[i].g);
		free(q->batch[i].g);
	}
	q->nbatch = 0;
}

/* ---- bounded state (--max-state) ------------------------------------------ */

static uint64_t
total_closed_early(const struct fq_engine *e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nq; i++)
		for (size_t b = 0; b < e->q[i]->plan->nbranches; b++)
			n += e->q[i]->br[b].c.closed_early;
	return n;
}

static uint64_t
total_evicted(const struct fq_engine *e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nq; i++)
		n += e->q[i]->evicted;
	return n;
}

static uint64_t
total_tuples_dropped(const struct fq_engine *e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nq; i++)
		n += e->q[i]->tuples_dropped;
	return n;
}

/* Count and log (the first time, then at most once a minute) that the
 * state total passed --max-state. */
static void
cap_reached(struct fq_engine *e)
{
	e->sheds++;
	fq_log_rl(&e->shed_rl, FQ_LOG_WARN,
		  "pipeline state reached the --max-state cap (%zu MiB): closing "
		  "the oldest groups early and evicting the oldest stored groups "
		  "(so far %llu closed early, %llu evicted); matches may differ "
		  "from an uncapped run", e->o.max_state_bytes >> 20,
		  (unsigned long long)total_closed_early(e),
		  (unsigned long long)total_evicted(e));
}

/*
 * --batch past the --max-state cap: write the matches found so far (in
 * SPEC section 4 order among themselves) instead of holding them to the
 * end.  No match is lost; only the global order is, and that is said.
 */
static void
flush_batch_early(struct pl_query *q)
{
	q->e->batch_flushed += q->nbatch;
	flush_batch(q);
}

void
pl_query_emit(struct pl_query *q, struct pl_group **g, int64_t time)
{
	if (!q->e->o.batch) {
		write_match(q, g, time);
		return;
	}
	size_t nb = q->plan->nbranches;
	if (q->nbatch == q->capbatch) {
		size_t cap = q->capbatch ? q->capbatch * 2 : 64;
		struct pl_match *m = realloc(q->batch, cap * sizeof *m);
		if (m == NULL) {
			fq_error("out of memory collecting matches");
			return;
		}
		pl_mem_realloc(q->mem, q->capbatch * sizeof *m, cap * sizeof *m);
		q->batch = m;
		q->capbatch = cap;
	}
	struct pl_match *m = &q->batch[q->nbatch];
	m->g = calloc(nb, sizeof *m->g);
	if (m->g == NULL)
		return;
	pl_mem_alloc(q->mem, nb * sizeof *m->g);
	for (size_t b = 0; b < nb; b++) {
		m->g[b] = g[b];
		if (g[b])
			g[b]->refs++;
	}
	m->time = time;
	q->nbatch++;
	/* The end of input closes every group at once: the match list is
	 * the one state that can still grow then, so it is capped here too.
	 * Every group a match holds is also held by its caller or the merger
	 * store, so writing the list out frees nothing in use. */
	size_t cap = q->e->o.max_state_bytes;
	if (cap && q->mem->bytes > cap) {
		cap_reached(q->e);
		flush_batch_early(q);
	}
}

/* ---- groups leaving the grouper ----------------------------------------- */

void
pl_query_group_closed(struct pl_branch *b, struct pl_group *g)
{
	struct pl_query *q = b->q;
	if (b->pb->groupfilter) {
		struct pl_group *slot[1] = { g };
		if (!pl_cnf_group(b->pb->groupfilter, slot)) {
			pl_group_unref(g);
			return;
		}
	}
	b->c.gfilter_out++;
	if (!q->keep_recs && b->gr.pg && !g->has_ids) {
		/*
		 * Nothing downstream reads the records of a closed group of
		 * a grouper (its values are its aggregates, and no record is
		 * printed): keep their rec_ids, in the same array, and let
		 * the records go.  In the merger store a group then costs
		 * its aggregates alone, and the store holds groups for
		 * minutes.
		 */
		for (uint32_t i = 0; i < g->n; i++) {
			struct pl_rec *r = g->recs[i];
			uint64_t id = r->r.rec_id;
			pl_rec_unref(&q->pool, r);
			g->ids[i] = id;
		}
		g->has_ids = 1;
	}
	if (q->mg) {
		pl_merger_group(q->mg, g);
	} else {
		/* pl_query_emit() keeps no pointer to v: a query of a few
		 * branches needs no allocation per match. */
		size_t nb = q->plan->nbranches;
		struct pl_group *sv[8] = { NULL };
		struct pl_group **v = nb <= 8 ? sv : calloc(nb, sizeof *v);
		if (v) {
			v[b->index] = g;
			pl_query_emit(q, v, g->etime);
			if (v != sv)
				free(v);
		}
	}
	pl_group_unref(g);
}

/* ---- queries -------------------------------------------------------------- */

static void
query_free(struct pl_query *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->nbatch; i++) {
		for (size_t b = 0; b < q->plan->nbranches; b++)
			pl_group_unref(q->batch[i].g[b]);
		pl_mem_free(q->mem, q->plan->nbranches * sizeof *q->batch[i].g);
		free(q->batch[i].g);
	}
	pl_mem_free(q->mem, q->capbatch * sizeof *q->batch);
	free(q->batch);
	/* The merger first: the groups it still holds need their branch's
	 * grouper (aggregate layout, counted size) to be freed. */
	pl_merger_fini(q->mg);
	if (q->br)
		for (size_t b = 0; b < q->plan->nbranches; b++)
			pl_grouper_fini(&q->br[b]);
	pl_filter_fini(&q->filter);
	pl_rec_pool_fini(&q->pool);
	if (q->br)
		for (size_t b = 0; b < q->plan->nbranches; b++) {
			struct pl_branch *br = &q->br[b];
			if (br->jagg)
				for (size_t k = 0; k < br->pb->grouper->naggs; k++)
					jname_free(&br->jagg[k]);
			free(br->jagg);
			jname_free(&br->jkey);
		}
	jname_free(&q->jhead);
	free(q->br);
	free(q->ahead_pass);
	free(q->ahead_hash);
	free(q->order);
	free(q->name);
	free(q);
}

static struct pl_query *cmp_names_q;

static int
cmp_branch_name(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return strcmp(cmp_names_q->plan->branches[x].name,
		      cmp_names_q->plan->branches[y].name);
}

int
fq_engine_add_query(struct fq_engine *e, const char *name,
		    const struct fq_plan *plan)
{
	struct pl_query *q = calloc(1, sizeof *q);
	if (q == NULL)
		return -FQ_ENOMEM;
	q->name = strdup(name);
	q->plan = plan;
	q->e = e;
	q->mem = &e->mem;
	q->pool.mem = &e->mem;
	q->keep_recs = plan->ungrouper != NULL && !e->o.no_records &&
		       !e->o.count;
	/* Records nobody prints are read only by the grouper rules: keep
	 * what those read (a branch without grouper shows its records'
	 * fields, so it keeps them whole). */
	q->pool.copy = sizeof(struct fq_record);
	if (!q->keep_recs) {
		size_t copy = 0;
		for (size_t b = 0; b < plan->nbranches; b++) {
			const struct fq_plan_grouper *pg = plan->branches[b].grouper;
			size_t n = pg ? pl_grouper_rec_bytes(pg)
				      : sizeof(struct fq_record);
			if (n > copy)
				copy = n;
		}
		if (copy < q->pool.copy)
			q->pool.copy = copy;
	}
	q->pool.slot = (offsetof(struct pl_rec, r) + q->pool.copy + 15) &
		       ~(size_t)15;
	size_t nb = plan->nbranches;
	q->br = calloc(nb ? nb : 1, sizeof *q->br);
	q->ahead_pass = calloc(PL_AHEAD * (nb ? nb : 1), 1);
	q->ahead_hash = calloc(PL_AHEAD * (nb ? nb : 1), sizeof *q->ahead_hash);
	if (q->ahead_pass == NULL || q->ahead_hash == NULL)
		goto fail;
	q->order = calloc(nb ? nb : 1, sizeof *q->order);
	if (q->name == NULL || q->br == NULL || q->order == NULL)
		goto fail;
	for (size_t b = 0; b < nb; b++) {
		q->br[b].pb = &plan->branches[b];
		q->br[b].q = q;
		q->br[b].index = b;
		q->order[b] = b;
		if (pl_grouper_init(&q->br[b]) < 0)
			goto fail;
		if (!q->br[b].gr.img)
			q->pool_needed = 1;
	}
	cmp_names_q = q;
	qsort(q->order, nb, sizeof *q->order, cmp_branch_name);
	if (query_jnames(q) < 0)
		goto fail;
	if (pl_filter_init(&q->filter, plan) < 0)
		goto fail;
	if (plan->merger && pl_merger_init(q) < 0)
		goto fail;
	struct pl_query **v = realloc(e->q, (e->nq + 1) * sizeof *v);
	if (v == NULL)
		goto fail;
	e->q = v;
	e->q[e->nq++] = q;
	return 0;
fail:
	query_free(q);
	return -FQ_ENOMEM;
}

/* ---- stream time ---------------------------------------------------------- */

/*
 * Exporters are found through a small open-addressing index, and T is
 * recomputed over all of them only when it can change: when the exporter
 * that holds it back moves forward, when an exporter appears or comes back
 * from idleness, or when arrival time passes the moment the next exporter
 * turns idle.  So a record costs O(1) however many exporters there are.
 * The table is capped: when it is full, idle exporters are forgotten;
 * records of exporters that still do not fit are counted as `untracked`
 * and do not hold T back.
 */
#define MAX_EXPORTERS 65536

static uint64_t
exp_hash(const struct fq_ip *a, uint32_t domain)
{
	return pl_mix(pl_mix(a->hi, a->lo ^ ((uint64_t)a->is6 << 63)), domain);
}

static int
exp_reindex(struct fq_engine *e)
{
	size_t n = 16;
	while (n <= 2 * e->capexps)
		n *= 2;
	uint32_t *ix = calloc(n, sizeof *ix);
	if (ix == NULL)
		return -1;
	for (size_t i = 0; i < e->nexps; i++) {
		size_t h = exp_hash(&e->exps[i].addr, e->exps[i].domain) & (n - 1);
		while (ix[h])
			h = (h + 1) & (n - 1);
		ix[h] = (uint32_t)i + 1;
	}
	free(e->xidx);
	e->xidx = ix;
	e->nxidx = n;
	return 0;
}

static int
exp_idle(const struct fq_engine *e, const struct pl_exp *x)
{
	return e->o.exporter_idle != FQ_TIME_INF &&
	       e->now - x->last_arrival > e->o.exporter_idle;
}

/* Forget idle exporters (table full); returns how many went. */
static size_t
exp_evict_idle(struct fq_engine *e)
{
	size_t w = 0;
	for (size_t i = 0; i < e->nexps; i++)
		if (!exp_idle(e, &e->exps[i]))
			e->exps[w++] = e->exps[i];
	size_t gone = e->nexps - w;
	e->nexps = w;
	e->min_x = SIZE_MAX;
	if (gone) {
		/* Rebuild in place: the table only shrank, no allocation. */
		memset(e->xidx, 0, e->nxidx * sizeof *e->xidx);
		for (size_t i = 0; i < e->nexps; i++) {
			size_t h = exp_hash(&e->exps[i].addr, e->exps[i].domain) &
				   (e->nxidx - 1);
			while (e->xidx[h])
				h = (h + 1) & (e->nxidx - 1);
			e->xidx[h] = (uint32_t)i + 1;
		}
	}
	return gone;
}

/* The exporter of r; *fresh = 1 if it was just added.  NULL: untracked. */
static struct pl_exp *
exporter_of(struct fq_engine *e, const struct fq_record *r, int *fresh)
{
	*fresh = 0;
	/*
	 * Records come in runs from one exporter (a datagram, a file), so
	 * the previous record's exporter is tried before the hash: a
	 * measurable share of a filter-only query's time otherwise.
	 */
	if (e->last_x < e->nexps) {
		struct pl_exp *x = &e->exps[e->last_x];
		if (x->domain == r->domain && fq_ip_eq(&x->addr, &r->exporter))
			return x;
	}
	if (e->nxidx) {
		size_t h = exp_hash(&r->exporter, r->domain) & (e->nxidx - 1);
		for (; e->xidx[h]; h = (h + 1) & (e->nxidx - 1)) {
			struct pl_exp *x = &e->exps[e->xidx[h] - 1];
			if (x->domain == r->domain &&
			    fq_ip_eq(&x->addr, &r->exporter)) {
				e->last_x = e->xidx[h] - 1;
				return x;
			}
		}
	}
	if (e->nexps == MAX_EXPORTERS && exp_evict_idle(e) == 0)
		return NULL;
	if (e->nexps == e->capexps) {
		size_t cap = e->capexps ? e->capexps * 2 : 8;
		struct pl_exp *v = realloc(e->exps, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		e->exps = v;
		e->capexps = cap;
	}
	struct pl_exp *x = &e->exps[e->nexps++];
	x->addr = r->exporter;
	x->domain = r->domain;
	x->max_etime = INT64_MIN;
	x->last_arrival = r->arrival ? r->arrival : r->etime;
	if (2 * e->capexps >= e->nxidx) {
		if (exp_reindex(e) < 0) {
			e->nexps--;
			return NULL;
		}
	} else {
		size_t h = exp_hash(&x->addr, x->domain) & (e->nxidx - 1);
		while (e->xidx[h])
			h = (h + 1) & (e->nxidx - 1);
		e->xidx[h] = (uint32_t)e->nexps;
	}
	*fresh = 1;
	e->last_x = e->nexps - 1;
	return x;
}

/* Recompute T from all active exporters; returns 1 if it moved forward. */
static int
update_T(struct fq_engine *e)
{
	int64_t m = FQ_TIME_INF;
	e->min_x = SIZE_MAX;
	e->recheck_at = FQ_TIME_INF;
	for (size_t i = 0; i < e->nexps; i++) {
		struct pl_exp *x = &e->exps[i];
		if (x->max_etime == INT64_MIN || exp_idle(e, x))
			continue;   /* idle: stops holding T back */
		int64_t idle_at = e->o.exporter_idle == FQ_TIME_INF ? FQ_TIME_INF
				  : x->last_arrival + e->o.exporter_idle + 1;
		if (idle_at < e->recheck_at)
			e->recheck_at = idle_at;
		if (x->max_etime < m) {
			m = x->max_etime;
			e->min_x = i;
		}
	}
	if (e->min_x == SIZE_MAX)
		return 0;
	int64_t T = e->o.lateness == FQ_TIME_INF ? INT64_MIN : m - e->o.lateness;
	if (T > e->T) {
		e->T = T;
		return 1;
	}
	return 0;
}

static void
advance(struct fq_engine *e, int end)
{
	for (size_t i = 0; i < e->nq; i++) {
		struct pl_query *q = e->q[i];
		for (size_t b = 0; b < q->plan->nbranches; b++)
			pl_grouper_close_until(&q->br[b], e->T, end);
		if (q->mg)
			pl_merger_advance(q->mg, e->T, end);
	}
}

/* ---- bounded state: shedding ---------------------------------------------- */

/*
 * The state total passed the cap: bring it back under 7/8 of the cap, so
 * that this runs once per eighth of the cap of new state, not per record.
 *
 * First what costs nothing: merger store entries the horizon already
 * dropped but no compaction has freed yet; in --batch, the matches found
 * so far (written out: only their global order is lost).  Then, one at a
 * time, the oldest state across all queries, by the stream time at which
 * the ordinary rules would let it go: an open group (deadline + M) is
 * closed early -- through group filter and merger, as if its window had
 * ended -- and a stored group (its horizon) is evicted.  So the cap acts
 * like stream time moving forward for the oldest state only.  --batch has
 * no such times; there both are ordered by stime.  Ties go to the store:
 * evicting loses pairings, closing early also splits a group.
 *
 * Stored groups that a pending tuple holds are passed over (a match is
 * found there, waiting only for its rejection window); only when nothing
 * else is left are pending tuples dropped, the earliest release first.
 *
 * An evicted group is freed when its store is compacted, so this works in
 * rounds: `est` counts what the round's evictions will free, and each
 * round starts with the compaction that frees the previous one's.
 */
static void
shed(struct fq_engine *e)
{
	size_t cap = e->o.max_state_bytes;
	size_t low = cap - cap / 8;
	cap_reached(e);
	for (size_t i = 0; i < e->nq; i++)
		if (e->q[i]->mg)
			pl_merger_shed_round(e->q[i]->mg);
	if (e->o.batch && e->mem.bytes > low)
		for (size_t i = 0; i < e->nq; i++)
			flush_batch_early(e->q[i]);
	for (;;) {
		size_t est = 0;
		int did = 0;
		while (e->mem.bytes > low + est) {
			struct pl_group *victim = NULL;
			struct pl_branch *open_in = NULL;  /* NULL: stored */
			struct pl_query *vq = NULL;
			int64_t vkey = 0, key;
			for (size_t i = 0; i < e->nq; i++) {
				struct pl_query *q = e->q[i];
				struct pl_group *g;
				if (q->mg && (g = pl_merger_oldest(q->mg, &key)) &&
				    (victim == NULL || key < vkey)) {
					victim = g;
					vkey = key;
					vq = q;
					open_in = NULL;
				}
				for (size_t b = 0; b < q->plan->nbranches; b++) {
					g = pl_grouper_oldest(&q->br[b], &key);
					if (g && (victim == NULL || key < vkey)) {
						victim = g;
						vkey = key;
						vq = q;
						open_in = &q->br[b];
					}
				}
			}
			if (open_in) {
				pl_grouper_close_early(open_in, victim);
				/* in --batch its matches would hold it */
				if (e->o.batch)
					flush_batch_early(vq);
			} else if (victim) {
				est += pl_merger_evict(vq->mg, victim);
			} else {
				/* Nothing open, every stored group held by a
				 * pending tuple: drop the oldest tuple. */
				vq = NULL;
				for (size_t i = 0; i < e->nq; i++) {
					struct pl_query *q = e->q[i];
					if (q->mg && pl_merger_oldest_pending(q->mg, &key) &&
					    (vq == NULL || key < vkey)) {
						vq = q;
						vkey = key;
					}
				}
				if (vq == NULL)
					break;   /* only arrays left */
				est += pl_merger_drop_oldest_pending(vq->mg);
			}
			did = 1;
		}
		for (size_t i = 0; i < e->nq; i++)
			if (e->q[i]->mg)
				pl_merger_shed_round(e->q[i]->mg);
		if (!did || e->mem.bytes <= low)
			break;
	}
}

/*
 * The filters of the next m (<= PL_AHEAD) records, and for each branch a
 * record passes, its probe hash, with the key index slot it will probe
 * prefetched (pl.h, PL_AHEAD).  Filters and hashes depend on the record
 * alone, so running them early changes nothing but when memory is read.
 * Returns the records that passed some branch, bit j for the j-th.
 */
static uint32_t
query_ahead(struct pl_query *q, const struct fq_record *recs, size_t m)
{
	size_t nb = q->plan->nbranches;
	uint32_t hit = pl_filter_records(&q->filter, recs, m, q->ahead_pass);
	q->ahead_hit = hit;
	for (uint32_t left = hit; left; left &= left - 1) {
		size_t j = (size_t)__builtin_ctz(left);
		const uint8_t *pass = &q->ahead_pass[j * nb];
		for (size_t b = 0; b < nb; b++)
			if (pass[b])
				q->ahead_hash[j * nb + b] =
					pl_grouper_probe_hash(&q->br[b], &recs[j]);
	}
	return hit;
}

/* Record r, the j-th of those query_ahead() saw, which passed the filter
 * of at least one branch.  (Every branch's filter sees every record:
 * filter_in is counted once, in the query: pl_query.records.) */
static void
query_record(struct pl_query *q, const struct fq_record *r, size_t j,
	     int late, int lng)
{
	const struct fq_plan *p = q->plan;
	const uint8_t *pass = &q->ahead_pass[j * p->nbranches];
	const uint64_t *hash = &q->ahead_hash[j * p->nbranches];
	for (size_t b = 0; b < p->nbranches; b++) {
		struct pl_branch *br = &q->br[b];
		if (pass[b]) {
			br->c.filter_out++;
			if (late)
				br->c.late++;
			if (lng)
				br->c.long_recs++;
		}
	}
	/* Branches whose groups hold record images take no record. */
	struct pl_rec *rec = NULL;
	if (q->pool_needed) {
		rec = pl_rec_new(&q->pool, r);
		if (rec == NULL) {
			fq_error("out of memory storing a record");
			return;
		}
		rec->refs = 1;   /* held while we hand it to the branches */
	}
	for (size_t b = 0; b < p->nbranches; b++)
		if (pass[b])
			pl_grouper_record(&q->br[b], rec, r, late || lng, hash[b]);
	if (rec)
		pl_rec_unref(&q->pool, rec);
}

/* Stream time after record r (not in --batch): its exporter, then T.
 * e->now is already r's arrival `now` or later. */
static void
track_slow(struct fq_engine *e, const struct fq_record *r, int64_t now,
	   int future)
{
	int fresh;
	struct pl_exp *x = exporter_of(e, r, &fresh);
	if (x == NULL) {
		e->untracked++;
		return;
	}
	/* Decide before updating x whether T may change. */
	int recompute = fresh || exp_idle(e, x) || e->now >= e->recheck_at;
	if (now > x->last_arrival)
		x->last_arrival = now;
	if (!future && r->etime > x->max_etime) {
		x->max_etime = r->etime;
		if (e->min_x == SIZE_MAX || x == &e->exps[e->min_x])
			recompute = 1;
	}
	if (recompute && update_T(e))
		advance(e, 0);
}

/*
 * The same, with the common case first.  A record's exporter is nearly
 * always the previous record's (a datagram, a file), and T rarely moves
 * with it: that case is decided here, inline, before any exporter lookup
 * or call.
 */
static inline void
track(struct fq_engine *e, const struct fq_record *r, int64_t now,
      int future)
{
	if (e->last_x < e->nexps) {
		struct pl_exp *x = &e->exps[e->last_x];
		/* The same as track_slow() when x is r's exporter, T cannot
		 * move (x is not the one holding it back, or its max_etime
		 * stays) and nothing is due to be rechecked. */
		if (x->domain == r->domain && fq_ip_eq(&x->addr, &r->exporter) &&
		    e->now < e->recheck_at &&
		    (future || r->etime <= x->max_etime ||
		     (e->min_x != SIZE_MAX && x != &e->exps[e->min_x])) &&
		    !exp_idle(e, x)) {
			if (now > x->last_arrival)
				x->last_arrival = now;
			if (!future && r->etime > x->max_etime)
				x->max_etime = r->etime;
			return;
		}
	}
	track_slow(e, r, now, future);
}

/*
 * Records are taken PL_AHEAD at a time: the filters of all of them first
 * (query_ahead), then each in order through the branches it passed and
 * stream time.  Counters that only the statistics read are summed per
 * call; a chunk no filter passed costs only its stream time.
 */
static int
engine_records(struct fq_sink *sink, const struct fq_record *recs, size_t n)
{
	struct fq_engine *e = (struct fq_engine *)sink;
	const int batch = e->o.batch;
	const int64_t maxdur = e->o.max_duration, skew = e->o.max_skew;
	uint64_t nlate = 0, nlong = 0, nfuture = 0;
	e->records += n;
	for (size_t k = 0; k < e->nq; k++)
		e->q[k]->records += n;
	for (size_t i = 0; i < n; i += PL_AHEAD) {
		const struct fq_record *c = &recs[i];
		size_t m = n - i < PL_AHEAD ? n - i : PL_AHEAD;
		uint32_t hit = 0;
		for (size_t k = 0; k < e->nq; k++)
			hit |= query_ahead(e->q[k], c, m);
		for (size_t j = 0; j < m; j++) {
			const struct fq_record *r = &c[j];
			int late = 0, lng = 0, future = 0;
			int64_t arr = 0;
			if (!batch) {
				/* FQ_TIME_INF is INT64_MAX: no duration or skew
				 * is over an infinite limit, without a test. */
				late = r->etime < e->T;
				lng = r->etime - r->stime > maxdur;
				arr = r->arrival ? r->arrival : r->etime;
				future = r->etime - arr > skew;
				nlate += (uint64_t)late;
				nlong += (uint64_t)lng;
				nfuture += (uint64_t)future;
			}
			if (hit >> j & 1)
				for (size_t k = 0; k < e->nq; k++)
					if (e->q[k]->ahead_hit >> j & 1)
						query_record(e->q[k], r, j, late,
							     lng);
			if (!batch) {
				if (arr > e->now)
					e->now = arr;
				track(e, r, arr, future);
			}
			if (e->mem.bytes > e->o.max_state_bytes &&
			    e->o.max_state_bytes)
				shed(e);
		}
	}
	e->late += nlate;
	e->long_recs += nlong;
	e->future += nfuture;
	struct fq_out *o = e->o.out;
	return o->err ? -FQ_EIO : 0;
}

static int
engine_finish(struct fq_sink *sink)
{
	struct fq_engine *e = (struct fq_engine *)sink;
	if (e->finished)
		return 0;
	e->finished = 1;
	e->T = FQ_TIME_INF;
	advance(e, 1);
	for (size_t i = 0; i < e->nq; i++)
		flush_batch(e->q[i]);
	if (e->sheds) {
		char early[96] = "";
		if (e->o.batch)
			snprintf(early, sizeof early, ", %llu matches written "
				 "before the end of input: the --batch result is "
				 "not exact", (unsigned long long)e->batch_flushed);
		fq_warn("the --max-state cap (%zu MiB) was reached %llu times: "
			"%llu groups closed early, %llu stored groups evicted, "
			"%llu tuples dropped%s; raise --max-state for the full "
			"result", e->o.max_state_bytes >> 20,
			(unsigned long long)e->sheds,
			(unsigned long long)total_closed_early(e),
			(unsigned long long)total_evicted(e),
			(unsigned long long)total_tuples_dropped(e), early);
	}
	if (e->o.count)
		for (size_t i = 0; i < e->nq; i++) {
			struct pl_query *q = e->q[i];
			if (e->o.json) {
				fq_out_str(e->o.out, "{\"query\":");
				out_json_string(e->o.out, q->name);
				fq_out_printf(e->o.out, ",\"matches\":%llu}\n",
					      (unsigned long long)q->matches);
			} else {
				fq_out_printf(e->o.out, "%s %llu\n", q->name,
					      (unsigned long long)q->matches);
			}
		}
	fq_out_flush(e->o.out);
	return e->o.out->err ? -FQ_EIO : 0;
}

int
fq_engine_new(struct fq_engine **out, const struct fq_engine_opts *o)
{
	struct fq_engine *e = calloc(1, sizeof *e);
	if (e == NULL)
		return -FQ_ENOMEM;
	e->sink.records = engine_records;
	e->sink.finish = engine_finish;
	e->o = *o;
	if (e->o.batch) {
		e->o.window = FQ_TIME_INF;
		e->o.lateness = FQ_TIME_INF;
	}
	e->T = INT64_MIN;
	e->now = INT64_MIN;
	e->min_x = SIZE_MAX;
	e->last_x = SIZE_MAX;
	e->recheck_at = FQ_TIME_INF;
	/* The cap message: the first time, then at most once a minute. */
	e->shed_rl.burst = 1;
	e->shed_rl.interval_ms = 60000;
	*out = e;
	return 0;
}

struct fq_sink *
fq_engine_sink(struct fq_engine *e)
{
	return &e->sink;
}

void
fq_engine_free(struct fq_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->nq; i++)
		query_free(e->q[i]);
	/* Every stage gave back what it counted: the total the cap trusts
	 * is balanced (checked in every test run, not in release builds). */
	assert(e->mem.bytes == 0);
	free(e->q);
	free(e->exps);
	free(e->xidx);
	free(e);
}

void
fq_engine_print_stats(struct fq_engine *e, struct fq_out *o, int json)
{
	if (json) {
		fq_out_printf(o, "{\"records\":%llu,\"late\":%llu,\"long\":%llu,"
			      "\"future\":%llu,\"untracked\":%llu,",
			      (unsigned long long)e->records,
			      (unsigned long long)e->late,
			      (unsigned long long)e->long_recs,
			      (unsigned long long)e->future,
			      (unsigned long long)e->untracked);
		fq_out_printf(o, "\"state_bytes\":%zu,\"state_peak\":%zu,"
			      "\"state_cap\":%zu,\"state_sheds\":%llu,"
			      "\"state_closed_early\":%llu,\"state_evicted\":%llu,"
			      "\"state_tuples_dropped\":%llu,"
			      "\"state_batch_flushed\":%llu,\"queries\":[",
			      e->mem.bytes, e->mem.peak, e->o.max_state_bytes,
			      (unsigned long long)e->sheds,
			      (unsigned long long)total_closed_early(e),
			      (unsigned long long)total_evicted(e),
			      (unsigned long long)total_tuples_dropped(e),
			      (unsigned long long)e->batch_flushed);
	} else {
		fq_out_printf(o, "engine: records %llu late %llu long %llu future %llu "
			      "untracked %llu\n",
			      (unsigned long long)e->records,
			      (unsigned long long)e->late,
			      (unsigned long long)e->long_recs,
			      (unsigned long long)e->future,
			      (unsigned long long)e->untracked);
		fq_out_printf(o, "state: bytes %zu peak %zu cap %zu sheds %llu "
			      "closed_early %llu evicted %llu tuples_dropped %llu "
			      "batch_flushed %llu\n",
			      e->mem.bytes, e->mem.peak, e->o.max_state_bytes,
			      (unsigned long long)e->sheds,
			      (unsigned long long)total_closed_early(e),
			      (unsigned long long)total_evicted(e),
			      (unsigned long long)total_tuples_dropped(e),
			      (unsigned long long)e->batch_flushed);
	}
	for (size_t i = 0; i < e->nq; i++) {
		struct pl_query *q = e->q[i];
		if (json) {
			if (i)
				fq_out_str(o, ",");
			fq_out_str(o, "{\"query\":");
			out_json_string(o, q->name);
			fq_out_printf(o, ",\"matches\":%llu,\"tuples\":%llu,"
				      "\"rejected\":%llu,\"merger_dropped\":%llu,"
				      "\"pending\":%zu,\"evicted\":%llu,"
				      "\"tuples_dropped\":%llu,\"branches\":{",
				      (unsigned long long)q->matches,
				      (unsigned long long)q->tuples,
				      (unsigned long long)q->rejected,
				      (unsigned long long)q->dropped_groups,
				      q->mg ? q->mg->npending : (size_t)0,
				      (unsigned long long)q->evicted,
				      (unsigned long long)q->tuples_dropped);
		} else {
			fq_out_printf(o, "query %s: matches %llu tuples %llu rejected %llu "
				      "evicted %llu tuples_dropped %llu\n",
				      q->name, (unsigned long long)q->matches,
				      (unsigned long long)q->tuples,
				      (unsigned long long)q->rejected,
				      (unsigned long long)q->evicted,
				      (unsigned long long)q->tuples_dropped);
		}
		for (size_t b = 0; b < q->plan->nbranches; b++) {
			const struct pl_counters *c = &q->br[b].c;
			const char *bn = q->plan->branches[b].name;
			if (json) {
				if (b)
					fq_out_str(o, ",");
				out_json_string(o, bn);
				fq_out_printf(o, ":{\"filter_in\":%llu,\"filter_out\":%llu,"
					      "\"grouper_dropped\":%llu,\"groups\":%llu,"
					      "\"groups_closed\":%llu,\"groupfilter_out\":%llu,"
					      "\"late\":%llu,\"long\":%llu,\"late_join\":%llu,"
					      "\"closed_early\":%llu,\"open_groups\":%zu}",
					      (unsigned long long)q->records,
					      (unsigned long long)c->filter_out,
					      (unsigned long long)c->grouper_dropped,
					      (unsigned long long)c->groups,
					      (unsigned long long)c->groups_closed,
					      (unsigned long long)c->gfilter_out,
					      (unsigned long long)c->late,
					      (unsigned long long)c->long_recs,
					      (unsigned long long)c->late_join,
					      (unsigned long long)c->closed_early,
					      q->br[b].gr.nopen);
			} else {
				fq_out_printf(o, "  branch %s: filter %llu/%llu grouper_dropped %llu "
					      "groups %llu closed %llu groupfilter_out %llu "
					      "late %llu long %llu late_join %llu "
					      "closed_early %llu\n", bn,
					      (unsigned long long)c->filter_out,
					      (unsigned long long)q->records,
					      (unsigned long long)c->grouper_dropped,
					      (unsigned long long)c->groups,
					      (unsigned long long)c->groups_closed,
					      (unsigned long long)c->gfilter_out,
					      (unsigned long long)c->late,
					      (unsigned long long)c->long_recs,
					      (unsigned long long)c->late_join,
					      (unsigned long long)c->closed_early);
			}
		}
		if (json)
			fq_out_str(o, "}}");
	}
	if (json)
		fq_out_str(o, "]}\n");
}
