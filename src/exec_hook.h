/*
 * exec_hook.h - `--exec CMD`: matches to a long-running command's stdin.
 *
 * The command runs under /bin/sh -c with its stdin a pipe from flowq and
 * its stdout and stderr on flowq's stderr (so nothing it prints can mix
 * into the match output).  Each match's JSON line is queued to it.  If it
 * exits it is restarted after a second.  If it cannot keep up (more than
 * FQ_EXEC_QUEUE_MAX bytes queued) or is not running, lines are dropped and
 * counted: the hook never blocks ingest.
 */
#ifndef FQ_EXEC_HOOK_H
#define FQ_EXEC_HOOK_H

#include <stdint.h>
#include <uv.h>

#include "fq_out.h"

#define FQ_EXEC_QUEUE_MAX (8u << 20)

struct fq_exec_hook;

/* Start CMD on loop; returns 0 or -FQ_E*.  *out owned by the caller. */
int fq_exec_hook_new(struct fq_exec_hook **out, uv_loop_t *loop,
		     const char *cmd);
/* An fq_out that feeds the hook; the engine writes one line per match. */
struct fq_out *fq_exec_hook_out(struct fq_exec_hook *h);
/*
 * End of input: close the command's stdin once the queue has drained and
 * stop restarting it.  The loop runs until the command has exited (or is
 * killed after a grace period of 10 s).
 */
void fq_exec_hook_close(struct fq_exec_hook *h);
/* Free after the loop has run the close callbacks. */
void fq_exec_hook_free(struct fq_exec_hook *h);
void fq_exec_hook_print_stats(struct fq_exec_hook *h, struct fq_out *o,
			      int json);

#endif
