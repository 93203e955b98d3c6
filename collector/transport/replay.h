/*
 * replay.h - the life of a replay source (flow-tools, pcap, raw:, ipfix:),
 * written once for all of them.
 *
 * A replay source runs on the loop from a uv_idle_t: each loop iteration
 * calls its step(), which delivers a bounded chunk, so signals and live
 * sockets on the same loop stay served during a long replay.  With
 * --speed, a datagram that is not due yet stays where it is and the idle
 * handle gives way to a uv_timer_t until it is (fq__replay_wait).  A stop
 * request (SIGINT, sink error) is only noted: the source finishes from the
 * loop, never from inside a callback chain that may still be using its
 * reader.  fq__replay_finish() releases the input and reports done exactly
 * once.
 */
#ifndef FQ_REPLAY_H
#define FQ_REPLAY_H

#include <stdint.h>
#include <uv.h>

#include "fq_source.h"
#include "replay_pace.h"

struct fq__replay;

struct fq__replay_ops {
	/*
	 * One loop iteration of work.  It ends the input with
	 * fq__replay_finish() or pauses with fq__replay_wait(); it must check
	 * r->stopping after each delivery (delivery can trigger a stop).
	 */
	void (*step)(struct fq__replay *r);
	/* Release the input (file, reader, parser); called once by finish. */
	void (*release)(struct fq__replay *r);
};

struct fq__replay {
	struct fq_source base;          /* first: a replay source is a source */
	const struct fq__replay_ops *rops;
	uv_idle_t idle;
	uv_timer_t timer;               /* --speed: the next one is not due */
	struct fq_pace pace;
	double speed;                   /* --speed, 0 = as fast as possible */
	int handles;                    /* idle and timer initialised */
	int idle_active;
	int timer_active;
	int stopping;                   /* stop asked: finish from the loop */
	int status;                     /* 0 or -FQ_E*, given to done */
};

/*
 * For the kind's constructor, after fq__source_alloc(): its ops and the
 * --speed of its options.
 */
void fq__replay_init(struct fq__replay *r, const struct fq__replay_ops *rops,
		     const struct fq_source_opts *opts);

/* For start(), once the input is open: run step() from the loop. */
void fq__replay_run(struct fq__replay *r);

/* Pause step() for `ms` milliseconds (a paced datagram is not due). */
void fq__replay_wait(struct fq__replay *r, int64_t ms);

/*
 * Hand records batch[*pos .. n) to the ingest, as many as are due:
 * without --speed all of them; with it, those whose arrival has come,
 * and a timer for the next (*pos advances past what was handed).
 * Returns 1 when it had to wait.  For record-level kinds (ft:, store:).
 */
struct fq_record;
int fq__replay_deliver(struct fq__replay *r, struct fq_record *batch,
		       size_t *pos, size_t n);

/* End of the input (or a stop): release it and report done, once. */
void fq__replay_finish(struct fq__replay *r);

/* fq_source_ops.stop and .close of every replay source. */
void fq__replay_stop(struct fq_source *src);
void fq__replay_close(struct fq_source *src);

#endif
