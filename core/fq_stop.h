/*
 * fq_stop.h - the shutdown deadline (SIGINT, SIGTERM).
 *
 * A stop gives flowq a grace period to flush everything it holds.  Past
 * it, a write that cannot go on (a reader of stdout that never reads, a
 * full pipe) is abandoned instead of holding flowq forever: fq_out
 * (fq_out.c) checks fq_stop_expired() whenever a write is interrupted or
 * would block.  The stop is requested from a signal handler, so
 * fq_stop_request() is async-signal-safe: it only reads the monotonic
 * clock and stores.  A timer signal (SIGALRM, installed by the program)
 * interrupts a write blocked past the deadline.
 */
#ifndef FQ_STOP_H
#define FQ_STOP_H

#include <stdint.h>

/* A stop was asked for, with this much grace (ms, or INT64_MAX).
 * Returns 1 the first time, 0 when a stop was already requested. */
int fq_stop_request(int64_t grace_ms);

/* 1 once a stop was requested. */
int fq_stop_requested(void);

/* 1 once the grace period after the stop request is over. */
int fq_stop_expired(void);

/* What is left of the grace period: ms, 0 once over, INT64_MAX when the
 * grace is unbounded or no stop was requested. */
int64_t fq_stop_remaining_ms(void);

/*
 * Process groups that must not outlive flowq (the --exec hook's): killed
 * by fq_stop_now() and fq_stop_kill_groups().  At most FQ_STOP_GROUPS.
 */
#define FQ_STOP_GROUPS 16
void fq_stop_track_group(int pgid);
void fq_stop_untrack_group(int pgid);
/* SIGKILL every tracked group (async-signal-safe). */
void fq_stop_kill_groups(void);
/* End at once: the tracked groups killed, _exit(status).  For a second
 * stop signal; async-signal-safe. */
void fq_stop_now(int status) __attribute__((noreturn));

#endif
