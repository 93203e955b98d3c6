/*
 * sink_exec.c - `--exec CMD`: every match's JSON line to a long-running
 * command's stdin (an alert hook; SPEC section 6).
 *
 * The command runs under /bin/sh -c with its stdin a pipe from flowq and
 * its stdout and stderr on flowq's stderr (so nothing it prints can mix
 * into the match output).  If it exits it is restarted after a second.
 * If it cannot keep up (more than FQ_EXEC_QUEUE_MAX bytes queued) or is
 * not running, lines are dropped and counted: the hook never blocks
 * ingest.
 *
 * libuv owns the child: uv_spawn() with a pipe on its stdin, an exit
 * callback that schedules a restart, and uv_write() for each queued line
 * (the write callback frees the copy and shrinks the queue count).  Lines
 * go through an fq_out in callback mode, flushed after every match so an
 * alert is not held back by buffering.
 *
 * The hook runs in a process group of its own (UV_PROCESS_DETACHED makes
 * the shell a session leader): /bin/sh may fork the command instead of
 * exec'ing it, so signalling the shell alone would leave the command
 * running.  Every signal goes to the whole group, and the group is
 * registered with fq_stop.h so that a second SIGTERM, which ends flowq
 * at once, kills it too.  At the end the hook has the grace period
 * (--grace) from the moment its stdin is closed -- or what is left of
 * it after a stop signal -- to exit; one second before the end (half
 * way for a grace under two seconds) its group gets SIGTERM, at the end
 * SIGKILL.  When the shell exits, what is left of its group gets SIGTERM
 * (SIGKILL when flowq is ending): nothing the hook started outlives it.
 */
#include "match_sink.h"
#include "fq_error.h"
#include "fq_log.h"
#include "fq_stop.h"

#include <stdio.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FQ_EXEC_QUEUE_MAX (8u << 20)

struct fq_exec_hook {
	struct fq_match_sink sink; /* first: the sink is the hook */
	uv_loop_t *loop;           /* borrowed */
	char *cmd;                 /* owned */
	uv_process_t proc;
	uv_pipe_t pipe;            /* child's stdin */
	uv_timer_t timer;          /* restart backoff and the closing grace */
	int64_t grace_ms;          /* --grace */
	int64_t kill_at_ms;        /* closing: SIGKILL due (uv_now) */
	int pgid;                  /* the running hook's group, 0 if none */
	int running;               /* child alive, pipe open */
	int proc_open, pipe_open;  /* handles initialised and not closed */
	int closing;               /* end of input */
	int started;               /* a child was started once */
	size_t queued;             /* bytes in flight to the child */
	uint64_t lines, sent, dropped, restarts, spawn_failures;
	struct fq_sink_pending cur;   /* the match being written */
	struct fq_out out;         /* callback mode, feeds queue_line() */
};

struct write_req {
	uv_write_t req;
	struct fq_exec_hook *h;
	struct fq_sink_pending m;  /* the match it carries */
	size_t len;
	char data[];
};

static void spawn_child(struct fq_exec_hook *h);
static void on_timer(uv_timer_t *t);

static void
kill_group(struct fq_exec_hook *h, int sig)
{
	if (h->pgid > 0)
		kill(-h->pgid, sig);
}

/*
 * Closing, the hook still running: SIGTERM to its group first, then
 * SIGKILL at the end of the grace period (the timer runs again for it).
 */
static void
kill_step(struct fq_exec_hook *h)
{
	uint64_t now = uv_now(h->loop);
	if ((int64_t)now < h->kill_at_ms) {
		fq_warn("--exec command still running at the end of input; "
			"sending SIGTERM to its process group");
		kill_group(h, SIGTERM);
		uv_timer_start(&h->timer, on_timer,
			       (uint64_t)(h->kill_at_ms - (int64_t)now), 0);
		return;
	}
	fq_warn("--exec command ignored SIGTERM; killing its process group");
	kill_group(h, SIGKILL);
	/* The exit callback follows; it closes the timer. */
}

static void
on_timer(uv_timer_t *t)
{
	struct fq_exec_hook *h = t->data;
	if (h->closing) {
		kill_step(h);
		return;
	}
	spawn_child(h);
}

static void
on_pipe_closed(uv_handle_t *p)
{
	struct fq_exec_hook *h = p->data;
	h->pipe_open = 0;
}

static void
close_pipe(struct fq_exec_hook *h)
{
	if (h->pipe_open && !uv_is_closing((uv_handle_t *)&h->pipe))
		uv_close((uv_handle_t *)&h->pipe, on_pipe_closed);
}

static void
on_proc_closed(uv_handle_t *p)
{
	struct fq_exec_hook *h = p->data;
	h->proc_open = 0;
	if (h->closing) {
		if (!uv_is_closing((uv_handle_t *)&h->timer))
			uv_close((uv_handle_t *)&h->timer, NULL);
		return;
	}
	/* Restart after a second: a command that dies at once must not spin. */
	uv_timer_start(&h->timer, on_timer, 1000, 0);
}

static void
on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	struct fq_exec_hook *h = p->data;
	h->running = 0;
	/* What the shell left behind goes with it (see the top). */
	kill_group(h, h->closing ? SIGKILL : SIGTERM);
	fq_stop_untrack_group(h->pgid);
	h->pgid = 0;
	if (!h->closing)
		fq_warn("--exec command exited (status %lld, signal %d); "
			"restarting it", (long long)status, sig);
	close_pipe(h);
	uv_close((uv_handle_t *)&h->proc, on_proc_closed);
}

static void
spawn_child(struct fq_exec_hook *h)
{
	if (h->proc_open || h->pipe_open)
		return;   /* previous child's handles still closing */
	uv_pipe_init(h->loop, &h->pipe, 0);
	h->pipe.data = h;
	h->pipe_open = 1;
	char *args[] = { "/bin/sh", "-c", h->cmd, NULL };
	uv_stdio_container_t stdio[3];
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&h->pipe;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = STDERR_FILENO;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = STDERR_FILENO;
	uv_process_options_t opt;
	memset(&opt, 0, sizeof opt);
	opt.file = "/bin/sh";
	opt.args = args;
	opt.exit_cb = on_child_exit;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	opt.flags = UV_PROCESS_DETACHED;   /* a group of its own: see the top */
	h->proc.data = h;
	int rc = uv_spawn(h->loop, &h->proc, &opt);
	if (rc < 0) {
		h->spawn_failures++;
		fq_error("--exec: cannot start '%s': %s", h->cmd, uv_strerror(rc));
		close_pipe(h);
		uv_close((uv_handle_t *)&h->proc, NULL);
		if (!h->closing)
			uv_timer_start(&h->timer, on_timer, 1000, 0);
		return;
	}
	h->proc_open = 1;
	h->running = 1;
	h->pgid = h->proc.pid;
	fq_stop_track_group(h->pgid);
	if (h->started)
		h->restarts++;
	h->started = 1;
}

static void
on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct fq_exec_hook *h = w->h;
	h->queued -= w->len;
	if (status < 0)
		fq_debug("--exec: write failed: %s", uv_strerror(status));
	if (status < 0) {
		h->dropped++;
	} else {
		h->sent++;
		fq_match_sink_delivered_one(&h->sink, w->m.qi, w->m.kind,
					    w->m.stamp_ns, fq_latency_now_ns());
	}
	free(w);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	struct fq_exec_hook *h = req->data;
	free(req);
	close_pipe(h);
}

/* One flush of the engine's fq_out: complete lines, one per match. */
static void
queue_bytes(void *ctx, const char *p, size_t n)
{
	struct fq_exec_hook *h = ctx;
	h->lines++;
	if (!h->running || h->closing || h->queued + n > FQ_EXEC_QUEUE_MAX) {
		h->dropped++;
		return;
	}
	struct write_req *w = malloc(sizeof *w + n);
	if (w == NULL) {
		h->dropped++;
		return;
	}
	memcpy(w->data, p, n);
	w->h = h;
	w->m = h->cur;
	w->len = n;
	uv_buf_t buf = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&h->pipe, &buf, 1, on_write) < 0) {
		h->dropped++;
		free(w);
		return;
	}
	h->queued += n;
}

static const struct fq_match_sink_ops exec_ops;

static int
exec_new(struct fq_exec_hook **out, uv_loop_t *loop, const char *cmd,
	 int64_t grace_ms)
{
	struct fq_exec_hook *h = calloc(1, sizeof *h);
	if (h == NULL)
		return -FQ_ENOMEM;
	h->cmd = strdup(cmd);
	if (h->cmd == NULL) {
		free(h);
		return -FQ_ENOMEM;
	}
	h->loop = loop;
	h->grace_ms = grace_ms;
	h->sink.ops = &exec_ops;
	h->sink.wants_records = 1;
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	/* The restart timer must not keep flowq alive on its own. */
	uv_unref((uv_handle_t *)&h->timer);
	fq_out_init_cb(&h->out, queue_bytes, h);
	spawn_child(h);
	*out = h;
	return 0;
}

/* One line per flush: the hook forwards it at once. */
static int
exec_write(struct fq_match_sink *s, const struct fq_match *m)
{
	struct fq_exec_hook *h = (struct fq_exec_hook *)s;
	h->cur = (struct fq_sink_pending){ m->stamp_ns, m->qi, m->kind };
	fq_match_write_json(m, &h->out);
	fq_out_flush(&h->out);
	return 0;
}

static int
exec_flush(struct fq_match_sink *s)
{
	(void)s;
	return 0;   /* every line went at once */
}

/*
 * The closing timer: the hook has until the end of the grace period
 * (whatever is left of it after a stop signal) to exit; kill_step()
 * sends SIGTERM a little before that and SIGKILL at the end.
 */
static void
arm_kill(struct fq_exec_hook *h)
{
	int64_t grace = fq_stop_requested() ? fq_stop_remaining_ms()
					    : h->grace_ms;
	if (grace == INT64_MAX)
		return;   /* --grace inf: wait as long as it takes */
	int64_t now = (int64_t)uv_now(h->loop);
	int64_t lead = grace >= 2000 ? 1000 : grace / 2;
	h->kill_at_ms = now + grace;
	uv_ref((uv_handle_t *)&h->timer);
	uv_timer_start(&h->timer, on_timer, (uint64_t)(grace - lead), 0);
}

/* EOF on the command's stdin once the queued lines are written. */
static void
shutdown_pipe(struct fq_exec_hook *h)
{
	uv_shutdown_t *req = malloc(sizeof *req);
	if (req == NULL) {
		close_pipe(h);
		return;
	}
	req->data = h;
	if (uv_shutdown(req, (uv_stream_t *)&h->pipe, on_shutdown) < 0) {
		free(req);
		close_pipe(h);
	}
}

/*
 * End of input: close the command's stdin once the queue has drained and
 * stop restarting it.  The loop runs until the command has exited or its
 * group is killed (arm_kill).
 */
static void
exec_close(struct fq_match_sink *s)
{
	struct fq_exec_hook *h = (struct fq_exec_hook *)s;
	if (h->closing)
		return;
	fq_out_flush(&h->out);
	h->closing = 1;
	uv_timer_stop(&h->timer);
	if (h->running && h->pipe_open)
		shutdown_pipe(h);
	else
		close_pipe(h);
	if (h->proc_open)
		arm_kill(h);
	else if (!uv_is_closing((uv_handle_t *)&h->timer))
		uv_close((uv_handle_t *)&h->timer, NULL);
}

static void
exec_free(struct fq_match_sink *s)
{
	struct fq_exec_hook *h = (struct fq_exec_hook *)s;
	kill_group(h, SIGKILL);   /* only if the loop ended with it alive */
	fq_stop_untrack_group(h->pgid);
	fq_match_sink_fini(s);
	free(h->cmd);
	free(h);
}

static void
exec_print_stats(struct fq_match_sink *s, struct fq_out *o, int json)
{
	struct fq_exec_hook *h = (struct fq_exec_hook *)s;
	if (json)
		fq_out_printf(o, "{\"lines\":%llu,\"sent\":%llu,\"dropped\":%llu,"
			      "\"restarts\":%llu,\"spawn_failures\":%llu}",
			      (unsigned long long)h->lines, (unsigned long long)h->sent,
			      (unsigned long long)h->dropped,
			      (unsigned long long)h->restarts,
			      (unsigned long long)h->spawn_failures);
	else
		fq_out_printf(o, "exec: lines %llu sent %llu dropped %llu "
			      "restarts %llu spawn_failures %llu\n",
			      (unsigned long long)h->lines, (unsigned long long)h->sent,
			      (unsigned long long)h->dropped,
			      (unsigned long long)h->restarts,
			      (unsigned long long)h->spawn_failures);
}

static const struct fq_match_sink_ops exec_ops = {
	.name = "exec",
	.write = exec_write,
	.flush = exec_flush,
	.close = exec_close,
	.print_stats = exec_print_stats,
	.free = exec_free,
};

static int
exec_create(const struct fq_sink_env *env, const char *arg,
	    struct fq_match_sink **out, char *why, size_t why_len)
{
	struct fq_exec_hook *h;
	if (exec_new(&h, env->loop, arg, env->grace_ms) < 0) {
		snprintf(why, why_len, "--exec: out of memory");
		return -FQ_ENOMEM;
	}
	*out = &h->sink;
	return 0;
}

const struct fq_sink_def fq_sink_exec_def = {
	.option = "exec",
	.arg = "CMD",
	.help = "also write each match's JSON line to CMD's stdin (an alert hook)",
	.create = exec_create,
};
