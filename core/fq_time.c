/*
 * fq_time.c - RFC 3339 formatting of millisecond timestamps.
 *
 * The date conversion is the standard days-to-civil computation on 400-year
 * eras, written out here so that formatting needs neither libc time zone
 * state nor a system call.
 */
#include "fq_time.h"
#include "fq_error.h"

#include <stdlib.h>
#include <string.h>

void
fq_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static char *
put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in Unix ms. */
#define FQ_TIME_FIRST (-62167219200000LL)
#define FQ_TIME_LAST 253402300799999LL

size_t
fq_time_format(int64_t ms, char *buf)
{
	/*
	 * RFC 3339 has four-digit years only: a time outside them is clamped
	 * to the first or last millisecond it can say, never printed with a
	 * minus sign or a fifth digit that a reader would take for another
	 * date.  Decoded records never carry one (docs/decoders.md, "Times");
	 * computed values might.
	 */
	if (ms < FQ_TIME_FIRST)
		ms = FQ_TIME_FIRST;
	if (ms > FQ_TIME_LAST)
		ms = FQ_TIME_LAST;
	int64_t days = ms / 86400000;
	int64_t rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	int64_t y;
	unsigned mo, d;
	fq_civil_from_days(days, &y, &mo, &d);
	unsigned msec = (unsigned)(rem % 1000);
	unsigned sec = (unsigned)(rem / 1000);
	char *p = buf;
	p = put2(p, (unsigned)(y / 100));
	p = put2(p, (unsigned)(y % 100));
	*p++ = '-';
	p = put2(p, mo);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, sec / 3600);
	*p++ = ':';
	p = put2(p, sec / 60 % 60);
	*p++ = ':';
	p = put2(p, sec % 60);
	*p++ = '.';
	*p++ = (char)('0' + msec / 100);
	p = put2(p, msec % 100);
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}

int
fq_time_parse_duration(const char *s, int64_t *ms)
{
	if (!strcmp(s, "inf")) {
		*ms = INT64_MAX;
		return 0;
	}
	char *end;
	if (*s < '0' || *s > '9')
		return -FQ_EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	static const struct { const char *unit; int64_t mul; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "sec", 1000 }, { "min", 60000 },
		{ "h", 3600000 },
	};
	if (*end == '\0')
		return v == 0 ? (*ms = 0, 0) : -FQ_EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > (unsigned long long)(INT64_MAX / units[i].mul))
			return -FQ_EINVAL;
		*ms = (int64_t)v * units[i].mul;
		return 0;
	}
	return -FQ_EINVAL;
}
