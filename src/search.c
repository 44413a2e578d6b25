/*
 * Running a search or filter: count the matches, take the page of ids in
 * order, render each listing with the same JSON as /api/data/{id}.
 * The ranking hook of the Lua rules plugs into search_rank(), the one
 * place where the order of the best text matches may change.
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"

static sqlite3_stmt	*search_prepare(struct fb_db *, const char *,
			    const struct fb_sql *, const char *,
			    struct fb_err *);
static int		 search_count(struct fb_db *, const struct fb_sql *,
			    int64_t *, struct fb_err *);
static void		 search_rank(const struct fb_query *, int64_t *,
			    size_t);

int
fb_search_run(struct fb_db *db, const struct fb_query *qr, int64_t *total,
    struct fb_buf *out, struct fb_err *err)
{
	struct fb_sql	 sql;
	sqlite3_stmt	*st = NULL;
	int64_t		*ids = NULL;
	size_t		 n = 0, i;
	int		 rc = FB_ERR, step;

	fb_query_sql(qr, &sql);
	if (search_count(db, &sql, total, err) != FB_OK ||
	    (st = search_prepare(db, "SELECT l.listing_id ", &sql,
	    " LIMIT ? OFFSET ?", err)) == NULL)
		goto cleanup;
	sqlite3_bind_int64(st, sql.n_binds + 1, qr->page.limit);
	sqlite3_bind_int64(st, sql.n_binds + 2, qr->page.offset);
	if ((ids = malloc(sizeof(*ids) * ((size_t)qr->page.limit + 1))) == NULL)
		abort();
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	if (step != SQLITE_DONE) {
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
		goto cleanup;
	}
	search_rank(qr, ids, n);
	fb_buf_appendc(out, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			fb_buf_appendc(out, ',');
		if (fb_listing_by_id(db, ids[i], out, err) != FB_OK)
			goto cleanup;
	}
	fb_buf_appendc(out, ']');
	rc = FB_OK;
cleanup:
	sqlite3_finalize(st);
	free(ids);
	fb_sql_cleanup(&sql);
	return (rc);
}

/* New statement "head FROM ... WHERE ... ORDER BY ... tail", bound. */
static sqlite3_stmt *
search_prepare(struct fb_db *db, const char *head, const struct fb_sql *sql,
    const char *tail, struct fb_err *err)
{
	struct fb_buf	 text;
	sqlite3_stmt	*st;

	fb_buf_init(&text, 1024);
	fb_buf_appends(&text, head);
	fb_buf_append(&text, sql->text.data, sql->text.len);
	if (tail != NULL) {
		fb_buf_append(&text, sql->order.data, sql->order.len);
		fb_buf_appends(&text, tail);
	}
	st = fb_db_prepare(db, fb_buf_cstr(&text), err);
	fb_buf_cleanup(&text);
	if (st != NULL && fb_sql_bind(sql, st, 1) != FB_OK) {
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
		sqlite3_finalize(st);
		return (NULL);
	}
	return (st);
}

static int
search_count(struct fb_db *db, const struct fb_sql *sql, int64_t *total,
    struct fb_err *err)
{
	sqlite3_stmt	*st;
	int		 rc = FB_ERR;

	if ((st = search_prepare(db, "SELECT count(*) ", sql, NULL,
	    err)) == NULL)
		return (FB_ERR);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		rc = FB_OK;
	} else
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return (rc);
}

/* The ranking hook's place (Lua rules, scripts/ranking.lua). */
static void
search_rank(const struct fb_query *qr, int64_t *ids, size_t n)
{
	(void)qr;
	(void)ids;
	(void)n;
}
