/*
 * fq_source.h - the source abstraction: everything that produces records.
 *
 * A source is created from its command-line spelling (SPEC section 2) and
 * runs on the ingest's libuv loop.  Two kinds exist:
 *
 *   replay sources (flow-tools, pcap, ipfix:, raw: files) run one after
 *   another in command-line order, so that a template capture given before
 *   its data capture decodes the data;
 *
 *   live sources (udp://, tcp://) all run from the start, side by side.
 *
 * Record-level sources (flow-tools) call fq_ingest_records(); datagram-level
 * sources (sockets, pcap, raw:, ipfix:) call fq_ingest_datagram().  Both end
 * in the same sink through the same rec_id counter.
 *
 * Lifetime: create -> start -> (produce ...) -> fq_source_done() exactly
 * once -> close (handles closing on the loop) -> free once the loop has run
 * the close callbacks.
 */
#ifndef FQ_SOURCE_H
#define FQ_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fq_out.h"

struct fq_ingest;
struct fq_source;

struct fq_source_ops {
	const char *kind;                       /* "ft", "udp", "pcap", ... */
	/* Begin producing.  Returns 0 or -FQ_E*. */
	int (*start)(struct fq_source *src);
	/*
	 * Stop producing soon (SIGINT/SIGTERM, output closed).  The source
	 * must still call fq_source_done(), possibly from inside stop().
	 */
	void (*stop)(struct fq_source *src);
	/* Close libuv handles (asynchronously); called after done. */
	void (*close)(struct fq_source *src);
	/* Free the source; its handles' close callbacks have all run. */
	void (*free)(struct fq_source *src);
	/* Optional: per-source counters (sockets: kernel drops). */
	void (*print_stats)(struct fq_source *src, struct fq_out *o, int json);
};

struct fq_source {
	const struct fq_source_ops *ops;
	struct fq_ingest *ingest;      /* borrowed: the ingest that owns us */
	char *spec;                    /* owned: as given on the command line */
	int live;                      /* 1: socket, runs from the start */
	int done;                      /* fq_source_done() was called */
	int status;                    /* final status, 0 or -FQ_E* */
	uint32_t local_id;             /* index, for exporter keys */
	struct fq_source *next;        /* ingest's list, command-line order */
};

/*
 * SO_RCVBUF asked for udp:// sockets unless the options say otherwise
 * (the kernel caps it at net.core.rmem_max unless flowq may use
 * SO_RCVBUFFORCE; the effective size is in the source's counters).
 */
#define FQ_UDP_RCVBUF_DEFAULT (32u << 20)

/*
 * tcp:// bounds (docs/sources.md, "tcp://", says why these values).
 *
 * At most FQ_TCP_MAX_CONN connections per tcp:// source, at most
 * FQ_TCP_MAX_PER_PEER_DEFAULT of them from one source address.  A
 * connection that sends no byte for FQ_TCP_IDLE_DEFAULT_MS is closed
 * (twice the 5-minute interval of the longest periodic message a quiet
 * exporter is known to send: YAF's process statistics); one whose message
 * stays incomplete for FQ_TCP_PROGRESS_DEFAULT_MS is closed (a 65535-byte
 * message is a single write for an exporter; 30 s covers several TCP
 * retransmission back-offs on a lossy path).
 */
#define FQ_TCP_MAX_CONN 512
#define FQ_TCP_MAX_PER_PEER_DEFAULT 16
#define FQ_TCP_IDLE_DEFAULT_MS (10 * 60 * 1000LL)
#define FQ_TCP_PROGRESS_DEFAULT_MS (30 * 1000LL)
/* A timeout value meaning "never" (the command line's "inf" or "0"). */
#define FQ_TCP_NEVER INT64_MAX

/*
 * Settings a source takes when it is created (command-line options); each
 * source keeps its own copy.  All zero = the defaults.
 */
struct fq_source_opts {
	size_t udp_rcvbuf;      /* --rcvbuf; 0 = FQ_UDP_RCVBUF_DEFAULT */
	/*
	 * --speed X: pcap, raw:, ipfix: and flow-tools replay at X times
	 * their original pace (capture time; export header time for the
	 * others).  0 = as fast as possible.
	 */
	double replay_speed;
	/*
	 * tcp://: --tcp-idle (no byte at all for this long) and
	 * --tcp-progress (a message begun and not complete for this long)
	 * close the connection; 0 = the default, FQ_TCP_NEVER = never.
	 */
	int64_t tcp_idle_ms;
	int64_t tcp_progress_ms;
	/* --tcp-max-per-peer: connections from one address; 0 = default. */
	unsigned tcp_max_per_peer;
	/*
	 * --since T / --until T: a store:DIR source reads the files and
	 * records whose arrival is in [since, until).  Unset = no bound.
	 */
	int has_since, has_until;
	int64_t since_ms, until_ms;
};

/*
 * Create a source from its spelling: ft:FILE, a flow-tools file or
 * directory, udp://ADDR:PORT, tcp://ADDR:PORT, pcap:FILE or *.pcap[ng],
 * ipfix:FILE, raw:FILE, store:DIR, with `opts` (NULL = defaults).  Returns 0,
 * -FQ_EINVAL (bad spelling) or -FQ_EUNSUP (a kind this build cannot
 * read); `why` (at least 256 bytes) receives a one-line reason on failure.
 */
int fq_source_create(const char *spec, const struct fq_source_opts *opts,
		     struct fq_source **out, char *why, size_t why_len);

/*
 * Check a spelling without opening anything: a known kind, a socket
 * address that parses, a file that can be read.  0, or -FQ_EINVAL /
 * -FQ_ENOENT with a one-line reason in why.
 */
int fq_source_check(const char *spec, char *why, size_t why_len);

/* Called by a source exactly once when it has produced everything. */
void fq_source_done(struct fq_source *src, int status);

#endif
