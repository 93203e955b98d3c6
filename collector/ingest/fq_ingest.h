/*
 * fq_ingest.h - the one ingest path: sources -> decoders -> sink.
 *
 * The ingest owns the sources of a run, the rec_id counter and (when a
 * datagram source exists) the decoder with its exporter sessions.  It runs
 * replay sources one after another and live sources side by side on one
 * libuv loop, and calls the sink's finish() exactly once when input ends:
 * after the last replay source when no live source exists, or after
 * fq_ingest_stop() (SIGINT/SIGTERM).
 */
#ifndef FQ_INGEST_H
#define FQ_INGEST_H

#include <stdint.h>
#include <uv.h>

#include "fq_datagram.h"
#include "fq_decoder.h"
#include "fq_out.h"
#include "pcap_recorder.h"
#include "fq_record.h"
#include "fq_sink.h"
#include "fq_source.h"
#include "fq_store.h"

struct fq_ingest {
	uv_loop_t *loop;               /* borrowed */
	struct fq_sink *sink;          /* borrowed */
	struct fq_source *sources;     /* owned list, command-line order */
	struct fq_source *retired;     /* owned list: taken out by a reload,
					  closed, freed at the end */
	struct fq_source *replay;      /* the replay source now running */
	struct fq_decoder *decoder;    /* owned, created on first use */
	struct fq_decoder_opts decoder_opts;
	struct fq_pcap_recorder *recorder; /* owned: --record, or NULL */
	struct fq_store *store;        /* owned: --store, or NULL */
	uint64_t next_rec_id;          /* rec_id of the next record */
	uint64_t records;              /* records delivered to the sink */
	uint32_t n_sources;
	/* --state-dir (fq_ingest_templates_*) */
	uint64_t templates_sig;        /* of the templates last saved */
	uint64_t templates_restored, templates_saves, templates_save_errors;
	int started;
	int stopping;                  /* stop requested */
	int finished;                  /* sink->finish() has been called */
	int status;                    /* first error of a source or sink */
	int sink_status;               /* error the sink returned, if any */
};

void fq_ingest_init(struct fq_ingest *ing, uv_loop_t *loop,
		    struct fq_sink *sink);
/* Release sources and decoder; runs the loop until handles are closed. */
void fq_ingest_fini(struct fq_ingest *ing);

/*
 * Add a source by its command-line spelling, with its settings (NULL =
 * defaults); see fq_source_create().
 */
int fq_ingest_add(struct fq_ingest *ing, const char *spec,
		  const struct fq_source_opts *opts, char *why,
		  size_t why_len);

/*
 * A reload: add a live source (a socket) to a running ingest, started at
 * once (bound), or take one out (stopped and closed; its counters go).
 * add: 0, or -FQ_E* with the reason in why (nothing added); remove: 0
 * or -FQ_ENOENT when no live source is spelled `spec`.
 */
int fq_ingest_add_live(struct fq_ingest *ing, const char *spec,
		       const struct fq_source_opts *opts, char *why,
		       size_t why_len);
int fq_ingest_remove(struct fq_ingest *ing, const char *spec);

/* Start all live sources and the first replay source. */
int fq_ingest_start(struct fq_ingest *ing);
/* Stop every source; input ends once they have all reported done. */
void fq_ingest_stop(struct fq_ingest *ing);

/*
 * For sources: deliver decoded records.  Assigns rec_ids in place and
 * passes the batch to the sink.  Returns the sink's status; on an error
 * the ingest stops all sources.
 */
int fq_ingest_records(struct fq_ingest *ing, struct fq_record *recs,
		      size_t n);

/* For sources: decode one datagram and deliver its records. */
int fq_ingest_datagram(struct fq_ingest *ing, const struct fq_datagram *dg);

/*
 * Write every datagram received from now on to a pcap capture (--record).
 * Returns 0 or -FQ_EIO with a reason in `why`.
 */
int fq_ingest_record_to(struct fq_ingest *ing, const char *path, char *why,
			size_t why_len);

/*
 * Write every record handed on from now on to a store directory
 * (--store, fq_store.h).  0 or -FQ_E* with a reason in `why`.
 */
int fq_ingest_store_to(struct fq_ingest *ing, const struct fq_store_opts *o,
		       char *why, size_t why_len);

/* Hand what --record and --store hold to the files (the loop calls it with the
 * outputs' flush: SPEC section 6, within 100 ms). */
void fq_ingest_flush(struct fq_ingest *ing);
/* SIGHUP: reopen the --record capture. */
void fq_ingest_reopen(struct fq_ingest *ing);

/*
 * --state-dir: the v9/IPFIX templates of the live sources' exporters.
 * Restore from path (call after the sources are added, before input):
 * 0 (also when there is no file: a first start), or -FQ_E* with the
 * reason in why (a corrupt or foreign file: nothing restored).  Save to
 * path (atomically) when they changed since the last save, or always
 * with force: 0 or -FQ_E* with the reason (counted).
 */
int fq_ingest_templates_restore(struct fq_ingest *ing, const char *path,
				int64_t now_ms, char *why, size_t why_len);
int fq_ingest_templates_save(struct fq_ingest *ing, const char *path,
			     int force, int64_t now_ms, char *why,
			     size_t why_len);

/* Counters of sources and exporters (text or one JSON object). */
void fq_ingest_print_stats(struct fq_ingest *ing, struct fq_out *o, int json);

#endif
