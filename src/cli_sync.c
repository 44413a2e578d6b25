/*
 * `freakinbeats sync [--dry-run] [--details N]`: one sync from the
 * command line, with the server's engine.  The database lock makes it
 * wait its turn: if a sync is running (in the server or another CLI) it
 * exits 1 saying so.  A dry run fetches, maps and compares, prints what
 * would change, and rolls everything back.  --details N then fetches up
 * to N pending release details (genres, styles, formats...) in the same
 * rate budget, as the server's background job does on its own.
 * Progress (pages fetched) goes to stderr: a bar on a terminal, a plain
 * line every 10% otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"

#define SYNC_USAGE	"usage: freakinbeats sync [--dry-run] [--details N]\n"

static int	sync_flags(int, char **, int *, int *);
static void	sync_details(struct fb_sync *, int);
static void	sync_page(void *, int64_t, int64_t);
static void	cli_progress_end(void *);

int
fb_cli_sync(int argc, char **argv)
{
	struct fb_sync	 s;
	struct fb_cli_progress pr;
	struct fb_rules	 rules;
	struct fb_err	 err = { 0, "" };
	struct fb_db	 db;
	int		 rc, details;

	memset(&s, 0, sizeof(s));
	if (sync_flags(argc, argv, &s.flags, &details) != FB_OK) {
		fprintf(stderr, SYNC_USAGE);
		return (FB_EXIT_USAGE);
	}
	if (s.flags != 0 && details > 0)
		fprintf(stderr, "freakinbeats: sync: --details is left out of "
		    "a dry run (it writes what it fetches)\n");
	if (fb_cli_open_db(&db, &err) != FB_OK ||
	    fb_discogs_global_init() != FB_OK ||
	    fb_rules_init(memset(&rules, 0, sizeof(rules)),
	    fb_cfg.scripts_dir, &err) != FB_OK ||
	    fb_sync_lock(&db, &s.run_id, "cli", s.flags, &err) != FB_OK) {
		fprintf(stderr, "freakinbeats: sync: %s\n", err.msg);
		return (FB_EXIT_WORK);
	}
	s.db = &db;
	s.rules = &rules;
	fb_cli_progress_init(&pr, "sync");
	s.on_page = sync_page;
	s.on_page_arg = &pr;
	fb_log_set_before(cli_progress_end, &pr);	/* a log line ends it */
	rc = fb_sync_run(&s, "cli");
	fb_log_set_before(NULL, NULL);
	fb_cli_progress_break(&pr);
	printf("%s%s: %lld added, %lld updated, %lld removed, %lld skipped, "
	    "%lld left out by filter.lua, %lld pages, %lld requests%s%s\n",
	    s.flags ? "dry run, nothing written: " : "", s.status,
	    (long long)s.added, (long long)s.updated, (long long)s.removed,
	    (long long)s.skipped, (long long)s.kept_out, (long long)s.pages,
	    (long long)s.requests, s.error[0] ? "\n" : "", s.error);
	if (rc == FB_OK && s.flags == 0 && details > 0)
		sync_details(&s, details);
	fb_rules_cleanup(&rules);
	fb_db_close(&db);
	return (rc == FB_OK && s.held_removals == 0 ? 0 : FB_EXIT_WORK);
}

/*
 * [--dry-run] [--details N], in any order; N a whole number from 0 to
 * 1000000.  A mistake is named on stderr before the usage line.
 */
static int
sync_flags(int argc, char **argv, int *flags, int *details)
{
	char	*end;
	long	 n;
	int	 i;

	*flags = 0;
	*details = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			*flags = FB_SYNC_DRY_RUN;
			continue;
		}
		if (strcmp(argv[i], "--details") != 0) {
			fprintf(stderr, "freakinbeats: sync: unknown option "
			    "'%s'\n", argv[i]);
			return (FB_ERR);
		}
		n = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
		if (i + 1 >= argc || *argv[i + 1] == '\0' || *end != '\0' ||
		    n < 0 || n > 1000000) {
			fprintf(stderr, "freakinbeats: sync: --details needs a "
			    "number from 0 to 1000000, not '%s'\n",
			    i + 1 < argc ? argv[i + 1] : "");
			return (FB_ERR);
		}
		*details = (int)n;
		i++;
	}
	return (FB_OK);
}

/* Up to max release details after the run, then what is left. */
static void
sync_details(struct fb_sync *s, int max)
{
	int64_t	before = s->requests, waiting;
	int	n;

	n = fb_enrich_batch(s, max);
	waiting = fb_db_count(s->db, "SELECT count(*) FROM releases "
	    "WHERE state = 'pending'");
	if (n < 0)
		printf("release details: stopped after %lld requests (rate "
		    "limit, or another sync started); %lld waiting\n",
		    (long long)(s->requests - before), (long long)waiting);
	else
		printf("release details: %d asked for, %lld waiting\n", n,
		    (long long)waiting);
}

static void
sync_page(void *arg, int64_t page, int64_t pages)
{
	char	at[48];

	(void)snprintf(at, sizeof(at), "page %lld of %lld", (long long)page,
	    (long long)pages);
	fb_cli_progress_show(arg, page, pages, at);
}

static void
cli_progress_end(void *arg)
{
	fb_cli_progress_break(arg);
}
