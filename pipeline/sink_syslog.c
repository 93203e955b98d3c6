/*
 * sink_syslog.c - `--syslog [FACILITY[@SOCKET]]`: every match to the system
 * logger as an RFC 5424 message whose body is the match's JSON line.
 *
 * The message is written to the local syslog socket (/dev/log: rsyslog,
 * syslog-ng and journald all read it) as one datagram, the way
 * util-linux's logger does by default:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME flowq PID match [flowq@32473 query="Q"
 *   match="N"] {"query":...}
 *
 * PRI is the facility (default `user`) * 8 + severity 5 (notice) for a
 * match, 4 (warning) for an early match and 6 (info) for a retraction;
 * the structured data (SD-ID flowq@32473, the example enterprise number
 * of RFC 5612) lets a collector route on the query without parsing the
 * JSON.  A socket path after `@` replaces /dev/log (a relay, or a test).
 *
 * It never blocks ingest: the socket is non-blocking, and a message the
 * logger cannot take now (EAGAIN, ENOBUFS), or at all (EMSGSIZE: a match
 * with many records; --no-records keeps them small), is dropped and
 * counted, like an --exec line.  Without a logger (no socket) it says so
 * once and keeps trying to connect on later matches.
 */
#include "match_sink.h"
#include "fq_error.h"
#include "fq_log.h"
#include "fq_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SYSLOG_SOCKET "/dev/log"
#define SD_ID "flowq@32473"

struct syslog_sink {
	struct fq_match_sink sink;    /* first */
	int fd;                       /* -1 until connected */
	int facility;                 /* 0..23 */
	char path[108];               /* sun_path */
	char host[256];
	char head[384];               /* " HOST flowq PID match [" */
	uint64_t sent, dropped, too_large, no_logger;
	struct fq_ratelimit rl;
	struct fq_out out;            /* scratch: the message */
};

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7",
};

/* The facility named by the first `len` bytes of s, or -1. */
static int
facility_of(const char *s, size_t len)
{
	for (int i = 0; i < 24; i++)
		if (strlen(facilities[i]) == len &&
		    strncmp(facilities[i], s, len) == 0)
			return i;
	return -1;
}

/* Whether a command-line word is --syslog's optional argument. */
static int
sl_arg_ok(const char *s)
{
	const char *at = strchr(s, '@');
	return s[0] == '@' ||
	       facility_of(s, at ? (size_t)(at - s) : strlen(s)) >= 0;
}

static int
sl_connect(struct syslog_sink *l)
{
	if (l->fd >= 0)
		return 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, l->path, strlen(l->path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

/* RFC 5424 severity of a match of this kind. */
static int
severity(int kind)
{
	return kind == FQ_MATCH_EARLY ? 4 : kind == FQ_MATCH_RETRACT ? 6 : 5;
}

/* An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 section 6.3.3). */
static void
sd_value(struct fq_out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			fq_out_write(o, "\\", 1);
		fq_out_write(o, s, 1);
	}
}

static void
sl_send(struct syslog_sink *l, const struct fq_match *m)
{
	struct fq_out *o = &l->out;
	if (sl_connect(l) < 0) {
		l->no_logger++;
		l->dropped++;
		fq_log_rl(&l->rl, FQ_LOG_WARN, "--syslog: no logger at %s: %s; "
			  "matches for it are dropped", l->path, strerror(errno));
		return;
	}
	if (o->len == 0 || o->err) {
		l->too_large++;   /* over the 256 KiB of the buffer */
		goto drop;
	}
	if (send(l->fd, o->buf, o->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno == EMSGSIZE)
			l->too_large++;
		else if (errno != EAGAIN && errno != ENOBUFS) {
			/* the logger went away: connect again next time */
			close(l->fd);
			l->fd = -1;
		}
		goto drop;
	}
	l->sent++;
	fq_match_sink_delivered_one(&l->sink, m->qi, m->kind, m->stamp_ns,
				    fq_latency_now_ns());
	return;
drop:
	l->dropped++;
}

static int
sl_write(struct fq_match_sink *s, const struct fq_match *m)
{
	struct syslog_sink *l = (struct syslog_sink *)s;
	struct fq_out *o = &l->out;
	char ts[FQ_TIME_STRLEN];
	fq_time_format(fq_latency_wall_ms(), ts);   /* RFC 3339, UTC, ms */
	o->len = 0;
	o->err = 0;
	fq_out_printf(o, "<%d>1 %s%s", l->facility * 8 + severity(m->kind), ts,
		      l->head);
	fq_out_str(o, SD_ID " query=\"");
	sd_value(o, m->query);
	fq_out_printf(o, "\" %s=\"%llu\"] ",
		      m->kind == FQ_MATCH_FINAL ? "match" : "early",
		      (unsigned long long)m->num);
	fq_match_write_json(m, o);
	if (o->len && o->buf[o->len - 1] == '\n')
		o->len--;
	sl_send(l, m);
	return 0;
}

static int
sl_flush(struct fq_match_sink *s)
{
	(void)s;
	return 0;   /* every message went at once */
}

static void
sl_print_stats(struct fq_match_sink *s, struct fq_out *o, int json)
{
	struct syslog_sink *l = (struct syslog_sink *)s;
	if (json)
		fq_out_printf(o, "{\"sent\":%llu,\"dropped\":%llu,\"too_large\":%llu,"
			      "\"no_logger\":%llu}", (unsigned long long)l->sent,
			      (unsigned long long)l->dropped,
			      (unsigned long long)l->too_large,
			      (unsigned long long)l->no_logger);
	else
		fq_out_printf(o, "syslog: sent %llu dropped %llu too_large %llu "
			      "no_logger %llu\n", (unsigned long long)l->sent,
			      (unsigned long long)l->dropped,
			      (unsigned long long)l->too_large,
			      (unsigned long long)l->no_logger);
}

static void
sl_free(struct fq_match_sink *s)
{
	struct syslog_sink *l = (struct syslog_sink *)s;
	if (l->fd >= 0)
		close(l->fd);
	fq_match_sink_fini(s);
	free(l);
}

static const struct fq_match_sink_ops syslog_ops = {
	.name = "syslog",
	.write = sl_write,
	.flush = sl_flush,
	.print_stats = sl_print_stats,
	.free = sl_free,
};

/* "local0", "local0@/run/log.sock", "@/run/log.sock" or NULL (user). */
static int
parse_arg(struct syslog_sink *l, const char *arg, char *why, size_t why_len)
{
	l->facility = 1;   /* user */
	snprintf(l->path, sizeof l->path, "%s", SYSLOG_SOCKET);
	if (arg == NULL)
		return 0;
	const char *at = strchr(arg, '@');
	size_t flen = at ? (size_t)(at - arg) : strlen(arg);
	if (flen) {
		l->facility = facility_of(arg, flen);
		if (l->facility < 0) {
			snprintf(why, why_len, "--syslog: '%.*s' is not a facility "
				 "(user, daemon, local0 ... local7, ...)",
				 (int)flen, arg);
			return -FQ_EINVAL;
		}
	}
	if (at) {
		if (strlen(at + 1) == 0 || strlen(at + 1) >= sizeof l->path) {
			snprintf(why, why_len, "--syslog: bad socket path '%s'",
				 at + 1);
			return -FQ_EINVAL;
		}
		snprintf(l->path, sizeof l->path, "%s", at + 1);
	}
	return 0;
}

static int
sl_create(const struct fq_sink_env *env, const char *arg,
	  struct fq_match_sink **out, char *why, size_t why_len)
{
	(void)env;
	struct syslog_sink *l = calloc(1, sizeof *l);
	if (l == NULL) {
		snprintf(why, why_len, "out of memory");
		return -FQ_ENOMEM;
	}
	int rc = parse_arg(l, arg, why, why_len);
	if (rc < 0) {
		free(l);
		return rc;
	}
	l->sink.ops = &syslog_ops;
	l->sink.wants_records = 1;
	l->fd = -1;
	if (gethostname(l->host, sizeof l->host) != 0 || l->host[0] == '\0')
		snprintf(l->host, sizeof l->host, "-");
	l->host[sizeof l->host - 1] = '\0';
	snprintf(l->head, sizeof l->head, " %s flowq %ld match [", l->host,
		 (long)getpid());
	l->rl.burst = 1;
	l->rl.interval_ms = 60000;
	fq_out_init(&l->out, -1);
	*out = &l->sink;
	return 0;
}

const struct fq_sink_def fq_sink_syslog_def = {
	.option = "syslog",
	.arg = "[FACILITY][@SOCKET]",
	.arg_ok = sl_arg_ok,
	.help = "also send each match to the system logger, RFC 5424 with the "
		"JSON line as its message (default facility user, socket /dev/log)",
	.create = sl_create,
};
