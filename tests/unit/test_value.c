/*
 * test_value.c - group terms (pipeline/value.c) against the general
 * evaluator.
 *
 * pl_cnf_group() and pl_group_value_hash() take shortcuts for operands
 * that are numbers, addresses or union() sets: they read the group
 * directly instead of building a tagged struct pl_val per operand.  Each
 * shortcut is a way to get a different answer from pl_group_value() +
 * pl_compare() / pl_val_hash(), which are what the golden tests check.
 * Here every pair of a set of operands -- constants, the built-in group
 * values, numeric aggregates with and without bitAND/bitOR, an average,
 * IPv4 and IPv6 address aggregates, a constant address and prefix, union()
 * sets of numbers -- under every comparison (=, !=, <, >, <=, >=: the
 * ones with shortcuts), with and without a delta,
 * negated or not, over groups whose values are equal, smaller and larger,
 * must give the same truth value both ways; and every operand's hash
 * must be pl_val_hash() of its value.
 *
 * Usage: test-value CASE   (CASE: terms, hash)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_ip.h"
#include "pl.h"

static int failures;

/* The aggregates of the branches' grouper. */
enum { A_SUM, A_COUNT, A_FLAGS, A_AVG, A_IP, A_PORTS, NAGGS };

static const struct fq_agg aggs[NAGGS] = {
	[A_SUM] = { FQ_AGG_SUM, &fq_fields[FQ_F_BYTES], FQ_V_INT, "bytes" },
	[A_COUNT] = { FQ_AGG_COUNT, &fq_fields[FQ_F_REC_ID], FQ_V_INT, "n" },
	[A_FLAGS] = { FQ_AGG_BITOR, &fq_fields[FQ_F_TCP_FLAGS], FQ_V_INT,
		      "flags" },
	[A_AVG] = { FQ_AGG_AVG, &fq_fields[FQ_F_BYTES], FQ_V_REAL, "avg" },
	[A_IP] = { FQ_AGG_FIELD, &fq_fields[FQ_F_SRCIP], FQ_V_IP, "srcip" },
	[A_PORTS] = { FQ_AGG_UNION, &fq_fields[FQ_F_SRCPORT], FQ_V_INT,
		      "ports" },
};

/* A group block: the struct, then each aggregate at agg_off[k], in
 * room for a number, an address or a set alike. */
struct tgroup {
	struct pl_group g;
	union {
		union fq_agg_state a;
		struct fq_vset s;
	} v[NAGGS];
};

static uint32_t agg_off[NAGGS];
static struct fq_plan_grouper pg = { "g", 0, NULL, NAGGS, aggs };
static struct pl_branch br;

/* Group number v of the value table: its values grow with v, and v = 3
 * has an IPv6 address where the others have IPv4 ones. */
static void
make_group(struct tgroup *t, int v)
{
	memset(t, 0, sizeof *t);
	struct pl_group *g = &t->g;
	g->br = &br;
	g->stime = 1335772141000 + 1000 * (v % 3);
	g->etime = g->stime + 500 * v;
	g->n = (uint32_t)(1 + v % 2);
	pl_group_agg(g, A_SUM)->i = 1000 + 100 * (v % 3);
	pl_group_agg(g, A_COUNT)->cnt = (uint64_t)(2 + v % 2);
	pl_group_agg(g, A_FLAGS)->i = v % 2 ? 0x13 : 0x1b;
	pl_group_agg(g, A_AVG)->i = 300 * v;
	pl_group_agg(g, A_AVG)->cnt = (uint64_t)(1 + v % 2);
	if (v == 3) {
		uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
		b[15] = 1;
		pl_group_agg(g, A_IP)->ip = fq_ip_v6(b);
	} else {
		pl_group_agg(g, A_IP)->ip = fq_ip_v4(0x0a000001u + (uint32_t)(v % 3));
	}
	struct fq_vset *s = pl_group_set(g, A_PORTS);
	s->elem = FQ_V_INT;
	fq_vset_add_int(s, 80);
	if (v % 2)
		fq_vset_add_int(s, 443);
	if (v >= 4)
		for (int k = 0; k < 5; k++)
			fq_vset_add_int(s, 1024 + k);
}

#define NGROUPS 6

/* The operands: group ones name a slot (0 or 1) of the pair. */
static size_t
operands(struct fq_operand *o)
{
	size_t n = 0;
	memset(o, 0, 40 * sizeof *o);
	o[n].kind = FQ_O_INT, o[n++].i = 1000;
	o[n].kind = FQ_O_INT, o[n++].i = 0x13;
	o[n].kind = FQ_O_IP, o[n].ip = fq_ip_v4(0x0a000001u), o[n++].plen = 32;
	o[n].kind = FQ_O_IP, o[n].ip = fq_ip_v4(0x0a000000u), o[n++].plen = 24;
	for (uint16_t slot = 0; slot < 2; slot++) {
		static const enum fq_gval gv[] = { FQ_G_STIME, FQ_G_ETIME,
						   FQ_G_DURATION, FQ_G_RECORDS };
		for (size_t k = 0; k < 4; k++) {
			o[n].kind = FQ_O_GROUP;
			o[n].branch = slot;
			o[n].vtype = FQ_V_INT;
			o[n++].gval = gv[k];
		}
		for (uint16_t a = 0; a < NAGGS; a++) {
			o[n].kind = FQ_O_GROUP;
			o[n].branch = slot;
			o[n].gval = FQ_G_AGG;
			o[n].agg = a;
			o[n++].vtype = aggs[a].vtype;
		}
		/* bitAND(flags, 0x13), bitOR(bytes, 0x100) */
		o[n].kind = FQ_O_GROUP, o[n].branch = slot, o[n].gval = FQ_G_AGG;
		o[n].agg = A_FLAGS, o[n].fn = FQ_FN_BITAND, o[n++].mask = 0x13;
		o[n].kind = FQ_O_GROUP, o[n].branch = slot, o[n].gval = FQ_G_AGG;
		o[n].agg = A_SUM, o[n].fn = FQ_FN_BITOR, o[n++].mask = 0x100;
	}
	return n;
}

static void
value_of(struct pl_group *const *slots, const struct fq_operand *o,
	 struct pl_val *v)
{
	pl_group_value(o->kind == FQ_O_GROUP ? slots[o->branch] : NULL, o, v);
}

static void
case_terms(void)
{
	static struct tgroup t[NGROUPS];
	for (int v = 0; v < NGROUPS; v++)
		make_group(&t[v], v);
	struct fq_operand o[40];
	size_t no = operands(o);
	size_t checked = 0;
	for (int x = 0; x < NGROUPS; x++)
	for (int y = 0; y < NGROUPS; y++) {
		struct pl_group *slots[2] = { &t[x].g, &t[y].g };
		for (size_t l = 0; l < no; l++)
		for (size_t r = 0; r < no; r++)
		for (int op = FQ_OP_EQ; op <= FQ_OP_GE; op++)
		for (int d = 0; d < 2; d++)
		for (int neg = 0; neg < 2; neg++) {
			struct fq_term term;
			memset(&term, 0, sizeof term);
			term.op = (enum fq_op)op;
			term.has_delta = (uint8_t)d;
			term.delta = 250;
			term.negate = (uint8_t)neg;
			term.l = o[l];
			term.r = o[r];
			struct fq_clause cl = { 1, &term };
			struct fq_cnf cnf = { 1, &cl };
			struct pl_val a, b;
			value_of(slots, &o[l], &a);
			value_of(slots, &o[r], &b);
			int want = pl_compare(term.op, d, term.delta, &a, &b);
			if (neg)
				want = !want;
			int got = pl_cnf_group(&cnf, slots);
			checked++;
			if (got != want && failures++ < 20)
				fprintf(stderr, "groups %d,%d operands %zu %zu "
					"op %d delta %d not %d: %d, want %d\n",
					x, y, l, r, op, d, neg, got, want);
		}
	}
	printf("%zu terms checked\n", checked);
	for (int v = 0; v < NGROUPS; v++)
		fq_vset_fini(pl_group_set(&t[v].g, A_PORTS));
}

static void
case_hash(void)
{
	static struct tgroup t[NGROUPS];
	for (int v = 0; v < NGROUPS; v++)
		make_group(&t[v], v);
	struct fq_operand o[40];
	size_t no = operands(o);
	for (int x = 0; x < NGROUPS; x++) {
		struct pl_group *slots[2] = { &t[x].g, &t[x].g };
		for (size_t k = 0; k < no; k++) {
			struct pl_val v;
			value_of(slots, &o[k], &v);
			uint64_t want = pl_val_hash(&v);
			uint64_t got = pl_group_value_hash(
				o[k].kind == FQ_O_GROUP ? &t[x].g : NULL, &o[k]);
			if (got != want && failures++ < 20)
				fprintf(stderr, "group %d operand %zu: hash %llx, "
					"want %llx\n", x, k,
					(unsigned long long)got,
					(unsigned long long)want);
		}
	}
	for (int v = 0; v < NGROUPS; v++)
		fq_vset_fini(pl_group_set(&t[v].g, A_PORTS));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-value terms|hash\n");
		return 2;
	}
	for (size_t k = 0; k < NAGGS; k++)
		agg_off[k] = (uint32_t)(offsetof(struct tgroup, v) +
					k * sizeof(((struct tgroup *)0)->v[0]));
	br.gr.pg = &pg;
	br.gr.agg_off = agg_off;
	if (pl_group_aggops_init(&br.gr) < 0)
		return 1;
	if (strcmp(argv[1], "terms") == 0)
		case_terms();
	else if (strcmp(argv[1], "hash") == 0)
		case_hash();
	else {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	return 0;
}
