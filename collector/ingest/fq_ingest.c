/*
 * fq_ingest.c - runs the sources of one flowq invocation on a libuv loop.
 *
 * Replay sources form a queue: when one reports done, the next starts.
 * Live sources start together and run until stopped.  When the last source
 * has reported done, the sink is finished exactly once and nothing else is
 * left on the loop, so uv_run() returns and flowq exits.
 */
#include "fq_ingest.h"
#include "fq_error.h"
#include "fq_log.h"
#include "tpl_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fq_ingest_init(struct fq_ingest *ing, uv_loop_t *loop, struct fq_sink *sink)
{
	memset(ing, 0, sizeof *ing);
	ing->loop = loop;
	ing->sink = sink;
	ing->next_rec_id = 1;
}

static void
ingest_finish(struct fq_ingest *ing)
{
	if (ing->finished)
		return;
	ing->finished = 1;
	if (ing->recorder)
		fq_pcap_recorder_flush(ing->recorder);
	if (ing->store)
		fq_store_finish(ing->store);
	int rc = ing->sink->finish(ing->sink);
	if (rc < 0 && ing->status == 0)
		ing->status = rc;
	for (struct fq_source *s = ing->sources; s; s = s->next)
		if (s->ops->close)
			s->ops->close(s);
}

static int
all_done(const struct fq_ingest *ing)
{
	for (const struct fq_source *s = ing->sources; s; s = s->next)
		if (!s->done)
			return 0;
	return 1;
}

static struct fq_source *
next_replay(struct fq_source *from)
{
	for (struct fq_source *s = from; s; s = s->next)
		if (!s->live && !s->done)
			return s;
	return NULL;
}

/* Start replay sources until one is running or none is left. */
static void
start_next_replay(struct fq_ingest *ing)
{
	while (!ing->stopping) {
		struct fq_source *s = next_replay(ing->sources);
		ing->replay = s;
		if (s == NULL)
			return;
		int rc = s->ops->start(s);
		if (rc == 0)
			return;
		/* A source that fails to start has reported why already. */
		if (!s->done)
			fq_source_done(s, rc);
		/* fq_source_done() has moved on to the next one. */
		return;
	}
}

void
fq_source_done(struct fq_source *src, int status)
{
	struct fq_ingest *ing = src->ingest;
	if (src->done)
		return;
	src->done = 1;
	src->status = status;
	if (status < 0 && ing->status == 0)
		ing->status = status;
	if (!src->live && ing->replay == src) {
		ing->replay = NULL;
		start_next_replay(ing);
	}
	if (all_done(ing))
		ingest_finish(ing);
}

int
fq_ingest_add(struct fq_ingest *ing, const char *spec,
	      const struct fq_source_opts *opts, char *why, size_t why_len)
{
	struct fq_source *src = NULL;
	int rc = fq_source_create(spec, opts, &src, why, why_len);
	if (rc < 0)
		return rc;
	src->ingest = ing;
	src->local_id = ing->n_sources++;
	struct fq_source **pp = &ing->sources;
	while (*pp)
		pp = &(*pp)->next;
	*pp = src;
	return 0;
}

/* The live source spelled `spec` now running, or NULL; *pp its link. */
static struct fq_source *
find_live(struct fq_ingest *ing, const char *spec, struct fq_source ***pp)
{
	for (*pp = &ing->sources; **pp; *pp = &(**pp)->next) {
		struct fq_source *s = **pp;
		if (s->live && !s->done && strcmp(s->spec, spec) == 0)
			return s;
	}
	return NULL;
}

int
fq_ingest_add_live(struct fq_ingest *ing, const char *spec,
		   const struct fq_source_opts *opts, char *why,
		   size_t why_len)
{
	if (ing->stopping || ing->finished) {
		snprintf(why, why_len, "%s: the input is ending", spec);
		return -FQ_ESTOP;
	}
	int rc = fq_ingest_add(ing, spec, opts, why, why_len);
	if (rc < 0)
		return rc;
	struct fq_source **pp, *s;
	for (pp = &ing->sources; (*pp)->next; pp = &(*pp)->next)
		;
	s = *pp;
	if (!s->live) {
		snprintf(why, why_len, "%s: only a socket can be added to a "
			 "running collector", spec);
		rc = -FQ_EINVAL;
	} else if (ing->started) {
		rc = s->ops->start(s);
		if (rc < 0)
			snprintf(why, why_len, "%s: cannot start (said above)",
				 spec);
	}
	if (rc < 0) {
		/* Not started, or failed to: closed and kept for the end,
		 * like a removed one. */
		*pp = NULL;
		s->done = 1;
		if (s->ops->close)
			s->ops->close(s);
		s->next = ing->retired;
		ing->retired = s;
	}
	return rc;
}

int
fq_ingest_remove(struct fq_ingest *ing, const char *spec)
{
	struct fq_source **pp;
	struct fq_source *s = find_live(ing, spec, &pp);
	if (s == NULL)
		return -FQ_ENOENT;
	/* Out of the list first: its done is not the input's end. */
	*pp = s->next;
	s->next = ing->retired;
	ing->retired = s;
	s->ops->stop(s);
	if (!s->done)
		fq_source_done(s, 0);
	if (s->ops->close)
		s->ops->close(s);
	return 0;
}

int
fq_ingest_start(struct fq_ingest *ing)
{
	ing->started = 1;
	if (ing->sources == NULL) {
		ingest_finish(ing);
		return 0;
	}
	for (struct fq_source *s = ing->sources; s; s = s->next) {
		if (!s->live)
			continue;
		int rc = s->ops->start(s);
		if (rc < 0)
			return rc;
	}
	start_next_replay(ing);
	if (all_done(ing))
		ingest_finish(ing);
	return 0;
}

void
fq_ingest_stop(struct fq_ingest *ing)
{
	if (ing->stopping)
		return;
	ing->stopping = 1;
	/* Sources not yet started are simply done, with nothing produced. */
	for (struct fq_source *s = ing->sources; s; s = s->next) {
		if (s->done)
			continue;
		if (s->live || s == ing->replay)
			s->ops->stop(s);
		else
			fq_source_done(s, 0);
	}
	if (all_done(ing))
		ingest_finish(ing);
}

int
fq_ingest_records(struct fq_ingest *ing, struct fq_record *recs, size_t n)
{
	if (ing->finished || ing->sink_status < 0)
		return ing->sink_status < 0 ? ing->sink_status : -FQ_ESTOP;
	for (size_t i = 0; i < n; i++)
		recs[i].rec_id = ing->next_rec_id++;
	ing->records += n;
	if (ing->store)
		fq_store_records(ing->store, recs, n);
	int rc = ing->sink->records(ing->sink, recs, n);
	if (rc < 0) {
		ing->sink_status = rc;
		if (rc != -FQ_ESTOP && ing->status == 0)
			ing->status = rc;
		fq_ingest_stop(ing);
	}
	return rc;
}

struct emit_ctx {
	struct fq_ingest *ing;
	int64_t arrival_ms;       /* of the datagram being decoded, 0 unknown */
};

/* Records of one datagram: give them the datagram's arrival time unless
 * the decoder set one (SPEC section 5 measures idleness and skew by it). */
static int
ingest_emit(void *ctx, struct fq_record *recs, size_t n)
{
	struct emit_ctx *ec = ctx;
	for (size_t i = 0; i < n; i++) {
		struct fq_record *r = &recs[i];
		if (r->arrival != 0)
			continue;
		if (ec->arrival_ms != 0)
			r->arrival = ec->arrival_ms;
		else if (r->unix_secs != 0)
			r->arrival = (int64_t)r->unix_secs * 1000 +
				     r->unix_nsecs / 1000000;
		else
			r->arrival = r->etime;
	}
	return fq_ingest_records(ec->ing, recs, n);
}

int
fq_ingest_record_to(struct fq_ingest *ing, const char *path, char *why,
		    size_t why_len)
{
	return fq_pcap_recorder_open(path, &ing->recorder, why, why_len);
}

int
fq_ingest_store_to(struct fq_ingest *ing, const struct fq_store_opts *o,
		   char *why, size_t why_len)
{
	return fq_store_open(ing->loop, o, &ing->store, why, why_len);
}

int
fq_ingest_datagram(struct fq_ingest *ing, const struct fq_datagram *dg)
{
	/* Recorded before decoding: a datagram the decoder refuses is still
	 * part of what was received, and replays to the same counters. */
	if (ing->recorder)
		fq_pcap_recorder_write(ing->recorder, dg);
	if (ing->decoder == NULL) {
		int rc = fq_decoder_new(&ing->decoder, &ing->decoder_opts);
		if (rc < 0)
			return rc;
	}
	struct emit_ctx ec = { ing, dg->arrival_ms };
	return fq_decoder_datagram(ing->decoder, dg, ingest_emit, &ec);
}

void
fq_ingest_flush(struct fq_ingest *ing)
{
	if (ing->recorder)
		fq_pcap_recorder_flush(ing->recorder);
	if (ing->store)
		fq_store_flush(ing->store);
}

void
fq_ingest_reopen(struct fq_ingest *ing)
{
	if (ing->recorder)
		fq_pcap_recorder_reopen(ing->recorder);
}

void
fq_ingest_print_stats(struct fq_ingest *ing, struct fq_out *o, int json)
{
	if (json) {
		fq_out_printf(o, "{\"records\":%llu,\"sources\":[",
			      (unsigned long long)ing->records);
		int first = 1;
		for (struct fq_source *s = ing->sources; s; s = s->next) {
			if (!s->ops->print_stats)
				continue;
			if (!first)
				fq_out_str(o, ",");
			first = 0;
			s->ops->print_stats(s, o, 1);
		}
		fq_out_str(o, "],\"exporters\":");
		if (ing->decoder)
			fq_decoder_print_stats(ing->decoder, o, 1);
		else
			fq_out_str(o, "[]");
		fq_out_str(o, ",\"decoder\":");
		fq_decoder_print_totals(ing->decoder, o);
		if (ing->store) {
			fq_out_str(o, ",\"store\":");
			fq_store_print_stats(ing->store, o, 1);
		}
		if (ing->decoder_opts.keep_templates)
			fq_out_printf(o, ",\"templates\":{\"restored\":%llu,"
				      "\"saves\":%llu,\"save_errors\":%llu}",
				      (unsigned long long)ing->templates_restored,
				      (unsigned long long)ing->templates_saves,
				      (unsigned long long)ing->templates_save_errors);
		fq_out_str(o, "}\n");
		return;
	}
	fq_out_printf(o, "records: %llu\n", (unsigned long long)ing->records);
	if (ing->recorder)
		fq_out_printf(o, "recorded datagrams: %llu\n",
			      (unsigned long long)
			      fq_pcap_recorder_count(ing->recorder));
	if (ing->store)
		fq_store_print_stats(ing->store, o, 0);
	if (ing->decoder_opts.keep_templates)
		fq_out_printf(o, "templates: restored %llu saves %llu "
			      "save_errors %llu\n",
			      (unsigned long long)ing->templates_restored,
			      (unsigned long long)ing->templates_saves,
			      (unsigned long long)ing->templates_save_errors);
	for (struct fq_source *s = ing->sources; s; s = s->next)
		if (s->ops->print_stats)
			s->ops->print_stats(s, o, 0);
	if (ing->decoder)
		fq_decoder_print_stats(ing->decoder, o, 0);
}

void
fq_ingest_fini(struct fq_ingest *ing)
{
	/* After an early error the sources may still hold open handles. */
	if (!ing->finished) {
		for (struct fq_source *s = ing->sources; s; s = s->next)
			if (s->ops->close)
				s->ops->close(s);
	}
	/* Let the close callbacks run before memory goes away. */
	uv_run(ing->loop, UV_RUN_NOWAIT);
	for (int list = 0; list < 2; list++) {
		struct fq_source *s = list ? ing->retired : ing->sources;
		while (s) {
			struct fq_source *next = s->next;
			free(s->spec);
			s->ops->free(s);
			s = next;
		}
	}
	ing->sources = ing->retired = NULL;
	if (ing->decoder)
		fq_decoder_free(ing->decoder);
	ing->decoder = NULL;
	if (ing->recorder && fq_pcap_recorder_close(ing->recorder) < 0 &&
	    ing->status == 0)
		ing->status = -FQ_EIO;
	ing->recorder = NULL;
	/* A store that could not write has counted it; flowq's exit status
	 * is not the store's (collecting went on). */
	fq_store_close(ing->store);
	ing->store = NULL;
}

/* ---- --state-dir: the decoder's templates across restarts ---- */

static const char *
spec_of(void *ctx, uint32_t local_id)
{
	struct fq_ingest *ing = ctx;
	for (struct fq_source *s = ing->sources; s; s = s->next)
		if (s->live && s->local_id == local_id)
			return s->spec;
	return NULL;
}

static int
local_id_of(void *ctx, const char *spec, uint32_t *id)
{
	struct fq_ingest *ing = ctx;
	for (struct fq_source *s = ing->sources; s; s = s->next)
		if (s->live && strcmp(s->spec, spec) == 0) {
			*id = s->local_id;
			return 0;
		}
	return -1;
}

int
fq_ingest_templates_restore(struct fq_ingest *ing, const char *path,
			    int64_t now_ms, char *why, size_t why_len)
{
	struct fq_tpl_state st;
	int rc = fq_tpl_state_load(&st, path, why, why_len);
	if (rc == -FQ_ENOENT)
		return 0;       /* a first start */
	if (rc < 0)
		return rc;
	if (ing->decoder == NULL &&
	    (rc = fq_decoder_new(&ing->decoder, &ing->decoder_opts)) < 0) {
		fq_tpl_state_fini(&st);
		snprintf(why, why_len, "%s: out of memory", path);
		return rc;
	}
	struct fq_tpl_restore r;
	fq_decoder_templates_restore(ing->decoder, &st, local_id_of, ing, now_ms,
				     &r);
	fq_info("%s: %zu templates restored (%zu past their lifetime, %zu of "
		"sources not in this run, %zu refused)", path, r.restored,
		r.expired, r.no_source, r.refused);
	ing->templates_restored = r.restored;
	fq_tpl_state_fini(&st);
	ing->templates_sig = fq_decoder_templates_signature(ing->decoder);
	return 0;
}

int
fq_ingest_templates_save(struct fq_ingest *ing, const char *path, int force,
			 int64_t now_ms, char *why, size_t why_len)
{
	if (ing->decoder == NULL)
		return 0;
	uint64_t sig = fq_decoder_templates_signature(ing->decoder);
	if (!force && sig == ing->templates_sig)
		return 0;
	struct fq_tpl_state st = { NULL, 0, 0, now_ms };
	int rc = fq_decoder_templates_save(ing->decoder, spec_of, ing, &st);
	if (rc == 0)
		rc = fq_tpl_state_save(&st, path, why, why_len);
	else
		snprintf(why, why_len, "%s: out of memory", path);
	if (rc == 0) {
		ing->templates_sig = sig;
		ing->templates_saves++;
	} else {
		ing->templates_save_errors++;
	}
	fq_tpl_state_fini(&st);
	return rc;
}
