/*
 * The sync routes: POST /api/sync (admin) starts a run, and the read
 * side: /api/sync/status, /api/sync/runs and /api/sync/runs/{id} with
 * the run's per-listing changes.  They read the sync_runs table, so
 * every worker answers the same whichever one runs the sync.
 */
#include <jansson.h>

#include "server.h"

#define RUN_COLUMNS	"id, status, trigger, is_forced, started_at, " \
			"finished_at, added, updated, removed, skipped, pages, " \
			"requests, retries, error, progress"

int	fb_api_sync(struct http_request *);
int	fb_api_sync_status(struct http_request *);
int	fb_api_sync_runs(struct http_request *);
int	fb_api_sync_run(struct http_request *);

static const char *const	no_params[] = { NULL };
static const char *const	page_params[] = { "limit", "offset", NULL };

static int	sync_body_force(struct http_request *, int *, struct fb_err *);
static void	run_json(struct fb_buf *, sqlite3_stmt *);
static int	run_changes(struct fb_buf *, int64_t);
static void	enrichment_json(struct fb_buf *);

int
fb_api_sync(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_err	err = { 0, "" };
	struct fb_buf	b;
	int64_t		run_id;
	int		force = 0;

	if (fb_ctx_begin(&ctx, req, FB_R_SYNC, "POST", 0) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_auth_require_admin(&ctx) != FB_OK)
		goto done;
	if (sync_body_force(req, &force, &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (fb_cfg.discogs_token[0] == '\0')
		fb_reply_error(&ctx, 409, "no DISCOGS_TOKEN is set: there is "
		    "nothing to sync from");
	else if (fb_sync_start("admin", force ? FB_SYNC_FORCE : 0, &run_id,
	    &err) != FB_OK)
		fb_reply_error(&ctx, err.code == 409 ? 409 : 500, "%s",
		    err.msg);
	else {
		fb_buf_init(&b, 64);
		fb_buf_appendf(&b, "{\"run_id\":%lld}", (long long)run_id);
		fb_reply_json(&ctx, 202, &b);
		fb_buf_cleanup(&b);
	}
done:
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

int
fb_api_sync_status(struct http_request *req)
{
	struct fb_ctx	 ctx;
	struct fb_buf	 b;
	sqlite3_stmt	*st;
	int64_t		 next = 0, lock = 0;
	char		 iso[32];

	if (fb_ctx_begin(&ctx, req, FB_R_SYNC_STATUS, FB_ALLOW_GET, 0) !=
	    FB_OK)
		return (KORE_RESULT_OK);
	fb_buf_init(&b, 1024);
	(void)fb_db_meta_get(&fb_w.db, "sync_lock", &lock);
	(void)fb_db_meta_get(&fb_w.db, "sync_next_at", &next);
	fb_buf_appendf(&b, "{\"running\":%s,\"last_run\":",
	    lock != 0 ? "true" : "false");
	st = fb_db_prepare(&fb_w.db, "SELECT " RUN_COLUMNS " FROM sync_runs "
	    "ORDER BY id DESC LIMIT 1", NULL);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		run_json(&b, st);
	else
		fb_buf_appends(&b, "null");
	sqlite3_finalize(st);
	fb_time_iso(iso, sizeof(iso), next);
	fb_buf_appends(&b, ",\"next_run_at\":");
	fb_json_cstr(&b, fb_cfg.enable_auto_sync && next > 0 &&
	    fb_cfg.discogs_token[0] != '\0' ? iso : NULL);
	fb_buf_appends(&b, ",\"enrichment\":");
	enrichment_json(&b);
	fb_buf_appendc(&b, '}');
	fb_reply_json_tagged(&ctx, &b, 0);
	fb_buf_cleanup(&b);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* Newest first, paged like every list: X-Total-Count and Link. */
int
fb_api_sync_runs(struct http_request *req)
{
	struct fb_ctx	 ctx;
	struct fb_page	 page;
	struct fb_err	 err = { 0, "" };
	struct fb_buf	 b;
	sqlite3_stmt	*st;
	int64_t		 total;
	int		 n = 0;

	if (fb_ctx_begin(&ctx, req, FB_R_SYNC_RUNS, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_params_allow(&ctx.params, page_params, &err) != FB_OK ||
	    fb_params_page(&ctx.params, &page, &err) != FB_OK) {
		fb_reply_error(&ctx, 400, "%s", err.msg);
		goto done;
	}
	if (!page.has_limit)
		page.limit = FB_PAGE_MAX;
	fb_buf_init(&b, 4096);
	fb_buf_appendc(&b, '[');
	st = fb_db_prepare(&fb_w.db, "SELECT " RUN_COLUMNS " FROM sync_runs "
	    "ORDER BY id DESC LIMIT ? OFFSET ?", NULL);
	sqlite3_bind_int64(st, 1, page.limit);
	sqlite3_bind_int64(st, 2, page.offset);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		if (n++ > 0)
			fb_buf_appendc(&b, ',');
		run_json(&b, st);
	}
	sqlite3_finalize(st);
	fb_buf_appendc(&b, ']');
	total = fb_db_count(&fb_w.db, "SELECT count(*) FROM sync_runs");
	fb_reply_page_headers(&ctx, total, &page);
	fb_reply_json_tagged(&ctx, &b, total);
	fb_buf_cleanup(&b);
done:
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

int
fb_api_sync_run(struct http_request *req)
{
	struct fb_ctx	 ctx;
	struct fb_err	 err = { 0, "" };
	struct fb_buf	 b;
	sqlite3_stmt	*st = NULL;
	int64_t		 id;

	if (fb_ctx_begin(&ctx, req, FB_R_SYNC_RUNS, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_params_allow(&ctx.params, no_params, &err) != FB_OK) {
		fb_reply_error(&ctx, 400, "%s", err.msg);
		goto done;
	}
	if (fb_parse_id(req->path + sizeof("/api/sync/runs/") - 1, &id) !=
	    FB_OK) {
		fb_reply_error(&ctx, 400, "id: not a run id (digits only)");
		goto done;
	}
	st = fb_db_prepare(&fb_w.db, "SELECT " RUN_COLUMNS " FROM sync_runs "
	    "WHERE id = ?", NULL);
	sqlite3_bind_int64(st, 1, id);
	if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
		fb_reply_error(&ctx, 404, "Run not found");
		goto done;
	}
	fb_buf_init(&b, 8192);
	run_json(&b, st);
	b.len--;				/* reopen the object */
	fb_buf_appends(&b, ",\"changes\":");
	(void)run_changes(&b, id);
	fb_buf_appendc(&b, '}');
	fb_reply_json_tagged(&ctx, &b, 0);
	fb_buf_cleanup(&b);
done:
	sqlite3_finalize(st);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* An optional JSON body {"force": true}. */
static int
sync_body_force(struct http_request *req, int *force, struct fb_err *err)
{
	json_error_t	 je;
	json_t		*doc, *f;
	struct fb_buf	 body;
	char		 chunk[4096];
	ssize_t		 n;

	*force = 0;
	if (req->http_body_length == 0)
		return (FB_OK);
	fb_buf_init(&body, 256);
	while ((n = http_body_read(req, chunk, sizeof(chunk))) > 0)
		fb_buf_append(&body, chunk, (size_t)n);
	doc = n < 0 ? NULL : json_loadb(body.data, body.len, 0, &je);
	fb_buf_cleanup(&body);
	if (n < 0)
		(void)snprintf(je.text, sizeof(je.text), "unreadable");
	if (doc == NULL || !json_is_object(doc)) {
		fb_err_set(err, "body: not a JSON object (%s)", doc ?
		    "wrong type" : je.text);
		json_decref(doc);
		return (FB_ERR);
	}
	f = json_object_get(doc, "force");
	if (f != NULL && !json_is_boolean(f)) {
		json_decref(doc);
		fb_err_set(err, "force: must be true or false");
		return (FB_ERR);
	}
	*force = json_is_true(f);
	json_decref(doc);
	return (FB_OK);
}

static void
run_json(struct fb_buf *b, sqlite3_stmt *st)
{
	static const char	*keys[] = {
		"id", "status", "trigger", "forced", "started_at",
		"finished_at", "added", "updated", "removed", "skipped",
		"pages", "requests", "retries", "error", "progress"
	};
	int			 i;

	fb_buf_appendc(b, '{');
	for (i = 0; i < 15; i++) {
		if (i > 0)
			fb_buf_appendc(b, ',');
		fb_json_key(b, keys[i]);
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			fb_buf_appends(b, "null");
		else if (i == 3)
			fb_buf_appends(b, sqlite3_column_int(st, i) ? "true" :
			    "false");
		else if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
			fb_buf_append_int(b, sqlite3_column_int64(st, i));
		else
			fb_json_cstr(b, (const char *)sqlite3_column_text(st,
			    i));
	}
	fb_buf_appendc(b, '}');
}

static int
run_changes(struct fb_buf *b, int64_t id)
{
	sqlite3_stmt	*st;
	int		 n = 0;

	st = fb_db_prepare(&fb_w.db, "SELECT listing_id, kind, fields FROM "
	    "sync_changes WHERE run_id = ? ORDER BY kind, listing_id", NULL);
	fb_buf_appendc(b, '[');
	sqlite3_bind_int64(st, 1, id);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		fb_buf_appends(b, n++ > 0 ? ",{" : "{");
		fb_buf_appendf(b, "\"listing_id\":\"%lld\",\"kind\":",
		    (long long)sqlite3_column_int64(st, 0));
		fb_json_cstr(b, (const char *)sqlite3_column_text(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
			fb_buf_appends(b, ",\"fields\":");
			fb_buf_appends(b,
			    (const char *)sqlite3_column_text(st, 2));
		}
		fb_buf_appendc(b, '}');
	}
	fb_buf_appendc(b, ']');
	sqlite3_finalize(st);
	return (FB_OK);
}

/* Release details: how many are pending, done and failed (404s too). */
static void
enrichment_json(struct fb_buf *b)
{
	fb_buf_appendf(b, "{\"pending\":%lld,\"done\":%lld,\"failed\":%lld}",
	    (long long)fb_db_count(&fb_w.db, "SELECT count(*) FROM releases "
	    "WHERE state = 'pending'"),
	    (long long)fb_db_count(&fb_w.db, "SELECT count(*) FROM releases "
	    "WHERE state = 'done'"),
	    (long long)fb_db_count(&fb_w.db, "SELECT count(*) FROM releases "
	    "WHERE state IN ('failed', 'missing')"));
}
