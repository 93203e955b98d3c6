/*
 * latency.c - the latency histogram (latency.h).
 *
 * A value v >= 4 us falls in bucket 4 * (floor(log2 v) - 1) + (the two
 * bits below the top one); values 0-3 us have buckets of their own.  So
 * bucket k covers [lo(k), lo(k+1)) with lo(k) = (4 + k % 4) << (k / 4 - 1)
 * for k >= 4.
 */
#include "latency.h"

#include <time.h>

static uint64_t
bucket_lo(unsigned k)
{
	if (k < 4)
		return k;
	return (uint64_t)(4 + k % 4) << (k / 4 - 1);
}

unsigned
fq_latency_bucket(uint64_t us)
{
	if (us < 4)
		return (unsigned)us;
	unsigned top = 63 - (unsigned)__builtin_clzll(us);   /* >= 2 */
	unsigned k = 4 * (top - 1) + (unsigned)((us >> (top - 2)) & 3);
	return k < FQ_LAT_BUCKETS ? k : FQ_LAT_BUCKETS - 1;
}

uint64_t
fq_latency_bound(unsigned k)
{
	if (k + 1 >= FQ_LAT_BUCKETS)
		return UINT64_MAX;
	return bucket_lo(k + 1) - 1;
}

void
fq_latency_add(struct fq_latency *l, uint64_t us)
{
	l->n++;
	l->sum_us += us;
	if (us > l->max_us)
		l->max_us = us;
	l->b[fq_latency_bucket(us)]++;
}

uint64_t
fq_latency_quantile(const struct fq_latency *l, double q)
{
	if (l->n == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)l->n);
	if ((double)rank < q * (double)l->n)
		rank++;   /* ceiling: the rank-th smallest value */
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned k = 0; k < FQ_LAT_BUCKETS; k++) {
		seen += l->b[k];
		if (seen >= rank) {
			uint64_t hi = fq_latency_bound(k);
			return hi < l->max_us ? hi : l->max_us;
		}
	}
	return l->max_us;
}

static double
ms(uint64_t us)
{
	return (double)us / 1000.0;
}

void
fq_latency_print(const struct fq_latency *l, struct fq_out *o, int json)
{
	double p50 = ms(fq_latency_quantile(l, 0.5));
	double p99 = ms(fq_latency_quantile(l, 0.99));
	if (!json) {
		fq_out_printf(o, "count %llu p50 %.3fms p99 %.3fms max %.3fms",
			      (unsigned long long)l->n, p50, p99, ms(l->max_us));
		return;
	}
	fq_out_printf(o, "{\"count\":%llu,\"sum_ms\":%.3f,\"p50_ms\":%.3f,"
		      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"buckets\":[",
		      (unsigned long long)l->n, ms(l->sum_us), p50, p99,
		      ms(l->max_us));
	int first = 1;
	for (unsigned k = 0; k < FQ_LAT_BUCKETS; k++) {
		if (l->b[k] == 0)
			continue;
		uint64_t hi = fq_latency_bound(k);
		if (hi == UINT64_MAX)
			fq_out_printf(o, "%s[null,%u]", first ? "" : ",", l->b[k]);
		else
			fq_out_printf(o, "%s[%.3f,%u]", first ? "" : ",", ms(hi),
				      l->b[k]);
		first = 0;
	}
	fq_out_str(o, "]}");
}

int64_t
fq_latency_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fq_latency_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
