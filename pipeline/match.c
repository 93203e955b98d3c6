/*
 * match.c - a match as text and as JSON (SPEC section 6).
 *
 * Every sink prints matches through these two functions, so the forms
 * are defined once.  The member names of the output -- the query's, each
 * branch's, each aggregate's -- are escaped once when the query is set
 * up (struct pl_outnames), as `pre"name"post`: escaping them byte by byte
 * for every match was a tenth of a merger query's output time.  Group
 * values are formatted straight into the sink's output buffer, without
 * building a struct pl_val for each (the same switch as
 * pl_group_value() in value.c).
 */
#include "match.h"
#include "pl.h"
#include "fq_format.h"
#include "fq_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- member names ------------------------------------------------------ */

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

int
pl_outnames_init(struct pl_outnames *n, const char *query,
		 const struct fq_plan *plan, const size_t *order)
{
	memset(n, 0, sizeof *n);
	n->plan = plan;
	n->order = order;
	size_t nb = plan->nbranches;
	n->jkey = calloc(nb ? nb : 1, sizeof *n->jkey);
	n->jagg = calloc(nb ? nb : 1, sizeof *n->jagg);
	if (n->jkey == NULL || n->jagg == NULL)
		return -1;
	if (jname_make(&n->jhead, "{\"query\":", query, ",\"match\":") < 0 ||
	    jname_make(&n->jearly, "{\"query\":", query, ",\"early\":") < 0 ||
	    jname_make(&n->jretract, "{\"query\":", query, ",\"retract\":") < 0)
		return -1;
	for (size_t b = 0; b < nb; b++) {
		const struct fq_plan_grouper *pg = plan->branches[b].grouper;
		if (jname_make(&n->jkey[b], "", plan->branches[b].name, ":") < 0)
			return -1;
		if (pg == NULL || pg->naggs == 0)
			continue;
		n->jagg[b] = calloc(pg->naggs, sizeof *n->jagg[b]);
		if (n->jagg[b] == NULL)
			return -1;
		for (size_t k = 0; k < pg->naggs; k++)
			if (jname_make(&n->jagg[b][k], ",", pg->aggs[k].name,
				       ":") < 0)
				return -1;
	}
	return 0;
}

void
pl_outnames_fini(struct pl_outnames *n)
{
	if (n->plan == NULL)
		return;
	for (size_t b = 0; b < n->plan->nbranches; b++) {
		const struct fq_plan_grouper *pg = n->plan->branches[b].grouper;
		if (n->jagg && n->jagg[b])
			for (size_t k = 0; k < pg->naggs; k++)
				jname_free(&n->jagg[b][k]);
		if (n->jagg)
			free(n->jagg[b]);
		if (n->jkey)
			jname_free(&n->jkey[b]);
	}
	free(n->jagg);
	free(n->jkey);
	jname_free(&n->jhead);
	jname_free(&n->jearly);
	jname_free(&n->jretract);
	memset(n, 0, sizeof *n);
}

/* ---- groups ------------------------------------------------------------ */

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

/* `{"stime":...,"rec_ids":[...]`: what every group has. */
static void
out_group_head(struct fq_out *o, const struct pl_group *g)
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
}

/* A union() set as a JSON array. */
static void
out_set(struct fq_out *o, const struct fq_vset *set)
{
	char *p0 = fq_out_reserve(o, JSON_VAL_MAX), *p = p0;
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
	fq_out_commit(o, (size_t)(p - p0));
}

/* The aggregates of a group of a grouper, `,"name":value` each: the
 * values the aggregate table's final() gives (core/fq_agg.h). */
static void
out_aggs(struct fq_out *o, const struct pl_group *g,
	 const struct pl_jname *jagg)
{
	const struct fq_plan_grouper *pg = g->br->gr.pg;
	for (size_t k = 0; k < pg->naggs; k++) {
		const struct fq_agg *a = &pg->aggs[k];
		struct fq_agg_value v;
		fq_agg_final(a->fn, pl_group_agg(g, k),
			     g->br->gr.aops[k].isip ? FQ_V_IP : FQ_V_INT, &v);
		fq_out_write(o, jagg[k].s, jagg[k].n);
		if (v.t == FQ_V_REAL) {
			out_real(o, v.d);
			continue;
		}
		if (v.t == FQ_V_SET_INT || v.t == FQ_V_SET_IP) {
			out_set(o, v.set);
			continue;
		}
		char *p0 = fq_out_reserve(o, JSON_VAL_MAX), *p = p0;
		if (v.t == FQ_V_IP)
			p = put_ip(p, &v.ip);
		else
			p += fq_fmt_i64(p, v.i);
		fq_out_commit(o, (size_t)(p - p0));
	}
}

/* A group's members, straight into the output buffer. */
static void
out_group_json(struct fq_out *o, const struct pl_group *g,
	       const struct pl_outnames *n)
{
	out_group_head(o, g);
	if (g->br->gr.pg) {
		out_aggs(o, g, n->jagg[g->br->index]);
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
		char *p = fq_out_reserve(o, FQ_JSON_RECORD_MAX);
		fq_out_commit(o, fq_format_json_members(&g->recs[0]->r, p,
							 skip));
	}
	fq_out_write(o, "}", 1);
}

/* ---- matches ----------------------------------------------------------- */

void
fq_match_write_json(const struct fq_match *m, struct fq_out *o)
{
	const struct pl_outnames *n = m->names;
	const struct pl_jname *head = m->kind == FQ_MATCH_EARLY ? &n->jearly
		: m->kind == FQ_MATCH_RETRACT ? &n->jretract : &n->jhead;
	fq_out_write(o, head->s, head->n);
	char *p0 = fq_out_reserve(o, 96), *p = p0;
	p += fq_fmt_u64(p, m->num);
	if (m->early) {
		/* a final match that settles an early one names it */
		p = PUT_LIT(p, ",\"early\":");
		p += fq_fmt_u64(p, m->early);
	}
	p = PUT_LIT(p, ",\"time\":");
	if (m->kind == FQ_MATCH_RETRACT) {
		p += fq_fmt_i64(p, m->time);
		p = PUT_LIT(p, "}\n");
		fq_out_commit(o, (size_t)(p - p0));
		return;
	}
	p += fq_fmt_i64(p, m->time);
	p = PUT_LIT(p, ",\"groups\":{");
	fq_out_commit(o, (size_t)(p - p0));
	int first = 1;
	for (size_t k = 0; k < n->plan->nbranches; k++) {
		size_t b = n->order[k];
		if (!m->g[b])
			continue;
		if (!first)
			fq_out_write(o, ",", 1);
		first = 0;
		fq_out_write(o, n->jkey[b].s, n->jkey[b].n);
		out_group_json(o, m->g[b], n);
	}
	fq_out_str(o, "}");
	if (m->with_recs) {
		fq_out_str(o, ",\"records\":[");
		for (size_t i = 0; i < m->nrecs; i++) {
			char *rp = fq_out_reserve(o, FQ_JSON_RECORD_MAX + 1);
			size_t len = 0;
			if (i)
				rp[len++] = ',';
			len += fq_format_json(&m->recs[i]->r, rp + len);
			fq_out_commit(o, len);
		}
		fq_out_str(o, "]");
	}
	fq_out_str(o, "}\n");
}

void
fq_match_write_text(const struct fq_match *m, struct fq_out *o)
{
	const struct pl_outnames *n = m->names;
	static const char *const what[] = { "match", "early", "retract" };
	char ts[FQ_TIME_STRLEN];
	fq_time_format(m->time, ts);
	fq_out_printf(o, "# %s %s %llu at %s", m->query, what[m->kind],
		      (unsigned long long)m->num, ts);
	if (m->early)
		fq_out_printf(o, " (early %llu)", (unsigned long long)m->early);
	fq_out_str(o, "\n");
	if (m->kind == FQ_MATCH_RETRACT)
		return;
	for (size_t k = 0; k < n->plan->nbranches; k++) {
		size_t b = n->order[k];
		if (!m->g[b])
			continue;
		fq_out_printf(o, "#   %s: ", n->plan->branches[b].name);
		out_group_json(o, m->g[b], n);
		fq_out_str(o, "\n");
	}
	if (m->with_recs) {
		char prefix[160];
		snprintf(prefix, sizeof prefix, "%s %s%llu  ", m->query,
			 m->kind == FQ_MATCH_EARLY ? "early " : "",
			 (unsigned long long)m->num);
		for (size_t i = 0; i < m->nrecs; i++)
			fq_format_text_line(o, &m->recs[i]->r, prefix);
	}
}
