/*
 * sync_apply.c with canned inventories: exact diff counts, changed
 * fields old -> new, removals kept as inactive, a returning listing
 * reactivated, the mass-removal guard (held, then forced), a dry run
 * that writes nothing, and a damaged staged row that fails the run with
 * nothing applied.  The shipped scripts/ rules map the listings.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "test.h"

static struct fb_db	db;
static struct fb_rules	rules;
static int		broken = -1;	/* a listing map() fails on */

/* Listings from+1 .. to through the real staging (rules included). */
static void
stage_status(int from, int to, int repriced, const char *status)
{
	struct fb_sync	 s;
	struct fb_buf	 doc;
	json_t		*listings;
	int		 i;

	fb_buf_init(&doc, 4096);
	fb_buf_appendc(&doc, '[');
	for (i = from; i < to; i++)
		fb_buf_appendf(&doc, "%s{\"id\": %d, \"status\": \"%s\", "
		    "\"condition\": \"Mint (M)\", \"posted\": "
		    "\"2025-01-01T00:00:00Z\", \"price\": {\"value\": %s, "
		    "\"currency\": \"EUR\"}, \"release\": {\"id\": %d, "
		    "\"title\": \"T%d\", \"artist\": \"A%d\", \"format\": "
		    "\"Vinyl, LP\"}%s}", i > from ? "," : "", i + 1, status,
		    i == repriced ? "15.0" : "12.5", 100 + i, i, i,
		    i == broken ? ", \"release\": 5" : "");
	fb_buf_appendc(&doc, ']');
	memset(&s, 0, sizeof(s));
	s.db = &db;
	s.rules = &rules;
	listings = json_loadb(doc.data, doc.len, 0, NULL);
	OK(listings != NULL && fb_sync_stage_open(&s) == FB_OK &&
	    fb_sync_stage_page(&s, listings) == FB_OK,
	    "the listings are staged");
	json_decref(listings);
	fb_buf_cleanup(&doc);
}

static void
stage(int from, int to, int repriced)
{
	stage_status(from, to, repriced, "For Sale");
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
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings_fts WHERE "
	    "listings_fts MATCH 'a5'"), 1, "into an empty shop: the word "
	    "index is rebuilt whole");
	EQ_INT(fb_db_count(&db, "SELECT (SELECT count(*) FROM "
	    "listings_fts_config WHERE k = 'hashsize' AND v <> 1048576) + "
	    "(SELECT count(*) FROM listings_tri_config WHERE k = 'hashsize' "
	    "AND v <> 1048576)"), 0, "with its write buffer back at 1 MB");
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

/*
 * A listing map() fails on is skipped, not removed: the row it had stays
 * as it was, active, whatever the page says of it.
 */
static void
test_map_error(void)
{
	struct fb_sync	s;

	broken = 4;			/* listing 5 */
	stage(0, 12, 3);		/* listing 4 as the last run left it */
	broken = -1;
	EQ_INT(apply(&s, 0), FB_OK, "a run where map() fails on one listing");
	EQ_INT(s.skipped, 1, "that listing is skipped");
	EQ_INT(s.removed, 0, "and not removed");
	EQ_INT(s.updated, 0, "nor changed");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "listing_id = 5 AND is_active = 1 AND removed_at IS NULL AND "
	    "price_value = 1250"), 1, "it stays in the shop as it was");
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

/* A listing seen with status Sold gets sold_at, once. */
static void
test_sold(void)
{
	struct fb_sync	s;

	stage(0, 12, -1);
	EQ_INT(apply(&s, FB_SYNC_FORCE), FB_OK, "all twelve for sale");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "sold_at IS NOT NULL"), 0, "none sold");
	stage_status(0, 12, 4, "Sold");
	EQ_INT(apply(&s, 0), FB_OK, "the shop reports them sold");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "status = 'Sold' AND sold_at IS NOT NULL"), 12,
	    "each changed to Sold has sold_at");
	stage_status(12, 13, -1, "Sold");
	EQ_INT(apply(&s, FB_SYNC_FORCE), FB_OK, "a new listing already sold");
	EQ_INT(fb_db_count(&db, "SELECT count(*) FROM listings WHERE "
	    "listing_id = 13 AND sold_at IS NOT NULL"), 1,
	    "a new sold listing has sold_at");
}

/* The staging blob gives back exactly the row, and refuses a torn one. */
static void
test_row_blob(void)
{
	struct fb_row	a, b;
	struct fb_buf	blob;

	fb_row_init(&a);
	fb_row_init(&b);
	fb_buf_init(&blob, 64);
	fb_row_set_int(&a, 0, 4294967296LL + 7);
	fb_row_set_text(&a, fb_row_column("comments"), "caf\xc3\xa9\0x", 7);
	fb_row_set_real(&a, fb_row_column("weight"), 0.1 + 0.2);
	fb_row_set_null(&a, fb_row_column("barcode"));
	fb_row_encode(&a, &blob);
	EQ_INT(fb_row_decode(&b, blob.data, blob.len), FB_OK, "decodes");
	EQ_INT(fb_row_hash(&a) == fb_row_hash(&b), 1, "same content hash");
	EQ_INT(b.v[fb_row_column("comments")].len, 7, "text keeps its NUL");
	EQ_INT(b.v[fb_row_column("barcode")].type, FB_VAL_NULL, "null stays");
	EQ_INT(b.v[fb_row_column("status")].type, FB_VAL_UNSET,
	    "unset stays unset");
	fb_row_cleanup(&b);
	EQ_INT(fb_row_decode(&b, blob.data, blob.len - 1), FB_ERR,
	    "a torn blob is refused");
	fb_row_cleanup(&b);
	blob.data[0] = 127;
	EQ_INT(fb_row_decode(&b, blob.data, blob.len), FB_ERR,
	    "an unknown column is refused");
	fb_row_cleanup(&a);
	fb_row_cleanup(&b);
	fb_buf_cleanup(&blob);
}

/*
 * A staged row that no longer decodes (the scratch file damaged between
 * staging and apply) fails the run, names the listing, and writes
 * nothing: not the listings before it either.
 */
static void
test_torn(void)
{
	struct fb_sync	s;
	int64_t		version;

	stage(0, 12, 7);
	OK(fb_db_exec(&db, "UPDATE stage.sync_stage SET row = x'ff01' WHERE "
	    "id = 9", NULL) == FB_OK, "listing 9's staged row is damaged");
	(void)fb_db_refresh(&db);
	version = db.version;
	EQ_INT(apply(&s, FB_SYNC_FORCE), FB_OK, "the run ends");
	EQ_STR(s.error, "staging: listing 9 is torn", "the error names it");
	EQ_INT(fb_db_count(&db, "SELECT price_value FROM listings WHERE "
	    "listing_id = 8"), 1250, "listing 8, staged before 9, kept its "
	    "old price");
	(void)fb_db_refresh(&db);
	EQ_INT(db.version, version, "the data version did not move");
	stage(0, 12, 7);
	EQ_INT(apply(&s, FB_SYNC_FORCE), FB_OK, "a clean stage applies");
	EQ_STR(s.error, "", "without an error");
	EQ_INT(fb_db_count(&db, "SELECT price_value FROM listings WHERE "
	    "listing_id = 8"), 1500, "listing 8 has its new price now");
}

/* A scratch file that cannot be made fails the run, naming the file. */
static void
test_stage_unopenable(void)
{
	struct fb_sync	s;
	char		path[sizeof(fb_cfg.db_path) + 8];

	memset(&s, 0, sizeof(s));
	s.db = &db;
	s.rules = &rules;
	(void)snprintf(path, sizeof(path), "%s-stage", fb_cfg.db_path);
	fb_sync_stage_close(&s);
	OK(mkdir(path, 0700) == 0, "a directory where the scratch file goes");
	EQ_INT(fb_sync_stage_open(&s), FB_ERR, "staging cannot start");
	OK(strstr(s.error, path) != NULL && strstr(s.error, "staging file")
	    != NULL, "the error names the scratch file");
	(void)rmdir(path);
	EQ_INT(fb_sync_stage_open(&s), FB_OK, "once it is gone, staging starts");
	fb_sync_stage_close(&s);
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
	(void)snprintf(fb_cfg.db_path, sizeof(fb_cfg.db_path), "%s", path);
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK ||
	    fb_db_prepare_version(&db, &err) != FB_OK ||
	    fb_rules_init(&rules, "scripts", &err) != FB_OK) {
		printf("# setup: %s\n", err.msg);
		return (1);
	}
	test_counts();
	test_map_error();
	test_guard_and_dry_run();
	test_sold();
	test_row_blob();
	test_torn();
	test_stage_unopenable();
	fb_rules_cleanup(&rules);
	fb_db_close(&db);
	(void)snprintf(path, sizeof(path), "rm -rf %s", dir);
	return (system(path) != 0 ? 1 : TEST_DONE());
}
