/*
 * The staging area of a sync run: each fetched listing, already through
 * the owner's map() and keep() rules, kept by id until the apply.
 *
 * The rules run as each page arrives, while the next request waits on
 * Discogs or the pacer, so the apply (which holds the write lock) only
 * compares and writes.  Rows live in a scratch database file next to the
 * shop's (DATABASE_URL + "-stage"), attached for the run and deleted
 * after it: memory stays flat for a big shop, and its pages never crowd
 * the apply's small temporary tables.  It needs no journal and no fsync;
 * a crash leaves only a file the next run deletes.  A listing seen twice
 * (pages moved during the run) keeps its latest version.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"

static int	stage_listing(struct fb_sync *, sqlite3_stmt *, int64_t,
		    json_t *, struct fb_buf *);
static int	stage_fail(struct fb_sync *);
static void	stage_path(char *, size_t);

int
fb_sync_stage_open(struct fb_sync *s)
{
	sqlite3_stmt	*st;
	char		 path[sizeof(fb_cfg.db_path) + 8];
	int		 rc;

	fb_sync_stage_close(s);
	stage_path(path, sizeof(path));
	if ((st = fb_db_prepare(s->db, "ATTACH DATABASE ? AS stage", NULL)) ==
	    NULL)
		return (stage_fail(s));
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || fb_db_exec(s->db, "PRAGMA stage.journal_mode"
	    " = OFF; PRAGMA stage.synchronous = OFF;"
	    "PRAGMA stage.cache_size = -4000;"
	    "CREATE TABLE stage.sync_stage (id INTEGER PRIMARY KEY,"
	    " verdict INTEGER NOT NULL, hash INTEGER, row BLOB)", NULL) !=
	    FB_OK)
		return (stage_fail(s));
	return (FB_OK);
}

/* Detaches and deletes the scratch file, also one a crash left behind. */
void
fb_sync_stage_close(struct fb_sync *s)
{
	char	path[sizeof(fb_cfg.db_path) + 8];

	if (fb_db_count(s->db, "SELECT count(*) FROM pragma_database_list "
	    "WHERE name = 'stage'") > 0)
		(void)fb_db_exec(s->db, "DETACH DATABASE stage", NULL);
	stage_path(path, sizeof(path));
	(void)unlink(path);
}

/* A new read of the inventory starts from an empty stage. */
int
fb_sync_stage_clear(struct fb_sync *s)
{
	if (fb_db_exec(s->db, "DELETE FROM stage.sync_stage", NULL) != FB_OK)
		return (stage_fail(s));
	return (FB_OK);
}

/*
 * One page's listings (their ids checked by the fetch), in one
 * transaction of the scratch file.  A rule error only skips that one
 * listing (counted by the apply).
 */
int
fb_sync_stage_page(struct fb_sync *s, json_t *listings)
{
	struct fb_buf	 blob;
	sqlite3_stmt	*st;
	json_t		*l;
	size_t		 i;
	int		 rc = FB_OK;

	st = fb_db_stmt(s->db, FB_ST_SYNC_STAGE, "INSERT OR REPLACE INTO "
	    "stage.sync_stage (id, verdict, hash, row) VALUES (?, ?, ?, ?)",
	    NULL);
	if (st == NULL || fb_db_exec(s->db, "BEGIN", NULL) != FB_OK)
		return (stage_fail(s));
	fb_buf_init(&blob, 2048);
	json_array_foreach(listings, i, l) {
		if ((rc = stage_listing(s, st, json_integer_value(
		    json_object_get(l, "id")), l, &blob)) != FB_OK)
			break;
	}
	fb_buf_cleanup(&blob);
	if (fb_db_exec(s->db, rc == FB_OK ? "COMMIT" : "ROLLBACK", NULL) !=
	    FB_OK)
		rc = FB_ERR;
	return (rc != FB_OK ? stage_fail(s) : FB_OK);
}

/* map(), keep(), then the row as a blob with its content hash. */
static int
stage_listing(struct fb_sync *s, sqlite3_stmt *st, int64_t id, json_t *l,
    struct fb_buf *blob)
{
	struct fb_row	row;
	struct fb_err	err = { 0, "" };
	char		reason[128];
	int		verdict = FB_STAGE_KEPT, is_kept = 1, rc;

	fb_row_init(&row);
	if (fb_hook_map(s->rules, l, &row, &err) != FB_OK) {
		verdict = FB_STAGE_SKIPPED;
		fb_log(FB_LOG_WARN, "sync: listing %lld skipped: %s",
		    (long long)id, err.msg);
		if (s->skip_error[0] == '\0')
			(void)snprintf(s->skip_error, sizeof(s->skip_error),
			    "listing %lld: %s", (long long)id, err.msg);
	} else {
		fb_row_set_int(&row, fb_row_column("listing_id"), id);
		reason[0] = '\0';
		if (fb_hook_keep(s->rules, &row, l, &is_kept, reason,
		    sizeof(reason), &err) != FB_OK)
			fb_log(FB_LOG_WARN, "sync: keep() failed for %lld, kept:"
			    " %s", (long long)id, err.msg);
		if (!is_kept)
			verdict = FB_STAGE_KEPT_OUT;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, verdict);
	if (verdict == FB_STAGE_KEPT) {
		fb_buf_reset(blob);
		fb_row_encode(&row, blob);
		sqlite3_bind_int64(st, 3, (int64_t)fb_row_hash(&row));
		sqlite3_bind_blob(st, 4, blob->data, (int)blob->len,
		    SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 3);
		sqlite3_bind_null(st, 4);
	}
	rc = sqlite3_step(st) == SQLITE_DONE ? FB_OK : FB_ERR;
	sqlite3_reset(st);
	fb_row_cleanup(&row);
	return (rc);
}

/* FB_ERR, the run's error naming the scratch file and SQLite's reason. */
static int
stage_fail(struct fb_sync *s)
{
	char	path[sizeof(fb_cfg.db_path) + 8];

	stage_path(path, sizeof(path));
	if (s->error[0] == '\0')
		(void)snprintf(s->error, sizeof(s->error), "staging file "
		    "%.120s: %.120s", path, sqlite3_errmsg(s->db->h));
	return (FB_ERR);
}

static void
stage_path(char *path, size_t len)
{
	(void)snprintf(path, len, "%s-stage", fb_cfg.db_path);
}
