/*
 * fq_clock.h - the two clocks flowq reads, in milliseconds.
 *
 * The wall clock stamps live datagrams with their arrival time (records
 * carry absolute times, so arrival must be on the same scale); the
 * monotonic clock measures intervals (log rate limits, replay pacing) and
 * must not jump when the wall clock is set.
 */
#ifndef FQ_CLOCK_H
#define FQ_CLOCK_H

#include <stdint.h>

enum fq_clock {
	FQ_CLOCK_WALL,          /* ms since the Unix epoch (CLOCK_REALTIME) */
	FQ_CLOCK_MONO,          /* ms since an arbitrary start (CLOCK_MONOTONIC) */
};

/* The clock's current value in whole milliseconds. */
int64_t fq_clock_ms(enum fq_clock which);

#endif
