/*
 * test_filter.c - the compiled filter (pipeline/filter.c) against the
 * general evaluator of value.c.
 *
 * filter.c compiles `field op integer` terms into one function per field
 * width and comparison, folds NOT into the comparison, and evaluates a
 * one-branch conjunction of them without short cuts.  Each of those is a
 * way to get a different answer from pl_cnf_record(), which builds tagged
 * values per operand and is what the reference tests check.  Here every
 * stored width, every comparison, negated or not, alone and in
 * conjunctions, runs over records whose fields sit on and around the
 * constants (0, the constant -1/+0/+1, the largest value of the width,
 * the constant plus a higher byte),
 * and the two must agree on every record -- record by record
 * (pl_filter_record) and in chunks of up to PL_AHEAD records
 * (pl_filter_records, which the engine calls).
 *
 * Usage: test-filter CASE   (CASE: terms, conj, branches)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_record.h"
#include "pl.h"
#include "query.h"

static int failures;

struct fieldv {
	const char *name;
	size_t off, width;        /* width 8 with sgn: int64 time */
	uint64_t c;               /* the constant the terms compare with */
};

static const struct fieldv fields[] = {
	{ "prot", offsetof(struct fq_record, prot), 1, 6 },
	{ "dstport", offsetof(struct fq_record, dstport), 2, 80 },
	{ "input", offsetof(struct fq_record, input), 4, 70000 },
	{ "bytes", offsetof(struct fq_record, bytes), 8, 1024 },
	{ "stime", offsetof(struct fq_record, stime), 8, 1335772141000ULL },
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *ops[] = { "=", "!=", "<", ">", "<=", ">=" };

static void
set_field(struct fq_record *r, const struct fieldv *f, uint64_t v)
{
	char *p = (char *)r + f->off;
	switch (f->width) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/* Values of field f around its constant. */
static size_t
values(const struct fieldv *f, uint64_t *v)
{
	uint64_t max = f->width == 8 ? UINT64_MAX
				     : (1ULL << (8 * f->width)) - 1;
	size_t n = 0;
	v[n++] = 0;
	v[n++] = 1;
	v[n++] = f->c - 1;
	v[n++] = f->c;
	v[n++] = f->c + 1;
	v[n++] = max;
	v[n++] = max - 1;
	/* The constant plus a higher byte: equal in a narrower load. */
	if (f->width >= 2)
		v[n++] = f->c + 256;
	if (f->width >= 4)
		v[n++] = f->c + 65536;
	if (f->width == 8) {
		v[n++] = f->c + (1ULL << 32);
		v[n++] = (uint64_t)INT64_MAX + 1;   /* negative as int64 */
	}
	return n;
}

static struct fq_query *
compile(const char *text)
{
	struct fq_diag d;
	fq_diag_init(&d);
	struct fq_query *q = NULL;
	int rc = fq_query_compile(&q, "test.flw", text, strlen(text), &d);
	fq_diag_fini(&d);
	if (rc != 0) {
		fprintf(stderr, "does not compile:\n%s\n", text);
		exit(1);
	}
	return q;
}

/*
 * Compile `text` (branches A and maybe B), then for every record made by
 * fill(i) compare pl_filter_record with pl_cnf_record on every branch.
 */
static void
check(const char *text, size_t nrec,
      void (*fill)(struct fq_record *, size_t, void *), void *arg,
      int want_conj)
{
	struct fq_query *q = compile(text);
	const struct fq_plan *p = fq_query_plan(q);
	struct pl_filter f;
	if (pl_filter_init(&f, p) < 0) {
		fprintf(stderr, "pl_filter_init failed\n");
		exit(1);
	}
	if (want_conj >= 0 && f.straight != want_conj) {
		printf("FAIL: conj %d, want %d for\n%s\n", f.straight, want_conj,
		       text);
		failures++;
	}
	uint8_t pass[4];
	for (size_t i = 0; i < nrec; i++) {
		struct fq_record r;
		fq_record_clear(&r);
		fill(&r, i, arg);
		int any = pl_filter_record(&f, &r, pass);
		int want_any = 0;
		for (size_t b = 0; b < p->nbranches; b++) {
			int want = pl_cnf_record(p->branches[b].filter, &r);
			want_any |= want;
			if (pass[b] != want) {
				printf("FAIL: record %zu branch %zu: compiled %d, "
				       "general %d, for\n%s\n", i, b, pass[b],
				       want, text);
				failures++;
			}
		}
		if (any != want_any) {
			printf("FAIL: record %zu: any %d, want %d\n", i, any,
			       want_any);
			failures++;
		}
	}
	/* pl_filter_records() on the same records, in chunks of every size
	 * from 1 to PL_AHEAD in turn. */
	struct fq_record *recs = calloc(nrec ? nrec : 1, sizeof *recs);
	uint8_t cpass[PL_AHEAD * 4];
	if (recs == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < nrec; i++) {
		fq_record_clear(&recs[i]);
		fill(&recs[i], i, arg);
	}
	for (size_t i = 0, m = 1; i < nrec; i += m, m = m % PL_AHEAD + 1) {
		if (m > nrec - i)
			m = nrec - i;
		memset(cpass, 0xaa, sizeof cpass);
		uint32_t hit = pl_filter_records(&f, &recs[i], m, cpass);
		for (size_t j = 0; j < m; j++) {
			int want_any = 0;
			for (size_t b = 0; b < p->nbranches; b++) {
				int want = pl_cnf_record(p->branches[b].filter,
							 &recs[i + j]);
				want_any |= want;
				if (cpass[j * p->nbranches + b] != want) {
					printf("FAIL: chunk record %zu branch %zu: "
					       "compiled %d, general %d, for\n%s\n",
					       i + j, b, cpass[j * p->nbranches + b],
					       want, text);
					failures++;
				}
			}
			if ((int)(hit >> j & 1) != want_any) {
				printf("FAIL: chunk record %zu: hit %d, want %d\n",
				       i + j, (int)(hit >> j & 1), want_any);
				failures++;
			}
		}
		if (m < 32 && (hit >> m) != 0) {
			printf("FAIL: chunk of %zu: bits past it set (%#x)\n", m,
			       hit);
			failures++;
		}
	}
	free(recs);
	pl_filter_fini(&f);
	fq_query_free(q);
}

struct one {
	const struct fieldv *f;
	uint64_t v[12];
	size_t nv;
};

static void
fill_one(struct fq_record *r, size_t i, void *arg)
{
	struct one *o = arg;
	set_field(r, o->f, o->v[i]);
}

static void
case_terms(void)
{
	char text[512];
	for (size_t k = 0; k < NFIELDS; k++) {
		struct one o = { &fields[k], { 0 }, 0 };
		o.nv = values(&fields[k], o.v);
		for (size_t op = 0; op < 6; op++)
			for (int neg = 0; neg < 2; neg++) {
				snprintf(text, sizeof text,
					 "splitter S {}\nfilter f {\n    %s%s %s %llu\n}\n"
					 "S branch A -> f\n", neg ? "not " : "",
					 fields[k].name, ops[op],
					 (unsigned long long)fields[k].c);
				check(text, o.nv, fill_one, &o, 1);
			}
	}
}

struct many {
	uint64_t v[NFIELDS][12];
	size_t nv[NFIELDS];
};

/* Record i takes value (i / prod) % nv of each field: every combination
 * of the first three fields, the others cycling. */
static void
fill_many(struct fq_record *r, size_t i, void *arg)
{
	struct many *m = arg;
	for (size_t k = 0; k < NFIELDS; k++) {
		set_field(r, &fields[k], m->v[k][i % m->nv[k]]);
		i /= m->nv[k];
	}
}

static void
case_conj(void)
{
	struct many m;
	for (size_t k = 0; k < NFIELDS; k++)
		m.nv[k] = values(&fields[k], m.v[k]);
	char text[1024];
	for (size_t op = 0; op < 6; op++) {
		/* Three fields, the comparison rotating, one of them negated. */
		snprintf(text, sizeof text,
			 "splitter S {}\nfilter f {\n    %s %s %llu\n"
			 "    not %s %s %llu\n    %s %s %llu\n}\nS branch A -> f\n",
			 fields[0].name, ops[op], (unsigned long long)fields[0].c,
			 fields[1].name, ops[(op + 1) % 6],
			 (unsigned long long)fields[1].c,
			 fields[3].name, ops[(op + 2) % 6],
			 (unsigned long long)fields[3].c);
		check(text, 11 * 11 * 11 * 11, fill_many, &m, 1);
	}
	/* A disjunction and an address term: not the straight-line form,
	 * same answers. */
	snprintf(text, sizeof text,
		 "splitter S {}\nfilter f {\n    prot = 6 or dstport = 80\n"
		 "    bytes > 1024\n}\nS branch A -> f\n");
	check(text, 11 * 11 * 11 * 11, fill_many, &m, 0);
	snprintf(text, sizeof text,
		 "splitter S {}\nfilter f {\n    prot = 6\n"
		 "    srcip in 10.0.0.0/8\n}\nS branch A -> f\n");
	check(text, 11 * 11 * 11 * 11, fill_many, &m, 0);
}

static void
case_branches(void)
{
	struct many m;
	for (size_t k = 0; k < NFIELDS; k++)
		m.nv[k] = values(&fields[k], m.v[k]);
	const char *text =
		"splitter S {}\n"
		"filter f {\n    prot = 6\n    dstport >= 80\n}\n"
		"filter g {\n    prot != 6\n    not input < 70000\n}\n"
		"merger M {\n    module m1 {\n        branches A, B\n"
		"        A.srcip = B.srcip\n    }\n    export m1\n}\n"
		"S branch A -> f -> M\nS branch B -> g -> M\n";
	/* Both branches have the straight-line form. */
	check(text, 11 * 11 * 11 * 11 * 11, fill_many, &m, 1);
	/* One has not (a disjunction): the general form for both. */
	const char *mixed =
		"splitter S {}\n"
		"filter f {\n    prot = 6\n    dstport >= 80\n}\n"
		"filter g {\n    prot != 6 or bytes > 1024\n"
		"    not input < 70000\n}\n"
		"merger M {\n    module m1 {\n        branches A, B\n"
		"        A.srcip = B.srcip\n    }\n    export m1\n}\n"
		"S branch A -> f -> M\nS branch B -> g -> M\n";
	check(mixed, 11 * 11 * 11 * 11 * 11, fill_many, &m, 0);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-filter CASE\n");
		return 2;
	}
	if (strcmp(argv[1], "terms") == 0)
		case_terms();
	else if (strcmp(argv[1], "conj") == 0)
		case_conj();
	else if (strcmp(argv[1], "branches") == 0)
		case_branches();
	else {
		fprintf(stderr, "unknown case %s\n", argv[1]);
		return 2;
	}
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
