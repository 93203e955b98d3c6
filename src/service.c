/*
 * service.c - the systemd notification protocol and --user
 * (service.h).
 *
 * libsystemd's sd_notify() does the protocol (a datagram to
 * $NOTIFY_SOCKET, nothing when it is unset), so flowq run by hand, by
 * a test or by another supervisor behaves the same.  The watchdog ping
 * comes from a libuv timer on the loop thread, so that it proves the
 * loop itself still turns, not merely that the process exists.
 */
#include "service.h"
#include "fq_log.h"

#include <systemd/sd-daemon.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The passwd entry of a name or a number; NULL when there is none. */
static struct passwd *
find_user(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw != NULL)
		return pw;
	char *end;
	errno = 0;
	unsigned long n = strtoul(user, &end, 10);
	if (errno == 0 && *user && *end == '\0' && n <= (uid_t)-1)
		return getpwuid((uid_t)n);
	return NULL;
}

int
fq_service_user_check(const char *user)
{
	return find_user(user) ? 0 : -1;
}

int
fq_service_drop_privileges(const char *user, char *why, size_t why_len)
{
	struct passwd *pw = find_user(user);
	if (pw == NULL) {
		snprintf(why, why_len, "--user: no user '%s'", user);
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (geteuid() == uid && getuid() == uid)
			return 0;
		snprintf(why, why_len, "--user %s: not started as root, cannot "
			 "become another user", user);
		return -1;
	}
	/* Groups first: after setuid() we could not change them. */
	if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0) {
		snprintf(why, why_len, "--user %s: %s", user, strerror(errno));
		return -1;
	}
	/* For good: a process that could become root again has not dropped
	 * anything (uid 0 itself is the one exception). */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(why, why_len, "--user %s: root could be regained", user);
		return -1;
	}
	fq_info("running as user %s (uid %u, gid %u)", pw->pw_name,
		(unsigned)uid, (unsigned)gid);
	return 0;
}

void
fq_service_ready(const char *status)
{
	if (status)
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	else
		sd_notify(0, "READY=1");
}

void
fq_service_reloading(void)
{
	/* MONOTONIC_USEC lets Type=notify-reload match this reload to the
	 * SIGHUP it sent (systemd 253 and later; ignored before). */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t us = (uint64_t)ts.tv_sec * 1000000u +
		      (uint64_t)ts.tv_nsec / 1000u;
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, us);
}

void
fq_service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

int
fq_service_watchdog_start(uv_loop_t *loop, uv_timer_t *t)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	uint64_t ms = usec / 2000u;
	if (ms == 0)
		ms = 1;
	uv_timer_init(loop, t);
	uv_timer_start(t, on_watchdog, ms, ms);
	uv_unref((uv_handle_t *)t);
	on_watchdog(t);
	return 1;
}
