/*
 * match.h - a match, as the ungrouper hands it to the match sinks.
 *
 * A match is a tuple of groups of one query (one per branch of the
 * tuple) and, unless records are left out (--no-records, --count), the
 * records of those groups that no earlier match of the query printed, in
 * (stime, rec_id) order (SPEC sections 4 and 6).  A sink does not read
 * the groups itself: it asks for the match as one JSON line or as the
 * text form, written into an fq_out of its choice, so that every sink
 * prints the same thing and a new sink needs no knowledge of groups.
 *
 * Everything a struct fq_match points to is borrowed and valid only
 * during the sink's write() call.
 */
#ifndef FQ_MATCH_H
#define FQ_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "fq_out.h"

struct pl_group;
struct pl_rec;
struct pl_outnames;

/* What a match says (SPEC section 5, "Early matches"). */
enum fq_match_kind {
	FQ_MATCH_FINAL = 0,              /* the match of section 4 */
	FQ_MATCH_EARLY = 1,              /* holds on groups as they stand */
	FQ_MATCH_RETRACT = 2,            /* an early match that did not hold */
};

struct fq_match {
	const char *query;               /* the query's name */
	uint32_t qi;                     /* the query's index in the run */
	int64_t stamp_ns;                /* monotonic ns: when the record that
					    completed it entered the engine */
	uint8_t kind;                    /* FQ_MATCH_FINAL, ... */
	uint64_t early;                  /* a final match: the early match it
					    settles, 0 if none */
	const struct pl_outnames *names; /* its member names, escaped */
	uint64_t num;                    /* 1, 2, ... per query: the match's
					    number, or the early one's (E) for
					    early matches and retractions */
	int64_t time;                    /* largest etime of its groups */
	struct pl_group *const *g;       /* per plan branch, NULL: not in it */
	struct pl_rec *const *recs;      /* records to print with it */
	size_t nrecs;
	int with_recs;                   /* the query prints records */
};

/* The match as one JSON line (SPEC section 6), newline included. */
void fq_match_write_json(const struct fq_match *m, struct fq_out *o);
/* The match in the text form: a header line per match and per group,
 * then its records as flow-print-like lines. */
void fq_match_write_text(const struct fq_match *m, struct fq_out *o);

#endif
