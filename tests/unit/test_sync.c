/*
 * sync_apply.c with canned inventories: exact diff counts, changed
 * fields old -> new, removals kept as inactive, a returning listing
 * reactivated, the mass-removal guard (held, then forced), and a dry run
 * that writes nothing.  The shipped scripts/ rules map the listings.
 */
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "test.h"

static struct fb_db	db;
static struct fb_rules	rules;

static void
stage(int from, int to, int repriced)
{
	char	sql[1024];
	int	i;

	(void)fb_db_exec(&db, "CREATE TEMP TABLE IF NOT EXISTS sync_stage "
	    "(id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
	    "DELETE FROM temp.sync_stage", NULL);
	for (i = from; i < to; i++) {
		(void)snprintf(sql, sizeof(sql), "INSERT INTO temp.sync_stage "
		    "VALUES (%d, '{\"id\": %d, \"status\": \"For Sale\", "
		    "\"condition\": \"Mint (M)\", \"posted\": "
		    "\"2025-01-01T00:00:00Z\", \"price\": {\"value\": %s, "
		    "\"currency\": \"EUR\"}, \"release\": {\"id\": %d, \"title\":"
		    " \"T%d\", \"artist\": \"A%d\", \"format\": \"Vinyl, LP\"}}')",
		    i + 1, i + 1,
		    i == repriced ? "15.0" : "12.5", 100 + i, i, i);
		(void)fb_db_exec(&db, sql, NULL);
	}
}

static int
apply(struct fb_sync *s, int flags)
{
	memset(s, 0, sizeof(*s));
	s->db = &db;
	s->rules = &rules;
	s->flags = flags;
	if (fb_sync_lock(&db, &s->run_id, "test", flags, NULL) != FB_OK)
		return (FB_ERR);
	(void)fb_sync_apply(s);
	fb_sync_unlock(&db, s->run_id);
	return (FB_OK);
}

static void
test_counts(void)
{
	struct fb_sync	s;

	stage(0, 10, -1);
	EQ_INT(apply(&s, 0), FB_OK, "first run applies");
	EQ_INT(s.added, 10, "ten added");
	EQ_INT(apply(&s, 0), FB_OK, "second run");
	EQ_INT(s.added + s.updated + s.removed, 0, "no change, no write");
	stage(0, 12, 3);
	EQ_INT(apply(&s, 0), FB_OK, "third run");
	EQ_INT(s.added, 2, "two new");
	EQ_INT(s.updated, 1, "one repriced");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM sync_changes WHERE "
	    "kind = 'updated' AND fields = '{\"price_value\":{\"old\":12.5,"
	    "\"new\":15.0}}'"), 1, "the change records old and new price");
	stage(2, 12, 3);
	EQ_INT(apply(&s, 0), FB_OK, "fourth run");
	EQ_INT(s.removed, 2, "two removed");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "is_active = 0 AND removed_at IS NOT NULL"), 2,
	    "removed listings are kept, inactive, with removed_at");
	stage(0, 12, 3);
	EQ_INT(apply(&s, 0), FB_OK, "fifth run");
	EQ_INT(s.added, 2, "the two come back");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "is_active = 1 AND removed_at IS NULL"), 12, "reactivated");
}

static void
test_guard_and_dry_run(void)
{
	struct fb_sync	s;
	int64_t		version;

	stage(0, 4, -1);
	EQ_INT(apply(&s, 0), FB_OK, "a run that would remove 8 of 12");
	EQ_INT(s.held_removals, 8, "is held");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "is_active = 1"), 12, "and applied nothing");
	EQ_INT(apply(&s, FB_SYNC_FORCE), FB_OK, "forced");
	EQ_INT(s.removed, 8, "the removal is applied");
	stage(0, 12, 5);
	(void)fb_db_refresh(&db);
	version = db.version;
	EQ_INT(apply(&s, FB_SYNC_DRY_RUN), FB_OK, "dry run");
	EQ_INT(s.added, 8, "counts what would come back");
	(void)fb_db_refresh(&db);
	EQ_INT(db.version, version, "and wrote nothing");
}

int
main(void)
{
	struct fb_err	err = { 0, "" };
	char		dir[] = "/tmp/fb_test_sync_XXXXXX", path[64];

	if (mkdtemp(dir) == NULL)
		return (1);
	(void)snprintf(path, sizeof(path), "%s/t.db", dir);
	fb_cfg.sync_max_remove_fraction = 0.5;
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK ||
	    fb_db_prepare_version(&db, &err) != FB_OK ||
	    fb_rules_init(&rules, "scripts", &err) != FB_OK) {
		printf("# setup: %s\n", err.msg);
		return (1);
	}
	test_counts();
	test_guard_and_dry_run();
	fb_rules_cleanup(&rules);
	fb_db_close(&db);
	(void)snprintf(path, sizeof(path), "rm -rf %s", dir);
	return (system(path) != 0 ? 1 : TEST_DONE());
}
