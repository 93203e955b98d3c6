/*
 * loop.c - signal handling and the run of an ingest on the libuv loop.
 *
 * Signals are libuv signal handles, so they are delivered on the loop
 * thread between batches: SIGINT/SIGTERM call fq_ingest_stop(), after
 * which every source reports done, the sink is finished (everything is
 * flushed and emitted) and uv_run() returns.  A second SIGINT while
 * stopping is ignored rather than killing a flush in progress.
 */
#include "loop.h"
#include "fq_error.h"
#include "fq_log.h"
#include "fq_out.h"

#include <signal.h>
#include <unistd.h>

struct loop_state {
	struct fq_ingest *ing;
	const struct fq_cli_loop_opts *opts;
	uv_signal_t sig_int, sig_term, sig_usr1;
	uv_check_t watch;      /* closes the signal handles once input ends */
	uv_timer_t tick;       /* --stats-interval */
	int closed;
};

void
fq_cli_print_stats(struct fq_ingest *ing, const struct fq_cli_loop_opts *opts)
{
	static struct fq_out err_out;
	int json = opts->stats_json;
	fq_out_init(&err_out, STDERR_FILENO);
	if (opts->extra_stats && json) {
		fq_out_str(&err_out, "{\"ingest\":");
		/* fq_ingest_print_stats ends its object with a newline */
		fq_ingest_print_stats(ing, &err_out, 1);
		if (err_out.len && err_out.buf[err_out.len - 1] == '\n')
			err_out.len--;
		fq_out_str(&err_out, ",\"engine\":");
		opts->extra_stats(opts->extra_ctx, &err_out, 1);
		if (err_out.len && err_out.buf[err_out.len - 1] == '\n')
			err_out.len--;
		fq_out_str(&err_out, "}\n");
	} else {
		fq_ingest_print_stats(ing, &err_out, json);
		if (opts->extra_stats)
			opts->extra_stats(opts->extra_ctx, &err_out, json);
	}
	fq_out_flush(&err_out);
}

static void
on_stop_signal(uv_signal_t *h, int signum)
{
	struct loop_state *st = h->data;
	fq_info("signal %d: stopping, flushing", signum);
	fq_ingest_stop(st->ing);
}

static void
on_usr1(uv_signal_t *h, int signum)
{
	(void)signum;
	struct loop_state *st = h->data;
	fq_cli_print_stats(st->ing, st->opts);
}

static void
on_tick(uv_timer_t *t)
{
	struct loop_state *st = t->data;
	fq_cli_print_stats(st->ing, st->opts);
}

static void
close_handles(struct loop_state *st)
{
	if (st->closed)
		return;
	st->closed = 1;
	if (st->opts->at_end)
		st->opts->at_end(st->opts->at_end_ctx);
	uv_close((uv_handle_t *)&st->sig_int, NULL);
	uv_close((uv_handle_t *)&st->sig_term, NULL);
	uv_close((uv_handle_t *)&st->sig_usr1, NULL);
	uv_close((uv_handle_t *)&st->watch, NULL);
	uv_close((uv_handle_t *)&st->tick, NULL);
}

/* After every loop iteration: once input has ended, release our handles
 * so that uv_run() can return. */
static void
on_check(uv_check_t *h)
{
	struct loop_state *st = h->data;
	if (st->ing->finished)
		close_handles(st);
}

int
fq_cli_loop_run(uv_loop_t *loop, struct fq_ingest *ing,
		const struct fq_cli_loop_opts *opts)
{
	struct loop_state st = { .ing = ing, .opts = opts };
	signal(SIGPIPE, SIG_IGN);   /* write errors are reported by fq_out */
	uv_signal_init(loop, &st.sig_int);
	uv_signal_init(loop, &st.sig_term);
	uv_signal_init(loop, &st.sig_usr1);
	uv_check_init(loop, &st.watch);
	st.sig_int.data = st.sig_term.data = st.sig_usr1.data = &st;
	st.watch.data = &st;
	uv_signal_start(&st.sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&st.sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&st.sig_usr1, on_usr1, SIGUSR1);
	uv_check_start(&st.watch, on_check);
	uv_timer_init(loop, &st.tick);
	st.tick.data = &st;
	if (opts->stats_interval_ms) {
		uv_timer_start(&st.tick, on_tick, opts->stats_interval_ms,
			       opts->stats_interval_ms);
		/* Counters alone must not keep flowq running. */
		uv_unref((uv_handle_t *)&st.tick);
	}
	/* The signal handles must not keep the loop alive by themselves. */
	uv_unref((uv_handle_t *)&st.sig_usr1);

	int rc = fq_ingest_start(ing);
	if (rc < 0)
		fq_ingest_stop(ing);
	if (ing->finished)
		close_handles(&st);
	uv_run(loop, UV_RUN_DEFAULT);
	close_handles(&st);
	uv_run(loop, UV_RUN_NOWAIT);

	if (opts->stats)
		fq_cli_print_stats(ing, opts);
	if (rc < 0 && ing->status == 0)
		ing->status = rc;
	return ing->status < 0 ? 1 : 0;
}
