/*
 * Release details: the background job that fills genres, styles,
 * formats, country, barcode, master and community counts from
 * GET /releases/{id}, which the inventory summary does not carry.
 *
 * The queue is the releases table: one row per release id, newest
 * listings first, resumable across restarts.  A 404 is remembered and
 * never asked again; a release that keeps failing is given up after
 * three attempts.  A batch stops as soon as an inventory sync holds the
 * lock, so the job gives way and never holds a sync run open.  Each
 * release is written in its own short transaction.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "app.h"

#define ATTEMPTS_MAX	3

static int	enrich_one(struct fb_sync *, int64_t);
static int	enrich_store(struct fb_db *, int64_t, json_t *);
static void	join_names(struct fb_buf *, json_t *, const char *);
static void	join_formats(struct fb_buf *, json_t *);
static const char *barcode(json_t *);
static void	mark(struct fb_db *, int64_t, const char *, const char *);

/* Queues every release of the shop not seen before (set-based). */
int
fb_enrich_enqueue(struct fb_db *db, struct fb_err *err)
{
	return (fb_db_exec(db, "INSERT OR IGNORE INTO releases (release_id, "
	    "priority) SELECT release_id, max(coalesce(posted_sort, 0)) FROM "
	    "listings WHERE release_id IS NOT NULL GROUP BY release_id", err));
}

/*
 * Up to max releases, paced by s->pacer.  Returns how many were done, or
 * -1 when it stopped for a sync, a rate limit or a shutdown.
 */
int
fb_enrich_batch(struct fb_sync *s, int max)
{
	sqlite3_stmt	*st;
	int64_t		 lock = 0, id;
	int		 n = 0;

	for (; n < max; n++) {
		if ((s->cancel != NULL && *s->cancel) ||
		    (fb_db_meta_get(s->db, "sync_lock", &lock) == FB_OK &&
		    lock != 0))
			return (-1);
		st = fb_db_prepare(s->db, "SELECT release_id FROM releases "
		    "WHERE state = 'pending' ORDER BY priority DESC LIMIT 1",
		    NULL);
		if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			break;
		}
		id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (enrich_one(s, id) != FB_OK)
			return (-1);
	}
	return (n);
}

/* FB_ERR only when the batch should stop (rate limit, shutdown). */
static int
enrich_one(struct fb_sync *s, int64_t id)
{
	struct fb_http	 h;
	json_t		*doc;
	char		 url[512], why[200];
	int		 rc = FB_OK;

	if (fb_sync_pace(s) != FB_OK)
		return (FB_ERR);
	(void)snprintf(url, sizeof(url), "%s/releases/%lld",
	    fb_cfg.discogs_api_url, (long long)id);
	s->requests++;
	(void)fb_discogs_get(url, &h);
	(void)fb_pacer_result(&s->pacer, fb_time_mono_us() / 1000, h.status,
	    h.retry_after, h.remaining, 0);
	if (h.status == 200 && (doc = json_loadb(h.body.data, h.body.len, 0,
	    NULL)) != NULL) {
		if (enrich_store(s->db, id, doc) != FB_OK)
			mark(s->db, id, "failed", "could not store");
		json_decref(doc);
	} else if (h.status == 404)
		mark(s->db, id, "missing", "404: no such release");
	else if (h.status == 429) {
		s->rate_limited++;
		rc = FB_ERR;
	} else {
		(void)snprintf(why, sizeof(why), "status %d %.160s", h.status,
		    h.error);
		mark(s->db, id, NULL, why);
	}
	fb_http_cleanup(&h);
	return (rc);
}

/* The release's details onto every listing of it, in one transaction. */
static int
enrich_store(struct fb_db *db, int64_t id, json_t *doc)
{
	struct fb_buf	 genres, styles, formats;
	sqlite3_stmt	*st;
	json_t		*f = json_array_get(json_object_get(doc, "formats"), 0);
	json_t		*c = json_object_get(doc, "community");
	int		 rc;

	fb_buf_init(&genres, 128);
	fb_buf_init(&styles, 128);
	fb_buf_init(&formats, 128);
	join_names(&genres, json_object_get(doc, "genres"), NULL);
	join_names(&styles, json_object_get(doc, "styles"), NULL);
	join_formats(&formats, json_object_get(doc, "formats"));
	st = fb_db_prepare(db, "UPDATE listings SET genres = ?1, styles = ?2,"
	    " format_names = coalesce(?3, format_names), primary_format ="
	    " coalesce(?4, primary_format), country = ?5, barcode = ?6,"
	    " master_id = ?7, master_url = ?8, release_community_have = ?9,"
	    " release_community_want = ?10 WHERE release_id = ?11", NULL);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_text(st, 1, fb_buf_cstr(&genres), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fb_buf_cstr(&styles), -1, SQLITE_STATIC);
	if (formats.len > 0)
		sqlite3_bind_text(st, 3, fb_buf_cstr(&formats), -1,
		    SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json_string_value(json_object_get(f, "name")),
	    -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, json_string_value(json_object_get(doc,
	    "country")), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, barcode(doc), -1, SQLITE_TRANSIENT);
	if (json_integer_value(json_object_get(doc, "master_id")) > 0)
		sqlite3_bind_int64(st, 7, json_integer_value(
		    json_object_get(doc, "master_id")));
	sqlite3_bind_text(st, 8, json_string_value(json_object_get(doc,
	    "master_url")), -1, SQLITE_TRANSIENT);
	if (json_is_integer(json_object_get(c, "have")))
		sqlite3_bind_int64(st, 9, json_integer_value(
		    json_object_get(c, "have")));
	if (json_is_integer(json_object_get(c, "want")))
		sqlite3_bind_int64(st, 10, json_integer_value(
		    json_object_get(c, "want")));
	sqlite3_bind_int64(st, 11, id);
	(void)fb_db_exec(db, "BEGIN IMMEDIATE", NULL);
	rc = sqlite3_step(st) == SQLITE_DONE ? FB_OK : FB_ERR;
	sqlite3_finalize(st);
	if (rc == FB_OK)
		mark(db, id, "done", NULL);
	(void)fb_db_exec(db, rc == FB_OK ? "COMMIT" : "ROLLBACK", NULL);
	fb_buf_cleanup(&genres);
	fb_buf_cleanup(&styles);
	fb_buf_cleanup(&formats);
	return (rc);
}

/* ["Rock", "Pop"] -> "Rock, Pop"; key picks a member of object items. */
static void
join_names(struct fb_buf *b, json_t *arr, const char *key)
{
	json_t		*v;
	const char	*s;
	size_t		 i;

	json_array_foreach(arr, i, v) {
		s = key != NULL ? json_string_value(json_object_get(v, key)) :
		    json_string_value(v);
		if (s == NULL)
			continue;
		if (b->len > 0)
			fb_buf_appends(b, ", ");
		fb_buf_appends(b, s);
	}
}

/* [{"name": "Vinyl", "descriptions": ["LP", "Album"]}] -> "Vinyl, LP, Album". */
static void
join_formats(struct fb_buf *b, json_t *formats)
{
	json_t	*f;
	size_t	 i;

	json_array_foreach(formats, i, f) {
		if (json_string_value(json_object_get(f, "name")) == NULL)
			continue;
		if (b->len > 0)
			fb_buf_appends(b, ", ");
		fb_buf_appends(b, json_string_value(json_object_get(f,
		    "name")));
		join_names(b, json_object_get(f, "descriptions"), NULL);
	}
}

static const char *
barcode(json_t *doc)
{
	json_t		*v;
	size_t		 i;

	json_array_foreach(json_object_get(doc, "identifiers"), i, v) {
		if (json_string_value(json_object_get(v, "type")) != NULL &&
		    strcmp(json_string_value(json_object_get(v, "type")),
		    "Barcode") == 0)
			return (json_string_value(json_object_get(v, "value")));
	}
	return (NULL);
}

/* state NULL: one more failed attempt, given up after ATTEMPTS_MAX. */
static void
mark(struct fb_db *db, int64_t id, const char *state, const char *error)
{
	sqlite3_stmt	*st;
	char		 iso[32];

	fb_time_iso(iso, sizeof(iso), fb_time_now());
	st = fb_db_prepare(db, "UPDATE releases SET attempts = attempts + 1, "
	    "fetched_at = ?1, error = ?2, state = coalesce(?3, CASE WHEN "
	    "attempts + 1 >= ?4 THEN 'failed' ELSE state END) WHERE "
	    "release_id = ?5", NULL);
	if (st == NULL)
		return;
	sqlite3_bind_text(st, 1, iso, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, ATTEMPTS_MAX);
	sqlite3_bind_int64(st, 5, id);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}
