/*
 * test_shared.c - every export capture in the shared data decodes: each
 * vendor's template file is replayed before its data files through one
 * decoder, and the number of data records must be the one tshark finds
 * (tshark_compare.py checks the fields).  The deliberately invalid
 * datagrams must be counted as malformed, emit nothing, and not stop the
 * decoding of what follows them; Logstash's netflow9_test_invalid01 is
 * only a v9 header count below its flowsets, which flowq decodes (its 2
 * records, with valid01's 7) and counts as an anomaly.
 *
 *   test-collector-shared SHARED_DIR      (exit 77 when it is absent)
 */
#include "dec_files.h"
#include "dec_test.h"
#include "fq_field.h"
#include "fq_log.h"

#include <sys/stat.h>

struct group {
	const char *files[5];
	long records;           /* data records expected */
	int invalid;            /* deliberately invalid: malformed, no record */
	long options;           /* minimum options records */
	uint32_t sampling;      /* sampling of the last record, 0 = any */
};

static const struct group groups[] = {
	{ { "pcap/akvorado-nfv5.pcap" }, 29, 0, 0, 0 },
	{ { "pcap/akvorado-data+templates.pcap" }, 10, 0, 1, 100 },
	{ { "pcap/akvorado-template.pcap", "pcap/akvorado-data.pcap" },
	  4, 0, 0, 1 },
	{ { "pcap/akvorado-options-template.pcap",
	    "pcap/akvorado-options-data.pcap" }, 0, 0, 4, 0 },
	{ { "pcap/akvorado-template.pcap",
	    "pcap/akvorado-options-template.pcap",
	    "pcap/akvorado-options-data.pcap", "pcap/akvorado-data.pcap" },
	  4, 0, 4, 30000 },
	{ { "pcap/akvorado-samplingrate-template.pcap",
	    "pcap/akvorado-samplingrate-data.pcap" }, 6, 0, 0, 2048 },
	{ { "pcap/akvorado-icmp-template.pcap",
	    "pcap/akvorado-icmp-data.pcap" }, 4, 0, 0, 0 },
	{ { "pcap/akvorado-ipfixprobe-templates.pcap",
	    "pcap/akvorado-ipfixprobe-data.pcap" }, 4, 0, 0, 0 },
	{ { "pcap/akvorado-physicalinterfaces.pcap" }, 8, 0, 1, 0 },
	{ { "pcap/akvorado-mpls.pcap" }, 2, 0, 1, 0 },
	{ { "raw/logstash-netflow5.dat" }, 30, 0, 0, 0 },
	{ { "raw/logstash-netflow5_test_juniper_mx80.dat" }, 29, 0, 0, 0 },
	{ { "raw/logstash-netflow5_test_microtik.dat" }, 30, 0, 0, 0 },
	{ { "raw/logstash-netflow5_test_invalid01.dat",
	    "raw/logstash-netflow5.dat" }, 30, 1, 0, 0 },
	{ { "raw/logstash-netflow5_test_invalid02.dat",
	    "raw/logstash-netflow5.dat" }, 30, 1, 0, 0 },
	{ { "raw/logstash-netflow9_test_0length_fields_tpl_data.dat" },
	  10, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_cisco_asa_1_tpl.dat",
	    "raw/logstash-netflow9_test_cisco_asa_1_data.dat" }, 14, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_cisco_asr9k_opttpl256.dat",
	    "raw/logstash-netflow9_test_cisco_asr9k_tpl260.dat",
	    "raw/logstash-netflow9_test_cisco_asr9k_data260.dat" },
	  21, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_huawei_netstream_tpl.dat",
	    "raw/logstash-netflow9_test_huawei_netstream_data.dat" },
	  1, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_invalid01.dat",
	    "raw/logstash-netflow9_test_valid01.dat" }, 9, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_iptnetflow_reduced_size_encoding_"
	    "tpldata260.dat" }, 12, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_macaddr_tpl.dat",
	    "raw/logstash-netflow9_test_macaddr_data.dat" }, 29, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_nprobe_tpl.dat",
	    "raw/logstash-netflow9_test_nprobe_data.dat" }, 1, 0, 1, 0 },
	{ { "raw/logstash-netflow9_test_paloalto_panos_tpl.dat",
	    "raw/logstash-netflow9_test_paloalto_panos_data.dat" },
	  8, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_softflowd_tpl_data.dat" }, 7, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_ubnt_edgerouter_tpl.dat",
	    "raw/logstash-netflow9_test_ubnt_edgerouter_data1024.dat",
	    "raw/logstash-netflow9_test_ubnt_edgerouter_data1025.dat" },
	  16, 0, 0, 0 },
	{ { "raw/logstash-netflow9_test_valid01.dat" }, 7, 0, 0, 0 },
	{ { "raw/logstash-ipfix.dat" }, 12, 0, 1, 0 },
	{ { "raw/logstash-ipfix_test_barracuda_tpl.dat",
	    "raw/logstash-ipfix_test_barracuda_data256.dat" }, 8, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_ixia_tpldata256.dat" }, 1, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_ixia_tpldata271.dat" }, 2, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_mikrotik_tpl.dat",
	    "raw/logstash-ipfix_test_mikrotik_data258.dat",
	    "raw/logstash-ipfix_test_mikrotik_data259.dat" }, 46, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_nokia_bras_tpl.dat",
	    "raw/logstash-ipfix_test_nokia_bras_data256.dat" }, 1, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_openbsd_pflow_tpl.dat",
	    "raw/logstash-ipfix_test_openbsd_pflow_data.dat" }, 26, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_procera_tpl52935.dat",
	    "raw/logstash-ipfix_test_procera_data52935.dat" }, 8, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_vmware_vds_tpl.dat",
	    "raw/logstash-ipfix_test_vmware_vds_data264.dat",
	    "raw/logstash-ipfix_test_vmware_vds_data266.dat",
	    "raw/logstash-ipfix_test_vmware_vds_data266_267.dat" },
	  5, 0, 0, 0 },
	{ { "raw/logstash-ipfix_test_yaf_tpls_option_tpl.dat",
	    "raw/logstash-ipfix_test_yaf_tpl45841.dat",
	    "raw/logstash-ipfix_test_yaf_data45841.dat" }, 1, 0, 0, 0 },
};

struct run {
	struct fq_decoder *d;
	struct sink *s;
};

static void
feed_dg(void *ctx, const struct fq_datagram *dg)
{
	struct run *r = ctx;
	CHECK_EQ(fq_decoder_datagram(r->d, dg, sink_emit, r->s), 0);
}

static int
records_equal(const struct fq_record *a, const struct fq_record *b)
{
	for (int f = 0; f < FQ_F_COUNT; f++) {
		const struct fq_field *fl = &fq_fields[f];
		if (fl->type == FQ_T_IP) {
			if (!fq_ip_eq(fq_field_ip(a, fl), fq_field_ip(b, fl)))
				return 0;
		} else if (fq_field_num(a, fl) != fq_field_num(b, fl)) {
			return 0;
		}
	}
	return a->arrival == b->arrival;
}

/* Say which fields of record i differ (libfixbuf vs own engine). */
static void
diff_record(size_t i, const struct fq_record *a, const struct fq_record *b)
{
	for (int f = 0; f < FQ_F_COUNT; f++) {
		const struct fq_field *fl = &fq_fields[f];
		if (fl->flags & FQ_FIELD_DERIVED)
			continue;
		if (fl->type == FQ_T_IP) {
			if (!fq_ip_eq(fq_field_ip(a, fl), fq_field_ip(b, fl)))
				printf("    record %zu %s differs\n", i, fl->name);
		} else if (fq_field_num(a, fl) != fq_field_num(b, fl)) {
			printf("    record %zu %s: libfixbuf %lld, own %lld\n", i,
			       fl->name, (long long)fq_field_num(a, fl),
			       (long long)fq_field_num(b, fl));
		}
	}
}

static void
feed_group(const char *dir, const struct group *gr, struct run *r)
{
	for (int i = 0; i < 5 && gr->files[i]; i++) {
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, gr->files[i]);
		if (df_file(path, feed_dg, r) < 0) {
			fprintf(stderr, "%s: cannot read\n", path);
			t_failures++;
		}
	}
}

int
main(int argc, char **argv)
{
	fq_log_set_level(getenv("T_DEBUG") ? FQ_LOG_DEBUG : FQ_LOG_ERROR);
	if (argc < 2) {
		fprintf(stderr, "usage: %s SHARED_DIR\n", argv[0]);
		return 2;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/data/exports", argv[1]);
	struct stat st;
	if (stat(dir, &st) != 0) {
		printf("no shared data at %s: skipped\n", dir);
		return 77;
	}
	long total = 0, compared = 0;
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
		const struct group *gr = &groups[g];
		struct fq_decoder *d = NULL;
		CHECK_EQ(fq_decoder_new(&d, NULL), 0);
		struct sink s = { 0 };
		struct run r = { d, &s };
		feed_group(dir, gr, &r);
		uint64_t mal = 0, opts = 0, unk = 0;
		for (struct fq_exporter *ex = d->sessions.head; ex; ex = ex->next) {
			mal += mal_total(ex);
			opts += ex->options_records;
			unk += ex->unknown_tpl_sets;
		}
		int bad = 0;
		if ((long)s.n != gr->records || (gr->invalid ? mal == 0 : mal != 0)
		    || (long)opts < gr->options)
			bad = 1;
		/*
		 * Only these captures have data sets before their templates
		 * (tshark cannot decode those sets either).
		 */
		uint64_t want_unk = strstr(gr->files[0], "data+templates") ? 1
				  : strstr(gr->files[0], "iptnetflow") ? 6 : 0;
		if (unk != want_unk)
			bad = 1;
		if (gr->sampling && s.n > 0 &&
		    s.r[s.n - 1].sampling != gr->sampling)
			bad = 1;
		for (size_t i = 0; i < s.n; i++)
			if (s.r[i].etime < s.r[i].stime - 1000 ||
			    s.r[i].stime < 946684800000LL)   /* before 2000 */
				bad = 1;
		/*
		 * The same captures with IPFIX data decoded by flowq's own
		 * template engine instead of libfixbuf: every field of every
		 * record must be identical.
		 */
		struct fq_decoder_opts o2 = { 0 };
		o2.ipfix = FQ_IPFIX_NATIVE;
		struct fq_decoder *d2 = NULL;
		CHECK_EQ(fq_decoder_new(&d2, &o2), 0);
		struct sink s2 = { 0 };
		struct run r2 = { d2, &s2 };
		feed_group(dir, gr, &r2);
		int same = s2.n == s.n;
		for (size_t i = 0; same && i < s.n; i++)
			if (!records_equal(&s.r[i], &s2.r[i]))
				same = 0;
		/* And byte for byte: records carry no stray padding bytes. */
		for (size_t i = 0; same && i < s.n; i++)
			if (memcmp(&s.r[i], &s2.r[i], sizeof s.r[i]) != 0) {
				printf("    record %zu: padding bytes differ\n", i);
				bad = 1;
				break;
			}
		if (!same) {
			bad = 1;
			for (size_t i = 0; i < s.n && i < s2.n; i++)
				if (!records_equal(&s.r[i], &s2.r[i])) {
					diff_record(i, &s.r[i], &s2.r[i]);
					break;
				}
		}
		compared += (long)s.n;
		printf("%-4s %-66s records %3zu (want %3ld) options %2llu "
		       "malformed %llu unknown sets %llu%s\n",
		       bad ? "FAIL" : "ok", strchr(gr->files[0], '/') + 1, s.n,
		       gr->records, (unsigned long long)opts,
		       (unsigned long long)mal, (unsigned long long)unk,
		       same ? "" : " (own engine differs)");
		if (bad)
			t_failures++;
		total += (long)s.n;
		free(s.r);
		free(s2.r);
		fq_decoder_free(d);
		fq_decoder_free(d2);
	}
	printf("%ld records identical through libfixbuf and the own engine\n",
	       compared);
	printf("%ld records\n", total);
	return t_failures ? 1 : 0;
}
