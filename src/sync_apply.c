/*
 * Applying a fetched inventory: diff and write, in one transaction.
 *
 * Each staged listing, already through the owner's map() and keep()
 * rules (sync_stage.c), is compared with the stored row by its content
 * hash; only real changes are written, each recorded with its fields
 * old -> new.
 * Listings no longer offered are deactivated (kept, with removed_at);
 * listings that come back are reactivated.  If the removals would exceed
 * SYNC_MAX_REMOVE_FRACTION of the active listings and the run is not
 * forced, everything is rolled back and the run is "held".  A dry run
 * also rolls back, after counting.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "app.h"

#define ADDED		"added"
#define UPDATED		"updated"
#define REMOVED		"removed"

static int	apply_all(struct fb_sync *, const char *);
static int	apply_one(struct fb_sync *, sqlite3_stmt *, const char *);
static void	apply_seen(struct fb_sync *, int64_t);
static int	apply_row(struct fb_sync *, struct fb_row *, uint64_t,
		    const char *);
static int	apply_insert(struct fb_sync *, const struct fb_row *,
		    const char *, uint64_t);
static sqlite3_stmt *insert_stmt(struct fb_sync *);
static int	row_is_sold(const struct fb_row *);
static int	apply_update(struct fb_sync *, const struct fb_row *,
		    const char *, uint64_t, int);
static int	apply_removals(struct fb_sync *, int64_t, const char *);
static int	apply_demo(struct fb_sync *);
static int	record(struct fb_sync *, int64_t, const char *, const char *);
static void	diff_value(struct fb_buf *, int, const struct fb_value *);
static int	value_equal(const struct fb_value *, const struct fb_value *);

int
fb_sync_apply(struct fb_sync *s)
{
	char	now[32];
	int	rc;

	fb_time_iso(now, sizeof(now), fb_time_now());
	if (fb_db_begin(s->db, NULL) != FB_OK) {
		(void)snprintf(s->error, sizeof(s->error), "cannot start the "
		    "write: %s", sqlite3_errmsg(s->db->h));
		return (FB_ERR);
	}
	rc = apply_all(s, now);
	sqlite3_finalize(s->insert_st);
	s->insert_st = NULL;
	if (rc != FB_OK || s->held_removals > 0 ||
	    (s->flags & FB_SYNC_DRY_RUN))
		fb_db_rollback(s->db);
	else if (fb_db_commit(s->db, NULL) != FB_OK) {
		(void)snprintf(s->error, sizeof(s->error), "commit: %s",
		    sqlite3_errmsg(s->db->h));
		fb_db_rollback(s->db);
		rc = FB_ERR;
	}
	return (rc);
}

static int
apply_all(struct fb_sync *s, const char *now)
{
	sqlite3_stmt	*st;
	int64_t		 active;
	int		 rc = FB_OK;

	if (apply_demo(s) != FB_OK || fb_fts_defer_begin(s->db, NULL) != FB_OK ||
	    fb_db_exec(s->db, "CREATE TEMP TABLE IF NOT EXISTS sync_seen "
	    "(id INTEGER PRIMARY KEY); DELETE FROM temp.sync_seen;", NULL) !=
	    FB_OK)
		goto fail;
	active = fb_db_count(s->db,
	    "SELECT count(*) FROM listings WHERE is_active = 1");
	if ((st = fb_db_prepare(s->db, "SELECT id, verdict, hash, row FROM "
	    "stage.sync_stage ORDER BY id", NULL)) == NULL)
		goto fail;
	while (rc == FB_OK && sqlite3_step(st) == SQLITE_ROW)
		rc = apply_one(s, st, now);
	sqlite3_finalize(st);
	if (rc != FB_OK || apply_removals(s, active, now) != FB_OK ||
	    fb_fts_defer_end(s->db, NULL) != FB_OK ||
	    fb_enrich_enqueue(s->db, NULL) != FB_OK)
		goto fail;
	return (FB_OK);
fail:
	if (s->error[0] == '\0')
		(void)snprintf(s->error, sizeof(s->error), "apply: %s",
		    sqlite3_errmsg(s->db->h));
	return (FB_ERR);
}

/* The first real sync replaces the demo inventory outright. */
static int
apply_demo(struct fb_sync *s)
{
	int64_t	demo = 0;

	if (fb_db_meta_get(s->db, "demo_inventory", &demo) != FB_OK ||
	    demo == 0)
		return (FB_OK);
	fb_log(FB_LOG_INFO, "sync: replacing the demo inventory");
	return (fb_db_exec(s->db, "DELETE FROM listings;"
	    "DELETE FROM listings_fts; DELETE FROM listings_tri;"
	    "UPDATE meta SET value = 0 WHERE key = 'demo_inventory'", NULL));
}

/*
 * Still on Discogs, so not removed at the end: every listing the
 * inventory names, applied or not (a listing map() failed on keeps the
 * row it had).
 */
static void
apply_seen(struct fb_sync *s, int64_t id)
{
	sqlite3_stmt	*st;

	st = fb_db_stmt(s->db, FB_ST_SYNC_SEEN, "INSERT OR IGNORE INTO "
	    "temp.sync_seen (id) VALUES (?)", NULL);
	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	(void)sqlite3_step(st);
	sqlite3_reset(st);
}

/* One staged listing: counted if the rules left it out, else applied. */
static int
apply_one(struct fb_sync *s, sqlite3_stmt *st, const char *now)
{
	struct fb_row	row;
	int		rc;

	switch (sqlite3_column_int(st, 1)) {
	case FB_STAGE_SKIPPED:		/* map() failed: leave it as it is */
		s->skipped++;
		apply_seen(s, sqlite3_column_int64(st, 0));
		return (FB_OK);
	case FB_STAGE_KEPT_OUT:
		s->kept_out++;
		return (FB_OK);
	}
	fb_row_init(&row);
	rc = fb_row_decode(&row, sqlite3_column_blob(st, 3),
	    (size_t)sqlite3_column_bytes(st, 3));
	if (rc != FB_OK)
		(void)snprintf(s->error, sizeof(s->error), "staging: listing "
		    "%lld is torn", (long long)sqlite3_column_int64(st, 0));
	else
		rc = apply_row(s, &row, (uint64_t)sqlite3_column_int64(st, 2),
		    now);
	fb_row_cleanup(&row);
	return (rc);
}

static int
apply_row(struct fb_sync *s, struct fb_row *row, uint64_t hash,
    const char *now)
{
	sqlite3_stmt	*st;
	int64_t		 id = row->v[fb_row_column("listing_id")].i;
	int		 rc, is_active;
	int64_t		 old_hash;

	apply_seen(s, id);
	st = fb_db_stmt(s->db, FB_ST_SYNC_OLD, "SELECT content_hash, "
	    "is_active FROM listings WHERE listing_id = ?", NULL);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return (rc == SQLITE_DONE ? apply_insert(s, row, now, hash) :
		    FB_ERR);
	}
	old_hash = sqlite3_column_int64(st, 0);
	is_active = sqlite3_column_int(st, 1);
	sqlite3_reset(st);
	if ((uint64_t)old_hash == hash && is_active)
		return (FB_OK);
	return (apply_update(s, row, now, hash, is_active));
}

/* A new listing: every column, unset ones NULL, sold_at if it is sold. */
static int
apply_insert(struct fb_sync *s, const struct fb_row *row, const char *now,
    uint64_t hash)
{
	sqlite3_stmt	*st;
	int		 i, n = 0, rc;

	if ((st = insert_stmt(s)) == NULL)
		return (FB_ERR);
	for (i = 0; i < fb_listing_ncolumns; i++) {
		if (!fb_listing_is_state(i))
			(void)fb_row_bind(row, i, st, ++n);
	}
	sqlite3_bind_text(st, n + 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, n + 2, (int64_t)hash);
	if (row_is_sold(row))
		sqlite3_bind_text(st, n + 3, now, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, n + 3);
	rc = sqlite3_step(st) == SQLITE_DONE ? FB_OK : FB_ERR;
	sqlite3_reset(st);
	if (rc != FB_OK)
		return (FB_ERR);
	s->added++;
	return (record(s, row->v[0].i, ADDED, NULL));
}

/* The INSERT of every column but the sync's own, prepared once a run. */
static sqlite3_stmt *
insert_stmt(struct fb_sync *s)
{
	struct fb_buf	sql, vals;
	int		i;

	if (s->insert_st != NULL)
		return (s->insert_st);
	fb_buf_init(&sql, 1024);
	fb_buf_init(&vals, 256);
	fb_buf_appends(&sql, "INSERT INTO listings (");
	for (i = 0; i < fb_listing_ncolumns; i++) {
		if (fb_listing_is_state(i))
			continue;
		fb_buf_appendf(&sql, "%s, ", fb_listing_columns[i].name);
		fb_buf_appends(&vals, "?, ");
	}
	fb_buf_appendf(&sql, "created_at, updated_at, is_active, content_hash,"
	    " sold_at) VALUES (%s?%d, ?%d, 1, ?, ?)", fb_buf_cstr(&vals),
	    (int)(vals.len / 3) + 1, (int)(vals.len / 3) + 1);
	s->insert_st = fb_db_prepare(s->db, fb_buf_cstr(&sql), NULL);
	fb_buf_cleanup(&sql);
	fb_buf_cleanup(&vals);
	return (s->insert_st);
}

/* Discogs' status of a listing that has been bought. */
static int
row_is_sold(const struct fb_row *row)
{
	const struct fb_value	*v = &row->v[fb_row_column("status")];

	return (v->type == FB_VAL_TEXT && v->len == 4 &&
	    memcmp(v->s, "Sold", 4) == 0);
}

/*
 * A stored listing whose hash moved (or that had left the shop): write
 * the columns that really changed, record them old -> new, reactivate.
 */
static int
apply_update(struct fb_sync *s, const struct fb_row *row, const char *now,
    uint64_t hash, int is_active)
{
	struct fb_row	 old;
	struct fb_buf	 sql, diff;
	sqlite3_stmt	*st;
	int		 i, n = 0, rc = FB_ERR;

	fb_row_init(&old);
	st = fb_db_stmt(s->db, FB_ST_SYNC_ROW, NULL, NULL);
	if (st == NULL) {
		fb_buf_init(&sql, 2200);
		fb_buf_appendf(&sql, "SELECT %s FROM listings WHERE listing_id"
		    " = ?", fb_listing_select_list());
		st = fb_db_stmt(s->db, FB_ST_SYNC_ROW, fb_buf_cstr(&sql), NULL);
		fb_buf_cleanup(&sql);
	}
	sqlite3_bind_int64(st, 1, row->v[0].i);
	if (sqlite3_step(st) == SQLITE_ROW)
		fb_row_from_stmt(&old, st);
	sqlite3_reset(st);
	fb_buf_init(&sql, 1024);
	fb_buf_init(&diff, 256);
	fb_buf_appends(&sql, "UPDATE listings SET ");
	for (i = 1; i < fb_listing_ncolumns; i++) {
		if (row->v[i].type == FB_VAL_UNSET ||
		    value_equal(&row->v[i], &old.v[i]))
			continue;
		fb_buf_appendf(&sql, "%s = ?, ", fb_listing_columns[i].name);
		fb_buf_appendc(&diff, diff.len ? ',' : '{');
		fb_json_key(&diff, fb_listing_columns[i].name);
		fb_buf_appends(&diff, "{\"old\":");
		diff_value(&diff, i, &old.v[i]);
		fb_buf_appends(&diff, ",\"new\":");
		diff_value(&diff, i, &row->v[i]);
		fb_buf_appendc(&diff, '}');
	}
	if (diff.len > 0)
		fb_buf_appendc(&diff, '}');
	fb_buf_appends(&sql, diff.len > 0 || !is_active ? "updated_at = ?, " :
	    "updated_at = updated_at, ");
	fb_buf_appends(&sql, row_is_sold(row) ? "sold_at = coalesce(sold_at, "
	    "?), " : "");
	fb_buf_appends(&sql, "content_hash = ?, is_active = 1, removed_at = "
	    "NULL WHERE listing_id = ?");
	if ((st = fb_db_prepare(s->db, fb_buf_cstr(&sql), NULL)) == NULL)
		goto done;
	for (i = 1; i < fb_listing_ncolumns; i++) {
		if (row->v[i].type != FB_VAL_UNSET &&
		    !value_equal(&row->v[i], &old.v[i]))
			(void)fb_row_bind(row, i, st, ++n);
	}
	if (diff.len > 0 || !is_active)
		sqlite3_bind_text(st, ++n, now, -1, SQLITE_STATIC);
	if (row_is_sold(row))
		sqlite3_bind_text(st, ++n, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, ++n, (int64_t)hash);
	sqlite3_bind_int64(st, ++n, row->v[0].i);
	rc = sqlite3_step(st) == SQLITE_DONE ? FB_OK : FB_ERR;
	sqlite3_finalize(st);
	if (rc == FB_OK && !is_active) {
		s->added++;
		rc = record(s, row->v[0].i, ADDED, NULL);
	} else if (rc == FB_OK && diff.len > 0) {
		s->updated++;
		rc = record(s, row->v[0].i, UPDATED, fb_buf_cstr(&diff));
	}
done:
	fb_buf_cleanup(&sql);
	fb_buf_cleanup(&diff);
	fb_row_cleanup(&old);
	return (rc);
}

/* Active listings the fetch did not see leave the shop, unless too many. */
static int
apply_removals(struct fb_sync *s, int64_t active, const char *now)
{
	sqlite3_stmt	*st;
	int64_t		 gone, id;
	int		 rc = FB_OK;

	gone = fb_db_count(s->db, "SELECT count(*) FROM listings WHERE "
	    "is_active = 1 AND listing_id NOT IN (SELECT id FROM "
	    "temp.sync_seen)");
	if (gone > 0 && !(s->flags & FB_SYNC_FORCE) &&
	    (double)gone > fb_cfg.sync_max_remove_fraction * (double)active) {
		s->held_removals = gone;
		return (FB_OK);
	}
	st = fb_db_prepare(s->db, "UPDATE listings SET is_active = 0, "
	    "removed_at = ?1, updated_at = ?1 WHERE is_active = 1 AND "
	    "listing_id NOT IN (SELECT id FROM temp.sync_seen) "
	    "RETURNING listing_id", NULL);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	while (rc == FB_OK && sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		s->removed++;
		rc = record(s, id, REMOVED, NULL);
	}
	sqlite3_finalize(st);
	return (rc);
}

/* One line of the run's change list; also marks the text indexes. */
static int
record(struct fb_sync *s, int64_t id, const char *kind, const char *fields)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (fb_fts_touch(s->db, id, NULL) != FB_OK)
		return (FB_ERR);
	if (s->flags & FB_SYNC_DRY_RUN)		/* the CLI shows them */
		printf("  listing %lld: %s%s%s\n", (long long)id, kind,
		    fields ? " " : "", fields ? fields : "");
	st = fb_db_stmt(s->db, FB_ST_SYNC_CHANGE, "INSERT OR REPLACE INTO "
	    "sync_changes (run_id, listing_id, kind, fields) VALUES "
	    "(?, ?, ?, ?)", NULL);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (fields != NULL)
		sqlite3_bind_text(st, 4, fields, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? FB_OK : FB_ERR);
}

/* A value in the listing object's JSON type (money exact, ids strings). */
static void
diff_value(struct fb_buf *b, int col, const struct fb_value *v)
{
	int	type = fb_listing_columns[col].type;

	if (v->type == FB_VAL_UNSET || v->type == FB_VAL_NULL)
		fb_buf_appends(b, "null");
	else if (v->type == FB_VAL_TEXT && type != FB_COL_JSON)
		fb_json_str(b, v->s, v->len);
	else if (v->type == FB_VAL_TEXT)
		fb_buf_append(b, v->s, v->len);
	else if (v->type == FB_VAL_REAL)
		fb_buf_appendf(b, "%.15g", v->d);
	else if (type == FB_COL_MONEY)
		fb_json_money(b, v->i);
	else if (type == FB_COL_BOOL)
		fb_buf_appends(b, v->i ? "true" : "false");
	else if (type == FB_COL_ID) {
		fb_buf_appendc(b, '"');
		fb_buf_append_int(b, v->i);
		fb_buf_appendc(b, '"');
	} else
		fb_buf_append_int(b, v->i);
}

static int
value_equal(const struct fb_value *a, const struct fb_value *b)
{
	int	ta = a->type == FB_VAL_UNSET ? FB_VAL_NULL : a->type;
	int	tb = b->type == FB_VAL_UNSET ? FB_VAL_NULL : b->type;

	if (ta == FB_VAL_INT && tb == FB_VAL_REAL)
		return ((double)a->i == b->d);
	if (ta == FB_VAL_REAL && tb == FB_VAL_INT)
		return (a->d == (double)b->i);
	if (ta != tb)
		return (0);
	switch (ta) {
	case FB_VAL_INT:
		return (a->i == b->i);
	case FB_VAL_REAL:
		return (a->d == b->d);
	case FB_VAL_TEXT:
		return (a->len == b->len && memcmp(a->s, b->s, a->len) == 0);
	default:
		return (1);
	}
}
