/*
 * main.c - flowq's entry point: global options and subcommand dispatch.
 *
 * Exit status (SPEC section 7): 0 success, also after SIGINT/SIGTERM with
 * everything flushed; 1 a query error or an input file that cannot be read
 * or is corrupt; 2 bad usage, with a one-line reason.
 */
#include "commands.h"
#include "fq_config.h"
#include "fq_log.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
"usage: flowq COMMAND [OPTIONS] ...\n"
"\n"
"flowq is a NetFlow v5/v9 and IPFIX collector with a stream query engine.\n"
"\n"
"Commands:\n"
"  run QUERY... [-s SOURCE]... [-o FILE] [--json] [--no-records] [--count]\n"
"        [--batch] [--early] [--window D] [--lateness D] [--max-duration D]\n"
"        [--max-skew D] [--exporter-idle D] [--speed X] [--record FILE.pcap]\n"
"        [--allow PREFIX]... [--scale-sampled] [--max-state MB] [--exec CMD]\n"
"        [--syslog [FACILITY][@SOCKET]]\n"
"        [--stats] [--stats-json] [--stats-interval N]\n"
"        [--rcvbuf BYTES] [--tcp-idle D] [--tcp-progress D]\n"
"        [--tcp-max-per-peer N]\n"
"        run flow queries on the sources and print their matches\n"
"  check [--window D] [--max-duration D] [--lateness D] [--batch] QUERY...\n"
"        parse and validate query files, print their plans and how late\n"
"        their final matches can come\n"
"  print [-s] SOURCE... [--json] [--count] [--stats] [--record FILE.pcap]\n"
"        [--allow PREFIX]... [--rcvbuf BYTES] [--ipfix-decoder D]\n"
"        [--tcp-idle D] [--tcp-progress D] [--tcp-max-per-peer N]\n"
"        decode SOURCEs and print their records (like flow-print)\n"
"\n"
"Sources (files replay one after another; sockets run side by side):\n"
"  udp://ADDR:PORT       NetFlow v5/v9/IPFIX over UDP (IPv6: udp://[::1]:2055)\n"
"  tcp://ADDR:PORT       IPFIX over TCP\n"
"  pcap:FILE, *.pcap, *.pcapng\n"
"                        capture of export datagrams\n"
"  ipfix:FILE            IPFIX file (RFC 5655)\n"
"  raw:FILE              concatenated export datagrams\n"
"  ft:FILE, FILE, DIR    flow-tools file, or every ft-* file of DIR in name order\n"
"\n"
"Options of print:\n"
"  -s, --source SOURCE   a source (may also be given without -s)\n"
"  --json                JSON Lines, one object per record (SPEC section 6)\n"
"  --count               print only the number of records\n"
"  --stats               print counters to stderr at exit (also on SIGUSR1)\n"
"  --stats-json          the same counters as one JSON object\n"
"  --stats-interval N    also print the counters every N seconds\n"
"  --allow PREFIX        accept export datagrams only from PREFIX (repeatable)\n"
"  --record FILE.pcap    write every received datagram to a capture\n"
"  --rcvbuf BYTES        UDP socket receive buffer (default 32 MiB)\n"
"  --speed X             replay files at X times their original pace\n"
"                        (default: as fast as possible)\n"
"  --ipfix-decoder D     what reads IPFIX data records: libfixbuf (default)\n"
"                        or native (flowq's own, ~5x faster, same records)\n"
"  --tcp-idle D          close a tcp:// connection silent for D (10min;\n"
"                        0 or inf: never)\n"
"  --tcp-progress D      close a tcp:// connection whose message stays\n"
"                        incomplete for D (30s; 0 or inf: never)\n"
"  --tcp-max-per-peer N  tcp:// connections one address may hold (16;\n"
"                        512 in all per socket)\n"
"\n";

/* In two parts: C compilers need not take a literal over 4095 bytes. */
static const char usage_run[] =
"Options of run (durations take a unit: ms, s, min, h, or inf):\n"
"  -o, --output FILE     write matches to FILE instead of stdout\n"
"  --json                JSON Lines matches (SPEC section 6)\n"
"  --no-records          matches without their records\n"
"  --count               print only each query's number of matches, at the end\n"
"  --batch               exact batch meaning: --window inf --lateness inf\n"
"  --window D            W, longest group and pairing span (default 15min)\n"
"  --lateness D          L, disorder allowed behind the newest etime (90s)\n"
"  --max-duration D      M, longest flow, set to the active timeout (10min)\n"
"  --max-skew D          etime this far past arrival is 'future' (10min)\n"
"  --exporter-idle D     a silent exporter stops holding time back (5min)\n"
"  --scale-sampled       multiply packets and bytes by the sampling interval\n"
"  --max-state MB        cap of grouper and merger state, MiB (default 1024, or\n"
"                        half the memory if less); at the cap the oldest groups\n"
"                        close early and the oldest stored groups are evicted,\n"
"                        counted in --stats\n"
"  --early               also emit early matches (the pattern as the groups\n"
"                        stand), each settled later by its final match or a\n"
"                        retraction (docs/alerting.md)\n"
"  --exec CMD            also write each match's JSON line to CMD's stdin\n"
"                        (restarted if it dies; dropped, never blocking, if slow)\n"
"  --syslog [FACILITY][@SOCKET]\n"
"                        also send each match to the system logger (RFC 5424,\n"
"                        /dev/log, facility user unless given)\n"
"  --stats, --stats-json, --stats-interval, --record, --allow, --rcvbuf,\n"
"  --speed, --ipfix-decoder, --tcp-idle, --tcp-progress,\n"
"  --tcp-max-per-peer: as for print\n"
"\n"
"Global options:\n"
"  -h, --help            this text\n"
"  -V, --version         print the version\n"
"  -v, --verbose         more log output on stderr (repeatable)\n"
"\n"
"Exit status: 0 success; 1 query error or unreadable/corrupt input;\n"
"2 bad usage.  See flowq(1) and README.md.\n";

void
fq_cli_usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(usage_run, f);
}

int
fq_cli_bad_usage(const char *reason)
{
	fprintf(stderr, "flowq: %s (see 'flowq --help')\n", reason);
	return 2;
}

int
main(int argc, char **argv)
{
	fq_log_set_progname("flowq");
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fq_cli_usage(stdout);
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("flowq %s\n", FQ_VERSION);
			return 0;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			if (fq_log_get_level() < FQ_LOG_DEBUG)
				fq_log_set_level(fq_log_get_level() + 1);
			continue;
		}
		char reason[256];
		snprintf(reason, sizeof reason, "unknown option '%s'", a);
		return fq_cli_bad_usage(reason);
	}
	if (i >= argc)
		return fq_cli_bad_usage("no command given");
	const char *cmd = argv[i];
	if (!strcmp(cmd, "print"))
		return fq_cmd_print(argc - i, argv + i);
	if (!strcmp(cmd, "run"))
		return fq_cmd_run(argc - i, argv + i);
	if (!strcmp(cmd, "check"))
		return fq_cmd_check(argc - i, argv + i);
	if (!strcmp(cmd, "help")) {
		fq_cli_usage(stdout);
		return 0;
	}
	char reason[256];
	snprintf(reason, sizeof reason, "unknown command '%s'", cmd);
	return fq_cli_bad_usage(reason);
}
