/*
 * fq_stop.c - the shutdown deadline (fq_stop.h).
 *
 * Two words written by a signal handler and read by the loop thread: the
 * flag and the deadline.  On the machines flowq runs on an aligned 64-bit
 * store is atomic, and the flag is written last, so a reader that sees
 * the flag sees the deadline.
 */
#include "fq_stop.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t requested;
static volatile int64_t deadline_ns;

static int64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);   /* async-signal-safe */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
fq_stop_request(int64_t grace_ms)
{
	if (requested)
		return 0;
	int64_t now = mono_ns();
	deadline_ns = grace_ms >= (INT64_MAX - now) / 1000000
		      ? INT64_MAX : now + grace_ms * 1000000;
	requested = 1;
	return 1;
}

int
fq_stop_requested(void)
{
	return requested != 0;
}

int
fq_stop_expired(void)
{
	return requested && mono_ns() >= deadline_ns;
}

int64_t
fq_stop_remaining_ms(void)
{
	if (!requested || deadline_ns == INT64_MAX)
		return INT64_MAX;
	int64_t left = deadline_ns - mono_ns();
	return left > 0 ? (left + 999999) / 1000000 : 0;
}

static volatile sig_atomic_t groups[FQ_STOP_GROUPS];

void
fq_stop_track_group(int pgid)
{
	for (int i = 0; i < FQ_STOP_GROUPS; i++)
		if (groups[i] == 0) {
			groups[i] = pgid;
			return;
		}
}

void
fq_stop_untrack_group(int pgid)
{
	for (int i = 0; i < FQ_STOP_GROUPS; i++)
		if (groups[i] == pgid)
			groups[i] = 0;
}

void
fq_stop_kill_groups(void)
{
	for (int i = 0; i < FQ_STOP_GROUPS; i++)
		if (groups[i] > 0)
			kill(-groups[i], SIGKILL);
}

void
fq_stop_now(int status)
{
	fq_stop_kill_groups();
	_exit(status);
}
