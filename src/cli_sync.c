/*
 * `freakinbeats sync [--dry-run]`: one sync from the command line, with
 * the server's engine.  The database lock makes it wait its turn: if a
 * sync is running (in the server or another CLI) it exits 1 saying so.
 * A dry run fetches, maps and compares, prints what would change, and
 * rolls everything back.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "cli.h"

int
fb_cli_sync(int argc, char **argv)
{
	struct fb_sync	 s;
	struct fb_rules	 rules;
	struct fb_err	 err = { 0, "" };
	struct fb_db	 db;
	int		 rc;

	memset(&s, 0, sizeof(s));
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--dry-run") != 0)) {
		fprintf(stderr, "usage: freakinbeats sync [--dry-run]\n");
		return (FB_EXIT_USAGE);
	}
	s.flags = argc == 2 ? FB_SYNC_DRY_RUN : 0;
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
	rc = fb_sync_run(&s, "cli");
	printf("%s%s: %lld added, %lld updated, %lld removed, %lld skipped, "
	    "%lld left out by filter.lua, %lld pages, %lld requests%s%s\n",
	    s.flags ? "dry run, nothing written: " : "", s.status,
	    (long long)s.added, (long long)s.updated, (long long)s.removed,
	    (long long)s.skipped, (long long)s.kept_out, (long long)s.pages,
	    (long long)s.requests, s.error[0] ? "\n" : "", s.error);
	fb_rules_cleanup(&rules);
	fb_db_close(&db);
	return (rc == FB_OK && s.held_removals == 0 ? 0 : FB_EXIT_WORK);
}
