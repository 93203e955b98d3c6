/*
 * sinks.c - the registry of match sinks: one entry per sink that has an
 * option of its own (match_sink.h).  The command line builds its options
 * and --help lines from this table, so a new sink is its file (which
 * defines `const struct fq_sink_def fq_sink_NAME_def`) and its name in
 * FQ_SINKS below.  The output file / stdout (sink_file.c) is not listed:
 * every run has it unless a sink that replaces it was chosen.
 */
#include "match_sink.h"

#define FQ_SINKS(X) X(exec) X(count) X(syslog)

#define FQ__SINK_DECL(n) extern const struct fq_sink_def fq_sink_##n##_def;
#define FQ__SINK_ROW(n) &fq_sink_##n##_def,

FQ_SINKS(FQ__SINK_DECL)

const struct fq_sink_def *const fq_sink_defs[] = {
	FQ_SINKS(FQ__SINK_ROW)
	NULL,
};
