/*
 * fq_sink.h - where decoded records go.
 *
 * Every source, live or replayed, ends in one sink: the query pipeline for
 * `flowq run`, a printer for `flowq print`.  Records arrive in batches, in
 * rec_id order, with rec_id already assigned by the ingest layer.
 */
#ifndef FQ_SINK_H
#define FQ_SINK_H

#include <stddef.h>

#include "fq_record.h"

struct fq_sink {
	/*
	 * Consume n records.  The array is only valid during the call: a
	 * sink that keeps records copies them.  Returns 0, or a negative
	 * FQ_E* code to make ingest stop (for instance when the output was
	 * closed): -FQ_ESTOP for a normal early stop.
	 */
	int (*records)(struct fq_sink *sink, const struct fq_record *recs,
		       size_t n);
	/*
	 * End of input: T becomes +infinity, everything is flushed.  Called
	 * exactly once, after the last records() call.
	 */
	int (*finish)(struct fq_sink *sink);
};

#endif
