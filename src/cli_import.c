/*
 * `freakinbeats import [--clear-db] [--dry-run] [--strict] FILE.csv`.
 *
 * Opens the database named by DATABASE_URL (migrating it if needed),
 * runs the importer and prints its summary.  Progress goes to stderr: a
 * bar on a terminal, a plain line every 10% otherwise.  Bad rows are
 * printed as `line N: column: reason`; any bad row makes the exit status 1.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"

static void	import_row_error(void *, const char *);
static void	import_progress(void *, size_t, size_t, int64_t);
static int	import_flags(int, char **, int *, const char **);

int
fb_cli_import(int argc, char **argv)
{
	struct fb_import_stats	stats;
	struct fb_cli_progress	pr;
	struct fb_import_cb	cb = { import_row_error, import_progress, &pr };
	struct fb_err		err = { 0, "" };
	struct fb_db		db;
	const char		*file;
	int			flags, rc;

	if (import_flags(argc, argv, &flags, &file) != FB_OK)
		return (FB_EXIT_USAGE);
	fb_cli_progress_init(&pr, "import");
	if (fb_cli_open_db(&db, &err) != FB_OK) {
		fprintf(stderr, "freakinbeats: %s\n", err.msg);
		return (FB_EXIT_WORK);
	}
	rc = fb_import_file(&db, file, flags, &cb, &stats, &err);
	fb_db_close(&db);
	if (rc != FB_OK) {
		fprintf(stderr, "freakinbeats: import: %s\n", err.msg);
		return (FB_EXIT_WORK);
	}
	printf("%s%s (%s): rows %lld, added %lld, updated %lld, unchanged "
	    "%lld, skipped %lld, %.2f s\n", (flags & FB_IMPORT_DRY_RUN) ?
	    "dry run, nothing written: " : ((flags & FB_IMPORT_STRICT) &&
	    stats.skipped > 0) ? "--strict, nothing written: " : "", file,
	    stats.format,
	    (long long)stats.rows, (long long)stats.added,
	    (long long)stats.updated, (long long)stats.unchanged,
	    (long long)stats.skipped, stats.seconds);
	if ((flags & FB_IMPORT_STRICT) && stats.skipped > 0)
		printf("--strict: %lld bad rows, nothing written\n",
		    (long long)stats.skipped);
	return (stats.skipped > 0 ? FB_EXIT_WORK : 0);
}

static int
import_flags(int argc, char **argv, int *flags, const char **file)
{
	int	i;

	*flags = 0;
	*file = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--clear-db") == 0)
			*flags |= FB_IMPORT_CLEAR;
		else if (strcmp(argv[i], "--dry-run") == 0)
			*flags |= FB_IMPORT_DRY_RUN;
		else if (strcmp(argv[i], "--strict") == 0)
			*flags |= FB_IMPORT_STRICT;
		else if (argv[i][0] == '-' || *file != NULL) {
			fprintf(stderr, "freakinbeats import: unexpected "
			    "'%s'\n", argv[i]);
			*file = NULL;
			break;
		} else
			*file = argv[i];
	}
	if (*file == NULL) {
		fprintf(stderr, "usage: freakinbeats import [--clear-db] "
		    "[--dry-run] [--strict] FILE.csv\n");
		return (FB_ERR);
	}
	return (FB_OK);
}

static void
import_row_error(void *arg, const char *msg)
{
	fb_cli_progress_break(arg);
	fprintf(stderr, "%s\n", msg);
}

static void
import_progress(void *arg, size_t done, size_t total, int64_t rows)
{
	char	at[32];

	(void)snprintf(at, sizeof(at), "%lld rows", (long long)rows);
	fb_cli_progress_show(arg, (int64_t)done, (int64_t)total, at);
}
