/*
 * The inactive listings of one connection, as a sorted id list kept per
 * data version, and the SQL function fb_inactive(id) that looks in it.
 *
 * A text search of active listings asks "is this match inactive?" once
 * per match: 20k times for a common word.  As SQL (NOT IN a subquery)
 * SQLite rebuilt a temporary index of every inactive id for each
 * statement, a quarter of the search's time; here the list is read once
 * per data version and each question is a binary search.  Call
 * fb_inactive_load() before a statement that uses fb_inactive().
 */
#include "app.h"

static void	inactive_fn(sqlite3_context *, int, sqlite3_value **);

int
fb_inactive_register(struct fb_db *db, struct fb_err *err)
{
	if (sqlite3_create_function(db->h, "fb_inactive", 1,
	    SQLITE_UTF8 | SQLITE_DIRECTONLY, db, inactive_fn, NULL, NULL) !=
	    SQLITE_OK) {
		fb_err_set(err, "sqlite: cannot register fb_inactive: %s",
		    sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* Reads the list again when the data version has moved since. */
int
fb_inactive_load(struct fb_db *db, struct fb_err *err)
{
	struct fb_order	*o = &db->inactive;
	sqlite3_stmt	*st;

	if (db->st_data_version != NULL && fb_db_refresh(db) != FB_OK) {
		fb_err_set(err, "sqlite: %s", sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	/* Without a data version to go by (a bare connection), read each
	 * time. */
	if (o->ids != NULL && db->st_data_version != NULL &&
	    o->version == db->version)
		return (FB_OK);
	if ((st = fb_db_stmt(db, FB_ST_INACTIVE, "SELECT listing_id FROM "
	    "listings WHERE is_active = 0 ORDER BY listing_id", err)) == NULL)
		return (FB_ERR);
	return (fb_order_read(db, st, o, err));
}

/* Whether id is in the sorted list. */
int
fb_inactive_has(const struct fb_order *o, int64_t id)
{
	size_t	lo = 0, hi = o->n_ids, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (o->ids[mid] == id)
			return (1);
		if (o->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (0);
}

static void
inactive_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct fb_db	*db = sqlite3_user_data(ctx);

	(void)argc;
	sqlite3_result_int(ctx, fb_inactive_has(&db->inactive,
	    sqlite3_value_int64(argv[0])));
}
