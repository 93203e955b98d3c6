/*
 * match_sink.c - what every match sink shares: the latency of delivery.
 *
 * A sink notes each match it takes (fq_match_sink_queued) and says when
 * what it holds has left it for the operating system -- a buffered file
 * when its buffer is written, the --exec hook when a line's write to the
 * pipe completes.  The time from the moment the record that completed
 * the match entered the engine to that moment goes into the query's
 * histogram for the sink (SPEC section 6: within 100 ms).  A buffer that
 * fills up and is written before a flush makes its matches look later
 * than they were, never earlier.
 */
#include "match_sink.h"

#include <stdlib.h>
#include <string.h>

/* Query qi's histogram of final (kind 0) or early (kind 1) matches. */
static struct fq_latency *
lat_of(struct fq_match_sink *s, uint32_t qi, int kind)
{
	size_t i = 2 * (size_t)qi + (kind != 0);
	if (i >= s->nlat) {
		size_t n = i + 1 > 2 * s->nlat ? i + 1 : 2 * s->nlat;
		struct fq_latency *v = realloc(s->lat, n * sizeof *v);
		if (v == NULL)
			return NULL;
		memset(v + s->nlat, 0, (n - s->nlat) * sizeof *v);
		s->lat = v;
		s->nlat = n;
	}
	return &s->lat[i];
}

void
fq_match_sink_queued(struct fq_match_sink *s, const struct fq_match *m)
{
	if (s->npend == s->cappend) {
		size_t n = s->cappend ? 2 * s->cappend : 64;
		struct fq_sink_pending *v = realloc(s->pend, n * sizeof *v);
		if (v == NULL)
			return;   /* its latency goes uncounted */
		s->pend = v;
		s->cappend = n;
	}
	s->pend[s->npend++] = (struct fq_sink_pending){ m->stamp_ns, m->qi,
							 m->kind };
}

void
fq_match_sink_delivered_one(struct fq_match_sink *s, uint32_t qi, int kind,
			    int64_t stamp_ns, int64_t now_ns)
{
	struct fq_latency *l = lat_of(s, qi, kind);
	if (l)
		fq_latency_add(l, now_ns > stamp_ns
			       ? (uint64_t)(now_ns - stamp_ns) / 1000 : 0);
}

void
fq_match_sink_delivered(struct fq_match_sink *s, int64_t now_ns)
{
	for (size_t i = 0; i < s->npend; i++)
		fq_match_sink_delivered_one(s, s->pend[i].qi, s->pend[i].kind,
					    s->pend[i].stamp_ns, now_ns);
	s->npend = 0;
}

const struct fq_latency *
fq_match_sink_latency(const struct fq_match_sink *s, uint32_t qi, int kind)
{
	size_t i = 2 * (size_t)qi + (kind != 0);
	return i < s->nlat ? &s->lat[i] : NULL;
}

void
fq_match_sink_fini(struct fq_match_sink *s)
{
	free(s->lat);
	free(s->pend);
	s->lat = NULL;
	s->pend = NULL;
	s->nlat = s->npend = s->cappend = 0;
}
