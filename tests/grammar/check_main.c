/*
 * check_main.c - a stand-alone `flowq check` for the grammar tests, so
 * they do not depend on the flowq binary's wiring: argv[1..] are passed
 * to fq_cmd_check() as `check ARGS...`.
 */
#include "commands.h"

int
main(int argc, char **argv)
{
	argv[0] = "check";
	return fq_cmd_check(argc, argv);
}
