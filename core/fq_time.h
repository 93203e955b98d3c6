/*
 * fq_time.h - millisecond timestamps: RFC 3339 text and duration parsing.
 */
#ifndef FQ_TIME_H
#define FQ_TIME_H

#include <stddef.h>
#include <stdint.h>

/* "2012-04-30T07:49:01.123Z" is 24 bytes; room for years past 9999. */
#define FQ_TIME_STRLEN 32

/*
 * Write ms-since-epoch as RFC 3339 UTC with milliseconds
 * ("YYYY-MM-DDThh:mm:ss.mmmZ").  Returns the length (no NUL counted).
 * Pure arithmetic (no gmtime, no time zone lookups): it is called twice
 * per printed record.
 */
size_t fq_time_format(int64_t ms, char *buf);

/* Days since 1970-01-01 to civil date (proleptic Gregorian). */
void fq_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/*
 * A duration with a unit: "500ms", "90s", "90sec", "5min", "1h", "0" or
 * "inf" (INT64_MAX).  Bare numbers other than 0 are refused: on a command
 * line "900" is as likely meant in seconds as in milliseconds.  0 or
 * -FQ_EINVAL.
 */
int fq_time_parse_duration(const char *s, int64_t *ms);

#endif
