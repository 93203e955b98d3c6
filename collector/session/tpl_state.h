/*
 * tpl_state.h - the template state file of --state-dir: what an
 * exporter's NetFlow v9 and IPFIX templates were when flowq last saw
 * them, so that a restarted flowq decodes data at once instead of
 * counting it as unknown-template until the exporter resends.
 *
 * One entry per template: where it came from (the source's spelling,
 * the exporter's address and port, version and observation domain),
 * the domain's header state (sequence, uptime, export time: so that the
 * next real datagram is not taken for a loss or an exporter restart),
 * its sampling, when it was last (re)defined, and the template itself as
 * a small export datagram that announces it.  Restoring feeds that
 * datagram through the ordinary decoder, so a stored template is checked
 * and compiled by the very code that took it the first time -- and a
 * state file is never trusted more than the network.
 *
 * This file is the envelope only: encode, decode (every length checked;
 * a problem names its byte offset), and an atomic save (write, fsync,
 * rename).  collector/session/tpl_persist.c fills and applies it.
 */
#ifndef FQ_TPL_STATE_H
#define FQ_TPL_STATE_H

#include <stddef.h>
#include <stdint.h>

#define FQ_TPL_STATE_SAMPLERS 16

struct fq_tpl_state_entry {
	char *source;              /* owned: the source's spelling */
	uint8_t addr[16];          /* exporter; IPv4 in the last 4 */
	uint8_t is6;
	uint16_t port;
	uint8_t version;           /* 9 or 10 */
	uint32_t domain;           /* source id / observation domain */
	/* The domain's header state (exporter.h, struct fq__domain). */
	uint8_t seq_valid, have_last, have_sysinit;
	uint32_t seq_next, fixbuf_seq, last_seq, last_uptime,
		 last_export_secs;
	uint32_t sampling;
	int64_t sysinit_ms;        /* IPFIX systemInitTimeMilliseconds */
	uint8_t n_samplers;
	uint32_t sampler_id[FQ_TPL_STATE_SAMPLERS];
	uint32_t sampler_interval[FQ_TPL_STATE_SAMPLERS];
	int64_t refreshed_ms;      /* arrival of its last (re)definition */
	uint8_t *dgram;            /* owned: a datagram announcing it */
	uint32_t dgram_len;
};

struct fq_tpl_state {
	struct fq_tpl_state_entry *v;   /* owned array */
	size_t n, cap;
	int64_t saved_ms;               /* when it was written */
};

/* Append a copy of e (its strings and bytes copied).  0 or -FQ_ENOMEM. */
int fq_tpl_state_add(struct fq_tpl_state *st,
		     const struct fq_tpl_state_entry *e);

/* The file's bytes (owned *buf).  0 or -FQ_ENOMEM. */
int fq_tpl_state_encode(const struct fq_tpl_state *st, uint8_t **buf,
			size_t *len);

/*
 * Parse a file's bytes into st (empty before).  0, or -FQ_ECORRUPT /
 * -FQ_EUNSUP with "offset N: reason" in why (st then empty), or
 * -FQ_ENOMEM.
 */
int fq_tpl_state_decode(struct fq_tpl_state *st, const uint8_t *buf,
			size_t len, char *why, size_t why_len);

/* Write st to path atomically (path.tmp, fsync, rename).  0 or -FQ_EIO
 * with a reason in why. */
int fq_tpl_state_save(const struct fq_tpl_state *st, const char *path,
		      char *why, size_t why_len);

/* Read path into st.  0; -FQ_ENOENT when there is no file (a first
 * start); else as fq_tpl_state_decode() or -FQ_EIO, reason in why. */
int fq_tpl_state_load(struct fq_tpl_state *st, const char *path, char *why,
		      size_t why_len);

void fq_tpl_state_fini(struct fq_tpl_state *st);

#endif
