/*
 * fq_error.c - text for the FQ_E* codes.
 */
#include "fq_error.h"

const char *
fq_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch ((enum fq_error)err) {
	case FQ_OK:       return "success";
	case FQ_ENOMEM:   return "out of memory";
	case FQ_EINVAL:   return "invalid argument";
	case FQ_EIO:      return "input/output error";
	case FQ_ECORRUPT: return "corrupt input";
	case FQ_ETRUNC:   return "truncated input";
	case FQ_EUNSUP:   return "unsupported format";
	case FQ_ENOENT:   return "not found";
	case FQ_EEXIST:   return "already exists";
	case FQ_ELIMIT:   return "limit reached";
	case FQ_EAGAIN:   return "try again";
	case FQ_ESTOP:    return "stopped by consumer";
	case FQ_EPARSE:   return "query error";
	}
	return "unknown error";
}
