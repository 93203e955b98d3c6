/*
 * fq_error.h - error codes shared by every layer of flowq.
 *
 * Functions return 0 on success or a negative FQ_E* code, in the manner of
 * libuv.  The codes say what kind of failure happened; the human-readable
 * detail (file name, byte offset, token) is reported by the caller that has
 * that context, usually through fq_log.h.
 */
#ifndef FQ_ERROR_H
#define FQ_ERROR_H

enum fq_error {
	FQ_OK = 0,
	FQ_ENOMEM = 1,     /* allocation failed */
	FQ_EINVAL = 2,     /* invalid argument or usage */
	FQ_EIO = 3,        /* read/write/open failed (errno has detail) */
	FQ_ECORRUPT = 4,   /* input is malformed */
	FQ_ETRUNC = 5,     /* input ends in the middle of a unit */
	FQ_EUNSUP = 6,     /* valid but unsupported format/version */
	FQ_ENOENT = 7,     /* no such file, name or entry */
	FQ_EEXIST = 8,     /* already defined */
	FQ_ELIMIT = 9,     /* a configured cap was reached */
	FQ_EAGAIN = 10,    /* try again later (no data yet) */
	FQ_ESTOP = 11,     /* a consumer asked the producer to stop */
	FQ_EPARSE = 12,    /* query parse/validation error */
};

/* A static, never-NULL description of a (positive or negative) code. */
const char *fq_strerror(int err);

#endif
