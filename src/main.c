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
