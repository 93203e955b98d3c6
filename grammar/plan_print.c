/*
 * plan_print.c - the plan as `flowq check` shows it: branches and their
 * stages, each rule with its kind (key / absolute / relative / time), the
 * aggregates with their types, merger modules with their Allen graph and
 * whether it bounds their state in streaming, and the endpoints.
 *
 * Printed from the resolved plan, not from the source text, so what a
 * person reads is what the engine will run (aliases appear under their
 * canonical names, protocol("TCP") as 6, durations in ms normalised).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"
#include "query.h"

static void
print_dur(FILE *out, int64_t ms)
{
	if (ms != 0 && ms % 3600000 == 0)
		fprintf(out, "%" PRId64 "h", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		fprintf(out, "%" PRId64 "min", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		fprintf(out, "%" PRId64 "s", ms / 1000);
	else
		fprintf(out, "%" PRId64 "ms", ms);
}

static void
print_ip(FILE *out, const struct fq_ip *a)
{
	char buf[FQ_IP_STRLEN];
	size_t n = fq_ip_format(a, buf);
	fprintf(out, "%.*s", (int)n, buf);
}

/* The prefix length if [lo, hi] is exactly one prefix, else -1. */
static int
range_prefix(const struct fq_ip_range *r)
{
	int bits = r->lo.is6 ? 128 : 32;
	for (int plen = 0; plen <= bits; plen++) {
		/* Host part: the low (bits - plen) bits of the 128-bit value. */
		int host = bits - plen;
		uint64_t mh, ml;
		if (host >= 128) {
			mh = ~0ULL;
			ml = ~0ULL;
		} else if (host >= 64) {
			mh = host == 64 ? 0 : ~0ULL >> (128 - host);
			ml = ~0ULL;
		} else {
			mh = 0;
			ml = host == 0 ? 0 : ~0ULL >> (64 - host);
		}
		if ((r->lo.hi & mh) == 0 && (r->lo.lo & ml) == 0 &&
		    r->hi.hi == (r->lo.hi | mh) && r->hi.lo == (r->lo.lo | ml))
			return plen;
	}
	return -1;
}

static void
print_set(FILE *out, const struct fq_set *s)
{
	fputc('[', out);
	for (size_t i = 0; i < s->n; i++) {
		if (i == 8) {
			fprintf(out, ", ... (%zu ranges)", s->n);
			break;
		}
		if (i)
			fputs(", ", out);
		if (s->elem == FQ_V_INT) {
			fprintf(out, "%" PRId64, s->ints[i].lo);
			if (s->ints[i].hi != s->ints[i].lo)
				fprintf(out, "..%" PRId64, s->ints[i].hi);
		} else {
			print_ip(out, &s->ips[i].lo);
			int plen = range_prefix(&s->ips[i]);
			if (plen >= 0 && plen < (s->ips[i].lo.is6 ? 128 : 32)) {
				fprintf(out, "/%d", plen);
			} else if (plen < 0) {
				fputs("..", out);
				print_ip(out, &s->ips[i].hi);
			}
		}
	}
	fputc(']', out);
}

static const char *const gval_names[] = {
	"stime", "etime", "duration", "records",
};

/* `names`: the module's branch names by slot (merger), else NULL. */
static void
print_operand(FILE *out, const struct fq_operand *o,
	      const struct fq_plan_grouper *g, const char *const *names,
	      int as_dur)
{
	if (o->fn != FQ_FN_NONE)
		fputs(o->fn == FQ_FN_BITAND ? "bitAND(" : "bitOR(", out);
	switch (o->kind) {
	case FQ_O_FIELD:
		fputs(o->field->name, out);
		break;
	case FQ_O_GROUP:
		if (names != NULL)
			fprintf(out, "%s.", names[o->branch]);
		if (o->gval == FQ_G_AGG)
			fputs(g != NULL && o->agg < g->naggs ? g->aggs[o->agg].name
							      : "?", out);
		else if (o->gval == FQ_G_FIELD)
			fputs(o->field->name, out);
		else
			fputs(gval_names[o->gval], out);
		break;
	case FQ_O_INT:
		if (as_dur)
			print_dur(out, o->i);
		else
			fprintf(out, "%" PRId64, o->i);
		break;
	case FQ_O_IP:
		print_ip(out, &o->ip);
		if (o->plen < (o->ip.is6 ? 128 : 32))
			fprintf(out, "/%u", o->plen);
		break;
	case FQ_O_SET:
		print_set(out, o->set);
		break;
	}
	if (o->fn != FQ_FN_NONE)
		fprintf(out, ", 0x%" PRIx64 ")", (uint64_t)o->mask);
}

static int
operand_is_dur(const struct fq_operand *o, const struct fq_plan_grouper *g)
{
	if (o->fn != FQ_FN_NONE)
		return 0;
	if (o->kind == FQ_O_FIELD || (o->kind == FQ_O_GROUP &&
				      o->gval == FQ_G_FIELD))
		return o->field->type == FQ_T_DUR;
	if (o->kind == FQ_O_GROUP && o->gval == FQ_G_DURATION)
		return 1;
	if (o->kind == FQ_O_GROUP && o->gval == FQ_G_AGG && g != NULL &&
	    o->agg < g->naggs)
		return g->aggs[o->agg].field->type == FQ_T_DUR &&
		       g->aggs[o->agg].fn != FQ_AGG_COUNT;
	return 0;
}

static void
print_term(FILE *out, const struct fq_term *t, const struct fq_plan_grouper *lg,
	   const struct fq_plan_grouper *rg, const char *const *names)
{
	if (t->negate)
		fputs("NOT ", out);
	if (t->op == FQ_OP_FILTER) {
		fputs("(", out);
		for (size_t i = 0; t->sub && i < t->sub->n; i++) {
			if (i)
				fputs(" AND ", out);
			const struct fq_clause *c = &t->sub->clauses[i];
			for (size_t k = 0; k < c->n; k++) {
				if (k)
					fputs(" OR ", out);
				print_term(out, &c->terms[k], lg, rg, names);
			}
		}
		fputs(")", out);
		return;
	}
	print_operand(out, &t->l, lg, names, 0);
	fprintf(out, " %s ", fq_op_name(t->op));
	if (t->l.fn != FQ_FN_NONE && t->r.kind == FQ_O_INT && t->r.i >= 0)
		fprintf(out, "0x%" PRIx64, (uint64_t)t->r.i);   /* a bit mask */
	else
		print_operand(out, &t->r, rg, names, operand_is_dur(&t->l, lg));
	if (t->has_delta) {
		int time = (t->l.kind == FQ_O_GROUP &&
			    (t->l.gval <= FQ_G_DURATION)) ||
			   (t->l.kind == FQ_O_FIELD &&
			    (t->l.field->type == FQ_T_TIME ||
			     t->l.field->type == FQ_T_DUR));
		fputs(" delta ", out);
		if (time)
			print_dur(out, t->delta);
		else
			fprintf(out, "%" PRId64, t->delta);
	}
}

static void
print_cnf(FILE *out, const struct fq_cnf *cnf, const char *indent,
	  const struct fq_plan_grouper *g)
{
	if (cnf->n == 0)
		fprintf(out, "%s(no conditions: everything passes)\n", indent);
	for (size_t i = 0; i < cnf->n; i++) {
		const struct fq_clause *c = &cnf->clauses[i];
		fputs(indent, out);
		for (size_t k = 0; k < c->n; k++) {
			if (k)
				fputs(" OR ", out);
			print_term(out, &c->terms[k], g, g, NULL);
		}
		fputc('\n', out);
	}
}

static void
print_grouper(FILE *out, const struct fq_plan_grouper *g)
{
	fprintf(out, "  grouper %s: %zu module%s; a record joins the oldest open "
		"group for which one module's rules all hold\n", g->name,
		g->nmodules, g->nmodules == 1 ? "" : "s");
	for (size_t m = 0; m < g->nmodules; m++) {
		const struct fq_gmodule *gm = &g->modules[m];
		fprintf(out, "    module %s\n", gm->name);
		if (gm->nkeys == 0 && gm->abs.n == 0 && gm->nrel == 0)
			fputs("      (no rules: all records form one group)\n", out);
		for (size_t i = 0; i < gm->nkeys; i++)
			fprintf(out, "      key       %s = %s    (equality: hash key)\n",
				gm->keys[i].a->name, gm->keys[i].b->name);
		for (size_t i = 0; i < gm->abs.n; i++) {
			fputs("      absolute  ", out);
			print_term(out, &gm->abs.clauses[i].terms[0], NULL, NULL, NULL);
			fputc('\n', out);
		}
		for (size_t i = 0; i < gm->nrel; i++) {
			const struct fq_grule *r = &gm->rel[i];
			fprintf(out, "      %s  %s %s %s", r->is_time ? "time    " :
				"relative", r->a->name, fq_op_name(r->op), r->b->name);
			int time = r->a->type == FQ_T_TIME || r->a->type == FQ_T_DUR;
			if (r->has_delta) {
				fprintf(out, " %s ", r->ref == FQ_REF_LAST ? "rdelta" :
					"delta");
				if (time)
					print_dur(out, r->delta);
				else
					fprintf(out, "%" PRId64, r->delta);
			}
			fprintf(out, "    (against the group's %s record)\n",
				r->ref == FQ_REF_LAST ? "last" : "first");
		}
		if (gm->ntime > 0) {
			fputs("      deadline  min(", out);
			for (size_t i = 0; i < gm->ntime; i++) {
				fprintf(out, "%s%s.%s + ", i ? ", " : "",
					gm->time[i].ref == FQ_REF_LAST ? "last" : "first",
					gm->time[i].a->name);
				print_dur(out, gm->time[i].delta);
			}
			fputs(")\n", out);
		} else {
			fputs("      deadline  group stime + --window (no time rule)\n",
			      out);
		}
	}
	fputs("    aggregates:", out);
	for (size_t i = 0; i < g->naggs; i++) {
		const struct fq_agg *a = &g->aggs[i];
		if (a->fn == FQ_AGG_FIELD)
			fprintf(out, "%s %s", i ? "," : "", a->name);
		else
			fprintf(out, "%s %s = %s(%s)", i ? "," : "", a->name,
				fq_agg_fn_name(a->fn), a->field->name);
		fprintf(out, " [%s]", fq_vtype_name(a->vtype));
	}
	fprintf(out, "%s stime, etime, duration, records\n", g->naggs ? "," : "");
}

static void
print_allen(FILE *out, const struct fq_allen *a, const char *const *names)
{
	fprintf(out, "      allen     %s (", names[a->a]);
	int first = 1;
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		if (!(a->rels & (1u << r)))
			continue;
		fprintf(out, "%s%s", first ? "" : " | ",
			fq_allen_short((enum fq_allen_rel)r));
		if (a->has_delta & (1u << r)) {
			fputs(" delta ", out);
			print_dur(out, a->delta[r]);
		}
		first = 0;
	}
	fprintf(out, ") %s    %s\n", names[a->b],
		a->bounded ? "[bounds time]" : "[no time bound]");
}

static void
print_merger(FILE *out, const struct fq_plan *p)
{
	const struct fq_plan_merger *m = p->merger;
	fprintf(out, "merger %s: exports module %s", m->name,
		m->modules[m->export_idx].name);
	if (m->nmodules > 1) {
		fputs(", minus matches of", out);
		for (size_t i = 0; i < m->nmodules; i++)
			if (i != m->export_idx)
				fprintf(out, " %s", m->modules[i].name);
	}
	fputc('\n', out);
	for (size_t i = 0; i < m->nmodules; i++) {
		const struct fq_mmodule *mm = &m->modules[i];
		size_t nb = mm->nbranches;
		const char **names = malloc((nb ? nb : 1) * sizeof(*names));
		const char **nm = names;
		if (names == NULL)
			return;
		for (size_t k = 0; k < nb; k++)
			names[k] = p->branches[mm->branches[k]].name;
		fprintf(out, "  module %s%s: branches", mm->name,
			mm->is_export ? " (export)" : " (subtracted)");
		for (size_t k = 0; k < nb; k++)
			fprintf(out, "%s %s", k ? "," : "", names[k]);
		fputc('\n', out);
		for (size_t c = 0; c < mm->rules.n; c++) {
			const struct fq_clause *cl = &mm->rules.clauses[c];
			fputs("      rule      ", out);
			for (size_t k = 0; k < cl->n; k++) {
				const struct fq_term *t = &cl->terms[k];
				const struct fq_plan_grouper *lg = NULL, *rg = NULL;
				if (t->l.kind == FQ_O_GROUP && t->l.branch < nb)
					lg = p->branches[mm->branches[t->l.branch]].grouper;
				if (t->r.kind == FQ_O_GROUP && t->r.branch < nb)
					rg = p->branches[mm->branches[t->r.branch]].grouper;
				if (k)
					fputs(" OR ", out);
				print_term(out, t, lg, rg, nm);
				if ((t->l.vtype == FQ_V_SET_INT || t->l.vtype == FQ_V_SET_IP) &&
				    t->op <= FQ_OP_NE && !t->negate)
					fputs("    (set equality)", out);
				else if ((t->l.vtype == FQ_V_SET_INT ||
					  t->l.vtype == FQ_V_SET_IP) &&
					 t->op == FQ_OP_IN)
					fputs("    (subset)", out);
			}
			fputc('\n', out);
		}
		for (size_t k = 0; k < mm->nallen; k++)
			print_allen(out, &mm->allen[k], nm);
		if (nb <= 1)
			fputs("      streaming: single branch, no pairing state\n", out);
		else if (mm->bounded)
			fputs("      streaming: bounded - the Allen graph connects all "
			      "branches; state is dropped as stream time passes\n", out);
		else
			fputs("      streaming: NOT bounded by Allen relations - only "
			      "--window limits its state (warning)\n", out);
		free(names);
	}
}

static int
has_prefix(const char *s, const char *pre)
{
	return strncmp(s, pre, strlen(pre)) == 0;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t l = strlen(s), k = strlen(suf);
	return l >= k && strcmp(s + l - k, suf) == 0;
}

/*
 * What `flowq run` would make of an input endpoint (SPEC section 2).
 * check only notes it: whether a file exists is run's business.
 */
static const char *
input_kind(const char *t)
{
	if (has_prefix(t, "udp://"))
		return "a UDP socket (NetFlow v5/v9, IPFIX)";
	if (has_prefix(t, "tcp://"))
		return "an IPFIX-over-TCP socket";
	if (has_prefix(t, "pcap:") || has_suffix(t, ".pcap") ||
	    has_suffix(t, ".pcapng"))
		return "a pcap capture of export datagrams";
	if (has_prefix(t, "ipfix:"))
		return "an IPFIX file";
	if (has_prefix(t, "raw:"))
		return "raw export datagrams";
	if (has_prefix(t, "ft:"))
		return "a flow-tools file";
	if (has_suffix(t, ".h5"))
		return "an HDF5 file of Flowy, which flowq cannot read: "
		       "flowq run needs -s";
	return "a flow-tools file or directory (flowq run reports an error, "
	       "asking for -s, if it cannot read it)";
}

/* A record key: "srcip", "{srcip, dstip}", or "any field". */
static void
print_key(FILE *out, uint64_t key)
{
	int n = 0;
	for (unsigned f = 0; f < FQ_F_COUNT; f++)
		n += (int)((key >> f) & 1);
	if (n == 0) {
		fputs("any field", out);
		return;
	}
	if (n > 1)
		fputc('{', out);
	int k = 0;
	for (unsigned f = 0; f < FQ_F_COUNT; f++)
		if ((key >> f) & 1)
			fprintf(out, "%s%s", k++ ? ", " : "", fq_fields[f].name);
	if (n > 1)
		fputc('}', out);
}

static void
print_branch_partition(FILE *out, const struct fq_plan *p, size_t j)
{
	const struct fq_plan_partition *pt = p->partition;
	if (pt == NULL || j >= pt->nbranches)
		return;
	if (pt->why != FQ_PART_OK) {
		fputs("  partition: one shard (see the partition line)\n", out);
		return;
	}
	fputs("  partition: by ", out);
	print_key(out, pt->branches[j].key);
	if (pt->branches[j].key == 0)
		fputs(" (groups of one)", out);
	fputc('\n', out);
}

/* The merger equalities the partition relies on, by module. */
static void
print_links(FILE *out, const struct fq_plan *p)
{
	const struct fq_plan_partition *pt = p->partition;
	const struct fq_plan_merger *m = p->merger;
	if (m == NULL || pt->nlinks == 0)
		return;
	fprintf(out, " (merger %s", m->name);
	for (size_t i = 0; i < pt->nlinks; i++) {
		const struct fq_mmodule *mm = &m->modules[pt->links[i].module];
		const char **names = malloc(mm->nbranches * sizeof(*names));
		if (names == NULL)
			return;
		for (size_t k = 0; k < mm->nbranches; k++)
			names[k] = p->branches[mm->branches[k]].name;
		const struct fq_term *t =
			&mm->rules.clauses[pt->links[i].clause].terms[0];
		if (i > 0 && pt->links[i].module == pt->links[i - 1].module)
			fputs(", ", out);
		else
			fprintf(out, "%s module %s: ", i ? ";" : ",", mm->name);
		print_term(out, t, p->branches[mm->branches[t->l.branch]].grouper,
			   p->branches[mm->branches[t->r.branch]].grouper, names);
		free(names);
	}
	fputc(')', out);
}

/* The query's partition line (docs/parallel.md). */
static void
print_partition(FILE *out, const struct fq_plan *p)
{
	const struct fq_plan_partition *pt = p->partition;
	if (pt == NULL)
		return;
	const char *mname = p->merger ? p->merger->name : "";
	fputs("partition: ", out);
	switch (pt->why) {
	case FQ_PART_OK:
		for (size_t j = 0; j < p->nbranches; j++) {
			fprintf(out, "%sbranch %s by ", j ? ", " : "",
				p->branches[j].name);
			print_key(out, pt->branches[j].key);
		}
		print_links(out, p);
		fputc('\n', out);
		return;
	case FQ_PART_GROUPER:
		fprintf(out, "none -- branch %s's grouper %s has no key rule "
			"f = f shared by all its modules",
			p->branches[pt->branch].name,
			p->branches[pt->branch].grouper->name);
		break;
	case FQ_PART_MODULE: {
		const struct fq_mmodule *mm = &p->merger->modules[pt->module];
		fprintf(out, "none -- merger %s module %s: ", mname, mm->name);
		if (pt->branch != SIZE_MAX)
			fprintf(out, "no equality between key fields links branch "
				"%s to the others", p->branches[pt->branch].name);
		else
			fputs("its equalities between key fields cannot link all "
			      "its branches with one field per branch", out);
		break;
	}
	case FQ_PART_CONFLICT:
		fprintf(out, "none -- merger %s: its modules need different keys "
			"for the same branch", mname);
		break;
	case FQ_PART_TOO_BIG:
		fputs("none -- too many key choices to search", out);
		break;
	case FQ_PART_NOMEM:
		fputs("none -- out of memory while planning", out);
		break;
	}
	fputs("; the query runs on one shard\n", out);
}

void
fq_plan_print(const struct fq_plan *p, FILE *out)
{
	fprintf(out, "query %s: %zu branch%s%s%s%s%s\n", p->file ? p->file : "",
		p->nbranches, p->nbranches == 1 ? "" : "es",
		p->merger ? ", merger " : "", p->merger ? p->merger->name : "",
		p->ungrouper ? ", ungrouper " : ", no ungrouper (groups without "
		"their records)", p->ungrouper ? p->ungrouper : "");
	for (size_t i = 0; i < p->ninputs; i++)
		fprintf(out, "  input  \"%s\" (line %u): default source, used only "
			"when no -s is given; %s\n", p->inputs[i].text,
			(unsigned)p->inputs[i].line, input_kind(p->inputs[i].text));
	for (size_t i = 0; i < p->noutputs; i++)
		fprintf(out, "  output \"%s\" (line %u): ignored, output goes to "
			"stdout or -o FILE\n", p->outputs[i].text,
			(unsigned)p->outputs[i].line);
	for (size_t j = 0; j < p->nbranches; j++) {
		const struct fq_plan_branch *b = &p->branches[j];
		fprintf(out, "branch %s:", b->name);
		int any = 0;
		if (b->filter_name) {
			fprintf(out, " filter %s", b->filter_name);
			any = 1;
		}
		if (b->grouper) {
			fprintf(out, "%s grouper %s", any ? " ->" : "", b->grouper->name);
			any = 1;
		}
		if (b->groupfilter_name) {
			fprintf(out, "%s groupfilter %s", any ? " ->" : "",
				b->groupfilter_name);
			any = 1;
		}
		if (p->merger)
			fprintf(out, "%s merger %s", any ? " ->" : "", p->merger->name);
		fputc('\n', out);
		/* A definition shared with an earlier branch is shown once. */
		const char *fsame = NULL, *gsame = NULL, *gfsame = NULL;
		for (size_t k = 0; k < j; k++) {
			const struct fq_plan_branch *o = &p->branches[k];
			if (b->filter && o->filter == b->filter && !fsame)
				fsame = o->name;
			if (b->grouper && o->grouper == b->grouper && !gsame)
				gsame = o->name;
			if (b->groupfilter && o->groupfilter == b->groupfilter &&
			    !gfsame)
				gfsame = o->name;
		}
		if (b->filter && fsame) {
			fprintf(out, "  filter %s: as in branch %s\n", b->filter_name,
				fsame);
		} else if (b->filter) {
			fprintf(out, "  filter %s: %zu line%s ANDed, terms on a line "
				"ORed\n", b->filter_name, b->filter->n,
				b->filter->n == 1 ? "" : "s");
			print_cnf(out, b->filter, "    ", NULL);
		} else {
			fputs("  no filter: every record enters the branch\n", out);
		}
		if (b->grouper && gsame)
			fprintf(out, "  grouper %s: as in branch %s\n",
				b->grouper->name, gsame);
		else if (b->grouper)
			print_grouper(out, b->grouper);
		else
			fputs("  no grouper: every record is a group of one (its "
			      "fields are the group's fields, records = 1)\n", out);
		if (b->groupfilter && gfsame) {
			fprintf(out, "  groupfilter %s: as in branch %s\n",
				b->groupfilter_name, gfsame);
		} else if (b->groupfilter) {
			fprintf(out, "  groupfilter %s\n", b->groupfilter_name);
			print_cnf(out, b->groupfilter, "    ", b->grouper);
		}
		print_branch_partition(out, p, j);
	}
	if (p->merger)
		print_merger(out, p);
	if (p->ungrouper)
		fprintf(out, "ungrouper %s: each match is printed with its groups' "
			"records\n", p->ungrouper);
	print_partition(out, p);
}
