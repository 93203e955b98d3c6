/*
 * fq_agg.h - the aggregate functions of a grouper, as one table.
 *
 * `aggregate srcip, sum(bytes) as bytes, union(dstport) as ports` keeps,
 * per group, one running state per aggregate.  Everything about a
 * function is a column of its row: its name in a query, which arguments
 * it takes (a numeric field, an address field), the type of its result
 * as a function of the argument's, the bytes of its state, and the code
 * that runs it: init (before the first record), step (once per record),
 * merge (two partial states of one group, for executing a group's
 * records in pieces) and final (the state's value).  The validator takes
 * names and type rules from here and the engine the state sizes and
 * code, so adding an aggregate to the language is one row and its step
 * (and merge) function.
 *
 * The semantics are SPEC sections 3 and 4: a bare field and first() take
 * the first record's value, last() the latest; sum() and avg() add (avg
 * is a real number), count() counts records; min()/max() order addresses
 * IPv4 before IPv6 (fq_ip_cmp); bitOR()/bitAND() start from the first
 * value; union() is the set of the distinct values (struct fq_vset).
 */
#ifndef FQ_AGG_H
#define FQ_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "fq_ip.h"
#include "fq_vset.h"
#include "fq_vtype.h"

/* The functions; the values are the rows of fq_agg_defs. */
enum fq_agg_fn {
	FQ_AGG_FIELD,   /* bare field: the first record's value */
	FQ_AGG_SUM, FQ_AGG_COUNT, FQ_AGG_MIN, FQ_AGG_MAX, FQ_AGG_AVG,
	FQ_AGG_UNION, FQ_AGG_BITOR, FQ_AGG_BITAND, FQ_AGG_FIRST, FQ_AGG_LAST,
	FQ_AGG_RANGE,           /* max - min of a number */
	FQ__AGG_N               /* not a function: the number of rows */
};
/* Number of rows.  Nothing switches over enum fq_agg_fn: code that
 * needs to know a function reads its row. */
#define FQ_AGG_NFN ((size_t)FQ__AGG_N)

/* Kinds of argument a function accepts (bits of fq_agg_def.args). */
#define FQ_AGG_ARG_NUM 0x1     /* a numeric field (numbers, times) */
#define FQ_AGG_ARG_IP  0x2     /* an address field */

/* The result type, given the argument's type (FQ_V_INT or FQ_V_IP). */
enum fq_agg_result {
	FQ_AGG_RES_ARG,        /* the argument's type */
	FQ_AGG_RES_INT,
	FQ_AGG_RES_REAL,
	FQ_AGG_RES_SET,        /* a set of the argument's type */
};

/*
 * The running state of one aggregate of one group.  A function uses one
 * member and has only the room that member needs (fq_agg_state_size():
 * an engine packs a group's states into one block): `i` for numbers (8
 * bytes), `i` and `cnt` for count and avg (16), `ip` for address results
 * (sizeof(struct fq_ip)), `set` for union().  The code of a row never
 * touches bytes past its size.
 */
union fq_agg_state {
	struct {
		int64_t i;     /* value, sum, bits */
		uint64_t cnt;  /* count; avg's denominator */
	};
	struct fq_ip ip;       /* address value */
	struct fq_vset set;    /* union(): owns its elements' array */
};

/* A state's value (final). */
struct fq_agg_value {
	enum fq_vtype t;
	int64_t i;                 /* FQ_V_INT */
	double d;                  /* FQ_V_REAL */
	struct fq_ip ip;           /* FQ_V_IP */
	const struct fq_vset *set; /* FQ_V_SET_INT/IP: borrowed from the state */
};

/* The empty state for an argument of type arg (FQ_V_INT or FQ_V_IP). */
typedef void fq_agg_init_fn(union fq_agg_state *s, enum fq_vtype arg);
/*
 * Add one record's argument: x for a numeric one, ip (NULL otherwise)
 * for an address; `first` for the group's first record.  Adds to *grown
 * (if not NULL) the bytes the state's heap grew by (union() only).
 * Returns 0, or -FQ_ENOMEM with the state as it was.
 */
typedef int fq_agg_step_fn(union fq_agg_state *s, int64_t x,
			   const struct fq_ip *ip, int first, size_t *grown);
/*
 * Combine two partial states of one group into a: b holds records that
 * come after a's (first/last/bare field take their order from that),
 * both have seen at least one record.  b is left as it was.  *grown and
 * the return value as for step.
 */
typedef int fq_agg_merge_fn(union fq_agg_state *a,
			    const union fq_agg_state *b, enum fq_vtype arg,
			    size_t *grown);
/* The value of a state (a set stays borrowed from it). */
typedef void fq_agg_final_fn(const union fq_agg_state *s, enum fq_vtype arg,
			     struct fq_agg_value *out);
/* Free what a state holds (union()'s array); the state is then empty. */
typedef void fq_agg_fini_fn(union fq_agg_state *s);

/*
 * Where a state's value lies when reading it needs no final(): engines
 * read these directly on their hottest paths (comparisons, hashes), and
 * call final() for the rest.
 */
enum fq_agg_at {
	FQ_AGG_AT_FINAL = 0,   /* only through final() */
	FQ_AGG_AT_I,           /* state.i, or state.ip for an address */
	FQ_AGG_AT_CNT,         /* state.cnt, as a number */
};

struct fq_agg_def {
	const char *name;          /* as written: "sum", "bitOR"; "field" for
				      the bare field, which has no name */
	uint8_t named;             /* written name(field); 0: bare field */
	uint8_t args;              /* FQ_AGG_ARG_* it accepts */
	enum fq_agg_result result;
	uint8_t keeps_unit;        /* the result is in the argument's unit:
				      an aggregate of a time is a time */
	uint16_t size_num;         /* bytes of its state, numeric argument */
	uint16_t size_ip;          /* the same for an address (0: refused) */
	fq_agg_init_fn *init;
	fq_agg_step_fn *step;
	fq_agg_merge_fn *merge;
	fq_agg_final_fn *final;
	fq_agg_fini_fn *fini;      /* NULL: the state holds nothing */
	enum fq_agg_at at;         /* where its value can be read directly */
};

/* The table, indexed by enum fq_agg_fn. */
extern const struct fq_agg_def fq_agg_defs[FQ_AGG_NFN];

/* "sum", "bitOR", "field", ...; "?" if out of range. */
const char *fq_agg_fn_name(enum fq_agg_fn f);

/*
 * The function a query names with `len` bytes of name (case-sensitive;
 * the bare field has no name): 1 and *out set, or 0.
 */
int fq_agg_lookup(const char *name, size_t len, enum fq_agg_fn *out);

/* 1 if f takes an argument of type arg (FQ_V_INT or FQ_V_IP). */
int fq_agg_accepts(enum fq_agg_fn f, enum fq_vtype arg);
/* The type of f's result for an argument of type arg. */
enum fq_vtype fq_agg_result_type(enum fq_agg_fn f, enum fq_vtype arg);
/* Bytes of f's state for an argument of type arg. */
size_t fq_agg_state_size(enum fq_agg_fn f, enum fq_vtype arg);

/* The row's code, by function. */
void fq_agg_init(enum fq_agg_fn f, union fq_agg_state *s, enum fq_vtype arg);
int fq_agg_step(enum fq_agg_fn f, union fq_agg_state *s, int64_t x,
		const struct fq_ip *ip, int first, size_t *grown);
int fq_agg_merge(enum fq_agg_fn f, union fq_agg_state *a,
		 const union fq_agg_state *b, enum fq_vtype arg,
		 size_t *grown);
void fq_agg_final(enum fq_agg_fn f, const union fq_agg_state *s,
		  enum fq_vtype arg, struct fq_agg_value *out);
void fq_agg_fini(enum fq_agg_fn f, union fq_agg_state *s);

#endif
