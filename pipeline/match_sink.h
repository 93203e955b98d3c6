/*
 * match_sink.h - where matches go: the match sink interface.
 *
 * Every output of `flowq run` is a match sink: the output file or
 * stdout (text or JSON Lines, sink_file.c), the --exec hook
 * (sink_exec.c), the --count summary (sink_count.c).  The engine hands
 * every match to every sink of its list, in order, and knows nothing
 * else of them.  A new sink is one file that fills a struct
 * fq_match_sink_ops and one row in the registry (sinks.c), which also
 * gives the command line its option.
 *
 * Lifetime: create (from its registry row) -> write()... -> finish() at
 * the end of input -> close() -> the loop runs until the sink's handles
 * are closed -> free().  Every callback runs on the loop thread.
 */
#ifndef FQ_MATCH_SINK_H
#define FQ_MATCH_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fq_out.h"
#include "latency.h"
#include "match.h"

struct fq_match_sink;

/* A query's final tally, for finish(). */
struct fq_query_total {
	const char *name;
	uint64_t matches;
};

struct fq_match_sink_ops {
	const char *name;                 /* "file", "exec", "count", ... */
	/*
	 * One match; m and what it points to are valid during the call.
	 * Returns 0, or -FQ_EIO when the sink failed for good in a way that
	 * must stop the run (the output file: disk full, stdout closed);
	 * a sink that drops and counts instead (--exec) returns 0.
	 */
	int (*write)(struct fq_match_sink *s, const struct fq_match *m);
	/* Hand everything written so far to the operating system. */
	int (*flush)(struct fq_match_sink *s);
	/* Optional: reopen files (SIGHUP, logrotate's convention). */
	int (*reopen)(struct fq_match_sink *s);
	/* Optional: end of input, with every query's tally (nq of them,
	 * borrowed for the call). */
	int (*finish)(struct fq_match_sink *s, const struct fq_query_total *t,
		      size_t nq);
	/* Optional: release handles on the loop (asynchronously). */
	void (*close)(struct fq_match_sink *s);
	/* Optional: counters, as text lines or one JSON value. */
	void (*print_stats)(struct fq_match_sink *s, struct fq_out *o, int json);
	void (*free)(struct fq_match_sink *s);
};

/* A match a sink holds that has not left it yet (match_sink.c). */
struct fq_sink_pending {
	int64_t stamp_ns;
	uint32_t qi;
	uint8_t kind;                     /* 0 final, 1 early (match.h) */
};

struct fq_match_sink {
	const struct fq_match_sink_ops *ops;
	struct fq_match_sink *next;       /* the engine's list (not owning) */
	int err;                          /* errno of a failure that stopped
					     the run, 0 if none */
	uint8_t wants_records;            /* 0: the matches' records are never
					     read (--count), so queries keep
					     none */
	uint8_t counts_only;              /* 1: write() reads nothing of a
					     match (--count); when every sink
					     says so, none is built */
	/* Delivery latency per query (match_sink.c): from the moment the
	 * completing record entered the engine to the match leaving this
	 * sink for the operating system. */
	struct fq_latency *lat;           /* owned: [2 * query + kind], nlat
					     of them, or NULL */
	size_t nlat;
	struct fq_sink_pending *pend;     /* owned: written, not yet out */
	size_t npend, cappend;
};

/* Every sink's write(): m is now in the sink's hands (match_sink.c). */
void fq_match_sink_queued(struct fq_match_sink *s, const struct fq_match *m);
/* Every match queued so far has left the sink at now_ns. */
void fq_match_sink_delivered(struct fq_match_sink *s, int64_t now_ns);
/* One match of query qi (kind: 0 final, 1 early), stamped stamp_ns,
 * left at now_ns (a sink that hands matches over one at a time: --exec). */
void fq_match_sink_delivered_one(struct fq_match_sink *s, uint32_t qi,
				 int kind, int64_t stamp_ns, int64_t now_ns);
/* The latency of query qi's final (kind 0) or early (1) matches through
 * s (NULL: none yet). */
const struct fq_latency *fq_match_sink_latency(const struct fq_match_sink *s,
					       uint32_t qi, int kind);
/* Free what the helpers above hold (every sink's free() calls it). */
void fq_match_sink_fini(struct fq_match_sink *s);

/* What a sink may need to be made: set by the program once. */
struct fq_sink_env {
	uv_loop_t *loop;                  /* borrowed */
	int json;                         /* --json */
	const char *out_path;             /* -o FILE, or NULL for stdout */
	int64_t grace_ms;                 /* --grace, INT64_MAX: none */
};

/*
 * A registry row: the sink and its command-line option.  `create` makes
 * the sink from the option's argument (NULL without one); on failure it
 * returns -FQ_E* with a one-line reason in why.
 */
struct fq_sink_def {
	const char *option;               /* long option, "exec" */
	const char *arg;                  /* its argument's name, or NULL */
	const char *help;                 /* one line for --help */
	uint8_t replaces_output;          /* stdout / -o gets nothing else */
	/* When `arg` is optional: whether the next command-line word is
	 * the argument (NULL: the argument is required). */
	int (*arg_ok)(const char *word);
	int (*create)(const struct fq_sink_env *env, const char *arg,
		      struct fq_match_sink **out, char *why, size_t why_len);
};

/* The registry, NULL-terminated (sinks.c). */
extern const struct fq_sink_def *const fq_sink_defs[];

/* The output file or stdout: every run has it unless a row that
 * replaces_output was asked for. */
int fq_sink_file_create(const struct fq_sink_env *env, const char *arg,
			struct fq_match_sink **out, char *why, size_t why_len);
/* The buffer of a sink made by fq_sink_file_create(), for sinks that
 * write to the output file themselves (sink_count.c). */
struct fq_out *fq__sink_file_out(struct fq_match_sink *s);

#endif
