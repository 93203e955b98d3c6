/*
 * opts.h - option values shared by the subcommands.
 */
#ifndef FQ_CLI_OPTS_H
#define FQ_CLI_OPTS_H

#include <stdint.h>

#include "fq_decoder.h"
#include "fq_ip.h"

/* Owned storage behind fq_decoder_opts.allow/allow_len. */
struct fq_cli_allow {
	struct fq_ip *ips;
	uint8_t *lens;
	size_t n;
};

/* Parse "ADDR" or "ADDR/LEN" and append it; 0 or -FQ_EINVAL/-FQ_ENOMEM. */
int fq_cli_allow_add(struct fq_cli_allow *a, const char *arg);
void fq_cli_allow_apply(const struct fq_cli_allow *a, struct fq_decoder_opts *o);
void fq_cli_allow_fini(struct fq_cli_allow *a);

/*
 * A duration with a unit: "500ms", "90s", "90sec", "5min", "1h", "0" or
 * "inf" (INT64_MAX).  Bare numbers other than 0 are refused: on a command
 * line "900" is as likely meant in seconds as in milliseconds.
 */
int fq_cli_parse_duration(const char *s, int64_t *ms);

#endif
