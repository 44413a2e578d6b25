/*
 * Deferred full-text maintenance for bulk writers.
 *
 * Inside its transaction, a bulk writer calls fb_fts_defer_begin(), marks
 * every listing it inserts, changes or deletes with fb_fts_touch(), and
 * calls fb_fts_defer_end() before committing.  The triggers stand aside
 * while meta.fts_deferred is 1; at the end the touched rows leave both
 * indexes and the ones that still exist come back, two statements per
 * index, and the data version moves once if anything was touched.  Nothing
 * here commits: a rollback undoes it all with the rest.
 */
#include "app.h"

int
fb_fts_defer_begin(struct fb_db *db, struct fb_err *err)
{
	return (fb_db_exec(db,
	    "CREATE TEMP TABLE IF NOT EXISTS fts_touched "
	    "(id INTEGER PRIMARY KEY);"
	    "DELETE FROM temp.fts_touched;"
	    "UPDATE meta SET value = 1 WHERE key = 'fts_deferred';", err));
}

int
fb_fts_touch(struct fb_db *db, int64_t id, struct fb_err *err)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = fb_db_stmt(db, FB_ST_FTS_TOUCH,
	    "INSERT OR IGNORE INTO temp.fts_touched (id) VALUES (?)", err);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fb_err_set(err, "sqlite: %s", sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* Every listing, e.g. before a DELETE FROM listings. */
int
fb_fts_touch_all(struct fb_db *db, struct fb_err *err)
{
	return (fb_db_exec(db, "INSERT OR IGNORE INTO temp.fts_touched (id) "
	    "SELECT listing_id FROM listings", err));
}

int
fb_fts_defer_end(struct fb_db *db, struct fb_err *err)
{
	return (fb_db_exec(db,
	    "DELETE FROM listings_fts WHERE rowid IN "
	    " (SELECT id FROM temp.fts_touched);"
	    "DELETE FROM listings_tri WHERE rowid IN "
	    " (SELECT id FROM temp.fts_touched);"
	    "INSERT INTO listings_fts (rowid, release_title, artist_names,"
	    " label_names, catalog_number, barcode, comments)"
	    " SELECT listing_id, release_title, artist_names, label_names,"
	    " catalog_number, barcode, comments FROM listings"
	    " WHERE listing_id IN (SELECT id FROM temp.fts_touched);"
	    "INSERT INTO listings_tri (rowid, artist_names, label_names,"
	    " genres, format_names) SELECT listing_id, artist_names,"
	    " label_names, genres, format_names FROM listings"
	    " WHERE listing_id IN (SELECT id FROM temp.fts_touched);"
	    "UPDATE meta SET value = value + 1 WHERE key = 'data_version'"
	    " AND EXISTS (SELECT 1 FROM temp.fts_touched);"
	    "DELETE FROM temp.fts_touched;"
	    "UPDATE meta SET value = 0 WHERE key = 'fts_deferred';", err));
}
