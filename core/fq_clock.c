/*
 * fq_clock.c - wall and monotonic time in milliseconds (see fq_clock.h).
 */
#include "fq_clock.h"

#include <time.h>

int64_t
fq_clock_ms(enum fq_clock which)
{
	struct timespec ts;
	clock_gettime(which == FQ_CLOCK_MONO ? CLOCK_MONOTONIC
					     : CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
