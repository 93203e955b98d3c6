/*
 * replay.c - the life of a replay source: idle handle, --speed timer, stop
 * and finish (see replay.h).
 *
 * The handles are initialised only when the input has opened (a source
 * that fails to start has nothing to close), and closed by close() after
 * done, like every source's.
 */
#include "replay.h"
#include "fq_ingest.h"

static void
idle_cb(uv_idle_t *h)
{
	struct fq__replay *r = h->data;
	if (r->stopping) {
		fq__replay_finish(r);
		return;
	}
	r->rops->step(r);
}

/* A paced datagram is due: read on. */
static void
timer_cb(uv_timer_t *t)
{
	struct fq__replay *r = t->data;
	r->timer_active = 0;
	if (r->stopping) {
		fq__replay_finish(r);
		return;
	}
	uv_idle_start(&r->idle, idle_cb);
	r->idle_active = 1;
}

void
fq__replay_init(struct fq__replay *r, const struct fq__replay_ops *rops,
		const struct fq_source_opts *opts)
{
	r->rops = rops;
	r->speed = opts->replay_speed > 0 ? opts->replay_speed : 0;
}

void
fq__replay_run(struct fq__replay *r)
{
	uv_loop_t *loop = r->base.ingest->loop;
	fq_pace_init(&r->pace, r->speed);
	uv_idle_init(loop, &r->idle);
	r->idle.data = r;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	r->handles = 1;
	uv_idle_start(&r->idle, idle_cb);
	r->idle_active = 1;
}

void
fq__replay_wait(struct fq__replay *r, int64_t ms)
{
	uv_idle_stop(&r->idle);
	r->idle_active = 0;
	uv_timer_start(&r->timer, timer_cb, (uint64_t)ms, 0);
	r->timer_active = 1;
}

int
fq__replay_deliver(struct fq__replay *r, struct fq_record *batch,
		   size_t *pos, size_t n)
{
	size_t end = n;
	int64_t wait = 0;
	if (r->pace.speed > 0) {
		for (end = *pos; end < n; end++) {
			wait = fq_pace_wait(&r->pace, batch[end].arrival);
			if (wait > 0)
				break;
		}
	}
	if (end > *pos) {
		/* On a sink error the ingest has called our stop(). */
		fq_ingest_records(r->base.ingest, batch + *pos, end - *pos);
		*pos = end;
	}
	if (wait > 0 && !r->stopping) {
		fq__replay_wait(r, wait);
		return 1;
	}
	return 0;
}

void
fq__replay_finish(struct fq__replay *r)
{
	if (r->base.done)
		return;
	if (r->idle_active) {
		uv_idle_stop(&r->idle);
		r->idle_active = 0;
	}
	if (r->timer_active) {
		uv_timer_stop(&r->timer);
		r->timer_active = 0;
	}
	r->rops->release(r);
	fq_source_done(&r->base, r->status);
}

void
fq__replay_stop(struct fq_source *src)
{
	struct fq__replay *r = (struct fq__replay *)src;
	r->stopping = 1;
	/*
	 * Running: the next idle callback finishes.  Waiting on the timer (or
	 * never started): nothing will call us back, finish now.
	 */
	if (!r->idle_active)
		fq__replay_finish(r);
}

void
fq__replay_close(struct fq_source *src)
{
	struct fq__replay *r = (struct fq__replay *)src;
	if (r->handles && !uv_is_closing((uv_handle_t *)&r->idle)) {
		uv_close((uv_handle_t *)&r->idle, NULL);
		uv_close((uv_handle_t *)&r->timer, NULL);
	}
}
