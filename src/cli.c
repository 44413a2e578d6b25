/*
 * build/freakinbeats: the command-line tool.
 *
 * It shares the pure parts of the server (configuration, database,
 * listings) but never links Kore.  Subcommands register in the table
 * below.  Exit codes are a contract: 0 success, 1 the work failed, 2 a
 * usage error.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"

#define EXIT_WORK	1
#define EXIT_USAGE	2

struct command {
	const char	*name;
	const char	*args;
	const char	*help;
	int		(*run)(int, char **);
};

static int	cli_usage(FILE *);

static const struct command	commands[] = {
	{ NULL, NULL, NULL, NULL }
};

int
main(int argc, char **argv)
{
	const struct command	*c;

	if (argc < 2)
		return (cli_usage(stderr));
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		(void)cli_usage(stdout);
		return (0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("freakinbeats %s (schema %d, SQLite %s)\n", FB_VERSION,
		    fb_db_schema_version(), sqlite3_libversion());
		return (0);
	}
	for (c = commands; c->name != NULL; c++) {
		if (strcmp(argv[1], c->name) == 0)
			return (c->run(argc - 1, argv + 1));
	}
	fprintf(stderr, "freakinbeats: unknown command '%s'\n", argv[1]);
	return (cli_usage(stderr));
}

static int
cli_usage(FILE *out)
{
	const struct command	*c;

	fprintf(out, "usage: freakinbeats COMMAND [OPTIONS]\n"
	    "       freakinbeats --help | --version\n\ncommands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(out, "  %-8s %-32s %s\n", c->name, c->args, c->help);
	if (commands[0].name == NULL)
		fprintf(out, "  (none yet: import, sync and rules come with "
		    "their features)\n");
	fprintf(out, "\nThe server itself runs under Kore: make run.\n"
	    "Configuration comes from the environment and ./.env "
	    "(see conf/env.example).\n");
	return (out == stdout ? 0 : EXIT_USAGE);
}
