/*
 * loop.c - signal handling and the run of an ingest on the libuv loop.
 *
 * SIGINT/SIGTERM stop the input: every source reports done, the sink is
 * finished (everything is flushed and emitted) and uv_run() returns.  The
 * stop has a grace period (--grace, default 5 s): past it, a write that
 * cannot proceed is given up (core/fq_stop.h: a stdout whose reader never
 * reads must not hold flowq), and the --exec hook's process group is
 * killed.  These two signals have handlers of their own, not libuv's,
 * because flowq may be blocked in write() when they come, where the loop
 * would never see them: the handler records the deadline, arms SIGALRM
 * to interrupt a write still blocked at the deadline (the handlers are
 * installed without SA_RESTART), and wakes the loop (uv_async_send() is
 * async-signal-safe).  A second SIGINT or SIGTERM ends flowq at once
 * (exit status 128 + the signal), killing the hook's process group
 * first.  SIGHUP reopens output files (logrotate's convention) and never
 * ends flowq.
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
#include "fq_stop.h"
#include "service.h"
#include "metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* The stop's state, shared with the signal handler. */
static uv_async_t *volatile stop_async;
static int64_t stop_grace_ms = FQ_CLI_GRACE_MS;
static volatile sig_atomic_t stop_signum;
static struct fq_metrics *volatile stop_metrics;   /* /readyz: 503 */

struct loop_state {
	struct fq_ingest *ing;
	const struct fq_cli_loop_opts *opts;
	uv_signal_t sig_usr1, sig_hup;
	uv_async_t stop;       /* woken by the SIGINT/SIGTERM handler */
	uv_check_t watch;      /* closes the signal handles once input ends */
	uv_timer_t tick;       /* --stats-interval */
	uv_prepare_t idle;     /* flush before the loop waits */
	uv_timer_t flush;      /* flush while the loop is busy */
	uv_timer_t watchdog;   /* systemd's WatchdogSec= */
	uv_timer_t tpl_save;   /* --state-dir: save templates if changed */
	char tpl_path[4096];   /* --state-dir's DIR/templates, or "" */
	int watchdog_on;
	int closed;
};

void
fq_cli_print_stats(struct fq_ingest *ing, const struct fq_cli_loop_opts *opts)
{
	static struct fq_out err_out;
	fq_out_init(&err_out, STDERR_FILENO);
	fq_cli_write_stats(ing, opts, &err_out, opts->stats_json);
}

void
fq_cli_write_stats(struct fq_ingest *ing, const struct fq_cli_loop_opts *opts,
		   struct fq_out *o, int json)
{
	if (opts->extra_stats && json) {
		fq_out_str(o, "{\"ingest\":");
		/* fq_ingest_print_stats ends its object with a newline */
		fq_ingest_print_stats(ing, o, 1);
		if (o->len && o->buf[o->len - 1] == '\n')
			o->len--;
		fq_out_str(o, ",\"engine\":");
		opts->extra_stats(opts->extra_ctx, o, 1);
		if (o->len && o->buf[o->len - 1] == '\n')
			o->len--;
		fq_out_str(o, "}\n");
	} else {
		fq_ingest_print_stats(ing, o, json);
		if (opts->extra_stats)
			opts->extra_stats(opts->extra_ctx, o, json);
	}
	fq_out_flush(o);
}

int64_t
fq_cli_grace_ms(const struct fq_cli_loop_opts *opts)
{
	return opts->grace_set ? opts->grace_ms : FQ_CLI_GRACE_MS;
}

/* The loop thread's side of a stop (stop_handler below). */
static void
on_stop(uv_async_t *h)
{
	struct loop_state *st = h->data;
	fq_info("signal %d: stopping, flushing (grace %lld ms)", (int)stop_signum,
		(long long)stop_grace_ms);
	fq_service_stopping();
	fq_ingest_stop(st->ing);
}

/* SIGINT, SIGTERM: async-signal-safe calls only. */
static void
stop_handler(int signum)
{
	if (!fq_stop_request(stop_grace_ms))
		fq_stop_now(128 + signum);   /* the second one: not a word
					      * (stderr may be stuck too) */
	stop_signum = signum;
	fq_metrics_ready(stop_metrics, 0);   /* an atomic store: safe here,
					      * and the loop may be blocked */
	if (stop_grace_ms != INT64_MAX) {
		/* Interrupt a write still blocked at the deadline, and every
		 * 100 ms after: each finds the grace over and gives up. */
		struct itimerval it = {
			.it_interval = { 0, 100000 },
			.it_value = { (time_t)(stop_grace_ms / 1000),
				      (suseconds_t)(stop_grace_ms % 1000 * 1000) },
		};
		if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	if (stop_async)
		uv_async_send(stop_async);
}

static void
alarm_handler(int signum)
{
	(void)signum;   /* only interrupts a blocked system call */
}

/*
 * Installed for the rest of the process, not just the loop: the --exec
 * hook is waited for and the outputs are closed after uv_run() returns,
 * and a second signal must still end flowq at once (and kill the hook's
 * group) then.
 */
static void
stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = stop_handler;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = alarm_handler;
	sigaction(SIGALRM, &sa, NULL);
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
	fq_service_reloading();
	fq_ingest_reopen(st->ing);
	if (st->opts->reopen)
		st->opts->reopen(st->opts->out_ctx);
	fq_service_ready(NULL);
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

/* The --metrics endpoint's rendering, on the loop thread (metrics.h). */
static void
metrics_stats(void *ctx, struct fq_out *o)
{
	struct loop_state *st = ctx;
	fq_cli_write_stats(st->ing, st->opts, o, 1);
}

static void
close_handles(struct loop_state *st)
{
	if (st->closed)
		return;
	st->closed = 1;
	fq_metrics_detach(st->opts->metrics);
	if (st->opts->at_end)
		st->opts->at_end(st->opts->at_end_ctx);
	stop_async = NULL;
	stop_metrics = NULL;
	uv_close((uv_handle_t *)&st->stop, NULL);
	uv_close((uv_handle_t *)&st->sig_usr1, NULL);
	uv_close((uv_handle_t *)&st->sig_hup, NULL);
	uv_close((uv_handle_t *)&st->watch, NULL);
	uv_close((uv_handle_t *)&st->tick, NULL);
	uv_close((uv_handle_t *)&st->idle, NULL);
	uv_close((uv_handle_t *)&st->flush, NULL);
	if (st->watchdog_on)
		uv_close((uv_handle_t *)&st->watchdog, NULL);
	if (st->tpl_path[0])
		uv_close((uv_handle_t *)&st->tpl_save, NULL);
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

static int64_t
wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Save the templates if they changed (force: in any case). */
static void
templates_save(struct loop_state *st, int force)
{
	char why[512];
	if (fq_ingest_templates_save(st->ing, st->tpl_path, force, wall_ms(),
				     why, sizeof why) < 0)
		fq_warn("--state-dir: %s", why);
}

static void
on_tpl_save(uv_timer_t *t)
{
	templates_save(t->data, 0);
}

/*
 * --state-dir: the directory made if missing, templates kept by the
 * decoder, restored from the last run (a file that cannot be used is
 * said and ignored: collecting matters more), then saved every
 * FQ_CLI_TPL_SAVE_MS when they changed, and at the end.
 */
static void
templates_start(uv_loop_t *loop, struct loop_state *st)
{
	const char *dir = st->opts->state_dir;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		fq_warn("--state-dir %s: %s", dir, strerror(errno));
	snprintf(st->tpl_path, sizeof st->tpl_path, "%s/templates", dir);
	st->ing->decoder_opts.keep_templates = 1;
	char why[512];
	if (fq_ingest_templates_restore(st->ing, st->tpl_path, wall_ms(), why,
					sizeof why) < 0)
		fq_warn("--state-dir: %s: ignored, templates are learnt "
			"afresh", why);
	uv_timer_init(loop, &st->tpl_save);
	st->tpl_save.data = st;
	uv_timer_start(&st->tpl_save, on_tpl_save, FQ_CLI_TPL_SAVE_MS,
		       FQ_CLI_TPL_SAVE_MS);
	uv_unref((uv_handle_t *)&st->tpl_save);
}

/*
 * Sources are bound: drop root (--user), then tell a service manager we
 * are ready and start its watchdog.  0, or -FQ_EINVAL (said).
 */
static int
become_service(uv_loop_t *loop, struct loop_state *st)
{
	char why[256];
	if (st->opts->user &&
	    fq_service_drop_privileges(st->opts->user, why, sizeof why) < 0) {
		fq_error("%s", why);
		return -FQ_EINVAL;
	}
	st->watchdog_on = fq_service_watchdog_start(loop, &st->watchdog);
	fq_service_ready("collecting");
	fq_info("ready: every source is open");
	return 0;
}

int
fq_cli_loop_run(uv_loop_t *loop, struct fq_ingest *ing,
		const struct fq_cli_loop_opts *opts)
{
	struct loop_state st = { .ing = ing, .opts = opts };
	signal(SIGPIPE, SIG_IGN);   /* write errors are reported by fq_out */
	uv_async_init(loop, &st.stop, on_stop);
	st.stop.data = &st;
	uv_unref((uv_handle_t *)&st.stop);
	stop_grace_ms = fq_cli_grace_ms(opts);
	stop_async = &st.stop;
	stop_signals();
	uv_signal_init(loop, &st.sig_usr1);
	uv_signal_init(loop, &st.sig_hup);
	uv_check_init(loop, &st.watch);
	st.sig_usr1.data = &st;
	st.sig_hup.data = &st;
	st.watch.data = &st;
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

	if (opts->metrics)
		fq_metrics_attach(opts->metrics, loop, metrics_stats, &st);
	stop_metrics = opts->metrics;
	if (opts->state_dir)
		templates_start(loop, &st);
	int rc = fq_ingest_start(ing);
	if (rc == 0)
		rc = become_service(loop, &st);
	if (rc < 0)
		fq_ingest_stop(ing);
	fq_metrics_ready(opts->metrics, rc == 0 && !ing->finished &&
			 !fq_stop_requested());
	if (ing->finished)
		close_handles(&st);
	uv_run(loop, UV_RUN_DEFAULT);
	close_handles(&st);
	uv_run(loop, UV_RUN_NOWAIT);
	if (st.tpl_path[0])
		templates_save(&st, 1);

	if (opts->stats)
		fq_cli_print_stats(ing, opts);
	if (rc < 0 && ing->status == 0)
		ing->status = rc;
	return ing->status < 0 ? 1 : 0;
}
