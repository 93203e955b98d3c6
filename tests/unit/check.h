/*
 * check.h - the unit tests' one assertion.  CHECK(cond, fmt, ...) counts
 * a failure, says where and why on stderr, and goes on, so that one run
 * shows every failing case; main() returns non-zero when `failures` is.
 * Each test program is one file and includes this once.
 */
#ifndef FQ_TEST_CHECK_H
#define FQ_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "fq_ip.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		failures++; \
	} \
} while (0)

/* An address from its text (a failure when it does not parse). */
static inline struct fq_ip
check_ip(const char *s)
{
	struct fq_ip a = { 0, 0, 0 };
	if (fq_ip_parse(s, strlen(s), &a) != 0) {
		fprintf(stderr, "cannot parse %s\n", s);
		failures++;
	}
	return a;
}

#endif
