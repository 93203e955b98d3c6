/*
 * dec_dump.c - decodes export files (pcap or raw datagrams, see
 * dec_files.h) with one decoder, in the order given, and prints every
 * record as one tab-separated line, then the exporter counters.  Used by
 * the tshark comparison (tshark_compare.py) and handy by hand:
 *
 *   dec_dump [--json-stats] FILE...
 *
 * Columns: srcip dstip nexthop srcport dstport prot tos tcp_flags packets
 * bytes stime etime input output src_as dst_as src_mask dst_mask sampling
 * domain exporter.
 */
#include "dec_files.h"
#include "fq_decoder.h"
#include "fq_log.h"
#include "fq_out.h"

#include <inttypes.h>
#include <unistd.h>

struct run {
	struct fq_decoder *d;
	struct fq_out *o;
};

static int
emit(void *ctx, struct fq_record *r, size_t n)
{
	struct fq_out *o = ctx;
	for (size_t i = 0; i < n; i++, r++) {
		char a[FQ_IP_STRLEN], b[FQ_IP_STRLEN], c[FQ_IP_STRLEN];
		char e[FQ_IP_STRLEN];
		a[fq_ip_format(&r->srcip, a)] = 0;
		b[fq_ip_format(&r->dstip, b)] = 0;
		c[fq_ip_format(&r->nexthop, c)] = 0;
		e[fq_ip_format(&r->exporter, e)] = 0;
		fq_out_printf(o, "%s\t%s\t%s\t%u\t%u\t%u\t%u\t%u\t%" PRIu64
			      "\t%" PRIu64 "\t%" PRId64 "\t%" PRId64
			      "\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%s\n",
			      a, b, c, r->srcport, r->dstport, r->prot, r->tos,
			      r->tcp_flags, r->packets, r->bytes, r->stime,
			      r->etime, r->input, r->output, r->src_as,
			      r->dst_as, r->src_mask, r->dst_mask, r->sampling,
			      r->domain, e);
	}
	return 0;
}

static void
feed(void *ctx, const struct fq_datagram *dg)
{
	struct run *r = ctx;
	fq_decoder_datagram(r->d, dg, emit, r->o);
}

int
main(int argc, char **argv)
{
	static struct fq_out o;
	fq_out_init(&o, 1);
	fq_log_set_level(getenv("DEC_DEBUG") ? FQ_LOG_DEBUG : FQ_LOG_ERROR);
	int json = 0, i = 1;
	if (argc > 1 && strcmp(argv[1], "--json-stats") == 0) {
		json = 1;
		i++;
	}
	struct run r = { NULL, &o };
	if (fq_decoder_new(&r.d, NULL) < 0)
		return 2;
	int rc = 0;
	for (; i < argc; i++) {
		if (df_file(argv[i], feed, &r) < 0) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			rc = 2;
		}
	}
	fq_out_str(&o, "# ");
	fq_decoder_print_stats(r.d, &o, json);
	fq_out_str(&o, "\n");
	fq_out_flush(&o);
	fq_decoder_free(r.d);
	return rc;
}
