/*
 * test_grammar.c - tests of the query front end (grammar/).
 *
 * One executable, one case per meson test: argv[1] names the case,
 * argv[2] is tests/queries, argv[3] the shared data directory (cases that
 * need it exit 77, "skipped", when it is absent).
 *
 *   valid        every .flw file in tests/queries compiles, except invalid-*
 *   invalid      a table of invalid queries, each with the line:col and
 *                message of an error it must produce
 *   lexer        names with '-', `M->U`, units, continuation lines, case
 *   plan         the plan of the paper's query, field by field
 *   sets         constant sets: merging, membership, prefixes
 *   eval         record filters evaluated on records (the engine's pl_cnf_record)
 *   allen        the Allen relation table, inverses, spellings
 *   diag         rendering: caret under the token (tabs kept), notes,
 *                every error of a file, warnings do not fail
 *   shared-spec  the query of SPEC.md section 3, read from shared/
 *   shared-flowy the five published Flowy queries, read from shared/
 *   partition    the partition planner (partition.h) on the seed queries,
 *                the published Flowy queries and small cases of each rule
 */
#include "pl.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "partition.h"
#include "query.h"

static int failures;

#define CHECK(cond, ...) do { \
		if (!(cond)) { \
			failures++; \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
				__LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	size_t r;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

static int
compile(const char *text, struct fq_diag *d, struct fq_query **q)
{
	fq_diag_init(d);
	return fq_query_compile(q, "t.flw", text, strlen(text), d);
}

static int
has_diag(const struct fq_diag *d, enum fq_severity sev, unsigned line,
	 unsigned col, const char *msg)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct fq_diag_entry *e = &d->v[i];
		if (e->sev == sev && e->line == line && e->col == col &&
		    strstr(e->msg, msg) != NULL)
			return 1;
	}
	return 0;
}

static int
has_note(const struct fq_diag *d, const char *note)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].note && strstr(d->v[i].note, note))
			return 1;
	return 0;
}

/* ---- valid ------------------------------------------------------------- */

static int
compile_path(const char *path, int expect_ok)
{
	size_t len;
	char *text = read_file(path, &len);
	if (text == NULL) {
		CHECK(0, "cannot read %s", path);
		return -1;
	}
	struct fq_diag d;
	struct fq_query *q = NULL;
	fq_diag_init(&d);
	int rc = fq_query_compile(&q, path, text, len, &d);
	if (expect_ok && rc != 0)
		fq_diag_print(&d, stderr);
	CHECK(!expect_ok || rc == 0, "%s does not compile (rc %d)", path, rc);
	CHECK(expect_ok || rc == -FQ_EPARSE, "%s compiles but should not", path);
	if (q != NULL) {
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			fq_plan_print(fq_query_plan(q), null);
			fclose(null);
		}
	}
	fq_query_free(q);
	fq_diag_fini(&d);
	free(text);
	return rc;
}

static int
case_valid(const char *dir)
{
	DIR *dp = opendir(dir);
	if (dp == NULL) {
		CHECK(0, "cannot open %s", dir);
		return 1;
	}
	struct dirent *de;
	int n = 0, seen_paper = 0, seen_skype = 0, seen_nat64 = 0, seen_spec = 0;
	while ((de = readdir(dp)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".flw") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int inval = strncmp(de->d_name, "invalid-", 8) == 0;
		compile_path(path, !inval);
		n++;
		seen_paper |= strcmp(de->d_name, "paper-http-download.flw") == 0;
		seen_skype |= strcmp(de->d_name, "thesis-skype-signature.flw") == 0;
		seen_nat64 |= strcmp(de->d_name, "thesis-nat64-skype-failure.flw") == 0;
		seen_spec |= strcmp(de->d_name, "spec-example.flw") == 0;
	}
	closedir(dp);
	CHECK(n >= 8, "only %d query files", n);
	CHECK(seen_paper && seen_skype && seen_nat64 && seen_spec,
	      "a seed query file is missing");
	return 0;
}

/* ---- invalid ----------------------------------------------------------- */

#define PRE "splitter S {}\nfilter f {\n  dstport = 80\n}\n" \
	"grouper g {\n  module g1 {\n    srcip = srcip\n  }\n" \
	"  aggregate srcip, sum(bytes) as bytes, union(srcport) as ports\n}\n"
/* PRE is 10 lines; a merger module line below starts on line 14. */
#define MERGE(line) PRE "merger M {\n  module m1 {\n    branches A, B\n" \
	"    " line "\n  }\n  export m1\n}\n" \
	"S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n"
#define WIRE1 "S branch A -> f\n"

struct bad {
	const char *text;
	unsigned line, col;
	const char *msg;
};

static const struct bad bad_cases[] = {
	{ "splitter S {}\nfilter f {\n\tdstprot = 80\n}\n" WIRE1,
	  3, 2, "unknown field 'dstprot'" },
	{ "fitler f {\n}\n", 1, 1, "unknown stage kind 'fitler'" },
	{ "Filter f {\n}\n", 1, 1, "unknown stage kind 'Filter'" },
	{ "splitter S {}\nfilter f {\n  dstport 80\n}\n" WIRE1,
	  3, 11, "expected a comparison operator" },
	{ "splitter S {}\nfilter tcp {\n  prot = 6\n}\nfilter f {\n  tpc\n}\n"
	  "S branch A -> f\n", 6, 3, "unknown filter 'tpc'" },
	{ "splitter S {}\nfilter f {\n  dstport\n}\n" WIRE1,
	  3, 3, "field 'dstport' alone is not a condition" },
	{ "splitter S {}\nfilter f {\n  dstport = 1\n}\nfilter f {\n  srcport = 1\n}\n"
	  WIRE1, 5, 8, "redefinition of 'f'" },
	{ PRE "S branch A -> fx\n", 11, 15, "unknown stage 'fx'" },
	{ PRE "S branch A -> g -> f\n", 11, 20, "filter 'f' cannot come after grouper 'g'" },
	{ PRE "filter f2 {\n  srcport = 1\n}\nS branch A -> f -> f2\n",
	  14, 20, "a branch has one filter" },
	{ PRE "S branch A -> f\nS branch A -> f\n", 12, 10, "branch 'A' is wired twice" },
	{ PRE "merger M {\n  branches A, B\n}\nS branch A -> f -> M\nS branch B -> f\n",
	  15, 10, "branch 'B' is not wired to a merger" },
	{ MERGE("A foo B"), 14, 7, "unknown Allen relation 'foo'" },
	{ PRE "merger M {\n  module m1 {\n    branches A, B\n    A < B delta 1s\n"
	  "    B > A\n  }\n  export m1\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  15, 5, "must stand on one line" },
	{ MERGE("A < B OR A.bytes < B.bytes"), 14, 5,
	  "Allen relations and comparisons cannot be ORed" },
	{ MERGE("A o C"), 14, 9, "'C' is not a branch of module 'm1'" },
	{ PRE "merger M {\n  module m1 {\n    branches A, B\n  }\n  export m3\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  15, 10, "merger 'M' has no module 'm3' to export" },
	{ PRE "merger M {\n  module m1 {\n    branches A\n  }\n  module m2 {\n"
	  "    branches B\n  }\n  export m1\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  15, 10, "module 'm2' shares no branch with the exported module 'm1'" },
	{ PRE "merger M {\n  module m1 {\n    branches A, B\n  }\n  module m2 {\n"
	  "    branches B\n  }\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  11, 8, "merger 'M' has 2 modules but no export" },
	{ PRE "merger M {\n  module m1 {\n    A < B\n  }\n  export m1\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  12, 10, "module 'm1' does not say which branches it merges" },
	{ PRE "merger M {\n  branches A, X\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  12, 15, "unknown branch 'X'" },
	{ MERGE("A.byts = B.bytes"), 14, 7, "unknown group field 'byts'" },
	{ PRE "groupfilter gf {\n  flgs = 3\n}\nS branch A -> f -> g -> gf\n",
	  12, 3, "unknown group field 'flgs'" },
	{ MERGE("A.ports < B.ports"), 14, 13, "'<' is not defined on sets" },
	{ "splitter S {}\nfilter f {\n  srcip = 80\n}\n" WIRE1,
	  3, 3, "cannot compare an address with a number" },
	{ "splitter S {}\nfilter f {\n  srcip = 10.0.0.0/8\n}\n" WIRE1,
	  3, 11, "'=' compares single addresses, not prefixes" },
	{ "splitter S {}\nfilter f {\n  dstport in srcport\n}\n" WIRE1,
	  3, 14, "'in' needs a set on its right" },
	{ "splitter S {}\nfilter f {\n  dstport in [80, 10.0.0.1]\n}\n" WIRE1,
	  3, 14, "a set holds numbers or addresses, not both" },
	{ "splitter S {}\nfilter f {\n  dstport in [100..50]\n}\n" WIRE1,
	  3, 15, "empty range" },
	{ "splitter S {}\nfilter f {\n  srcip = 300.1.1.1\n}\n" WIRE1,
	  3, 11, "invalid address '300.1.1.1'" },
	{ "splitter S {}\nfilter f {\n  srcip in 10.0.0.0/33\n}\n" WIRE1,
	  3, 20, "prefix length must be 0..32" },
	{ "splitter S {}\nfilter f {\n  prot = protocol(\"TPC\")\n}\n" WIRE1,
	  3, 19, "unknown protocol name 'TPC'" },
	{ "splitter S {}\nfilter f {\n  bitand(tcp_flags, 2) = 2\n}\n" WIRE1,
	  3, 3, "unknown function 'bitand'" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n  }\n  aggregate summ(bytes)\n}\n"
	  "S branch A -> g\n", 5, 13, "unknown aggregate function 'summ'" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n  }\n"
	  "  aggregate sum(bytes) as records\n}\nS branch A -> g\n",
	  5, 27, "'records' is a built-in group field" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n  }\n"
	  "  aggregate sum(bytes) as b, max(bytes) as b\n}\nS branch A -> g\n",
	  5, 44, "aggregate 'b' is defined twice" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n  }\n"
	  "  aggregate sum(srcip) as s\n}\nS branch A -> g\n",
	  5, 17, "sum() needs a numeric field" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n    srcip = srcip OR dstip = dstip\n"
	  "  }\n}\nS branch A -> g\n", 4, 5, "a grouper rule cannot use OR" },
	{ "splitter S {}\nfilter f {\n  dstport = srcport delta 5\n}\n" WIRE1,
	  3, 27, "'delta' is only used in grouper and merger rules" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n    dstport = 80 delta 5\n"
	  "  }\n}\nS branch A -> g\n", 4, 24, "'delta' compares two records" },
	{ "splitter S {}\nfilter f {\n  bytes > 5s\n}\n" WIRE1,
	  3, 11, "a duration is compared with a time" },
	{ "splitter S {}\nfilter f {\n  dstport = 80\n" WIRE1,
	  2, 10, "missing '}' for this block" },
	{ "splitter S {}\n\"udp://x -> S\n", 2, 1, "missing terminating '\"'" },
	{ "splitter S {}\nfilter f {\n  dstport = 80 $\n}\n" WIRE1,
	  3, 16, "unexpected character '$'" },
	{ "splitter S {}\nfilter f {\n  bytes > 99999999999999999999\n}\n" WIRE1,
	  3, 11, "number out of range" },
	{ "splitter S {}\n", 2, 1, "the query has no branch" },
	{ "splitter S {}\nfilter f {\n  A.srcip = 1.2.3.4\n}\n" WIRE1,
	  3, 3, "BRANCH.field names are only used in a merger" },
	{ MERGE("srcip = B.srcip"), 14, 5, "in a merger, name a group field" },
	{ "splitter S {}\nfilter a {\n  b\n}\nfilter b {\n  a\n}\nS branch A -> a\n",
	  6, 3, "filter 'a' includes itself" },
	{ MERGE("NOT A < B"), 14, 5, "NOT cannot be applied to an Allen relation" },
	{ PRE "f -> g\n", 11, 1, "wiring cannot start at filter 'f'" },
	{ "splitter S { x }\n", 1, 14, "a splitter takes no body" },
	{ "splitter S {}\n}\n", 2, 1, "unmatched '}'" },
	{ PRE "merger M {\n  branches A, B\n  module m1 {\n    branches A, B\n  }\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  12, 3, "merger 'M' has modules and also rules outside them" },
	{ PRE "\"in\" -> f\nS branch A -> f\n", 11, 9,
	  "an input endpoint feeds the splitter" },
	{ "splitter S {}\nfilter f {\n  80 = 80\n}\n" WIRE1,
	  3, 3, "comparison between two constants" },
	{ "splitter S {}\ngrouper g {\n  module g1 {\n    NOT srcip = srcip\n"
	  "  }\n}\nS branch A -> g\n", 4, 5, "a relative rule compares two fields" },
	{ "splitter S {}\ngroupfilter gf {\n  bytess > 1\n}\nS branch A -> gf\n",
	  3, 3, "unknown field 'bytess' (branch 'A' has no grouper" },
	{ "splitter S {}\nfilter f {\n  dstport = 80 OR\n}\n" WIRE1,
	  4, 1, "expected a value, found '}'" },
	{ "splitter S {}\nfilter f {\n  dstport in []\n}\n" WIRE1,
	  3, 14, "empty set" },
	{ MERGE("A.srcip = B.srcip delta 5"), 14, 29,
	  "delta needs two numbers or times" },
	{ "splitter S {}\nfilter f {\n  srcip in [10.0.0.1..::1]\n}\n" WIRE1,
	  3, 13, "an address range cannot mix IPv4 and IPv6" },
	{ MERGE("A d A"), 14, 5, "relates two different branches" },
	{ "splitter S {}\nungrouper U {}\nungrouper U {}\nS branch A -> U\n",
	  3, 11, "redefinition of 'U'" },
	{ "splitter S {}\nfilter f {\n  bytes > 10kb\n}\n" WIRE1,
	  3, 13, "unknown unit 'kb'" },
};

static int
case_invalid(void)
{
	size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	CHECK(n >= 40, "only %zu invalid cases", n);
	for (size_t i = 0; i < n; i++) {
		const struct bad *b = &bad_cases[i];
		struct fq_diag d;
		struct fq_query *q = NULL;
		int rc = compile(b->text, &d, &q);
		CHECK(rc == -FQ_EPARSE && q == NULL, "case %zu compiled (rc %d)", i, rc);
		int ok = has_diag(&d, FQ_SEV_ERROR, b->line, b->col, b->msg);
		CHECK(ok, "case %zu: no error %u:%u '%s'", i, b->line, b->col, b->msg);
		if (!ok) {
			fprintf(stderr, "--- case %zu got:\n", i);
			fq_diag_print(&d, stderr);
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	/* Suggestions. */
	struct {
		const char *text, *note;
	} sugg[] = {
		{ bad_cases[0].text, "did you mean 'dstport'?" },
		{ bad_cases[1].text, "did you mean 'filter'?" },
		{ bad_cases[2].text, "did you mean 'filter'?" },
		{ bad_cases[4].text, "did you mean 'tcp'?" },
		{ "splitter S {}\nfilter f {\n  prot = protocol(\"TPC\")\n}\n" WIRE1,
		  "did you mean 'TCP'?" },
		{ "splitter S {}\nfilter f {\n  bitand(tcp_flags, 2) = 2\n}\n" WIRE1,
		  "did you mean 'bitAND'?" },
		{ MERGE("A.byts = B.bytes"), "did you mean 'bytes'?" },
		{ PRE "S branch A -> fx\n", "did you mean 'f'?" },
	};
	for (size_t i = 0; i < sizeof(sugg) / sizeof(sugg[0]); i++) {
		struct fq_diag d;
		struct fq_query *q = NULL;
		compile(sugg[i].text, &d, &q);
		CHECK(has_note(&d, sugg[i].note), "suggestion %zu: no note '%s'", i,
		      sugg[i].note);
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	return 0;
}

/* ---- lexer ------------------------------------------------------------- */

static const struct fq_plan *
must_compile(const char *text, struct fq_query **q, struct fq_diag *d)
{
	int rc = compile(text, d, q);
	if (rc != 0) {
		fq_diag_print(d, stderr);
		CHECK(0, "does not compile: %.60s", text);
		return NULL;
	}
	return fq_query_plan(*q);
}

static int
case_lexer(void)
{
	struct fq_diag d;
	struct fq_query *q = NULL;
	/* Names with '-', `M->U` without spaces, `1 sec`, continuation. */
	const struct fq_plan *p = must_compile(
		"splitter S {}\n"
		"filter f-mDNS {\n"
		"   dstport = 5353 OR\n"
		"      srcport = 5353\n"
		"   duration > 1 sec\n"
		"   duration < 5min\n"
		"   dstport in [1,\n"
		"     2..3]\n"
		"   NOT prot = protocol(\"udp\") or not prot = 6\n"
		"}\n"
		"grouper g-1 {\n module g1 {\n }\n aggregate sum(packets) as pckt-sum,\n"
		"   td\n}\n"
		"ungroup U {}\n"
		"S branch mDNS -> f-mDNS -> g-1->U->\"out\"\n", &q, &d);
	if (p != NULL) {
		CHECK(p->nbranches == 1, "%zu branches", p->nbranches);
		const struct fq_plan_branch *b = &p->branches[0];
		CHECK(strcmp(b->name, "mDNS") == 0, "branch %s", b->name);
		CHECK(b->filter && b->filter->n == 5, "filter lines %zu",
		      b->filter ? b->filter->n : 0);
		if (b->filter && b->filter->n == 5) {
			const struct fq_clause *c = b->filter->clauses;
			CHECK(c[0].n == 2, "OR continuation: %zu terms", c[0].n);
			CHECK(c[1].terms[0].r.i == 1000, "1 sec = %lld",
			      (long long)c[1].terms[0].r.i);
			CHECK(c[2].terms[0].r.i == 300000, "5min");
			CHECK(c[3].terms[0].op == FQ_OP_IN &&
			      c[3].terms[0].r.set->n == 1, "set [1,2..3] merged");
			CHECK(c[4].n == 2 && c[4].terms[0].negate &&
			      c[4].terms[0].r.i == 17 && c[4].terms[1].negate,
			      "NOT binds to one term, protocol names any case");
		}
		CHECK(b->grouper && b->grouper->naggs == 2 &&
		      strcmp(b->grouper->aggs[0].name, "pckt-sum") == 0 &&
		      strcmp(b->grouper->aggs[1].name, "td") == 0 &&
		      b->grouper->aggs[1].field->id == FQ_F_DURATION,
		      "aggregates pckt-sum, td");
		CHECK(p->ungrouper && strcmp(p->ungrouper, "U") == 0, "ungroup U");
		CHECK(p->noutputs == 1 && strcmp(p->outputs[0].text, "out") == 0,
		      "output endpoint");
	}
	fq_query_free(q);
	fq_diag_fini(&d);

	/* Relation words are names outside merger lines; aliases resolve. */
	p = must_compile(
		"splitter s {}\nfilter d {\n  srcaddr = 10.0.0.1\n  dPkts >= 0x10\n"
		"  sourceIPv6Address in [2001:db8::/32, ::1]\n}\ns branch o -> d\n",
		&q, &d);
	if (p != NULL) {
		const struct fq_cnf *f = p->branches[0].filter;
		CHECK(f->clauses[0].terms[0].l.field->id == FQ_F_SRCIP, "srcaddr");
		CHECK(f->clauses[1].terms[0].l.field->id == FQ_F_PACKETS &&
		      f->clauses[1].terms[0].r.i == 16, "dPkts >= 0x10");
		CHECK(f->clauses[2].terms[0].r.set->n == 2 &&
		      f->clauses[2].terms[0].r.set->elem == FQ_V_IP, "v6 set");
		CHECK(strcmp(p->branches[0].name, "o") == 0, "branch named o");
	}
	fq_query_free(q);
	fq_diag_fini(&d);

	/* Keywords other than OR/NOT are case-sensitive. */
	CHECK(compile("splitter S {}\nfilter f {\n  dstport = 1 Or dstport = 2\n}\n"
		      WIRE1, &d, &q) == -FQ_EPARSE, "'Or' accepted");
	fq_diag_fini(&d);
	/* All errors of a file, not just the first. */
	compile("splitter S {}\nfilter f {\n  dstprot = 1\n  srcprot = 2\n"
		"  bytes ? 3\n}\nfitler x {\n}\nS branch A -> f -> zz\n", &d, &q);
	CHECK(d.nerrors == 5, "%zu errors, expected 5", d.nerrors);
	CHECK(d.n == 5 && d.v[0].line == 3 && d.v[4].line == 9,
	      "diagnostics in source order");
	CHECK(has_diag(&d, FQ_SEV_ERROR, 3, 3, "dstprot") &&
	      has_diag(&d, FQ_SEV_ERROR, 4, 3, "srcprot") &&
	      has_diag(&d, FQ_SEV_ERROR, 5, 9, "unexpected character '?'") &&
	      has_diag(&d, FQ_SEV_ERROR, 7, 1, "fitler") &&
	      has_diag(&d, FQ_SEV_ERROR, 9, 20, "unknown stage 'zz'"),
	      "every error reported");
	fq_diag_fini(&d);
	/* A missing '}' ends at the next definition: one error. */
	compile("splitter S {}\nfilter f {\n  dstport = 80\nfilter g {\n"
		"  srcport = 1\n}\nS branch A -> g\n", &d, &q);
	CHECK(d.nerrors == 1 && has_diag(&d, FQ_SEV_ERROR, 2, 10, "missing '}'"),
	      "%zu errors for a missing brace", d.nerrors);
	fq_diag_fini(&d);
	/* A bad wiring item is skipped: one mistake, one error. */
	compile(PRE "merger M {\n  branches A, B\n  A < B delta 1s\n}\n"
		"S branch A -> f -> g -> M\nS branch B -> g -> f -> M\n", &d, &q);
	CHECK(d.nerrors == 1 && has_diag(&d, FQ_SEV_ERROR, 16, 20,
					 "filter 'f' cannot come after grouper 'g'"),
	      "%zu errors for one wiring mistake", d.nerrors);
	fq_diag_fini(&d);
	/* Input bigger than the cap is refused, not processed. */
	size_t big = (1u << 20) + 10;
	char *buf = malloc(big);
	if (buf != NULL) {
		memset(buf, '#', big);
		fq_diag_init(&d);
		CHECK(fq_query_compile(&q, "big", buf, big, &d) == -FQ_EPARSE,
		      "huge input accepted");
		fq_diag_fini(&d);
		free(buf);
	}
	/* Deep NOT chains and nested calls stay bounded. */
	char deep[20000];
	strcpy(deep, "splitter S {}\nfilter f {\n");
	for (int i = 0; i < 3000; i++)
		strcat(deep, "NOT ");
	strcat(deep, "dstport = 1\n  bitAND(bitAND(bitAND(bitAND(bitAND(bytes,1),1),1),1),1) = 1\n}\nS branch A -> f\n");
	compile(deep, &d, &q);
	CHECK(has_diag(&d, FQ_SEV_ERROR, 5, 3, "bitAND") ||
	      d.nerrors >= 1, "deep nesting not reported");
	fq_query_free(q);
	fq_diag_fini(&d);
	return 0;
}

/* ---- plan -------------------------------------------------------------- */

static int
case_plan(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/paper-http-download.flw", dir);
	size_t len;
	char *text = read_file(path, &len);
	CHECK(text != NULL, "no %s", path);
	if (text == NULL)
		return 0;
	struct fq_diag d;
	struct fq_query *q = NULL;
	fq_diag_init(&d);
	int rc = fq_query_compile(&q, path, text, len, &d);
	free(text);
	CHECK(rc == 0 && d.nwarnings == 0, "paper query: rc %d, %zu warnings", rc,
	      d.nwarnings);
	if (rc != 0) {
		fq_diag_fini(&d);
		return 0;
	}
	const struct fq_plan *p = fq_query_plan(q);
	CHECK(p->nbranches == 2, "branches");
	CHECK(strcmp(p->branches[0].name, "A") == 0 &&
	      strcmp(p->branches[1].name, "B") == 0, "branch order");
	CHECK(p->ninputs == 1 && strcmp(p->inputs[0].text, "./netflow-trace.h5") == 0,
	      "input endpoint");
	CHECK(p->ungrouper && strcmp(p->ungrouper, "U") == 0, "ungroup U");
	const struct fq_plan_branch *a = &p->branches[0];
	CHECK(a->filter->n == 1 && a->filter->clauses[0].terms[0].l.field->id ==
	      FQ_F_DSTPORT && a->filter->clauses[0].terms[0].r.i == 80,
	      "filter dstport = 80");
	const struct fq_plan_grouper *g = a->grouper;
	CHECK(g && g->nmodules == 1, "grouper");
	const struct fq_gmodule *m = &g->modules[0];
	CHECK(m->nkeys == 2 && m->keys[0].a->id == FQ_F_SRCIP &&
	      m->keys[1].b->id == FQ_F_DSTIP, "keys");
	CHECK(m->nrel == 1 && m->rel[0].op == FQ_OP_LT &&
	      m->rel[0].a->id == FQ_F_ETIME && m->rel[0].b->id == FQ_F_STIME &&
	      m->rel[0].ref == FQ_REF_FIRST && m->rel[0].delta == 1000 &&
	      m->rel[0].is_time, "time rule");
	CHECK(m->ntime == 1 && m->time[0].delta == 1000, "deadline");
	CHECK(g->naggs == 6 && g->aggs[2].fn == FQ_AGG_SUM &&
	      strcmp(g->aggs[2].name, "bytes") == 0 &&
	      g->aggs[5].vtype == FQ_V_SET_INT, "aggregates");
	const struct fq_cnf *gf = a->groupfilter;
	CHECK(gf && gf->n == 1 && gf->clauses[0].terms[0].l.fn == FQ_FN_BITAND &&
	      gf->clauses[0].terms[0].l.mask == 0x13 &&
	      gf->clauses[0].terms[0].l.gval == FQ_G_AGG &&
	      gf->clauses[0].terms[0].l.agg == 4, "groupfilter");
	const struct fq_plan_merger *mg = p->merger;
	CHECK(mg && mg->nmodules == 1 && mg->export_idx == 0, "merger");
	if (mg) {
		const struct fq_mmodule *mm = &mg->modules[0];
		/* branches B, A: slot 0 is B (index 1), slot 1 is A. */
		CHECK(mm->nbranches == 2 && mm->branches[0] == 1 &&
		      mm->branches[1] == 0, "slots");
		CHECK(mm->rules.n == 3, "rules");
		CHECK(mm->rules.clauses[0].terms[0].l.branch == 1 &&
		      mm->rules.clauses[0].terms[0].r.branch == 0, "A.srcip = B.dstip");
		CHECK(mm->rules.clauses[1].terms[0].l.vtype == FQ_V_SET_INT,
		      "set equality");
		CHECK(mm->nallen == 1 && mm->allen[0].a == 0 && mm->allen[0].b == 1 &&
		      mm->allen[0].rels == ((1u << FQ_AL_OVERLAPPED_BY) |
					    (1u << FQ_AL_DURING)) &&
		      mm->allen[0].bounded, "B oi A OR B d A");
		CHECK(mm->bounded && mm->is_export, "bounded");
	}
	fq_query_free(q);
	fq_diag_fini(&d);

	/* Implicit module, rdelta in merger, branch without grouper. */
	const struct fq_plan *p2 = must_compile(
		"splitter S {}\nfilter f {\n  dstport = 53\n}\n"
		"groupfilter gf {\n  bytes > 100\n  records = 1\n}\n"
		"merger M {\n  branches X, Y\n  X.srcport = Y.srcport rdelta 1\n"
		"  X.dstip = Y.dstip\n  X < Y delta 2s OR X m Y\n}\n"
		"S branch X -> f -> gf -> M\nS branch Y -> f -> M\n", &q, &d);
	if (p2 != NULL) {
		CHECK(p2->branches[0].grouper == NULL, "no grouper");
		CHECK(p2->branches[0].groupfilter->clauses[0].terms[0].l.gval ==
		      FQ_G_FIELD, "record field in group filter");
		CHECK(p2->branches[0].groupfilter->clauses[1].terms[0].l.gval ==
		      FQ_G_RECORDS, "records");
		const struct fq_mmodule *mm = &p2->merger->modules[0];
		CHECK(strcmp(mm->name, "(implicit)") == 0 && mm->is_export,
		      "implicit module");
		CHECK(mm->rules.clauses[0].terms[0].has_delta &&
		      mm->rules.clauses[0].terms[0].delta == 1, "rdelta = delta");
		CHECK(mm->allen[0].rels == ((1u << FQ_AL_BEFORE) | (1u << FQ_AL_MEETS)) &&
		      mm->allen[0].delta[FQ_AL_BEFORE] == 2000 && mm->allen[0].bounded,
		      "allen with delta");
	}
	CHECK(d.nwarnings == 0, "unexpected warnings");
	fq_query_free(q);
	fq_diag_fini(&d);

	/* No time bound: a warning, not an error. */
	p2 = must_compile(
		"splitter S {}\nfilter f {\n  dstport = 53\n}\n"
		"merger M {\n  module m1 {\n    branches X, Y, Z\n    X < Y\n    Y o Z\n  }\n"
		"  export m1\n}\n"
		"S branch X -> f -> M\nS branch Y -> f -> M\nS branch Z -> f -> M\n",
		&q, &d);
	if (p2 != NULL)
		CHECK(!p2->merger->modules[0].bounded, "bounded?");
	CHECK(has_diag(&d, FQ_SEV_WARNING, 6, 10, "merger module 'm1': no "
		       "time-bounding Allen relation links 'Y', 'Z' to 'X'"),
	      "no-bound warning");
	fq_query_free(q);
	fq_diag_fini(&d);

	/* Composite filter: lone reference inlined, ORed one kept. */
	p2 = must_compile(
		"splitter S {}\nfilter tcp {\n  prot = protocol(\"TCP\")\n}\n"
		"filter udp {\n  prot = 17\n}\n"
		"filter f {\n  tcp\n  udp OR dstport = 1\n  NOT tcp\n}\nS branch A -> f\n",
		&q, &d);
	if (p2 != NULL) {
		const struct fq_cnf *f = p2->branches[0].filter;
		CHECK(f->n == 3 && f->clauses[0].terms[0].r.i == 6, "inlined");
		CHECK(f->clauses[1].terms[0].op == FQ_OP_FILTER &&
		      f->clauses[1].terms[0].sub->n == 1, "sub filter");
		CHECK(f->clauses[2].terms[0].negate &&
		      f->clauses[2].terms[0].op == FQ_OP_FILTER, "NOT filter");
	}
	fq_query_free(q);
	fq_diag_fini(&d);
	return 0;
}

/* ---- sets / allen ------------------------------------------------------ */

static int
case_sets(void)
{
	struct fq_diag d;
	struct fq_query *q = NULL;
	const struct fq_plan *p = must_compile(
		"splitter S {}\nfilter f {\n  dstport in [443, 80, 1024..2000, 1999..3000, 81]\n"
		"  srcip in [10.0.0.0/8, 192.168.1.1, 10.1.0.0/16, 2001:db8::/32]\n"
		"  dstip notin 192.0.2.0/24\n}\nS branch A -> f\n", &q, &d);
	if (p == NULL)
		return 0;
	const struct fq_cnf *f = p->branches[0].filter;
	const struct fq_set *s = f->clauses[0].terms[0].r.set;
	CHECK(s->n == 3, "merged int set has %zu ranges", s->n);
	CHECK(fq_set_has_int(s, 80) && fq_set_has_int(s, 81) && !fq_set_has_int(s, 82) &&
	      fq_set_has_int(s, 443) && fq_set_has_int(s, 2500) &&
	      !fq_set_has_int(s, 3001) && !fq_set_has_int(s, 1023), "int membership");
	s = f->clauses[1].terms[0].r.set;
	CHECK(s->n == 3, "ip set has %zu ranges", s->n);
	struct fq_ip a;
	fq_ip_parse("10.200.3.4", 10, &a);
	CHECK(fq_set_has_ip(s, &a), "10.200.3.4 in 10/8");
	fq_ip_parse("192.168.1.1", 11, &a);
	CHECK(fq_set_has_ip(s, &a), "host");
	fq_ip_parse("192.168.1.2", 11, &a);
	CHECK(!fq_set_has_ip(s, &a), "host+1");
	fq_ip_parse("2001:db8:ffff::1", 16, &a);
	CHECK(fq_set_has_ip(s, &a), "v6 prefix");
	fq_ip_parse("::a00:1", 7, &a);
	CHECK(!fq_set_has_ip(s, &a), "v6 never matches v4 range");
	CHECK(f->clauses[2].terms[0].op == FQ_OP_NOTIN &&
	      f->clauses[2].terms[0].r.set->n == 1, "prefix as set");
	fq_query_free(q);
	fq_diag_fini(&d);
	return 0;
}

static void
rec_init(struct fq_record *r, const char *src, const char *dst, int sp, int dp,
	 int prot)
{
	fq_record_clear(r);
	fq_ip_parse(src, strlen(src), &r->srcip);
	fq_ip_parse(dst, strlen(dst), &r->dstip);
	r->srcport = (uint16_t)sp;
	r->dstport = (uint16_t)dp;
	r->prot = (uint8_t)prot;
	r->stime = 1000;
	r->etime = 3500;
	r->bytes = 5000;
	r->tcp_flags = 0x12;
}

static int
case_eval(void)
{
	struct fq_diag d;
	struct fq_query *q = NULL;
	const struct fq_plan *p = must_compile(
		"splitter S {}\nfilter tcp {\n  prot = protocol(\"TCP\")\n}\n"
		"filter www_req {\n  tcp\n  dstport = 80 OR dstport = 8080\n"
		"  NOT srcip in 192.0.2.0/24\n  srcport in [1024..65535]\n"
		"  duration < 3s\n  bitAND(tcp_flags, 0x02) = 0x02\n"
		"  srcip != dstip\n  dstip != 2001:db8::1\n}\n"
		"S branch A -> www_req\n", &q, &d);
	if (p == NULL)
		return 0;
	const struct fq_cnf *f = p->branches[0].filter;
	struct fq_record r;
	rec_init(&r, "198.51.100.7", "203.0.113.9", 40000, 80, 6);
	CHECK(pl_cnf_record(f, &r), "request matches");
	r.dstport = 8080;
	CHECK(pl_cnf_record(f, &r), "8080 matches");
	r.dstport = 443;
	CHECK(!pl_cnf_record(f, &r), "443 does not");
	rec_init(&r, "192.0.2.7", "203.0.113.9", 40000, 80, 6);
	CHECK(!pl_cnf_record(f, &r), "NOT srcip in prefix");
	rec_init(&r, "198.51.100.7", "203.0.113.9", 1000, 80, 6);
	CHECK(!pl_cnf_record(f, &r), "srcport range");
	rec_init(&r, "198.51.100.7", "203.0.113.9", 40000, 80, 17);
	CHECK(!pl_cnf_record(f, &r), "composite tcp");
	rec_init(&r, "198.51.100.7", "203.0.113.9", 40000, 80, 6);
	r.etime = 4000;
	CHECK(!pl_cnf_record(f, &r), "duration 3s");
	rec_init(&r, "198.51.100.7", "203.0.113.9", 40000, 80, 6);
	r.tcp_flags = 0x10;
	CHECK(!pl_cnf_record(f, &r), "bitAND");
	rec_init(&r, "198.51.100.7", "198.51.100.7", 40000, 80, 6);
	CHECK(!pl_cnf_record(f, &r), "srcip != dstip");
	/* v4 and v6 are never equal: != holds across families. */
	rec_init(&r, "2001:db8::5", "2001:db8::1", 40000, 80, 6);
	CHECK(!pl_cnf_record(f, &r), "dstip != 2001:db8::1");
	rec_init(&r, "2001:db8::5", "2001:db8::2", 40000, 80, 6);
	CHECK(pl_cnf_record(f, &r), "v6 record passes");
	CHECK(pl_cnf_record(NULL, &r), "no filter passes");
	fq_query_free(q);
	fq_diag_fini(&d);

	/* v4 and v6 are never ordered. */
	p = must_compile("splitter S {}\nfilter f {\n  srcip < 10.0.0.1 OR "
			 "srcip >= 10.0.0.1\n}\nS branch A -> f\n", &q, &d);
	if (p != NULL) {
		rec_init(&r, "::1", "::2", 1, 1, 6);
		CHECK(!pl_cnf_record(p->branches[0].filter, &r),
		      "v6 ordered against v4");
		rec_init(&r, "10.0.0.0", "::2", 1, 1, 6);
		CHECK(pl_cnf_record(p->branches[0].filter, &r), "v4 ordered");
	}
	fq_query_free(q);
	fq_diag_fini(&d);
	return 0;
}

static int
case_allen(void)
{
	/* x = [10, 20] against y, per SPEC section 4. */
	CHECK(fq_allen_holds(FQ_AL_BEFORE, 10, 20, 25, 30, -1), "<");
	CHECK(!fq_allen_holds(FQ_AL_BEFORE, 10, 20, 25, 30, 4), "< delta 4");
	CHECK(fq_allen_holds(FQ_AL_BEFORE, 10, 20, 25, 30, 5), "< delta 5");
	CHECK(!fq_allen_holds(FQ_AL_BEFORE, 10, 20, 20, 30, -1), "< strict");
	CHECK(fq_allen_holds(FQ_AL_AFTER, 25, 30, 10, 20, -1), ">");
	CHECK(fq_allen_holds(FQ_AL_MEETS, 10, 20, 20, 30, -1), "m");
	CHECK(fq_allen_holds(FQ_AL_MEETS, 10, 20, 22, 30, 2), "m delta");
	CHECK(!fq_allen_holds(FQ_AL_MEETS, 10, 20, 23, 30, 2), "m delta 2");
	CHECK(fq_allen_holds(FQ_AL_MET_BY, 20, 30, 10, 20, -1), "mi");
	CHECK(fq_allen_holds(FQ_AL_OVERLAPS, 10, 20, 15, 25, -1), "o");
	CHECK(fq_allen_holds(FQ_AL_OVERLAPPED_BY, 15, 25, 10, 20, -1), "oi");
	CHECK(fq_allen_holds(FQ_AL_STARTS, 10, 20, 10, 30, -1), "s");
	CHECK(fq_allen_holds(FQ_AL_STARTED_BY, 10, 30, 10, 20, -1), "si");
	CHECK(fq_allen_holds(FQ_AL_DURING, 12, 18, 10, 20, -1), "d");
	CHECK(!fq_allen_holds(FQ_AL_DURING, 10, 18, 10, 20, -1), "d strict");
	CHECK(fq_allen_holds(FQ_AL_CONTAINS, 10, 20, 12, 18, -1), "di");
	CHECK(fq_allen_holds(FQ_AL_FINISHES, 12, 20, 10, 20, -1), "f");
	CHECK(fq_allen_holds(FQ_AL_FINISHED_BY, 10, 20, 12, 20, -1), "fi");
	CHECK(fq_allen_holds(FQ_AL_EQUALS, 10, 20, 11, 19, 1), "= delta");
	CHECK(!fq_allen_holds(FQ_AL_EQUALS, 10, 20, 11, 19, -1), "= exact");
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		enum fq_allen_rel inv = fq_allen_inverse((enum fq_allen_rel)r);
		CHECK(fq_allen_inverse(inv) == (enum fq_allen_rel)r, "inverse %d", r);
		/* x r y <=> y inv x on a few intervals. */
		static const int64_t iv[][2] = {
			{ 0, 10 }, { 5, 15 }, { 10, 20 }, { 0, 20 }, { 2, 8 }, { 12, 14 },
		};
		for (size_t i = 0; i < 6; i++)
			for (size_t j = 0; j < 6; j++)
				CHECK(fq_allen_holds((enum fq_allen_rel)r, iv[i][0], iv[i][1],
						     iv[j][0], iv[j][1], -1) ==
				      fq_allen_holds(inv, iv[j][0], iv[j][1], iv[i][0],
						     iv[i][1], -1), "inv %d %zu %zu", r, i, j);
	}
	/* Every spelling, short and long, in a merger line. */
	static const char *const sp[][2] = {
		{ "<", "before" }, { ">", "after" }, { "m", "meets" }, { "mi", "met-by" },
		{ "o", "overlaps" }, { "oi", "overlapped-by" }, { "s", "starts" },
		{ "si", "started-by" }, { "d", "during" }, { "di", "contains" },
		{ "f", "finishes" }, { "fi", "finished-by" }, { "=", "equals" },
	};
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		CHECK(strcmp(fq_allen_short((enum fq_allen_rel)r), sp[r][0]) == 0 &&
		      strcmp(fq_allen_long((enum fq_allen_rel)r), sp[r][1]) == 0,
		      "names %d", r);
		for (int k = 0; k < 2; k++) {
			char text[512];
			snprintf(text, sizeof(text),
				 "splitter S {}\nfilter f {\n  dstport = 1\n}\n"
				 "merger M {\n  branches A, B\n  A %s B delta 1s\n}\n"
				 "S branch A -> f -> M\nS branch B -> f -> M\n", sp[r][k]);
			struct fq_diag d;
			struct fq_query *q = NULL;
			int rc = compile(text, &d, &q);
			CHECK(rc == 0, "spelling %s", sp[r][k]);
			if (rc == 0) {
				const struct fq_allen *al =
					&fq_query_plan(q)->merger->modules[0].allen[0];
				CHECK(al->rels == (1u << r) && al->delta[r] == 1000,
				      "relation %s", sp[r][k]);
			}
			fq_query_free(q);
			fq_diag_fini(&d);
		}
	}
	return 0;
}

/* ---- diag -------------------------------------------------------------- */

static int
case_diag(const char *dir)
{
	struct fq_diag d;
	struct fq_query *q = NULL;
	compile("splitter S {}\nfilter f {\n\t  dstprot = 80\n}\nS branch A -> f\n",
		&d, &q);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m == NULL)
		return 1;
	fq_diag_print(&d, m);
	fclose(m);
	const char *want =
		"t.flw:3:4: error: unknown field 'dstprot'\n"
		"\t  dstprot = 80\n"
		"\t  ^~~~~~~\n"
		"t.flw:3:4: note: did you mean 'dstport'?\n";
	CHECK(strcmp(buf, want) == 0, "rendered:\n%s", buf);
	free(buf);
	fq_diag_fini(&d);

	/* Warnings do not fail: unused definition, no Allen relation. */
	int rc = compile("splitter S {}\nfilter f {\n  dstport = 1\n}\n"
			 "filter unused {\n  dstport = 2\n}\n"
			 "merger M {\n  branches A, B\n}\n"
			 "S branch A -> f -> M\nS branch B -> f -> M\n", &d, &q);
	CHECK(rc == 0 && d.nerrors == 0 && d.nwarnings == 2, "rc %d, %zu warnings",
	      rc, d.nwarnings);
	CHECK(has_diag(&d, FQ_SEV_WARNING, 5, 8, "filter 'unused' is defined but "
		       "not used"), "unused warning");
	CHECK(has_diag(&d, FQ_SEV_WARNING, 8, 8, "merger 'M' has no Allen relation"),
	      "no-relation warning");
	fq_query_free(q);
	fq_diag_fini(&d);

	/* A shared group filter is checked per branch but reported once. */
	compile("splitter S {}\nfilter f {\n  dstport = 1\n}\n"
		"groupfilter gf {\n  nope = 1\n}\n"
		"merger M {\n  branches A, B\n  A < B delta 1s\n}\n"
		"S branch A -> f -> gf -> M\nS branch B -> f -> gf -> M\n", &d, &q);
	CHECK(d.nerrors == 1, "%zu errors for a shared groupfilter", d.nerrors);
	fq_diag_fini(&d);

	/* The thesis listing's own typos: suggestions, including swaps. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/invalid-thesis-skype-literal.flw", dir);
	size_t tl;
	char *text = read_file(path, &tl);
	CHECK(text != NULL, "no %s", path);
	if (text != NULL) {
		fq_diag_init(&d);
		rc = fq_query_compile(&q, path, text, tl, &d);
		CHECK(rc == -FQ_EPARSE && d.nerrors == 4, "literal listing: %zu errors",
		      d.nerrors);
		CHECK(has_diag(&d, FQ_SEV_ERROR, 23, 5, "unknown field 'port'") &&
		      has_note(&d, "did you mean 'prot'?") &&
		      has_diag(&d, FQ_SEV_ERROR, 29, 17, "unknown field 'scrip'") &&
		      has_note(&d, "did you mean 'srcip'?"), "typo suggestions");
		fq_diag_fini(&d);
		free(text);
	}
	return 0;
}

/* ---- shared ------------------------------------------------------------ */

static int
case_shared_spec(const char *shared)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/SPEC.md", shared);
	size_t len;
	char *text = read_file(path, &len);
	if (text == NULL) {
		printf("SKIP: %s not found\n", path);
		return 77;
	}
	/* Section 3's example: from "```\n# comment" to the next "```". */
	char *start = strstr(text, "```\n# comment to end of line");
	CHECK(start != NULL, "SPEC query not found");
	if (start == NULL) {
		free(text);
		return 1;
	}
	start += 4;
	char *end = strstr(start, "```");
	CHECK(end != NULL, "SPEC query not terminated");
	if (end != NULL) {
		struct fq_diag d;
		struct fq_query *q = NULL;
		fq_diag_init(&d);
		int rc = fq_query_compile(&q, "SPEC.md", start, (size_t)(end - start), &d);
		fq_diag_print(&d, stderr);
		CHECK(rc == 0 && d.nwarnings == 0, "SPEC query: rc %d, %zu warnings",
		      rc, d.nwarnings);
		if (rc == 0) {
			const struct fq_plan *p = fq_query_plan(q);
			CHECK(p->nbranches == 3 && p->merger->nmodules == 2 &&
			      p->merger->modules[1].nallen == 1 &&
			      p->merger->modules[1].allen[0].rels ==
			      (1u << FQ_AL_AFTER), "SPEC plan shape");
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	free(text);
	return 0;
}

static int
case_shared_flowy(const char *shared)
{
	static const char *const names[] = {
		"3http-download.flw", "http-download.flw", "https-flows.flw",
		"port-filter.flw", "ports.flw",
	};
	char path[4096];
	snprintf(path, sizeof(path), "%s/data/queries/flowy", shared);
	DIR *dp = opendir(path);
	if (dp == NULL) {
		printf("SKIP: %s not found\n", path);
		return 77;
	}
	closedir(dp);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/data/queries/flowy/%s", shared,
			 names[i]);
		compile_path(path, 1);
	}
	return 0;
}

/* ---- partition planner -------------------------------------------------- */

#define BIT(f) ((uint64_t)1 << (f))

/* The `partition:` line `flowq check` prints for plan p, in buf. */
static void
partition_line(const struct fq_plan *p, char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *f = tmpfile();
	if (f == NULL)
		return;
	fq_plan_print(p, f);
	rewind(f);
	char line[4096];
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "partition: ", 11) == 0)
			snprintf(buf, size, "%s", line);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Every seed query: the line check prints (docs/parallel.md). */
static const struct {
	const char *file;
	const char *line;
} part_seeds[] = {
	{ "paper-http-download.flw", "partition: branch A by srcip, branch B by "
	  "dstip (merger M, module m1: A.srcip = B.dstip)" },
	{ "spec-example.flw", "partition: branch A by srcip, branch B by dstip, "
	  "branch C by srcip (merger M, module m1: A.srcip = B.dstip; module "
	  "m2: A.srcip = C.srcip)" },
	{ "merger-modules.flw", "partition: branch Q by srcip, branch R by dstip, "
	  "branch H by srcip (merger M, module m1: Q.srcip = H.srcip; module "
	  "m2: Q.srcip = R.dstip)" },
	{ "plain-filter.flw", "partition: branch all by any field" },
	{ "composite-and-aliases.flw", "partition: branch scans by srcip" },
	{ "thesis-skype-signature.flw", "partition: branch A by srcip, branch B "
	  "by srcip (merger M, module m1: A.srcip = B.srcip)" },
	{ "thesis-nat64-skype-failure.flw", "partition: none -- merger M module "
	  "(implicit): no equality between key fields links branch mDNS to the "
	  "others; the query runs on one shard" },
	{ "many-branches.flw", "partition: none -- merger M module (implicit): "
	  "its equalities between key fields cannot link all its branches with "
	  "one field per branch; the query runs on one shard" },
};

/* Small queries, one rule each: the reason, and the keys when OK. */
static const struct {
	const char *what;
	const char *text;
	enum fq_part_why why;
	size_t branch;               /* FQ_PART_GROUPER, FQ_PART_MODULE */
	uint64_t key[3];
} part_cases[] = {
	{ "grouper-less filter query: any field",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\nS branch A -> f\n",
	  FQ_PART_OK, 0, { 0 } },
	{ "single grouper: all its shared keys, hashed together",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "grouper g {\n  module m {\n    srcip = srcip\n    dstip = dstip\n"
	  "  }\n  aggregate srcip, sum(bytes) as bytes\n}\nS branch A -> f -> g\n",
	  FQ_PART_OK, 0, { BIT(FQ_F_SRCIP) | BIT(FQ_F_DSTIP) } },
	{ "modules share no key",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "grouper g {\n  module m1 {\n    srcip = srcip\n  }\n"
	  "  module m2 {\n    dstip = dstip\n  }\n  aggregate sum(bytes) as b\n}\n"
	  "S branch A -> f -> g\n",
	  FQ_PART_GROUPER, 0, { 0 } },
	{ "a key relating different fields",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "grouper g {\n  module m1 {\n    srcip = dstip\n  }\n"
	  "  aggregate sum(bytes) as b\n}\nS branch A -> f -> g\n",
	  FQ_PART_GROUPER, 0, { 0 } },
	{ "merger equality on a non-key aggregate",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "grouper g {\n  module m {\n    srcip = srcip\n  }\n"
	  "  aggregate srcip, sum(bytes) as bytes\n}\n"
	  "merger M {\n  branches A, B\n  A.bytes = B.bytes\n  A < B delta 1s\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n",
	  FQ_PART_MODULE, 0, { 0 } },
	{ "merger equality inside an OR",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "merger M {\n  branches A, B\n  A.srcip = B.dstip OR A.dstip = B.srcip\n"
	  "  A < B delta 1s\n}\n"
	  "S branch A -> f -> M\nS branch B -> f -> M\n",
	  FQ_PART_MODULE, 0, { 0 } },
	{ "three branches linked transitively through B",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "grouper g {\n  module m {\n    srcip = srcip\n    dstip = dstip\n"
	  "  }\n  aggregate srcip, dstip\n}\n"
	  "merger M {\n  branches A, B, C\n  A.srcip = B.dstip\n"
	  "  B.dstip = C.srcip\n  A < B delta 1s\n  B < C delta 1s\n}\n"
	  "S branch A -> f -> g -> M\nS branch B -> f -> g -> M\n"
	  "S branch C -> f -> g -> M\n",
	  FQ_PART_OK, 0, { BIT(FQ_F_SRCIP), BIT(FQ_F_DSTIP), BIT(FQ_F_SRCIP) } },
	{ "two linked pairs not linked to each other",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "merger M {\n  branches A, B, C, D\n  A.srcip = B.srcip\n"
	  "  A.dstip = B.dstip\n  C.srcip = D.srcip\n  C.dstip = D.dstip\n"
	  "  A < B delta 1s\n  B < C delta 1s\n  C < D delta 1s\n}\n"
	  "S branch A -> f -> M\nS branch B -> f -> M\n"
	  "S branch C -> f -> M\nS branch D -> f -> M\n",
	  FQ_PART_MODULE, 2, { 0 } },
	{ "modules that need different keys for one branch",
	  "splitter S {}\nfilter f {\n  dstport = 80\n}\n"
	  "grouper g2 {\n  module m {\n    srcip = srcip\n    dstip = dstip\n"
	  "  }\n  aggregate srcip, dstip\n}\n"
	  "grouper gs {\n  module m {\n    srcip = srcip\n  }\n  aggregate srcip\n}\n"
	  "grouper gd {\n  module m {\n    dstip = dstip\n  }\n  aggregate dstip\n}\n"
	  "merger M {\n  module m1 {\n    branches A, B\n    A.srcip = B.srcip\n"
	  "    A < B delta 1s\n  }\n  module m2 {\n    branches A, C\n"
	  "    A.dstip = C.dstip\n    A < C delta 1s\n  }\n  export m1\n}\n"
	  "S branch A -> f -> g2 -> M\nS branch B -> f -> gs -> M\n"
	  "S branch C -> f -> gd -> M\n",
	  FQ_PART_CONFLICT, 0, { 0 } },
};

static int
case_partition(const char *dir, const char *shared)
{
	char path[4096], line[8192];
	for (size_t i = 0; i < sizeof(part_seeds) / sizeof(part_seeds[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, part_seeds[i].file);
		struct fq_diag d;
		struct fq_query *q = NULL;
		fq_diag_init(&d);
		int rc = fq_query_compile_file(&q, path, &d);
		CHECK(rc == 0, "%s does not compile", path);
		if (rc == 0) {
			partition_line(fq_query_plan(q), line, sizeof(line));
			CHECK(strcmp(line, part_seeds[i].line) == 0,
			      "%s:\n  got    %s\n  wanted %s", part_seeds[i].file,
			      line, part_seeds[i].line);
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	for (size_t i = 0; i < sizeof(part_cases) / sizeof(part_cases[0]); i++) {
		struct fq_diag d;
		struct fq_query *q = NULL;
		fq_diag_init(&d);
		const struct fq_plan *p = must_compile(part_cases[i].text, &q, &d);
		const struct fq_plan_partition *pt = p ? p->partition : NULL;
		CHECK(p == NULL || pt != NULL, "%s: no partition", part_cases[i].what);
		if (pt != NULL) {
			partition_line(p, line, sizeof(line));
			CHECK(pt->why == part_cases[i].why, "%s: why %d, wanted %d (%s)",
			      part_cases[i].what, (int)pt->why,
			      (int)part_cases[i].why, line);
			if (pt->why == FQ_PART_GROUPER || pt->why == FQ_PART_MODULE)
				CHECK(pt->branch == part_cases[i].branch,
				      "%s: branch %zu", part_cases[i].what, pt->branch);
			for (size_t b = 0; pt->why == FQ_PART_OK &&
			     b < pt->nbranches && b < 3; b++)
				CHECK(pt->branches[b].key == part_cases[i].key[b],
				      "%s: branch %zu key %#llx (%s)", part_cases[i].what,
				      b, (unsigned long long)pt->branches[b].key, line);
			CHECK(pt->why == FQ_PART_OK ||
			      strstr(line, "; the query runs on one shard") != NULL,
			      "%s: fallback not said: %s", part_cases[i].what, line);
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	/* The transitive case as check prints it: both links named. */
	for (size_t i = 0; i < sizeof(part_cases) / sizeof(part_cases[0]); i++) {
		if (strncmp(part_cases[i].what, "three branches", 14) != 0)
			continue;
		struct fq_diag d;
		struct fq_query *q = NULL;
		fq_diag_init(&d);
		const struct fq_plan *p = must_compile(part_cases[i].text, &q, &d);
		if (p != NULL) {
			partition_line(p, line, sizeof(line));
			CHECK(strcmp(line, "partition: branch A by srcip, branch B by "
				     "dstip, branch C by srcip (merger M, module "
				     "(implicit): A.srcip = B.dstip, B.dstip = "
				     "C.srcip)") == 0, "transitive: %s", line);
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	/* The published Flowy queries (shared/): each gets a verdict. */
	static const char *const names[] = {
		"http-download.flw", "3http-download.flw", "https-flows.flw",
		"port-filter.flw", "ports.flw",
	};
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/data/queries/flowy/%s", shared,
			 names[i]);
		struct fq_diag d;
		struct fq_query *q = NULL;
		fq_diag_init(&d);
		if (fq_query_compile_file(&q, path, &d) == 0) {
			partition_line(fq_query_plan(q), line, sizeof(line));
			CHECK(strncmp(line, "partition: ", 11) == 0, "%s: no line",
			      path);
			printf("%s: %s\n", names[i], line);
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: test-grammar CASE QUERIES_DIR SHARED_DIR\n");
		return 2;
	}
	const char *c = argv[1];
	int rc = 0;
	if (strcmp(c, "valid") == 0)
		rc = case_valid(argv[2]);
	else if (strcmp(c, "invalid") == 0)
		rc = case_invalid();
	else if (strcmp(c, "lexer") == 0)
		rc = case_lexer();
	else if (strcmp(c, "plan") == 0)
		rc = case_plan(argv[2]);
	else if (strcmp(c, "sets") == 0)
		rc = case_sets();
	else if (strcmp(c, "eval") == 0)
		rc = case_eval();
	else if (strcmp(c, "allen") == 0)
		rc = case_allen();
	else if (strcmp(c, "diag") == 0)
		rc = case_diag(argv[2]);
	else if (strcmp(c, "shared-spec") == 0)
		rc = case_shared_spec(argv[3]);
	else if (strcmp(c, "shared-flowy") == 0)
		rc = case_shared_flowy(argv[3]);
	else if (strcmp(c, "partition") == 0)
		rc = case_partition(argv[2], argv[3]);
	else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	if (rc == 77)
		return 77;
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	return rc;
}
