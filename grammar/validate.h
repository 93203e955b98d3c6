/*
 * validate.h - shared by the validator (validate.c, validate_term.c) and
 * the plan builders it calls (compile_filter.c, compile_grouper.c,
 * compile_merger.c); nothing outside the front end's validation pass
 * includes it.
 *
 * The pass (validate.c) defines the names, follows the wiring into
 * branches and then has each branch's stages compiled: a filter, a
 * grouper, a group filter per branch, the merger.  Every compile_* checks
 * what only its stage can check and builds its part of the plan; the
 * conditions of every stage go through one checker of comparison terms
 * (validate_term.c), which resolves operands in the context the stage
 * gives it (struct fq__rctx) and applies the type rules of SPEC section 3.
 *
 * Errors never stop the pass: a stage that fails to compile leaves a NULL
 * behind and the stages that depend on it are still checked as far as
 * they can be, so one run reports every error of the file.  Because the
 * diagnostics of equal position keep the order they were reported in,
 * the order of the checks is part of the output.
 */
#ifndef FQ_GRAMMAR_VALIDATE_H
#define FQ_GRAMMAR_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Name -> pointer map with open addressing; sized once, never grows. */
struct fq__nmap {
	const char **keys;           /* arena; NULL: empty slot */
	void **vals;
	size_t cap;                  /* a power of two */
};

/* The value stored under k, or NULL. */
void *fq__nmap_get(const struct fq__nmap *m, const char *k);

/* A branch, as its wiring line defines it. */
struct fq__vbranch {
	const char *name;
	struct fq__span at;
	struct fq__stage *filter, *grouper, *groupfilter, *merger, *ungrouper;
	const struct fq_plan_grouper *g;   /* compiled grouper or NULL */
	int grouper_failed;
};

struct fq__vstate {
	struct fq__ctx *c;
	struct fq__file *f;
	struct fq__nmap stages;
	struct fq__nmap branch_map;        /* name -> vbranch index + 1 */
	struct fq__vbranch *br;            /* arena, in wiring order */
	size_t nbr;
	struct fq__stage *merger;
	struct fq__span merger_at;
	struct fq__stage *ungrouper;
	struct fq_endpoint *inputs, *outputs;
	size_t ninputs, noutputs;
};

/* "filter", "grouper", ... */
const char *fq__kind_name(enum fq__stage_kind k);

/*
 * "did you mean" among the stage names of one kind (any if kind < 0):
 * the note, written into note[notesz], or NULL.
 */
const char *fq__suggest_stage(struct fq__vstate *vs, const char *name,
			      int kind, char *note, size_t notesz);

/* ---- terms (validate_term.c) ------------------------------------------ */

/* Where a condition stands, which decides what its names mean. */
enum fq__rkind {
	FQ__R_REC,      /* filter, grouper rule: record fields */
	FQ__R_GROUP,    /* group filter: the branch's group values */
	FQ__R_MERGER,   /* merger: BRANCH.value of the module's branches */
};

struct fq__rctx {
	enum fq__rkind kind;
	int allow_delta;                  /* grouper module or merger */
	/* FQ__R_GROUP: */
	const struct fq_plan_grouper *g;
	int has_grouper;
	int grouper_failed;               /* names unknowable: stay quiet */
	const char *branch;
	/* FQ__R_MERGER: */
	size_t nslots;
	const char **slot_names;
	const struct fq__vbranch **slot_b;  /* NULL: slot's branch unknown */
};

/* The four values every group has, in enum fq_gval order. */
#define FQ__NBUILTIN 4
extern const char *const fq__builtin_names[FQ__NBUILTIN];

int fq__field_is_time(const struct fq_field *f);
enum fq_vtype fq__field_vtype(const struct fq_field *f);

/*
 * Check and build one comparison term in context rc.  Returns 0, or -1
 * after reporting (or when out of memory).
 */
int fq__compile_cmp(struct fq__vstate *vs, const struct fq__rctx *rc,
		    const struct fq__term *t, struct fq_term *out);

/* ---- the stages (compile_*.c) ----------------------------------------- */

/*
 * A filter's CNF, compiled once (st->compiled); depth counts composite
 * filter nesting.  NULL after an error.
 */
const struct fq_cnf *fq__compile_filter(struct fq__vstate *vs,
					struct fq__stage *st, int depth);
/* A group filter against branch b's grouper; NULL after an error. */
const struct fq_cnf *fq__compile_groupfilter(struct fq__vstate *vs,
					     struct fq__stage *st,
					     const struct fq__vbranch *b);
/*
 * A grouper, compiled once.  NULL after an error; st->compiled then holds
 * what did compile (its aggregates, for checking the later stages).
 */
const struct fq_plan_grouper *fq__compile_grouper(struct fq__vstate *vs,
						  struct fq__stage *st);
/* The merger; NULL after an error. */
const struct fq_plan_merger *fq__compile_merger(struct fq__vstate *vs,
						struct fq__stage *st);

#endif
