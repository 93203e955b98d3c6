/*
 * fq_vtype.h - the types of values a query compares.
 *
 * Record fields have storage types (fq_field.h: u8 ... time, ip); the
 * query language sees fewer: numbers (every integer field, times and
 * durations in ms), real numbers (only avg() gives one), addresses, and
 * sets of numbers or of addresses (union() aggregates and constant sets
 * like [80, 443]).  The validator types every operand with these, the
 * aggregate table (fq_agg.h) gives each function's result as one, and the
 * engine's values carry one.
 */
#ifndef FQ_VTYPE_H
#define FQ_VTYPE_H

enum fq_vtype {
	FQ_V_INT,      /* numbers, times (ms), durations (ms) */
	FQ_V_REAL,     /* avg() */
	FQ_V_IP,
	FQ_V_SET_INT,  /* union() of a numeric field, or a constant set */
	FQ_V_SET_IP,   /* union() of an address field, or a constant set */
};

#endif
