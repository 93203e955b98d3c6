/*
 * replay_pace.h - replay pacing (--speed X).
 *
 * Replay sources deliver a datagram (or flow-tools record) whose data
 * time (capture time, or export header time for raw:/ipfix:/flow-tools)
 * lies t ms after the first one's at t / X ms after they started, on the
 * monotonic clock.  Speed 0 (the default) replays as fast as possible.
 * The first datagram of a file sets the origin; data time going backwards
 * is delivered at once.
 */
#ifndef FQ_REPLAY_PACE_H
#define FQ_REPLAY_PACE_H

#include <stdint.h>

struct fq_pace {
	double speed;               /* 0: no pacing */
	int started;
	int64_t base_data_ms;       /* data time of the first datagram */
	int64_t base_mono_ms;       /* monotonic clock then */
};

/* Pacing at `speed` times the data pace (0 or less: none). */
void fq_pace_init(struct fq_pace *pc, double speed);
/* Milliseconds to wait before delivering a datagram of data time t. */
int64_t fq_pace_wait(struct fq_pace *pc, int64_t data_ms);

#endif
