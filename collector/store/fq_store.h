/*
 * fq_store.h - stored flows (`--store DIR`): every record the ingest hands
 * on, written to IPFIX files (RFC 5655) rotated on wall-clock multiples of
 * --store-rotate, expired by age and total size; and the listing of such a
 * directory that the `store:DIR` source replays.
 *
 * Layout: DIR/YYYY/MM/DD/flowq.YYYYMMDDhhmm.ipfix (UTC, the start of the
 * file's interval; with a rotation that is not whole minutes the name has
 * seconds too, flowq.YYYYMMDDhhmmss.ipfix).  The file being written is
 * that name + ".current"; at rotation it is fsync()ed (off the loop, in
 * libuv's thread pool), closed and renamed, so a file with the final name
 * is complete.  A name taken already (flowq restarted within an interval)
 * gets a sequence number: flowq.YYYYMMDDhhmm.1.ipfix.
 *
 * Writing never waits for the disk for long: records are encoded into
 * whole IPFIX messages kept in memory and written when 1 MiB has gathered
 * and at every flush of the loop (within 100 ms), so the current file is
 * readable up to its last flush.  A failed write (disk full) is counted,
 * the file is cut back to its last whole message and the rest of its
 * interval is dropped (counted); the next rotation tries a new file.
 *
 * Not thread-safe; call from the loop thread.
 */
#ifndef FQ_STORE_H
#define FQ_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "fq_out.h"
#include "fq_record.h"

#define FQ_STORE_ROTATE_DEFAULT (5 * 60 * 1000)

struct fq_store_opts {
	const char *dir;        /* --store DIR (borrowed); NULL = off */
	int64_t rotate_ms;      /* --store-rotate: whole seconds; 0 = 5 min */
	int64_t max_age_ms;     /* --store-max-age; 0 = keep */
	uint64_t max_bytes;     /* --store-max-size; 0 = no limit */
};

struct fq_store;

/*
 * Create DIR if needed, finish what a previous run left as ".current",
 * expire.  0, or -FQ_EIO / -FQ_EINVAL with a one-line reason in why.
 */
int fq_store_open(uv_loop_t *loop, const struct fq_store_opts *o,
		  struct fq_store **out, char *why, size_t why_len);
/* Store records (borrowed for the call); rotates when an interval ends. */
void fq_store_records(struct fq_store *s, const struct fq_record *recs,
		      size_t n);
/* Hand what is encoded to the file; rotate if the interval has ended. */
void fq_store_flush(struct fq_store *s);
/* Input has ended: finish the current file now (fsync, rename) so the
 * final counters include it; nothing is stored after this. */
void fq_store_finish(struct fq_store *s);
/* Finish the current file (synchronously) and free s (NULL accepted).
 * Returns 0, or -FQ_EIO if any write failed. */
int fq_store_close(struct fq_store *s);
void fq_store_print_stats(const struct fq_store *s, struct fq_out *o,
			  int json);

/* One file of a store directory. */
struct fq_store_file {
	char *path;             /* owned */
	int64_t start_ms;       /* from its name */
	unsigned seq;           /* the .N of a name taken twice */
	int current;            /* still being written (".current") */
	off_t size;
};

/*
 * Every store file under dir (its YYYY/MM/DD tree), in time order: start,
 * then sequence, a ".current" file after a finished one of the same name.
 * 0, or -FQ_EIO/-FQ_ENOMEM with why.
 */
int fq_store_list(const char *dir, struct fq_store_file **files, size_t *n,
		  char *why, size_t why_len);
void fq_store_list_free(struct fq_store_file *files, size_t n);

/*
 * A point in time: RFC 3339 ("2026-12-07T21:00:00Z", fraction and offset
 * allowed, 'T' or a space) or seconds since the epoch ("1765141200",
 * "1765141200.5").  0 or -FQ_EINVAL.
 */
int fq_store_parse_time(const char *s, int64_t *ms);

/* The file name (no directory) of an interval: "flowq.YYYYMMDDhhmm". */
void fq__store_name(int64_t start_ms, int with_seconds, char *buf,
		    size_t len);

#endif
