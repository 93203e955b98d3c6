/*
 * config.h - the configuration file (`--config FILE`).
 *
 * The file is YAML: one mapping whose keys are the command's long option
 * names, so it can say everything the command line can, with no second
 * list of settings to drift from the first.  A value is a scalar (the
 * option's argument; true/false for an option without one) or a list of
 * scalars (a repeatable option: source, allow, and query, the query files
 * the command line gives as words).  docs/operations.md has the rules
 * and an example; etc/flowq.conf is the installed one.
 *
 * The file becomes command-line words in front of the real command line,
 * "--key=value" each, and the command parses them with its getopt table:
 * every option is checked by the same code, and its diagnostics name the
 * file, line and column (fq_cli_conf_origin()).  An option given on the
 * command line replaces the file's value or list for it.
 */
#ifndef FQ_CLI_CONFIG_H
#define FQ_CLI_CONFIG_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

/* The key of the positional words (query files). */
#define FQ_CLI_CONF_WORDS "query"

struct fq_cli_conf {
	char *path;         /* owned: the file, NULL when there is none */
	int argc;
	char **argv;        /* owned array: argv[0], the file's words, the
			       command line's; the file's strings owned */
	char **origin;      /* owned, per argv index: "FILE:LINE:COL" for a
			       word from the file (owned), else NULL */
	int errors;         /* problems of the file said (its words are
			       the ones that were right) */
};

/*
 * The --config FILE (or --config=FILE) of argv, if any: its value, and
 * argv without it in *rest (owned array, borrowed strings; argc in
 * *rest_n).  0, or -1 when --config has no value.
 */
int fq_cli_conf_find(int argc, char **argv, const char **path,
		     char ***rest, int *rest_n);

/*
 * Read `path` (NULL: no file) and make c->argv: argv[0], the file's
 * options, then argv[1..argc) -- minus the file's options that the
 * command line also gives (lo: the command's getopt table, shortopts its
 * short options, lists the names of its repeatable options, NULL-ended).  Each problem is said on diag as "FILE:LINE:COL:
 * error: reason" and counted in c->errors; a wrong key or value is left
 * out and the rest still read, so the caller can check the other words
 * too.  0; -1 when the file cannot be read as a whole (cannot open, not
 * YAML, no memory).
 */
int fq_cli_conf_load(struct fq_cli_conf *c, const char *path,
		     const struct option *lo, const char *const *lists,
		     const char *shortopts, int argc, char **argv,
		     FILE *diag);

/* Where argv[i] came from: "FILE:LINE:COL", or NULL (the command line). */
const char *fq_cli_conf_origin(const struct fq_cli_conf *c, int i);

void fq_cli_conf_fini(struct fq_cli_conf *c);

#endif
