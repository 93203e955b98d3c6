/*
 * fq_log.c - stderr logging with levels and per-source rate limits.
 *
 * Each line is written with a single fputs() of a preformatted buffer so
 * that lines from different parts of the program never interleave.
 */
#include "fq_log.h"
#include "fq_clock.h"

#include <stdarg.h>
#include <stdio.h>

static enum fq_log_level log_level = FQ_LOG_WARN;
static const char *log_progname = "flowq";

void fq_log_set_level(enum fq_log_level level) { log_level = level; }
enum fq_log_level fq_log_get_level(void) { return log_level; }
void fq_log_set_progname(const char *name) { log_progname = name; }

static const char *
level_word(enum fq_log_level level)
{
	switch (level) {
	case FQ_LOG_ERROR: return "error";
	case FQ_LOG_WARN:  return "warning";
	case FQ_LOG_INFO:  return "info";
	case FQ_LOG_DEBUG: return "debug";
	}
	return "log";
}

static void log_vwrite(enum fq_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
log_vwrite(enum fq_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%s: %s: ", log_progname,
			 level_word(level));
	if (n < 0 || (size_t)n >= sizeof buf)
		n = 0;
	int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
	if (len > sizeof buf - 2)
		len = sizeof buf - 2;
	buf[len++] = '\n';
	buf[len] = '\0';
	fputs(buf, stderr);
}

void
fq_log(enum fq_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}

void
fq_log_rl(struct fq_ratelimit *rl, enum fq_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	uint32_t burst = rl->burst ? rl->burst : 10;
	uint32_t interval = rl->interval_ms ? rl->interval_ms : 5000;
	int64_t now = fq_clock_ms(FQ_CLOCK_MONO);
	if (now - rl->window_start_ms >= interval) {
		if (rl->suppressed)
			fq_log(level, "%llu similar messages suppressed",
			       (unsigned long long)rl->suppressed);
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= burst) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}
