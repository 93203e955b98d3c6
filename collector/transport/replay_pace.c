/*
 * replay_pace.c - when a replayed datagram is due (see replay_pace.h).
 */
#include "replay_pace.h"
#include "fq_clock.h"

#include <string.h>

void
fq_pace_init(struct fq_pace *pc, double speed)
{
	memset(pc, 0, sizeof *pc);
	pc->speed = speed > 0 ? speed : 0;
}

int64_t
fq_pace_wait(struct fq_pace *pc, int64_t data_ms)
{
	if (pc->speed <= 0)
		return 0;
	int64_t now = fq_clock_ms(FQ_CLOCK_MONO);
	if (!pc->started) {
		pc->started = 1;
		pc->base_data_ms = data_ms;
		pc->base_mono_ms = now;
		return 0;
	}
	if (data_ms <= pc->base_data_ms)
		return 0;
	double due = (double)pc->base_mono_ms +
		     (double)(data_ms - pc->base_data_ms) / pc->speed;
	if (due <= (double)now)
		return 0;
	double w = due - (double)now;
	/* Never sleep longer than a day at a time (absurd gaps). */
	return w > 86400000.0 ? 86400000 : (int64_t)w + 1;
}
