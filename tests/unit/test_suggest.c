/*
 * test_suggest.c - unit tests of the one "did you mean" of flowq
 * (core/fq_suggest.h): the edit distance, the closeness limit, ties,
 * and the different-case hint.  Expected distances are counted by hand.
 *
 * Usage: test-suggest CASE   (suggest:CASE in meson)
 */
#include "fq_field.h"
#include "fq_suggest.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static size_t
dist(const char *a, const char *b)
{
	return fq_edit_distance(a, strlen(a), b, strlen(b));
}

static void
test_distance(void)
{
	CHECK(dist("tcp", "tcp") == 0, "equal");
	CHECK(dist("tpc", "tcp") == 1, "one swap of neighbours");
	CHECK(dist("prot", "port") == 1, "one swap");
	CHECK(dist("byts", "bytes") == 1, "one insertion");
	CHECK(dist("bytess", "bytes") == 1, "one deletion");
	CHECK(dist("bites", "bytes") == 1, "one substitution");
	CHECK(dist("", "abc") == 3 && dist("abc", "") == 3, "empty");
	CHECK(dist("ca", "abc") == 3, "no edit counted twice (OSA)");
	CHECK(dist("kitten", "sitting") == 3, "k->s, e->i, +g");
	char a[66], b[66];
	memset(a, 'x', 65);
	a[65] = '\0';
	memcpy(b, a, sizeof(b));
	CHECK(dist(a, b) == (size_t)-1, "longer than 64: never close");
	CHECK(fq_edit_distance(a, 64, b, 64) == 0, "64 is still measured");
}

static void
test_pick(void)
{
	static const char *const c[] = { "srcip", "dstip", "srcport", NULL };
	/* limit: a third of the name, at least 1, at most 3 */
	CHECK(fq_suggest("scrip", 5, c, N(c)) == c[0], "swap in srcip");
	CHECK(fq_suggest("xx", 2, c, N(c)) == NULL, "nothing close");
	CHECK(fq_suggest("dstpi", 5, c, N(c)) == c[1], "1 edit of 5");
	CHECK(fq_suggest("dsti", 4, c, N(c)) == c[1], "1 edit of 4");
	CHECK(fq_suggest("dxxip", 5, c, N(c)) == NULL, "2 edits of 5 > 1");
	CHECK(fq_suggest("srcpxxt", 7, c, N(c)) == c[2], "2 edits of 7 (o, r)");
	CHECK(fq_suggest("srcxxxt", 7, c, N(c)) == NULL, "3 edits of 7");
	/* never more than 3, however long the name */
	static const char *const l[] = { "abcdefghijkl" };
	CHECK(fq_suggest("abcdefghiXYZ", 12, l, 1) == l[0], "3 edits of 12");
	CHECK(fq_suggest("abcdefghWXYZ", 12, l, 1) == NULL, "4 edits of 12");
	/* ties: the first candidate wins */
	static const char *const t[] = { "ab", "ba" };
	CHECK(fq_suggest("aa", 2, t, 2) == t[0], "tie");
	/* a different case only is always a hint, even when far */
	static const char *const k[] = { "filter", "grouper" };
	CHECK(fq_suggest("GROUPER", 7, k, 2) == k[1], "case only");
	struct fq_suggest sg;
	fq_suggest_init(&sg, "GROUPER", 7);
	fq_suggest_add(&sg, k[0]);
	fq_suggest_add(&sg, NULL);
	fq_suggest_add(&sg, k[1]);
	CHECK(fq_suggest_result(&sg, 0) == NULL, "no case hint without the flag");
	CHECK(fq_suggest_result(&sg, FQ_SUGGEST_CASE) == k[1], "with it");
	CHECK(fq_suggest("x", 1, NULL, 0) == NULL, "no candidates");
}

static void
test_field(void)
{
	/* the field table's names and aliases, swaps counting one */
	const char *s = fq_field_suggest("scrip", 5);
	CHECK(s && strcmp(s, "srcip") == 0, "scrip -> %s", s ? s : "-");
	s = fq_field_suggest("port", 4);
	CHECK(s && strcmp(s, "prot") == 0, "port -> %s", s ? s : "-");
	s = fq_field_suggest("dPkt", 4);
	CHECK(s && strcmp(s, "dPkts") == 0, "aliases are candidates: %s",
	      s ? s : "-");
	CHECK(fq_field_suggest("SRCIP", 5) == NULL, "no case hint for fields");
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	if (strcmp(argv[1], "distance") == 0)
		test_distance();
	else if (strcmp(argv[1], "pick") == 0)
		test_pick();
	else if (strcmp(argv[1], "field") == 0)
		test_field();
	else
		return 2;
	return failures ? 1 : 0;
}
