/*
 * service.h - flowq under a service manager: the systemd notification
 * protocol (READY, RELOADING, STOPPING, STATUS, the watchdog) and the
 * privilege drop of --user.
 *
 * Everything here is a no-op outside systemd (no NOTIFY_SOCKET), so the
 * loop calls it unconditionally.  docs/operations.md has the unit file
 * (etc/flowq.service) these fit.
 */
#ifndef FQ_CLI_SERVICE_H
#define FQ_CLI_SERVICE_H

#include <stddef.h>
#include <uv.h>

/* Whether `user` names a user (a name or a number): 0 or -1. */
int fq_service_user_check(const char *user);

/*
 * Become `user` (a name or a number; its primary group and supplementary
 * groups too) for good, when running as root; sockets and files already
 * open stay open.  Not root: 0 when `user` is who we are, else an error.
 * 0, or -1 with a one-line reason in why.
 */
int fq_service_drop_privileges(const char *user, char *why, size_t why_len);

/* Tell the service manager we are up (sources bound, privileges
 * dropped) and, with `status`, what we are doing. */
void fq_service_ready(const char *status);

/* Tell it a reload (SIGHUP) has begun; fq_service_ready() ends it. */
void fq_service_reloading(void);

/* Tell it we are stopping (SIGINT/SIGTERM). */
void fq_service_stopping(void);

/*
 * When the manager asks for a watchdog (WatchdogSec=), start `t` on
 * `loop` to ping it at half the interval: a loop that stops turning
 * (stuck in a write, say) stops the pings and the manager restarts
 * flowq.  The timer does not keep the loop alive.  Returns whether it
 * was started.
 */
int fq_service_watchdog_start(uv_loop_t *loop, uv_timer_t *t);

#endif
