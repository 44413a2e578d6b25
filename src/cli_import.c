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

struct progress {
	int	is_tty;
	int	last;
};

static void	import_row_error(void *, const char *);
static void	import_progress(void *, size_t, size_t, int64_t);
static int	import_flags(int, char **, int *, const char **);

int
fb_cli_import(int argc, char **argv)
{
	struct fb_import_stats	stats;
	struct progress		pr = { isatty(STDERR_FILENO), -1 };
	struct fb_import_cb	cb = { import_row_error, import_progress, &pr };
	struct fb_err		err = { 0, "" };
	struct fb_db		db;
	const char		*file;
	int			flags, rc;

	if (import_flags(argc, argv, &flags, &file) != FB_OK)
		return (FB_EXIT_USAGE);
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
	struct progress	*pr = arg;

	if (pr->is_tty && pr->last >= 0)
		fputc('\n', stderr);
	pr->last = -1;
	fprintf(stderr, "%s\n", msg);
}

static void
import_progress(void *arg, size_t done, size_t total, int64_t rows)
{
	struct progress	*pr = arg;
	int		 pct = total ? (int)(done * 100 / total) : 100;
	char		 bar[41];

	if (pct == pr->last || (!pr->is_tty && pct / 10 == pr->last / 10 &&
	    pr->last >= 0))
		return;
	pr->last = pct;
	if (!pr->is_tty) {
		fprintf(stderr, "import: %d%% (%lld rows)\n", pct,
		    (long long)rows);
		return;
	}
	memset(bar, ' ', 40);
	memset(bar, '#', (size_t)(pct * 40 / 100));
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3d%% %lld rows%s", bar, pct,
	    (long long)rows, pct == 100 ? "\n" : "");
}
