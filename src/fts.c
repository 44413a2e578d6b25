/*
 * Deferred full-text maintenance for bulk writers.
 *
 * Inside its transaction, a bulk writer calls fb_fts_defer_begin(), marks
 * every listing it inserts, changes or deletes with fb_fts_touch(), and
 * calls fb_fts_defer_end() before committing.  The triggers stand aside
 * while meta.fts_deferred is 1; at the end the touched rows leave both
 * indexes and the ones that still exist come back, two statements per
 * index, and the data version moves once if anything was touched.  When
 * the listings start empty (or fb_fts_touch_all() says every one is
 * touched) the end rebuilds both indexes whole instead, or puts in
 * place the ones an importer built alongside (fts_build.c).  Nothing
 * here commits: a rollback undoes it all with the rest (the caller rolls
 * back when defer_end fails, so meta.fts_deferred never stays 1).
 */
#include "app.h"

int
fb_fts_defer_begin(struct fb_db *db, struct fb_err *err)
{
	db->fts_all = 0;
	if (fb_db_exec(db,
	    "CREATE TEMP TABLE IF NOT EXISTS fts_touched "
	    "(id INTEGER PRIMARY KEY);"
	    "DELETE FROM temp.fts_touched;"
	    "UPDATE meta SET value = 1 WHERE key = 'fts_deferred';", err) !=
	    FB_OK)
		return (FB_ERR);
	if (fb_db_count(db, "SELECT NOT EXISTS (SELECT 1 FROM listings)") == 1)
		return (fb_fts_touch_all(db, err));
	return (FB_OK);
}

int
fb_fts_touch(struct fb_db *db, int64_t id, struct fb_err *err)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (db->fts_all)
		return (FB_OK);
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

/*
 * Every listing counts as touched, e.g. before a DELETE FROM listings or
 * when the table starts empty: the end rebuilds both indexes whole, with
 * no list of ids to keep or join (a first import of 100k listings).
 */
int
fb_fts_touch_all(struct fb_db *db, struct fb_err *err)
{
	(void)err;
	db->fts_all = 1;
	return (FB_OK);
}

/* The data version moves once per bulk write, not once per row. */
#define BUMP_VERSION	"UPDATE meta SET value = value + 1 WHERE key = " \
			"'data_version'"

#define FTS_COLUMNS	"release_title, artist_names, label_names, " \
			"catalog_number, barcode, comments"
#define TRI_COLUMNS	"artist_names, label_names, genres, format_names"

/*
 * FTS5 writes its pending terms out as a new segment whenever they pass
 * 'hashsize' (1 MB by default), and merges segments as they pile up.  A
 * whole rebuild holds 16 MB per index instead: fewer, larger segments
 * and less merging (5% of a 100k import), then the default comes back.
 */
#define FTS_DEFAULT_HASH	"1048576"
#define FTS_BULK_HASH		"16777216"
#define FTS_HASHSIZE(n)	\
	"INSERT INTO listings_fts (listings_fts, rank) VALUES ('hashsize', " \
	n "); INSERT INTO listings_tri (listings_tri, rank) VALUES " \
	"('hashsize', " n ");"

/* Every listing into both indexes, emptied first. */
static const char	fts_rebuild_all[] =
	"DELETE FROM listings_fts; DELETE FROM listings_tri;"
	FTS_HASHSIZE(FTS_BULK_HASH)
	"INSERT INTO listings_fts (rowid, " FTS_COLUMNS ")"
	" SELECT listing_id, " FTS_COLUMNS " FROM listings;"
	"INSERT INTO listings_tri (rowid, " TRI_COLUMNS ")"
	" SELECT listing_id, " TRI_COLUMNS " FROM listings;"
	FTS_HASHSIZE(FTS_DEFAULT_HASH)
	BUMP_VERSION ";";

/* The touched listings out of both indexes, and back if they exist. */
static const char	fts_rebuild_touched[] =
	"DELETE FROM listings_fts WHERE rowid IN "
	" (SELECT id FROM temp.fts_touched);"
	"DELETE FROM listings_tri WHERE rowid IN "
	" (SELECT id FROM temp.fts_touched);"
	"INSERT INTO listings_fts (rowid, " FTS_COLUMNS ")"
	" SELECT listing_id, " FTS_COLUMNS " FROM listings"
	" WHERE listing_id IN (SELECT id FROM temp.fts_touched);"
	"INSERT INTO listings_tri (rowid, " TRI_COLUMNS ")"
	" SELECT listing_id, " TRI_COLUMNS " FROM listings"
	" WHERE listing_id IN (SELECT id FROM temp.fts_touched);"
	BUMP_VERSION " AND EXISTS (SELECT 1 FROM temp.fts_touched);"
	"DELETE FROM temp.fts_touched;";

int
fb_fts_defer_end(struct fb_db *db, struct fb_err *err)
{
	int	rc;

	if (db->fts_build != NULL)
		rc = fb_fts_build_end(db, err) == FB_OK ? fb_db_exec(db,
		    BUMP_VERSION, err) : FB_ERR;
	else
		rc = fb_db_exec(db, db->fts_all ? fts_rebuild_all :
		    fts_rebuild_touched, err);
	db->fts_all = 0;
	if (rc != FB_OK)
		return (FB_ERR);
	return (fb_db_exec(db,
	    "UPDATE meta SET value = 0 WHERE key = 'fts_deferred';", err));
}
