/*
 * partition.h - the partition planner: which record key each branch of a
 * query can be hashed on so that N shards, each running filter -> grouper
 * -> group filter -> merger on its own part of the records, find exactly
 * the groups and matches of one engine (docs/parallel.md has the rules
 * and their reasoning).
 *
 * Pure plan analysis: fq_plan_partition() reads a plan (plan.h) and says,
 * per branch, the set of record fields to hash, or why no such choice
 * exists (then the query runs on one shard).  fq_query_compile() computes
 * it once and hangs it on the plan (fq_plan.partition); `flowq check`
 * prints it.
 */
#ifndef FQ_PARTITION_H
#define FQ_PARTITION_H

#include <stddef.h>
#include <stdint.h>

struct fq_plan;

/* Why a query has no partition (FQ_PART_OK: it has one). */
enum fq_part_why {
	FQ_PART_OK,
	FQ_PART_GROUPER,    /* branch `branch`: no key rule f = f in every
	                       module of its grouper */
	FQ_PART_MODULE,     /* merger module `module`: its key equalities do
	                       not link all its branches (`branch` is one that
	                       stays apart, when known) */
	FQ_PART_CONFLICT,   /* each module alone could be partitioned, but
	                       they need different keys for the same branch */
	FQ_PART_TOO_BIG,    /* the search for a choice gave up (budget) */
	FQ_PART_NOMEM,
};

/* Bit i of a field mask stands for enum fq_field_id i (FQ_F_COUNT < 64). */
struct fq_part_branch {
	uint64_t key;       /* the record key: these fields hashed together;
	                       0 = any field will do (no grouper, no link) */
	uint64_t grouper;   /* the grouper's partitionable fields (the key
	                       fields every module shares); ~0: no grouper */
};

/* A merger equality the partition relies on: clause `clause` of module
 * `module`, a single term X.a = Y.b on the branches' keys. */
struct fq_part_link {
	size_t module;
	size_t clause;
};

struct fq_plan_partition {
	enum fq_part_why why;
	size_t branch;      /* FQ_PART_GROUPER, FQ_PART_MODULE (or SIZE_MAX) */
	size_t module;      /* FQ_PART_MODULE */
	size_t nbranches;
	struct fq_part_branch *branches;   /* by plan branch index */
	size_t nlinks;
	struct fq_part_link *links;
};

/*
 * Plan the partition of `p` into *out (owned by the caller, release with
 * fq_plan_partition_fini).  Returns 0 (out->why says whether the query
 * is partitionable) or -FQ_ENOMEM (out->why = FQ_PART_NOMEM).
 */
int fq_plan_partition(const struct fq_plan *p, struct fq_plan_partition *out);
void fq_plan_partition_fini(struct fq_plan_partition *part);

#endif
