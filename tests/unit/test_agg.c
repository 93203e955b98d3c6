/*
 * test_agg.c - unit tests of the aggregate table (core/fq_agg.h) and of
 * the value set behind union() (core/fq_vset.h).
 *
 * Every expected value below is worked out by hand from SPEC sections 3
 * and 4 (the comment next to it shows the arithmetic), never by calling
 * the code under test another way.  States live in a buffer filled with
 * a canary so that a function writing past its state size is caught.
 *
 * Usage: test-agg CASE   (agg:CASE and vset:CASE in meson)
 */
#include "fq_agg.h"
#include "fq_error.h"
#include "fq_ip.h"
#include "fq_vset.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
ip_is(const struct fq_ip *a, const char *s)
{
	struct fq_ip b = check_ip(s);
	return fq_ip_eq(a, &b);
}

/* ---- running an aggregate --------------------------------------------- */

#define CANARY 0xa5

/* A state with a canary after its own bytes. */
struct slot {
	_Alignas(16) unsigned char b[sizeof(union fq_agg_state) + 16];
	enum fq_agg_fn f;
	enum fq_vtype arg;
};

static union fq_agg_state *
st(struct slot *s)
{
	return (union fq_agg_state *)(void *)s->b;
}

static void
slot_init(struct slot *s, enum fq_agg_fn f, enum fq_vtype arg)
{
	memset(s->b, CANARY, sizeof(s->b));
	s->f = f;
	s->arg = arg;
	fq_agg_init(f, st(s), arg);
}

static int
canary_ok(const struct slot *s)
{
	size_t size = fq_agg_state_size(s->f, s->arg);
	for (size_t k = size; k < sizeof(s->b); k++)
		if (s->b[k] != CANARY)
			return 0;
	return 1;
}

/* Step numbers xs[0..n) into a fresh state; returns the heap growth. */
static size_t
run_num(struct slot *s, enum fq_agg_fn f, const int64_t *xs, size_t n)
{
	size_t grown = 0;
	slot_init(s, f, FQ_V_INT);
	for (size_t k = 0; k < n; k++)
		CHECK(fq_agg_step(f, st(s), xs[k], NULL, k == 0, &grown) == 0,
		      "%s step %zu", fq_agg_fn_name(f), k);
	CHECK(canary_ok(s), "%s writes past its state", fq_agg_fn_name(f));
	return grown;
}

/* The same for addresses given as text. */
static size_t
run_ip(struct slot *s, enum fq_agg_fn f, const char *const *v, size_t n)
{
	size_t grown = 0;
	slot_init(s, f, FQ_V_IP);
	for (size_t k = 0; k < n; k++) {
		struct fq_ip a = check_ip(v[k]);
		CHECK(fq_agg_step(f, st(s), 0, &a, k == 0, &grown) == 0,
		      "%s step %zu", fq_agg_fn_name(f), k);
	}
	CHECK(canary_ok(s), "%s writes past its state", fq_agg_fn_name(f));
	return grown;
}

static int64_t
final_i(struct slot *s)
{
	struct fq_agg_value v;
	fq_agg_final(s->f, st(s), s->arg, &v);
	CHECK(v.t == FQ_V_INT, "%s gives an int", fq_agg_fn_name(s->f));
	return v.i;
}

static struct fq_ip
final_ip(struct slot *s)
{
	struct fq_agg_value v;
	fq_agg_final(s->f, st(s), s->arg, &v);
	CHECK(v.t == FQ_V_IP, "%s gives an address", fq_agg_fn_name(s->f));
	return v.ip;
}

/* a = merge(a, b), a the earlier part; returns the heap growth. */
static size_t
merge(struct slot *a, struct slot *b)
{
	size_t grown = 0;
	CHECK(fq_agg_merge(a->f, st(a), st(b), a->arg, &grown) == 0,
	      "%s merge", fq_agg_fn_name(a->f));
	CHECK(canary_ok(a), "%s merge writes past its state",
	      fq_agg_fn_name(a->f));
	return grown;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- agg:table -------------------------------------------------------- */

static void
test_table(void)
{
	/* The names a query writes, in table order, and the bare field. */
	static const char *const names[] = {
		"field", "sum", "count", "min", "max", "avg", "union", "bitOR",
		"bitAND", "first", "last", "range",
	};
	CHECK(FQ_AGG_NFN == N(names), "%zu rows", (size_t)FQ_AGG_NFN);
	for (size_t f = 0; f < N(names); f++) {
		enum fq_agg_fn got = FQ_AGG_LAST;
		CHECK(strcmp(fq_agg_fn_name((enum fq_agg_fn)f), names[f]) == 0,
		      "name %zu", f);
		int found = fq_agg_lookup(names[f], strlen(names[f]), &got);
		if (f == FQ_AGG_FIELD)
			CHECK(!found, "the bare field has no name to call");
		else
			CHECK(found && got == (enum fq_agg_fn)f, "lookup %s",
			      names[f]);
	}
	enum fq_agg_fn got;
	CHECK(!fq_agg_lookup("Sum", 3, &got), "names are case-sensitive");
	CHECK(!fq_agg_lookup("bitor", 5, &got), "bitOR is spelt bitOR");
	CHECK(fq_agg_lookup("summary", 3, &got) && got == FQ_AGG_SUM,
	      "length-bounded");
	CHECK(strcmp(fq_agg_fn_name((enum fq_agg_fn)99), "?") == 0, "range");

	/* SPEC 3: sum avg bitOR bitAND need numbers; the rest take both. */
	static const struct {
		enum fq_agg_fn f;
		int num, addr;
		enum fq_vtype of_num, of_ip;   /* result types */
		size_t size_num, size_ip;
		int unit;
	} rows[] = {
		{ FQ_AGG_FIELD, 1, 1, FQ_V_INT, FQ_V_IP, 8, 24, 1 },
		{ FQ_AGG_SUM, 1, 0, FQ_V_INT, 0, 8, 0, 1 },
		{ FQ_AGG_COUNT, 1, 1, FQ_V_INT, FQ_V_INT, 16, 16, 0 },
		{ FQ_AGG_MIN, 1, 1, FQ_V_INT, FQ_V_IP, 8, 24, 1 },
		{ FQ_AGG_MAX, 1, 1, FQ_V_INT, FQ_V_IP, 8, 24, 1 },
		{ FQ_AGG_AVG, 1, 0, FQ_V_REAL, 0, 16, 0, 1 },
		{ FQ_AGG_UNION, 1, 1, FQ_V_SET_INT, FQ_V_SET_IP,
		  sizeof(struct fq_vset), sizeof(struct fq_vset), 0 },
		{ FQ_AGG_BITOR, 1, 0, FQ_V_INT, 0, 8, 0, 0 },
		{ FQ_AGG_BITAND, 1, 0, FQ_V_INT, 0, 8, 0, 0 },
		{ FQ_AGG_FIRST, 1, 1, FQ_V_INT, FQ_V_IP, 8, 24, 1 },
		{ FQ_AGG_LAST, 1, 1, FQ_V_INT, FQ_V_IP, 8, 24, 1 },
		{ FQ_AGG_RANGE, 1, 0, FQ_V_INT, 0, 16, 0, 0 },
	};
	CHECK(sizeof(struct fq_ip) == 24, "an address is 24 bytes here");
	for (size_t k = 0; k < N(rows); k++) {
		enum fq_agg_fn f = rows[k].f;
		const char *n = fq_agg_fn_name(f);
		CHECK(fq_agg_accepts(f, FQ_V_INT) == rows[k].num, "%s num", n);
		CHECK(fq_agg_accepts(f, FQ_V_IP) == rows[k].addr, "%s ip", n);
		CHECK(fq_agg_result_type(f, FQ_V_INT) == rows[k].of_num,
		      "%s result of a number", n);
		if (rows[k].addr)
			CHECK(fq_agg_result_type(f, FQ_V_IP) == rows[k].of_ip,
			      "%s result of an address", n);
		CHECK(fq_agg_state_size(f, FQ_V_INT) == rows[k].size_num,
		      "%s state size", n);
		CHECK(fq_agg_state_size(f, FQ_V_IP) == rows[k].size_ip,
		      "%s address state size", n);
		CHECK(fq_agg_defs[f].keeps_unit == rows[k].unit, "%s unit", n);
		CHECK(fq_agg_defs[f].named == (f != FQ_AGG_FIELD), "%s named", n);
	}
}

/* ---- one case per function -------------------------------------------- */

/* Bare field and first(): the first record's value, whatever follows. */
static void
check_first_like(enum fq_agg_fn f)
{
	struct slot a, b;
	const int64_t xs[] = { 7, 3, 9, 1 };
	run_num(&a, f, xs, N(xs));
	CHECK(final_i(&a) == 7, "%s of 7 3 9 1", fq_agg_fn_name(f));
	/* merge: [7 3] then [9 1]: the earlier part's first, 7 */
	run_num(&a, f, xs, 2);
	run_num(&b, f, xs + 2, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == 7, "%s merge", fq_agg_fn_name(f));

	static const char *const v[] = { "10.0.0.2", "::1", "10.0.0.1" };
	run_ip(&a, f, v, N(v));
	struct fq_ip r = final_ip(&a);
	CHECK(ip_is(&r, "10.0.0.2"), "%s of addresses", fq_agg_fn_name(f));
	run_ip(&a, f, v, 1);
	run_ip(&b, f, v + 1, 2);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "10.0.0.2"), "%s merge of addresses",
	      fq_agg_fn_name(f));
}

static void
test_field(void)
{
	check_first_like(FQ_AGG_FIELD);
}

static void
test_first(void)
{
	check_first_like(FQ_AGG_FIRST);
}

static void
test_last(void)
{
	struct slot a, b;
	const int64_t xs[] = { 7, 3, 9, 1 };
	run_num(&a, FQ_AGG_LAST, xs, N(xs));
	CHECK(final_i(&a) == 1, "last of 7 3 9 1");
	run_num(&a, FQ_AGG_LAST, xs, 3);
	CHECK(final_i(&a) == 9, "last of 7 3 9");
	/* merge: [7 3] then [9 1]: the later part's last, 1 */
	run_num(&a, FQ_AGG_LAST, xs, 2);
	run_num(&b, FQ_AGG_LAST, xs + 2, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == 1, "last merge");

	static const char *const v[] = { "10.0.0.2", "::1", "10.0.0.1" };
	run_ip(&a, FQ_AGG_LAST, v, N(v));
	struct fq_ip r = final_ip(&a);
	CHECK(ip_is(&r, "10.0.0.1"), "last of addresses");
	run_ip(&a, FQ_AGG_LAST, v, 2);
	run_ip(&b, FQ_AGG_LAST, v + 2, 1);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "10.0.0.1"), "last merge of addresses");
}

static void
test_sum(void)
{
	struct slot a, b;
	const int64_t xs[] = { 5, -3, 10, 100 };
	run_num(&a, FQ_AGG_SUM, xs, N(xs));
	CHECK(final_i(&a) == 112, "5 - 3 + 10 + 100");
	run_num(&a, FQ_AGG_SUM, xs, 2);             /* 2 */
	run_num(&b, FQ_AGG_SUM, xs + 2, 2);         /* 110 */
	merge(&a, &b);
	CHECK(final_i(&a) == 112, "2 + 110");
	/* wraps like two's complement (documented), never traps */
	const int64_t big[] = { INT64_MAX, 1 };
	run_num(&a, FQ_AGG_SUM, big, N(big));
	CHECK(final_i(&a) == INT64_MIN, "INT64_MAX + 1 wraps");
}

static void
test_avg(void)
{
	struct slot a, b;
	struct fq_agg_value v;
	const int64_t xs[] = { 1, 2, 4 };
	run_num(&a, FQ_AGG_AVG, xs, N(xs));
	fq_agg_final(FQ_AGG_AVG, st(&a), FQ_V_INT, &v);
	CHECK(v.t == FQ_V_REAL && v.d == 7.0 / 3.0, "(1 + 2 + 4) / 3: %g", v.d);
	run_num(&a, FQ_AGG_AVG, xs, 2);             /* 3 / 2 */
	run_num(&b, FQ_AGG_AVG, xs + 2, 1);         /* 4 / 1 */
	merge(&a, &b);
	fq_agg_final(FQ_AGG_AVG, st(&a), FQ_V_INT, &v);
	CHECK(v.d == 7.0 / 3.0, "(3 + 4) / (2 + 1): %g", v.d);
	CHECK(st(&a)->i == 7 && st(&a)->cnt == 3, "sum and count kept");
	/* no record: 0, not a division by zero */
	slot_init(&a, FQ_AGG_AVG, FQ_V_INT);
	fq_agg_final(FQ_AGG_AVG, st(&a), FQ_V_INT, &v);
	CHECK(v.t == FQ_V_REAL && v.d == 0.0, "empty avg");
}

static void
test_count(void)
{
	struct slot a, b;
	const int64_t xs[] = { 9, 9, 0, -4 };
	run_num(&a, FQ_AGG_COUNT, xs, N(xs));
	CHECK(final_i(&a) == 4, "four records (values do not matter)");
	static const char *const v[] = { "10.0.0.1", "10.0.0.1", "::1" };
	run_ip(&a, FQ_AGG_COUNT, v, N(v));
	struct fq_agg_value r;
	fq_agg_final(FQ_AGG_COUNT, st(&a), FQ_V_IP, &r);
	CHECK(r.t == FQ_V_INT && r.i == 3, "count of an address field");
	run_num(&a, FQ_AGG_COUNT, xs, 2);
	run_num(&b, FQ_AGG_COUNT, xs, 3);
	merge(&a, &b);
	CHECK(final_i(&a) == 5, "2 + 3");
}

static void
test_min_max_num(void)
{
	struct slot a, b;
	const int64_t xs[] = { 5, -3, 10, -3, 7 };
	run_num(&a, FQ_AGG_MIN, xs, N(xs));
	CHECK(final_i(&a) == -3, "min");
	run_num(&a, FQ_AGG_MAX, xs, N(xs));
	CHECK(final_i(&a) == 10, "max");
	const int64_t one[] = { 42 };
	run_num(&a, FQ_AGG_MIN, one, 1);
	CHECK(final_i(&a) == 42, "min of one value is it (not the zero state)");
	run_num(&a, FQ_AGG_MAX, (const int64_t[]){ -5 }, 1);
	CHECK(final_i(&a) == -5, "max of one negative value is it");
	/* merge: [5 10] then [-3 7]: min(5, -3), max(10, 7) */
	const int64_t pa[] = { 5, 10 }, pb[] = { -3, 7 };
	run_num(&a, FQ_AGG_MIN, pa, 2);
	run_num(&b, FQ_AGG_MIN, pb, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == -3, "min merge takes the later part's smaller");
	run_num(&a, FQ_AGG_MIN, pb, 2);
	run_num(&b, FQ_AGG_MIN, pa, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == -3, "min merge keeps the earlier part's smaller");
	run_num(&a, FQ_AGG_MAX, pa, 2);
	run_num(&b, FQ_AGG_MAX, pb, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == 10, "max merge keeps the earlier part's larger");
	run_num(&a, FQ_AGG_MAX, pb, 2);
	run_num(&b, FQ_AGG_MAX, pa, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == 10, "max merge takes the later part's larger");
}

/*
 * Addresses: IPv4 before IPv6 whatever the numbers (SPEC 3), so
 * 255.255.255.255 < :: and the smallest address of a mixed list is its
 * smallest IPv4 one, the largest its largest IPv6 one.
 */
static void
test_min_max_ip(void)
{
	struct slot a, b;
	static const char *const v[] = {
		"::1", "10.0.0.1", "::", "255.255.255.255", "10.0.0.0",
	};
	run_ip(&a, FQ_AGG_MIN, v, N(v));
	struct fq_ip r = final_ip(&a);
	CHECK(ip_is(&r, "10.0.0.0"), "min of mixed families");
	run_ip(&a, FQ_AGG_MAX, v, N(v));
	r = final_ip(&a);
	CHECK(ip_is(&r, "::1"), "max of mixed families");
	static const char *const w[] = { "255.255.255.255", "::" };
	run_ip(&a, FQ_AGG_MAX, w, N(w));
	r = final_ip(&a);
	CHECK(ip_is(&r, "::"), ":: is above every IPv4 address");
	run_ip(&a, FQ_AGG_MIN, w + 1, 1);
	r = final_ip(&a);
	CHECK(ip_is(&r, "::"), "min of one address is it");
	/* merge: [::1 10.0.0.1] (min 10.0.0.1, max ::1) then
	 * [:: 255.255.255.255 10.0.0.0] (min 10.0.0.0, max ::) */
	run_ip(&a, FQ_AGG_MIN, v, 2);
	run_ip(&b, FQ_AGG_MIN, v + 2, 3);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "10.0.0.0"), "min merge of addresses");
	run_ip(&a, FQ_AGG_MAX, v, 2);
	run_ip(&b, FQ_AGG_MAX, v + 2, 3);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "::1"), "max merge of addresses");
	run_ip(&a, FQ_AGG_MAX, v + 2, 3);
	run_ip(&b, FQ_AGG_MAX, v, 2);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "::1"), "max merge, larger in the later part");
	/* the family decides before the number: 255.255.255.255 < :: */
	run_ip(&a, FQ_AGG_MAX, w, 1);
	run_ip(&b, FQ_AGG_MAX, w + 1, 1);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "::"), "max merge of 255.255.255.255 and ::");
	run_ip(&a, FQ_AGG_MIN, w + 1, 1);
	run_ip(&b, FQ_AGG_MIN, w, 1);
	merge(&a, &b);
	r = final_ip(&a);
	CHECK(ip_is(&r, "255.255.255.255"), "min merge of :: and "
	      "255.255.255.255");
}

static void
test_min(void)
{
	test_min_max_num();
	test_min_max_ip();
}

/*
 * 0x0f 0x3c 0x1e 0x7e: OR = 0x7f; AND = 0x0f & 0x3c = 0x0c, & 0x1e =
 * 0x0c, & 0x7e = 0x0c.  Seeded by the first value: AND does not start
 * from zero (nor OR from all ones).
 */
static void
test_bits(void)
{
	struct slot a, b;
	const int64_t xs[] = { 0x0f, 0x3c, 0x1e, 0x7e };
	run_num(&a, FQ_AGG_BITOR, xs, N(xs));
	CHECK(final_i(&a) == 0x7f, "bitOR");
	run_num(&a, FQ_AGG_BITAND, xs, N(xs));
	CHECK(final_i(&a) == 0x0c, "bitAND");
	run_num(&a, FQ_AGG_BITAND, xs + 3, 1);
	CHECK(final_i(&a) == 0x7e, "bitAND of one value is it");
	/* merge: [0x0f 0x3c] | [0x1e 0x7e] = 0x3f | 0x7e = 0x7f;
	 * & : 0x0c & 0x1e = 0x0c */
	run_num(&a, FQ_AGG_BITOR, xs, 2);
	run_num(&b, FQ_AGG_BITOR, xs + 2, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == 0x7f, "bitOR merge");
	run_num(&a, FQ_AGG_BITAND, xs, 2);
	run_num(&b, FQ_AGG_BITAND, xs + 2, 2);
	CHECK(final_i(&b) == 0x1e, "bitAND of 0x1e 0x7e");
	merge(&a, &b);
	CHECK(final_i(&a) == 0x0c, "bitAND merge");
}

/* ---- union() ---------------------------------------------------------- */

static int
set_is(const struct fq_vset *s, const int64_t *v, size_t n)
{
	if (s->elem != FQ_V_INT || s->n != n)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (s->ints[k] != v[k])
			return 0;
	return 1;
}

static void
test_union(void)
{
	struct slot a, b;
	struct fq_agg_value v;
	/* The same value twice is one element. */
	const int64_t twice[] = { 80, 80 };
	run_num(&a, FQ_AGG_UNION, twice, 2);
	CHECK(st(&a)->set.n == 1, "80 twice is one element: %u",
	      (unsigned)st(&a)->set.n);
	fq_agg_fini(FQ_AGG_UNION, st(&a));

	/* 80 443 80 53 443 8080 53: {53, 80, 443, 8080}, sorted */
	const int64_t xs[] = { 80, 443, 80, 53, 443, 8080, 53 };
	const size_t grows[] = { 0, 0, 0, 0, 0, 64, 0 };
	slot_init(&a, FQ_AGG_UNION, FQ_V_INT);
	for (size_t k = 0; k < N(xs); k++) {
		size_t grown = 0;
		CHECK(fq_agg_step(FQ_AGG_UNION, st(&a), xs[k], NULL, k == 0,
				  &grown) == 0, "step");
		/* three numbers fit in the header; the fourth distinct one
		 * moves them to 8 on the heap: 64 bytes */
		CHECK(grown == grows[k], "step %zu grew %zu", k, grown);
	}
	fq_agg_final(FQ_AGG_UNION, st(&a), FQ_V_INT, &v);
	CHECK(v.t == FQ_V_SET_INT && v.set == &st(&a)->set, "final is the set");
	CHECK(set_is(v.set, (const int64_t[]){ 53, 80, 443, 8080 }, 4),
	      "53 80 443 8080 (n %u)", (unsigned)v.set->n);
	fq_agg_fini(FQ_AGG_UNION, st(&a));
	CHECK(st(&a)->set.n == 0 && fq_vset_heap(&st(&a)->set) == 0, "fini");

	/* merge {53, 80} and {80, 443, 8080, 9000}: five, the header's
	 * three places outgrown (64 bytes) */
	run_num(&a, FQ_AGG_UNION, (const int64_t[]){ 80, 53 }, 2);
	run_num(&b, FQ_AGG_UNION, (const int64_t[]){ 9000, 80, 8080, 443 }, 4);
	CHECK(merge(&a, &b) == 64, "merge grew the heap by 64");
	CHECK(set_is(&st(&a)->set, (const int64_t[]){ 53, 80, 443, 8080, 9000 },
		     5), "merged set (n %u)", (unsigned)st(&a)->set.n);
	CHECK(set_is(&st(&b)->set, (const int64_t[]){ 80, 443, 8080, 9000 }, 4),
	      "the later part is left as it was");
	fq_agg_fini(FQ_AGG_UNION, st(&a));
	fq_agg_fini(FQ_AGG_UNION, st(&b));
	/* merge of duplicates only: nothing new */
	run_num(&a, FQ_AGG_UNION, (const int64_t[]){ 1, 2, 3 }, 3);
	run_num(&b, FQ_AGG_UNION, (const int64_t[]){ 3, 2 }, 2);
	CHECK(merge(&a, &b) == 0, "no growth");
	CHECK(set_is(&st(&a)->set, (const int64_t[]){ 1, 2, 3 }, 3),
	      "duplicates merge into one");
	fq_agg_fini(FQ_AGG_UNION, st(&a));
	fq_agg_fini(FQ_AGG_UNION, st(&b));

	/* addresses: one fits in the header, the second distinct one needs
	 * 8 * 24 = 192 bytes; IPv4 sorts first */
	static const char *const w[] = { "::1", "::1", "10.0.0.1", "::1" };
	CHECK(run_ip(&a, FQ_AGG_UNION, w, 2) == 0, "::1 twice fits");
	CHECK(st(&a)->set.n == 1, "::1 twice is one element");
	fq_agg_fini(FQ_AGG_UNION, st(&a));
	CHECK(run_ip(&a, FQ_AGG_UNION, w, N(w)) == 192, "addresses grow by 192");
	fq_agg_final(FQ_AGG_UNION, st(&a), FQ_V_IP, &v);
	CHECK(v.t == FQ_V_SET_IP && v.set->n == 2 &&
	      ip_is(&v.set->ips[0], "10.0.0.1") && ip_is(&v.set->ips[1], "::1"),
	      "{10.0.0.1, ::1}");
	run_ip(&b, FQ_AGG_UNION, (const char *const[]){ "10.0.0.1", "::2" }, 2);
	merge(&a, &b);
	CHECK(st(&a)->set.n == 3 && ip_is(&st(&a)->set.ips[2], "::2"),
	      "address merge");
	fq_agg_fini(FQ_AGG_UNION, st(&a));
	fq_agg_fini(FQ_AGG_UNION, st(&b));
}

/* ---- vset ------------------------------------------------------------- */

static void
test_vset_int(void)
{
	struct fq_vset s;
	fq_vset_init(&s, FQ_V_INT);
	CHECK(s.n == 0 && fq_vset_heap(&s) == 0, "empty");
	CHECK(fq_vset_add_int(&s, 5) == 0 && fq_vset_add_int(&s, 1) == 0 &&
	      fq_vset_add_int(&s, 5) == 0 && fq_vset_add_int(&s, 3) == 0,
	      "adds");
	/* three distinct: in the header */
	CHECK(s.n == 3 && s.cap == 3 && s.ints == s.in.i, "inline 3");
	CHECK(fq_vset_heap(&s) == 0, "no heap");
	CHECK(fq_vset_add_int(&s, 1) == 0 && s.n == 3, "duplicate 1 dropped");
	CHECK(fq_vset_add_int(&s, 9) == 0 && s.cap == 8 &&
	      fq_vset_heap(&s) == 64, "fourth: 8 on the heap");
	for (int64_t v = 10; v < 15; v++)
		fq_vset_add_int(&s, v);           /* 9 elements */
	CHECK(s.n == 9 && s.cap == 16 && fq_vset_heap(&s) == 128, "then 16");
	fq_vset_add_int(&s, INT64_MIN);
	fq_vset_add_int(&s, INT64_MAX);
	static const int64_t want[] = { INT64_MIN, 1, 3, 5, 9, 10, 11, 12, 13,
					14, INT64_MAX };
	CHECK(set_is(&s, want, N(want)), "sorted, unique");
	for (size_t k = 0; k < N(want); k++)
		CHECK(fq_vset_has_int(&s, want[k]), "has %lld",
		      (long long)want[k]);
	CHECK(!fq_vset_has_int(&s, 2) && !fq_vset_has_int(&s, 15) &&
	      !fq_vset_has_int(&s, 0), "has not");
	fq_vset_fini(&s);
	CHECK(s.n == 0 && s.cap == 0 && s.elem == FQ_V_INT, "fini empties");
	CHECK(fq_vset_add_int(&s, 4) == 0 && s.n == 1 && s.ints == s.in.i,
	      "usable after fini");
	fq_vset_fini(&s);
}

static void
test_vset_ip(void)
{
	struct fq_vset s;
	fq_vset_init(&s, FQ_V_IP);
	struct fq_ip a = check_ip("::1"), b = check_ip("10.0.0.1"), c = check_ip("::"),
		     d = check_ip("255.255.255.255");
	fq_vset_add_ip(&s, &a);
	CHECK(s.n == 1 && s.cap == 1 && s.ips == s.in.ip &&
	      fq_vset_heap(&s) == 0, "one address inline");
	fq_vset_add_ip(&s, &a);
	CHECK(s.n == 1, "duplicate dropped");
	fq_vset_add_ip(&s, &b);
	CHECK(s.n == 2 && s.cap == 8 && fq_vset_heap(&s) == 8 * 24, "then 8");
	fq_vset_add_ip(&s, &c);
	fq_vset_add_ip(&s, &d);
	fq_vset_add_ip(&s, &b);
	/* IPv4 first: 10.0.0.1, 255.255.255.255, then ::, ::1 */
	CHECK(s.n == 4 && fq_ip_eq(&s.ips[0], &b) && fq_ip_eq(&s.ips[1], &d) &&
	      fq_ip_eq(&s.ips[2], &c) && fq_ip_eq(&s.ips[3], &a), "order");
	CHECK(fq_vset_has_ip(&s, &c) && fq_vset_has_ip(&s, &d), "has");
	struct fq_ip e = check_ip("10.0.0.2"), z4 = check_ip("0.0.0.0");
	CHECK(!fq_vset_has_ip(&s, &e) && !fq_vset_has_ip(&s, &z4),
	      "0.0.0.0 is not ::");
	fq_vset_fini(&s);
}

static void
test_vset_equal(void)
{
	struct fq_vset a, b, c, d;
	fq_vset_init(&a, FQ_V_INT);
	fq_vset_init(&b, FQ_V_INT);
	fq_vset_init(&c, FQ_V_INT);
	fq_vset_init(&d, FQ_V_IP);
	/* {1..6} in two orders, with duplicates: equal, same hash */
	for (int64_t v = 1; v <= 6; v++)
		fq_vset_add_int(&a, v);
	for (int64_t v = 6; v >= 1; v--) {
		fq_vset_add_int(&b, v);
		fq_vset_add_int(&b, v);
	}
	CHECK(fq_vset_equal(&a, &b) && fq_vset_hash(&a) == fq_vset_hash(&b),
	      "same elements");
	fq_vset_add_int(&c, 1);
	CHECK(!fq_vset_equal(&a, &c), "different sizes");
	for (int64_t v = 2; v <= 5; v++)
		fq_vset_add_int(&c, v);
	fq_vset_add_int(&c, 7);
	CHECK(!fq_vset_equal(&a, &c) && fq_vset_hash(&a) != fq_vset_hash(&c),
	      "same size, one element differs");
	struct fq_ip x = check_ip("0.0.0.1");
	fq_vset_add_ip(&d, &x);
	struct fq_vset one;
	fq_vset_init(&one, FQ_V_INT);
	fq_vset_add_int(&one, 1);
	CHECK(!fq_vset_equal(&one, &d), "{1} is not {0.0.0.1}");
	struct fq_vset e1, e2;
	fq_vset_init(&e1, FQ_V_INT);
	fq_vset_init(&e2, FQ_V_IP);
	CHECK(fq_vset_equal(&e1, &e1) && !fq_vset_equal(&e1, &e2),
	      "empty sets of different kinds");
	fq_vset_fini(&a);
	fq_vset_fini(&b);
	fq_vset_fini(&c);
	fq_vset_fini(&d);
	fq_vset_fini(&one);
}

static void
test_vset_add_all(void)
{
	struct fq_vset a, b;
	fq_vset_init(&a, FQ_V_INT);
	fq_vset_init(&b, FQ_V_INT);
	/* interleaved with common elements: {1 4 6 9} + {2 4 9 10 11} */
	const int64_t av[] = { 1, 4, 6, 9 }, bv[] = { 2, 4, 9, 10, 11 };
	for (size_t k = 0; k < N(av); k++)
		fq_vset_add_int(&a, av[k]);
	for (size_t k = 0; k < N(bv); k++)
		fq_vset_add_int(&b, bv[k]);
	CHECK(fq_vset_add_all(&a, &b) == 0, "add_all");
	CHECK(set_is(&a, (const int64_t[]){ 1, 2, 4, 6, 9, 10, 11 }, 7),
	      "interleaved (n %u)", (unsigned)a.n);
	CHECK(a.cap == 8, "grown once to 8");
	CHECK(fq_vset_add_all(&a, &b) == 0 && a.n == 7, "again: nothing new");
	CHECK(fq_vset_add_all(&a, &a) == 0 && a.n == 7, "itself");
	struct fq_vset e;
	fq_vset_init(&e, FQ_V_INT);
	CHECK(fq_vset_add_all(&a, &e) == 0 && a.n == 7, "empty from");
	CHECK(fq_vset_add_all(&e, &b) == 0 &&
	      set_is(&e, (const int64_t[]){ 2, 4, 9, 10, 11 }, 5),
	      "into an empty set");
	/* all smaller, all larger */
	struct fq_vset lo;
	fq_vset_init(&lo, FQ_V_INT);
	fq_vset_add_int(&lo, -5);
	fq_vset_add_int(&lo, 100);
	CHECK(fq_vset_add_all(&e, &lo) == 0 &&
	      set_is(&e, (const int64_t[]){ -5, 2, 4, 9, 10, 11, 100 }, 7),
	      "before and after");
	struct fq_vset ips;
	fq_vset_init(&ips, FQ_V_IP);
	struct fq_ip x = check_ip("::1");
	fq_vset_add_ip(&ips, &x);
	CHECK(fq_vset_add_all(&a, &ips) == -FQ_EINVAL && a.n == 7,
	      "numbers and addresses do not mix");
	fq_vset_fini(&a);
	fq_vset_fini(&b);
	fq_vset_fini(&e);
	fq_vset_fini(&lo);
	fq_vset_fini(&ips);
}

/* ---- agg:range ---------------------------------------------------------- */

/* range(x) = max - min, by hand: 7, -3, 12, 5 -> 12 - (-3) = 15; one
 * value -> 0; merge of (7, -3) and (12, 5) -> 15 again; of a part holding
 * the extremes and one inside them -> unchanged. */
static void
test_range(void)
{
	struct slot a, b;
	run_num(&a, FQ_AGG_RANGE, (const int64_t[]){ 7, -3, 12, 5 }, 4);
	CHECK(final_i(&a) == 15, "range of 7 -3 12 5: %lld",
	      (long long)final_i(&a));
	run_num(&a, FQ_AGG_RANGE, (const int64_t[]){ 42 }, 1);
	CHECK(final_i(&a) == 0, "range of one value");
	run_num(&a, FQ_AGG_RANGE, (const int64_t[]){ 7, -3 }, 2);
	run_num(&b, FQ_AGG_RANGE, (const int64_t[]){ 12, 5 }, 2);
	merge(&a, &b);
	CHECK(final_i(&a) == 15, "merged range: %lld", (long long)final_i(&a));
	run_num(&b, FQ_AGG_RANGE, (const int64_t[]){ 0 }, 1);
	merge(&a, &b);
	CHECK(final_i(&a) == 15, "a value inside changes nothing");
	run_num(&a, FQ_AGG_RANGE, (const int64_t[]){ 1335772141000,
						     1335772146000 }, 2);
	CHECK(final_i(&a) == 5000, "range of two times: a duration in ms");
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "table", test_table }, { "field", test_field },
		{ "first", test_first }, { "last", test_last },
		{ "sum", test_sum }, { "avg", test_avg }, { "count", test_count },
		{ "minmax", test_min }, { "bits", test_bits },
		{ "union", test_union }, { "vset-int", test_vset_int },
		{ "vset-ip", test_vset_ip }, { "vset-equal", test_vset_equal },
		{ "vset-add-all", test_vset_add_all }, { "range", test_range },
	};
	if (argc != 2)
		return 2;
	for (size_t k = 0; k < N(cases); k++)
		if (strcmp(argv[1], cases[k].name) == 0) {
			cases[k].fn();
			return failures ? 1 : 0;
		}
	return 2;
}
