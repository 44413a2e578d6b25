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
#include "cli.h"

struct command {
	const char	*name;
	const char	*args;
	const char	*help;
	int		(*run)(int, char **);
};

static int	cli_usage(FILE *);

static const struct command	commands[] = {
	{ "import", "[--clear-db] [--dry-run] [--strict] FILE.csv",
	    "import a CSV export (the original's or Discogs')",
	    fb_cli_import },
	{ "rules", "check [--db URL]",
	    "load the Lua rules, report errors, show what they would do",
	    fb_cli_rules },
	{ "sync", "[--dry-run] [--details N]",
	    "one sync from Discogs now (dry run: show, write nothing;\n"
	    "          --details N: then up to N releases' genres, styles...)",
	    fb_cli_sync },
	{ NULL, NULL, NULL, NULL }
};

int
main(int argc, char **argv)
{
	const struct command	*c;

	fb_db_global_init();
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
		fprintf(out, "  %-7s %-45s\n          %s\n", c->name, c->args, c->help);
	fprintf(out, "\nThe server itself runs under Kore: make run.\n"
	    "Configuration comes from the environment and ./.env "
	    "(see conf/env.example).\n");
	return (out == stdout ? 0 : FB_EXIT_USAGE);
}

/* The database DATABASE_URL names, migrated to this build's schema. */
int
fb_cli_open_db(struct fb_db *db, struct fb_err *err)
{
	if (fb_config_load(&fb_cfg, err) != FB_OK)
		return (FB_ERR);
	if (fb_db_open(db, fb_cfg.db_path, err) != FB_OK)
		return (FB_ERR);
	if (fb_db_migrate(db, err) != FB_OK ||
	    fb_db_prepare_version(db, err) != FB_OK) {
		fb_db_close(db);
		return (FB_ERR);
	}
	return (FB_OK);
}
