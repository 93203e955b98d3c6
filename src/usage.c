/*
 * usage.c - what flowq says about how it is called: the --help text and
 * the one-line complaint of bad usage (commands.h).
 *
 * Apart from main() so that the commands, and the tests that link them
 * (tests/grammar's stand-alone `check`), can say it too.
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
"usage: flowq COMMAND [OPTIONS] ...\n"
"\n"
"flowq is a NetFlow v5/v9 and IPFIX collector with a stream query engine.\n"
"\n"
"Commands:\n"
"  run [--config FILE] QUERY... [-s SOURCE]... [-o FILE] [--json]\n"
"        [--no-records] [--count]\n"
"        [--batch] [--early] [--window D] [--lateness D] [--max-duration D]\n"
"        [--max-skew D] [--exporter-idle D] [--speed X] [--record FILE.pcap]\n"
"        [--allow PREFIX]... [--scale-sampled] [--max-state MB] [--exec CMD]\n"
"        [--syslog [FACILITY][@SOCKET]]\n"
"        [--stats] [--stats-json] [--stats-interval N]\n"
"        [--rcvbuf BYTES] [--grace D] [--user USER] [--metrics ADDR:PORT]\n"
"        [--metrics-exporters N] [--session-idle D] [--max-sessions N]\n"
"        [--max-session-mem MB]\n"
"        [--tcp-idle D] [--tcp-progress D] [--tcp-max-per-peer N]\n"
"        run flow queries on the sources and print their matches\n"
"  check [--window D] [--max-duration D] [--lateness D] [--batch] QUERY...\n"
"        parse and validate query files, print their plans and how late\n"
"        their final matches can come\n"
"  check --config FILE [RUN-OPTION...] [QUERY...]\n"
"        check a run's configuration file: every option, query and source\n"
"  print [-s] SOURCE... [--json] [--count] [--stats] [--record FILE.pcap]\n"
"        [--allow PREFIX]... [--rcvbuf BYTES] [--ipfix-decoder D] [--grace D]\n"
"        [--session-idle D] [--max-sessions N] [--max-session-mem MB]\n"
"        [--tcp-idle D] [--tcp-progress D] [--tcp-max-per-peer N]\n"
"        decode SOURCEs and print their records (like flow-print)\n"
"\n";

/* In parts: C compilers need not take a literal over 4095 bytes. */
static const char usage_sources[] =
"Sources (files replay one after another; sockets run side by side):\n"
"  udp://ADDR:PORT       NetFlow v5/v9/IPFIX over UDP (IPv6: udp://[::1]:2055)\n"
"  tcp://ADDR:PORT       IPFIX over TCP\n"
"  pcap:FILE, *.pcap, *.pcapng\n"
"                        capture of export datagrams\n"
"  ipfix:FILE            IPFIX file (RFC 5655)\n"
"  store:DIR             the files a --store run wrote, in time order\n"
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
"  --grace D             after SIGINT/SIGTERM, how long the final flush may\n"
"                        take before blocked output is given up (default 5s)\n"
"  --store DIR           also write every record to IPFIX files in DIR,\n"
"                        DIR/YYYY/MM/DD/flowq.YYYYMMDDhhmm.ipfix\n"
"  --store-rotate D      a new file every D, on wall-clock multiples (5min)\n"
"  --store-max-age D     delete files that began more than D ago\n"
"  --store-max-size MB   delete the oldest files while DIR is over MB MiB\n"
"  --since T, --until T  store:DIR reads records that arrived in [T, T2)\n"
"                        (RFC 3339 or seconds since the epoch)\n"
"  --state-dir DIR       keep the exporters' v9/IPFIX templates in\n"
"                        DIR/templates: data after a restart decodes at once\n"
"  --session-idle D      forget a UDP exporter (its session and templates)\n"
"                        after D without a datagram (default 30min)\n"
"  --max-sessions N      exporter sessions at most (default 65536); a new\n"
"                        exporter evicts the least recently active UDP one\n"
"  --max-session-mem MB  memory of all exporter sessions, MiB (default 512);\n"
"                        over it, the same eviction (docs/hardening.md)\n"
"\n";

static const char usage_tcp[] =
"Options of tcp:// sources (print and run):\n"
"  --tcp-idle D          close a connection that sent no byte for D\n"
"                        (default 10min; 0 or inf: never)\n"
"  --tcp-progress D      close a connection whose message stays incomplete\n"
"                        for D (default 30s; 0 or inf: never)\n"
"  --tcp-max-per-peer N  connections one address may hold (default 16, at\n"
"                        most 512 in all per socket)\n"
"\n";

/* In two parts: C compilers need not take a literal over 4095 bytes. */
static const char usage_run[] =
"Options of run (durations take a unit: ms, s, min, h, or inf):\n"
"  --config FILE         read options from FILE (YAML, keys are the long\n"
"                        option names, 'query' the query files; the command\n"
"                        line overrides it; docs/operations.md)\n"
"  --user USER           once the sources are bound, become USER (started as\n"
"                        root; its groups too, for good)\n"
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
"                        (restarted if it dies; dropped, never blocking, if slow;\n"
"                        its process group is killed at the end of --grace)\n"
"  --syslog [FACILITY][@SOCKET]\n"
"                        also send each match to the system logger (RFC 5424,\n"
"                        /dev/log, facility user unless given)\n"
"  --metrics ADDR:PORT   serve Prometheus metrics at http://ADDR:PORT/metrics,\n"
"                        and /healthz, /readyz (docs/operations.md)\n"
"  --metrics-exporters N exporters with their own series (default 100, the\n"
"                        most records); the rest are exporter=\"other\"\n"
"  --stats, --stats-json, --stats-interval, --record, --allow, --rcvbuf,\n"
"  --speed, --ipfix-decoder, --grace, --store, --store-*, --since, --until,\n"
"  --session-idle, --max-sessions, --max-session-mem: as for print\n"
"\n"
"Global options:\n"
"  -h, --help            this text\n"
"  -V, --version         print the version\n"
"  -v, --verbose         more log output on stderr (repeatable)\n"
"\n"
"Exit status: 0 success (also after SIGINT/SIGTERM); 1 query error,\n"
"unreadable/corrupt input, or output that could not be written (given up\n"
"at the end of --grace); 2 bad usage; 128+N ended by a second signal N.\n"
"See flowq(1) and README.md.\n";

void
fq_cli_usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(usage_sources, f);
	fputs(usage_tcp, f);
	fputs(usage_run, f);
}

static const char *usage_origin;

void
fq_cli_set_origin(const char *origin)
{
	usage_origin = origin;
}

int
fq_cli_bad_usage(const char *reason)
{
	/* A configuration file's word: said as a diagnostic of the file
	 * (like a query's), without the command's name. */
	if (usage_origin && strncmp(reason, "run: ", 5) == 0)
		reason += 5;
	if (usage_origin)
		fprintf(stderr, "%s: error: %s\n", usage_origin, reason);
	else
		fprintf(stderr, "flowq: %s (see 'flowq --help')\n", reason);
	return 2;
}
