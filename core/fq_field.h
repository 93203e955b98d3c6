/*
 * fq_field.h - the one field table of the flow record.
 *
 * Each entry names a canonical field, lists the aliases a query may use for
 * it (SPEC section 1), gives its type and where it lives in struct
 * fq_record.  Printing, JSON output and the query compiler iterate or look
 * up this table; nobody keeps a switch over field names of their own.
 *
 * At run time nothing looks fields up by string: a consumer resolves a
 * name to a `const struct fq_field *` once (or to its offset and type) and
 * then reads values through the inline accessors below.
 */
#ifndef FQ_FIELD_H
#define FQ_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include "fq_record.h"

enum fq_type {
	FQ_T_U8,
	FQ_T_U16,
	FQ_T_U32,
	FQ_T_U64,
	FQ_T_TIME,   /* int64 ms since the epoch (stime, etime) */
	FQ_T_DUR,    /* int64 ms, a length of time (duration) */
	FQ_T_IP,
};

enum fq_field_id {
	FQ_F_REC_ID,
	FQ_F_EXPORTER,
	FQ_F_DOMAIN,
	FQ_F_SRCIP,
	FQ_F_DSTIP,
	FQ_F_NEXTHOP,
	FQ_F_SRCPORT,
	FQ_F_DSTPORT,
	FQ_F_PROT,
	FQ_F_TOS,
	FQ_F_TCP_FLAGS,
	FQ_F_PACKETS,
	FQ_F_BYTES,
	FQ_F_STIME,
	FQ_F_ETIME,
	FQ_F_DURATION,
	FQ_F_INPUT,
	FQ_F_OUTPUT,
	FQ_F_SRC_AS,
	FQ_F_DST_AS,
	FQ_F_SRC_MASK,
	FQ_F_DST_MASK,
	FQ_F_ENGINE_TYPE,
	FQ_F_ENGINE_ID,
	FQ_F_SAMPLING,
	FQ_F_UNIX_SECS,
	FQ_F_UNIX_NSECS,
	FQ_F_SYSUPTIME,
	FQ_F_COUNT
};

/* Flags of a field. */
#define FQ_FIELD_DERIVED 0x1  /* computed from other fields (duration) */

struct fq_field {
	enum fq_field_id id;
	const char *name;             /* canonical name, as printed in JSON */
	const char *const *aliases;   /* NULL-terminated; may be empty */
	enum fq_type type;
	uint16_t offset;              /* offsetof(struct fq_record, ...) */
	uint16_t flags;               /* FQ_FIELD_* */
	const char *help;             /* one line for `flowq --help` */
};

/* The table, in canonical order, indexed by enum fq_field_id. */
extern const struct fq_field fq_fields[FQ_F_COUNT];

/*
 * Look up a canonical name or alias (case-sensitive, `len` bytes, not
 * necessarily NUL-terminated).  Returns NULL when unknown.
 */
const struct fq_field *fq_field_lookup(const char *name, size_t len);

/*
 * The known name (canonical or alias) closest to `name` by edit distance
 * (fq_suggest.h), for "did you mean" diagnostics; NULL if nothing is
 * close.
 */
const char *fq_field_suggest(const char *name, size_t len);

/* Name of a type ("u16", "ip", "time", ...). */
const char *fq_type_name(enum fq_type t);

/* 1 if the type is an unsigned/signed number (not an address). */
static inline int
fq_type_is_numeric(enum fq_type t)
{
	return t != FQ_T_IP;
}

/*
 * Numeric value of a field as int64 (every numeric field fits: u64
 * counters are taken modulo 2^63, which no real counter reaches).
 * Must not be called on FQ_T_IP fields.
 */
/* The number a field of type t stores at p (0 for FQ_T_DUR, which is
 * not stored, and FQ_T_IP). */
static inline int64_t
fq_num_at(const void *p, enum fq_type t)
{
	switch (t) {
	case FQ_T_U8:   return *(const uint8_t *)p;
	case FQ_T_U16:  return *(const uint16_t *)p;
	case FQ_T_U32:  return *(const uint32_t *)p;
	case FQ_T_U64:  return (int64_t)*(const uint64_t *)p;
	case FQ_T_TIME: return *(const int64_t *)p;
	case FQ_T_DUR:
	case FQ_T_IP:   break;
	}
	return 0;
}

static inline int64_t
fq_field_num(const struct fq_record *r, const struct fq_field *f)
{
	if (f->type == FQ_T_DUR)
		return r->etime - r->stime;
	return fq_num_at((const char *)r + f->offset, f->type);
}

/* Address value of an FQ_T_IP field. */
static inline const struct fq_ip *
fq_field_ip(const struct fq_record *r, const struct fq_field *f)
{
	return (const struct fq_ip *)((const char *)r + f->offset);
}

#endif
