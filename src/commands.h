/*
 * commands.h - the flowq subcommands.  Each takes the arguments after the
 * subcommand name (argv[0] is the subcommand) and returns the process exit
 * status of SPEC section 7: 0 success, 1 query error or unreadable/corrupt
 * input, 2 bad usage (after printing a one-line reason).
 */
#ifndef FQ_COMMANDS_H
#define FQ_COMMANDS_H

#include <stdio.h>

int fq_cmd_print(int argc, char **argv);
int fq_cmd_check(int argc, char **argv);
int fq_cmd_run(int argc, char **argv);

/* The --help text. */
void fq_cli_usage(FILE *f);
/* Print "flowq: REASON (see 'flowq --help')" to stderr and return 2;
 * "ORIGIN: error: REASON" while an origin is set (a configuration file's
 * "FILE:LINE:COL", borrowed until the next call; NULL: none). */
int fq_cli_bad_usage(const char *reason);
void fq_cli_set_origin(const char *origin);

#endif
