/*
 * loop.c - signal handling and the run of an ingest on the libuv loop.
 *
 * Signals are libuv signal handles, so they are delivered on the loop
 * thread between batches: SIGINT/SIGTERM call fq_ingest_stop(), after
 * which every source reports done, the sink is finished (everything is
 * flushed and emitted) and uv_run() returns.  A second SIGINT while
 * stopping is ignored rather than killing a flush in progress.  SIGHUP
 * reopens output files (logrotate's convention) and never ends flowq.
 *
 * Delivery (SPEC section 6): output is buffered for speed, but never
 * held: it is handed to the operating system whenever the loop is about
 * to wait for input (a prepare handle, when the poll would block) and,
 * while the loop is busy -- a replay, a flood -- every FQ_CLI_FLUSH_MS.
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
	uv_signal_t sig_int, sig_term, sig_usr1, sig_hup;
	uv_check_t watch;      /* closes the signal handles once input ends */
	uv_timer_t tick;       /* --stats-interval */
	uv_prepare_t idle;     /* flush before the loop waits */
	uv_timer_t flush;      /* flush while the loop is busy */
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
on_hup(uv_signal_t *h, int signum)
{
	(void)signum;
	struct loop_state *st = h->data;
	fq_ingest_reopen(st->ing);
	if (st->opts->reopen)
		st->opts->reopen(st->opts->out_ctx);
}

/* Every output to the operating system: the run's or print's, and the
 * --record capture. */
static void
flush_all(struct loop_state *st)
{
	fq_ingest_flush(st->ing);
	if (st->opts->flush)
		st->opts->flush(st->opts->out_ctx);
}

/* Before the poll: if it is going to wait, nothing is coming soon. */
static void
on_prepare(uv_prepare_t *p)
{
	struct loop_state *st = p->data;
	if (uv_backend_timeout(p->loop) != 0)
		flush_all(st);
}

static void
on_flush_timer(uv_timer_t *t)
{
	flush_all(t->data);
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
	uv_close((uv_handle_t *)&st->sig_hup, NULL);
	uv_close((uv_handle_t *)&st->watch, NULL);
	uv_close((uv_handle_t *)&st->tick, NULL);
	uv_close((uv_handle_t *)&st->idle, NULL);
	uv_close((uv_handle_t *)&st->flush, NULL);
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
	uv_signal_init(loop, &st.sig_hup);
	uv_check_init(loop, &st.watch);
	st.sig_int.data = st.sig_term.data = st.sig_usr1.data = &st;
	st.sig_hup.data = &st;
	st.watch.data = &st;
	uv_signal_start(&st.sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&st.sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&st.sig_usr1, on_usr1, SIGUSR1);
	uv_signal_start(&st.sig_hup, on_hup, SIGHUP);
	uv_prepare_init(loop, &st.idle);
	uv_timer_init(loop, &st.flush);
	st.idle.data = st.flush.data = &st;
	uv_prepare_start(&st.idle, on_prepare);
	uv_timer_start(&st.flush, on_flush_timer, FQ_CLI_FLUSH_MS,
		       FQ_CLI_FLUSH_MS);
	/* Neither keeps flowq running by itself. */
	uv_unref((uv_handle_t *)&st.idle);
	uv_unref((uv_handle_t *)&st.flush);
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
	uv_unref((uv_handle_t *)&st.sig_hup);

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
