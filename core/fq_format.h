/*
 * fq_format.h - records as text: flow-print-like columns and JSON Lines.
 *
 * Both forms are driven by the field table, so a field added there shows
 * up in JSON without touching this code.  The JSON form is SPEC section 6:
 * canonical names in table order, addresses as text, stime/etime as
 * integer ms each followed by its RFC 3339 form (stime_iso, etime_iso).
 */
#ifndef FQ_FORMAT_H
#define FQ_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "fq_out.h"
#include "fq_record.h"

/* Upper bound on the JSON text of one record (without newline). */
#define FQ_JSON_RECORD_MAX 1024

/* Decimal text of v; returns length.  buf needs 21 bytes. */
size_t fq_fmt_u64(char *buf, uint64_t v);
size_t fq_fmt_i64(char *buf, int64_t v);

/* One record as a JSON object, no newline.  Returns its length. */
size_t fq_format_json(const struct fq_record *r, char *buf);
/*
 * The record's members as `,"name":value` each (no braces), skipping the
 * fields whose id has skip[id] set (skip has FQ_F_COUNT entries, indexed
 * by enum fq_field_id); for match output, whose groups print some fields
 * themselves.  At most FQ_JSON_RECORD_MAX bytes.
 */
size_t fq_format_json_members(const struct fq_record *r, char *buf,
			      const uint8_t *skip);
/* Append the JSON object and a newline to o. */
void fq_format_json_line(struct fq_out *o, const struct fq_record *r);

/*
 * `s` as a JSON string, quotes included: `"` and `\` are escaped with a
 * backslash, every control character (below 0x20) as \u00XX (lower-case
 * hex); other bytes, UTF-8 included, are written as they are.  For names
 * in counters and match output (source spellings, query names).
 */
void fq_format_json_str(struct fq_out *o, const char *s);

/* Column header line for the text form (with newline). */
void fq_format_text_header(struct fq_out *o);
/* One record in the text form, with `prefix` (may be "") and newline. */
void fq_format_text_line(struct fq_out *o, const struct fq_record *r,
			 const char *prefix);

#endif
