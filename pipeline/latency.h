/*
 * latency.h - delivery latency of matches: a histogram of microseconds.
 *
 * Buckets are HDR-style: a power of two cut into four, so every value is
 * known to within a quarter of itself (p50 = 3.2 ms means 3.0-3.75 ms)
 * from 1 us to 2^40 us (twelve days), in 160 counters; the largest value
 * is kept exactly.  Quantiles are the upper bound of the bucket they fall
 * in: never below the truth.
 */
#ifndef FQ_LATENCY_H
#define FQ_LATENCY_H

#include <stdint.h>

#include "fq_out.h"

#define FQ_LAT_BUCKETS 160

struct fq_latency {
	uint64_t n;                    /* values counted */
	uint64_t sum_us;
	uint64_t max_us;
	uint32_t b[FQ_LAT_BUCKETS];    /* counts per bucket */
};

void fq_latency_add(struct fq_latency *l, uint64_t us);
/* The bucket of a value, and a bucket's upper bound (us, inclusive). */
unsigned fq_latency_bucket(uint64_t us);
uint64_t fq_latency_bound(unsigned bucket);
/* An upper bound of the q-quantile (0 < q <= 1); 0 when empty. */
uint64_t fq_latency_quantile(const struct fq_latency *l, double q);
/* `{"count":N,"p50_ms":..,"p99_ms":..,"max_ms":..,"buckets":[[le_ms,N],..]}`
 * (only buckets with values), or the text `count N p50 Xms p99 Yms max
 * Zms`. */
void fq_latency_print(const struct fq_latency *l, struct fq_out *o, int json);

/* Monotonic clock, ns. */
int64_t fq_latency_now_ns(void);
/* Wall clock, ms since the epoch. */
int64_t fq_latency_wall_ms(void);

#endif
