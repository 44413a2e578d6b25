/*
 * The host table: what a plugin may do, and the checks that keep a bad
 * plugin from hurting the shop.
 *
 * Every answer goes through reply.c, so plugin routes get the same
 * headers, errors and metrics as core routes; a request gets exactly one
 * answer.  SQL from a plugin runs on the worker's connection, but only
 * as one read-only SELECT: an authorizer refuses anything else while a
 * plugin statement is prepared, sqlite3_stmt_readonly() checks again,
 * and a progress handler interrupts a step that runs too long.  A
 * statement still running when its request ends is reset, so a plugin
 * cannot pin an old snapshot of the data in this worker.
 */
#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

#include "plugin.h"

#define STEP_BUDGET_US		(2 * 1000 * 1000)
#define PROGRESS_OPS		10000

/* A plugin's statement; live ones are listed for the end-of-request reset. */
struct fb_stmt {
	sqlite3_stmt		*st;
	struct fb_plugin_ctx	*pc;
	uint64_t		 serial;	/* last request that used it */
	TAILQ_ENTRY(fb_stmt)	 list;
};

static TAILQ_HEAD(, fb_stmt)	live = TAILQ_HEAD_INITIALIZER(live);
static int			is_plugin_sql;	/* authorizer is strict */
static int			has_authorizer;

static int	api_route_add(struct fb_plugin_ctx *, int, const char *,
		    fb_handler, void *);
static const char *api_setting(struct fb_plugin_ctx *, const char *);
static void	api_log(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	api_req_method(struct fb_req *);
static const char *api_req_path(struct fb_req *);
static const char *api_req_path_arg(struct fb_req *);
static const char *api_req_param(struct fb_req *, const char *);
static int	api_req_params_allow(struct fb_req *, const char *const *);
static const char *api_req_header(struct fb_req *, const char *);
static json_t	*api_req_body(struct fb_req *);
static int	api_req_is_admin(struct fb_req *);
static int	api_reply(struct fb_req *, int, json_t *);
static int	api_reply_error(struct fb_req *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	api_reply_text(struct fb_req *, int, const char *,
		    const void *, size_t);
static int	api_reply_header(struct fb_req *, const char *,
		    const char *);
static int	api_reply_etag(struct fb_req *, const char *);
static int64_t	api_data_version(struct fb_req *);
static int64_t	api_db_generation(struct fb_req *);
static struct fb_stmt *api_db_prepare(struct fb_req *, const char *);
static struct fb_stmt *api_listings_open(struct fb_req *);
static int	api_db_bind_int(struct fb_stmt *, int, int64_t);
static int	api_db_bind_text(struct fb_stmt *, int, const char *);
static int	api_db_step(struct fb_stmt *);
static int	api_db_column_count(struct fb_stmt *);
static const char *api_db_column_name(struct fb_stmt *, int);
static int	api_db_column_type(struct fb_stmt *, int);
static int64_t	api_db_column_int(struct fb_stmt *, int);
static double	api_db_column_double(struct fb_stmt *, int);
static const char *api_db_column_text(struct fb_stmt *, int);
static void	api_db_finalize(struct fb_stmt *);
static json_t	*api_json_money(int64_t);

static int	reply_begin(struct fb_req *, int, int, int);
static int	text_ok(const char *, int);
static int	authorize(void *, int, const char *, const char *,
		    const char *, const char *);
static int	step_progress(void *);
static struct fb_stmt *stmt_new(struct fb_req *, sqlite3_stmt *);
static int	stmt_col(struct fb_stmt *, int);
static sqlite3_stmt *listings_stmt(const struct fb_query *,
		    struct fb_err *);
static const char *listings_select(void);

const struct fb_host_api	fb_plugin_api = {
	.size = sizeof(struct fb_host_api),
	.route_add = api_route_add,
	.setting = api_setting,
	.log = api_log,
	.alloc = malloc,
	.free = free,
	.req_method = api_req_method,
	.req_path = api_req_path,
	.req_path_arg = api_req_path_arg,
	.req_param = api_req_param,
	.req_params_allow = api_req_params_allow,
	.req_header = api_req_header,
	.req_body = api_req_body,
	.req_is_admin = api_req_is_admin,
	.reply = api_reply,
	.reply_error = api_reply_error,
	.reply_text = api_reply_text,
	.reply_header = api_reply_header,
	.reply_etag = api_reply_etag,
	.reply_stream = fb_plugin_stream,
	.sink_write = fb_plugin_sink_write,
	.data_version = api_data_version,
	.db_generation = api_db_generation,
	.db_prepare = api_db_prepare,
	.listings_open = api_listings_open,
	.db_bind_int = api_db_bind_int,
	.db_bind_text = api_db_bind_text,
	.db_step = api_db_step,
	.db_column_count = api_db_column_count,
	.db_column_name = api_db_column_name,
	.db_column_type = api_db_column_type,
	.db_column_int = api_db_column_int,
	.db_column_double = api_db_column_double,
	.db_column_text = api_db_column_text,
	.db_finalize = api_db_finalize,
	.json_money = api_json_money,
};

/* The dispatcher's epilogue: free what the request holds. */
void
fb_plugin_req_end(struct fb_req *r)
{
	if (!r->is_streaming && r->serial != 0)
		fb_plugin_stmts_reset(r->serial);
	json_decref(r->body);
	r->body = NULL;
	free(r->path_arg);
	r->path_arg = NULL;
}

/* Resets, and logs, statements that request serial left running. */
void
fb_plugin_stmts_reset(uint64_t serial)
{
	struct fb_stmt	*s;

	TAILQ_FOREACH(s, &live, list) {
		if (s->serial != serial || !sqlite3_stmt_busy(s->st))
			continue;
		sqlite3_reset(s->st);
		fb_plugin_log(s->pc, FB_LOG_WARN, "a statement was still "
		    "running when its request ended; reset (step it to "
		    "FB_DB_DONE or db_finalize it)");
	}
}

static int
api_route_add(struct fb_plugin_ctx *pc, int flags, const char *path,
    fb_handler handler, void *arg)
{
	return (fb_plugin_route_add(pc, flags, path, handler, arg));
}

static const char *
api_setting(struct fb_plugin_ctx *pc, const char *key)
{
	return (pc != NULL ? fb_plugin_setting_get(pc->rec, key) : NULL);
}

static void
api_log(int level, const char *fmt, ...)
{
	va_list	ap;
	char	msg[768];

	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level < FB_LOG_ERROR || level > FB_LOG_DEBUG)
		level = FB_LOG_INFO;
	fb_plugin_log(fb_plugin_cur, level, "%s", msg);
}

static int
api_req_method(struct fb_req *r)
{
	switch (r->ctx.req->method) {
	case HTTP_METHOD_POST:
		return (FB_METHOD_POST);
	case HTTP_METHOD_PUT:
		return (FB_METHOD_PUT);
	case HTTP_METHOD_DELETE:
		return (FB_METHOD_DELETE);
	case HTTP_METHOD_PATCH:
		return (FB_METHOD_PATCH);
	default:
		return (FB_METHOD_GET);
	}
}

static const char *
api_req_path(struct fb_req *r)
{
	return (r->ctx.req->path);
}

static const char *
api_req_path_arg(struct fb_req *r)
{
	return (r->path_arg);
}

static const char *
api_req_param(struct fb_req *r, const char *name)
{
	return (name != NULL ? fb_params_get(&r->ctx.params, name) : NULL);
}

static int
api_req_params_allow(struct fb_req *r, const char *const *names)
{
	struct fb_err	err = { 0, "" };
	static const char *const none[] = { NULL };

	if (fb_params_allow(&r->ctx.params, names != NULL ? names : none,
	    &err) == FB_OK)
		return (FB_OK);
	if (reply_begin(r, 400, 400, 499) == FB_OK)
		fb_reply_error(&r->ctx, 400, "%s", err.msg);
	return (FB_ERR);
}

static const char *
api_req_header(struct fb_req *r, const char *name)
{
	const char	*v;

	if (name == NULL || !http_request_header(r->ctx.req, name, &v))
		return (NULL);
	return (v);
}

/* Read once, on first use; Kore has already capped its size. */
static json_t *
api_req_body(struct fb_req *r)
{
	struct http_request	*req = r->ctx.req;
	struct fb_buf		 b;
	char			 chunk[4096];
	ssize_t			 n;

	if (r->has_body)
		return (r->body);
	r->has_body = 1;
	if (req->http_body == NULL && req->http_body_fd == -1)
		return (NULL);
	fb_buf_init(&b, 4096);
	while ((n = http_body_read(req, chunk, sizeof(chunk))) > 0)
		fb_buf_append(&b, chunk, (size_t)n);
	if (n == 0 && b.len > 0)
		r->body = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES,
		    NULL);
	fb_buf_cleanup(&b);
	return (r->body);
}

static int
api_req_is_admin(struct fb_req *r)
{
	return (fb_auth_admin(r->ctx.req));
}

static int
api_reply(struct fb_req *r, int status, json_t *body)
{
	struct fb_buf	b;
	char		*text;

	if (reply_begin(r, status, 200, 599) != FB_OK) {
		json_decref(body);
		return (FB_ERR);
	}
	if (body == NULL && (status == 204 || status == 304)) {
		fb_reply(&r->ctx, status, "application/json; charset=utf-8",
		    NULL, 0);
		return (FB_OK);
	}
	text = body != NULL ? json_dumps(body, JSON_COMPACT |
	    JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(body);
	if (text == NULL) {
		fb_plugin_log(r->route->pc, FB_LOG_ERROR, "reply: no JSON "
		    "body to send");
		fb_reply_error(&r->ctx, 500, "plugin %s failed",
		    r->route->pc->rec->name);
		return (FB_ERR);
	}
	b.data = text;
	b.len = strlen(text);
	b.cap = b.len + 1;
	if (status == 200)
		fb_cache_store(&r->ctx, 200, &b);
	fb_reply_json(&r->ctx, status, &b);
	free(text);
	return (FB_OK);
}

static int
api_reply_error(struct fb_req *r, int status, const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	if (reply_begin(r, status, 400, 599) != FB_OK)
		return (FB_ERR);
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt != NULL ? fmt : "error", ap);
	va_end(ap);
	fb_reply_error(&r->ctx, status, "%s", msg);
	return (FB_OK);
}

static int
api_reply_text(struct fb_req *r, int status, const char *type,
    const void *data, size_t len)
{
	if (reply_begin(r, status, 200, 599) != FB_OK)
		return (FB_ERR);
	if (!text_ok(type, 0) || (data == NULL && len > 0)) {
		fb_plugin_log(r->route->pc, FB_LOG_ERROR, "reply_text: bad "
		    "content type or data");
		fb_reply_error(&r->ctx, 500, "plugin %s failed",
		    r->route->pc->rec->name);
		return (FB_ERR);
	}
	fb_reply(&r->ctx, status, type, data, len);
	return (FB_OK);
}

/* Framing headers are the host's; the rest must be clean text. */
static int
api_reply_header(struct fb_req *r, const char *name, const char *value)
{
	static const char	*reserved[] = {
		"content-length", "transfer-encoding", "connection",
		"content-type", NULL
	};
	int			 i;

	if (r->has_replied || !text_ok(name, 1) || !text_ok(value, 0))
		goto refused;
	for (i = 0; reserved[i] != NULL; i++) {
		if (strcasecmp(name, reserved[i]) == 0)
			goto refused;
	}
	fb_reply_header(&r->ctx, name, value);
	return (FB_OK);
refused:
	fb_plugin_log(r->route->pc, FB_LOG_ERROR, "reply_header(%.64s): "
	    "refused", name != NULL ? name : "NULL");
	return (FB_ERR);
}

/* "tag" becomes the ETag; 304 (and 1) when If-None-Match names it. */
static int
api_reply_etag(struct fb_req *r, const char *tag)
{
	size_t	n = tag != NULL ? strlen(tag) : 0;

	if (r->has_replied || n == 0 || n > sizeof(r->ctx.etag) - 3 ||
	    tag[strspn(tag, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789._-")] != '\0') {
		fb_plugin_log(r->route->pc, FB_LOG_ERROR, "reply_etag(%.40s): "
		    "refused", tag != NULL ? tag : "NULL");
		return (FB_ERR);
	}
	(void)snprintf(r->ctx.etag, sizeof(r->ctx.etag), "\"%s\"", tag);
	if (!fb_reply_not_modified(&r->ctx))
		return (0);
	r->has_replied = 1;
	return (1);
}

static int64_t
api_data_version(struct fb_req *r)
{
	(void)r;
	if (!fb_w.db_ok || fb_db_refresh(&fb_w.db) != FB_OK)
		return (-1);
	return (fb_w.db.version);
}

/* Both counters only grow, and one of them moves on every commit. */
static int64_t
api_db_generation(struct fb_req *r)
{
	(void)r;
	if (!fb_w.db_ok || fb_db_refresh(&fb_w.db) != FB_OK)
		return (-1);
	return (fb_w.db.pragma_version + fb_w.db.own_changes);
}

static struct fb_stmt *
api_db_prepare(struct fb_req *r, const char *sql)
{
	struct fb_plugin_ctx	*pc = r->route->pc;
	sqlite3_stmt		*st = NULL;
	const char		*tail = NULL, *why = NULL;

	if (!fb_w.db_ok || sql == NULL) {
		fb_plugin_log(pc, FB_LOG_ERROR, "db_prepare: %s", sql == NULL ?
		    "no SQL" : "database unavailable");
		return (NULL);
	}
	if (!has_authorizer) {
		sqlite3_set_authorizer(fb_w.db.h, authorize, NULL);
		has_authorizer = 1;
	}
	is_plugin_sql = 1;
	if (sqlite3_prepare_v2(fb_w.db.h, sql, -1, &st, &tail) != SQLITE_OK)
		why = sqlite3_errcode(fb_w.db.h) == SQLITE_AUTH ?
		    "refused: not a read-only query" :
		    sqlite3_errmsg(fb_w.db.h);
	is_plugin_sql = 0;
	if (why == NULL && st == NULL)
		why = "no statement";
	else if (why == NULL && tail != NULL && tail[strspn(tail,
	    " \t\r\n;")] != '\0')
		why = "refused: one statement only";
	else if (why == NULL && !sqlite3_stmt_readonly(st))
		why = "refused: not a read-only query";
	if (why == NULL)
		return (stmt_new(r, st));
	fb_plugin_log(pc, FB_LOG_ERROR, "db_prepare: %s: %.120s", why, sql);
	sqlite3_finalize(st);
	return (NULL);
}

/* The listings of GET /api/search for the request's query string. */
static struct fb_stmt *
api_listings_open(struct fb_req *r)
{
	struct fb_query	 qr;
	struct fb_err	 err = { 0, "" };
	sqlite3_stmt	*st;

	if (r->has_replied)
		return (NULL);
	if (fb_query_parse(&qr, &r->ctx.params, FB_QUERY_SEARCH, &err) !=
	    FB_OK) {
		(void)api_reply_error(r, 400, "%s", err.msg);
		return (NULL);
	}
	if (!qr.is_paged)
		qr.page.limit = -1;			/* every match */
	if ((st = listings_stmt(&qr, &err)) != NULL)
		return (stmt_new(r, st));
	(void)api_reply_error(r, 500, "%s", err.msg);
	return (NULL);
}

static int
api_db_bind_int(struct fb_stmt *s, int i, int64_t v)
{
	return (s != NULL && sqlite3_bind_int64(s->st, i, v) == SQLITE_OK ?
	    FB_OK : FB_ERR);
}

static int
api_db_bind_text(struct fb_stmt *s, int i, const char *v)
{
	if (s == NULL)
		return (FB_ERR);
	if (v == NULL)
		return (sqlite3_bind_null(s->st, i) == SQLITE_OK ? FB_OK :
		    FB_ERR);
	return (sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT) ==
	    SQLITE_OK ? FB_OK : FB_ERR);
}

/* One step, interrupted if it runs longer than STEP_BUDGET_US. */
static int
api_db_step(struct fb_stmt *s)
{
	uint64_t	deadline = fb_time_mono_us() + STEP_BUDGET_US;
	int		rc;

	if (s == NULL)
		return (FB_ERR);
	if (fb_plugin_serial != 0)
		s->serial = fb_plugin_serial;
	sqlite3_progress_handler(fb_w.db.h, PROGRESS_OPS, step_progress,
	    &deadline);
	rc = sqlite3_step(s->st);
	sqlite3_progress_handler(fb_w.db.h, 0, NULL, NULL);
	if (rc == SQLITE_ROW)
		return (FB_DB_ROW);
	if (rc == SQLITE_DONE)
		return (FB_DB_DONE);
	fb_plugin_log(s->pc, FB_LOG_ERROR, "db_step: %s", rc ==
	    SQLITE_INTERRUPT ? "interrupted after 2 s" :
	    sqlite3_errmsg(fb_w.db.h));
	sqlite3_reset(s->st);
	return (FB_ERR);
}

static int
api_db_column_count(struct fb_stmt *s)
{
	return (s != NULL ? sqlite3_column_count(s->st) : 0);
}

static const char *
api_db_column_name(struct fb_stmt *s, int i)
{
	return (stmt_col(s, i) ? sqlite3_column_name(s->st, i) : NULL);
}

static int
api_db_column_type(struct fb_stmt *s, int i)
{
	return (stmt_col(s, i) ? sqlite3_column_type(s->st, i) : FB_DB_NULL);
}

static int64_t
api_db_column_int(struct fb_stmt *s, int i)
{
	return (stmt_col(s, i) ? sqlite3_column_int64(s->st, i) : 0);
}

static double
api_db_column_double(struct fb_stmt *s, int i)
{
	return (stmt_col(s, i) ? sqlite3_column_double(s->st, i) : 0.0);
}

static const char *
api_db_column_text(struct fb_stmt *s, int i)
{
	return (stmt_col(s, i) ?
	    (const char *)sqlite3_column_text(s->st, i) : NULL);
}

static void
api_db_finalize(struct fb_stmt *s)
{
	if (s == NULL)
		return;
	TAILQ_REMOVE(&live, s, list);
	sqlite3_finalize(s->st);
	free(s);
}

static json_t *
api_json_money(int64_t hundredths)
{
	return (json_real((double)hundredths / 100.0));
}

/*
 * Every answer starts here: one per request, a status in [lo, hi]; a bad
 * status becomes a 500.  FB_OK means the caller sends the answer.
 */
static int
reply_begin(struct fb_req *r, int status, int lo, int hi)
{
	struct fb_plugin_ctx	*pc;

	if (r == NULL || r->route == NULL)
		return (FB_ERR);
	pc = r->route->pc;
	if (r->has_replied) {
		fb_plugin_log(pc, FB_LOG_ERROR, "%.200s: answered twice; "
		    "the second answer is dropped", r->ctx.req->path);
		return (FB_ERR);
	}
	r->has_replied = 1;
	if (status >= lo && status <= hi)
		return (FB_OK);
	fb_plugin_log(pc, FB_LOG_ERROR, "%.200s: status %d is not %d-%d",
	    r->ctx.req->path, status, lo, hi);
	fb_reply_error(&r->ctx, 500, "plugin %s failed", pc->rec->name);
	return (FB_ERR);
}

/* Non-empty printable text; a header name is a token. */
static int
text_ok(const char *s, int is_name)
{
	size_t	i;

	if (s == NULL || *s == '\0' || strlen(s) > 1024)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (0);
		if (is_name && !isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return (0);
	}
	return (1);
}

/* Lets the core prepare anything; a plugin only reads. */
static int
authorize(void *arg, int action, const char *a, const char *b,
    const char *c, const char *d)
{
	(void)arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (!is_plugin_sql)
		return (SQLITE_OK);
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return (SQLITE_OK);
	default:
		return (SQLITE_DENY);
	}
}

static int
step_progress(void *arg)
{
	const uint64_t	*deadline = arg;

	return (fb_time_mono_us() > *deadline);
}

static struct fb_stmt *
stmt_new(struct fb_req *r, sqlite3_stmt *st)
{
	struct fb_stmt	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->st = st;
	s->pc = r->route->pc;
	s->serial = r->serial;
	TAILQ_INSERT_TAIL(&live, s, list);
	return (s);
}

static int
stmt_col(struct fb_stmt *s, int i)
{
	return (s != NULL && i >= 0 && i < sqlite3_column_count(s->st));
}

/*
 * New: the query builder's SQL with the listing columns.  Text is bound
 * as a copy: the statement may outlive the request's strings when a
 * stream steps it.
 */
static sqlite3_stmt *
listings_stmt(const struct fb_query *qr, struct fb_err *err)
{
	struct fb_sql	 sql;
	struct fb_buf	 text;
	sqlite3_stmt	*st;
	int		 i;

	fb_query_sql(qr, &sql);
	fb_buf_init(&text, 4096);
	fb_buf_appendf(&text, "SELECT %s ", listings_select());
	fb_buf_append(&text, sql.text.data, sql.text.len);
	fb_buf_append(&text, sql.order.data, sql.order.len);
	fb_buf_appends(&text, " LIMIT ? OFFSET ?");
	if ((st = fb_db_prepare(&fb_w.db, fb_buf_cstr(&text), err)) != NULL) {
		for (i = 0; i < sql.n_binds; i++) {
			if (sql.binds[i].is_int)
				sqlite3_bind_int64(st, i + 1, sql.binds[i].i);
			else
				sqlite3_bind_text(st, i + 1,
				    sql.binds[i].owned ? sql.binds[i].owned :
				    sql.binds[i].s, -1, SQLITE_TRANSIENT);
		}
		sqlite3_bind_int64(st, i + 1, qr->page.limit);
		sqlite3_bind_int64(st, i + 2, qr->page.offset);
	}
	fb_buf_cleanup(&text);
	fb_sql_cleanup(&sql);
	return (st);
}

/* The listing columns; money as exact decimal text, e.g. "12.50". */
static const char *
listings_select(void)
{
	static char	list[4096];
	static int	is_built;
	size_t		off = 0;
	const char	*n;
	int		i;

	for (i = 0; !is_built && i < fb_listing_ncolumns; i++) {
		n = fb_listing_columns[i].name;
		if (fb_listing_columns[i].type == FB_COL_MONEY)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%sCASE WHEN l.%s IS NULL THEN NULL ELSE printf("
			    "'%%s%%d.%%02d', CASE WHEN l.%s < 0 THEN '-' ELSE "
			    "'' END, abs(l.%s) / 100, abs(l.%s) %% 100) END AS "
			    "%s", i ? "," : "", n, n, n, n, n);
		else
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%sl.%s AS %s", i ? "," : "", n, n);
	}
	is_built = 1;
	return (list);
}
