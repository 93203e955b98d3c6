/*
 * fq_log.h - flowq's own logging: diagnostics go to stderr, never into the
 * output stream (SPEC section 6).
 *
 * Messages carry a level; the threshold is set once at start-up.  Code that
 * reacts to network input must use the rate-limited form so that a hostile
 * or broken exporter cannot flood the terminal: fq_log_rl() prints at most
 * `burst` messages per interval per limiter and then one summary line with
 * the number suppressed.
 */
#ifndef FQ_LOG_H
#define FQ_LOG_H

#include <stdint.h>

enum fq_log_level {
	FQ_LOG_ERROR = 0,
	FQ_LOG_WARN = 1,
	FQ_LOG_INFO = 2,
	FQ_LOG_DEBUG = 3,
};

struct fq_ratelimit {
	int64_t window_start_ms;   /* monotonic ms when the window began */
	uint32_t printed;          /* messages printed in this window */
	uint64_t suppressed;       /* messages dropped in this window */
	uint32_t burst;            /* max messages per window (0 = 10) */
	uint32_t interval_ms;      /* window length (0 = 5000) */
};

#define FQ_RATELIMIT_INIT { 0, 0, 0, 0, 0 }

void fq_log_set_level(enum fq_log_level level);
enum fq_log_level fq_log_get_level(void);
/* Program name used as the prefix of every line ("flowq"). */
void fq_log_set_progname(const char *name);

void fq_log(enum fq_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fq_log_rl(struct fq_ratelimit *rl, enum fq_log_level level,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define fq_error(...) fq_log(FQ_LOG_ERROR, __VA_ARGS__)
#define fq_warn(...)  fq_log(FQ_LOG_WARN, __VA_ARGS__)
#define fq_info(...)  fq_log(FQ_LOG_INFO, __VA_ARGS__)
#define fq_debug(...) fq_log(FQ_LOG_DEBUG, __VA_ARGS__)

#endif
