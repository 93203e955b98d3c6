/*
 * sanity.c - anomalies: what is odd about a datagram or a record that is
 * decoded all the same, counted per exporter with a reason (enum
 * fq__anom), and the time window every decoded time is held against.
 *
 * Real exporters get header fields wrong (softflowd's v9 count leaves out
 * its templates), so a header count or length that disagrees with the
 * datagram's own structure is no reason to drop records whose sets parse;
 * and a time an exporter got wrong is no reason to drop a flow's other
 * fields.  docs/decoders.md ("Anomalies", "Times") says what each reason
 * does to the record.
 */
#include "decode.h"

#include <stdarg.h>
#include <stdio.h>

void
fq__anomaly(struct fq__dctx *c, enum fq__anom why, const char *fmt, ...)
{
	c->ex->anomalies[why]++;
	/*
	 * One message per datagram: an exporter whose clock is off makes
	 * every record anomalous, and formatting a message per record would
	 * cost more than decoding it (the counters have the numbers).
	 */
	if (c->anomaly_logged)
		return;
	c->anomaly_logged = 1;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char ip[FQ_IP_STRLEN];
	fq_ip_format(&c->ex->ip, ip);
	fq_log_rl(&c->d->rl, FQ_LOG_INFO,
		  "exporter %s port %u: %s (decoded all the same): %s", ip,
		  c->ex->port, fq__anom_names[why], msg);
}

int
fq__time_check(const struct fq__dctx *c, int64_t t)
{
	if (t < 0 || t > FQ__TIME_MAX)
		return FQ__ANOM_TIME_INVALID;
	if (t < FQ__TIME_MIN)
		return FQ__ANOM_TIME_PAST;
	/*
	 * Live, the arrival time is the clock; in a replay of a capture it is
	 * the packet's capture time, so "the future" is relative to when the
	 * capture was taken.  Without any arrival time (raw: files) there is
	 * no upper bound but the representable one.
	 */
	if (c->now_ms > 0) {
		int64_t skew = c->d->opts.max_skew_ms > 0
			       ? c->d->opts.max_skew_ms
			       : FQ__DEFAULT_MAX_SKEW_MS;
		if (skew < FQ__TIME_MAX && t > c->now_ms + skew)
			return FQ__ANOM_TIME_FUTURE;
	}
	return -1;
}

/*
 * A time that is not one (negative: e.g. a start computed as end minus a
 * duration longer than the end) cannot stay in the record: it becomes the
 * record's other time, or else `fallback` (the export time, never
 * negative).
 */
static void
settle_one(struct fq__dctx *c, int64_t *t, int64_t other, int64_t fallback,
	   const char *name)
{
	int why = fq__time_check(c, *t);
	if (why < 0)
		return;
	fq__anomaly(c, (enum fq__anom)why, "%s %lld ms", name, (long long)*t);
	if (why == FQ__ANOM_TIME_INVALID)
		*t = other >= 0 && other <= FQ__TIME_MAX ? other : fallback;
}

void
fq__times_settle(struct fq__dctx *c, struct fq_record *r, int64_t fallback)
{
	settle_one(c, &r->stime, r->etime, fallback, "stime");
	settle_one(c, &r->etime, r->stime, fallback, "etime");
	if (r->etime < r->stime) {
		fq__anomaly(c, FQ__ANOM_NEG_DURATION, "etime %lld ms before "
			    "stime %lld ms: etime set to stime",
			    (long long)r->etime, (long long)r->stime);
		r->etime = r->stime;
	}
}
