/*
 * Running a search or filter: count the matches, take the page of ids in
 * order, render each listing with the same JSON as /api/data/{id}.
 * The ranking hook of the Lua rules plugs into search_rank(), the one
 * place where the order of the best text matches may change: the best
 * FB_RANK_CANDIDATES matches by fb_rank (rank.c) are scored by
 * ranking.lua (relevance = fb_rank, higher is better) and reordered;
 * the rest follow in text-match order.  A failing score() leaves
 * text-match order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define FB_STR2(x)	#x
#define FB_STR(x)	FB_STR2(x)

struct ranked {
	int64_t		id;
	double		score;
	int		pos;				/* text-match order */
};

static struct fb_rules	*search_rules;

static int		 search_total(struct fb_db *, const struct fb_query *,
			    const struct fb_sql *, struct fb_hits *, int64_t *,
			    struct fb_err *);
static sqlite3_stmt	*search_prepare(struct fb_db *,
			    const struct fb_sql *, const char *, const char *,
			    struct fb_err *);
static int		 search_count(struct fb_db *, const struct fb_sql *,
			    int64_t *, struct fb_err *);
static int		 search_ids(struct fb_db *, const struct fb_sql *,
			    const struct fb_hits *, int64_t, int64_t, int64_t *,
			    size_t *, struct fb_err *);
static int		 search_ranks(const struct fb_query *,
			    const struct fb_sql *);
static int		 search_rank(struct fb_db *, const struct fb_query *,
			    const struct fb_sql *, const struct fb_hits *,
			    int64_t *, size_t *, struct fb_err *);
static int		 search_score(struct fb_db *, const struct fb_query *,
			    const struct fb_sql *, const struct fb_hits *,
			    struct ranked *, size_t *, struct fb_err *);
static int		 search_candidates(struct fb_db *,
			    const struct fb_sql *, const struct fb_hits *,
			    struct ranked *, size_t *, struct fb_err *);
static int		 search_call(struct fb_db *, const struct fb_query *,
			    struct ranked *, size_t);
static int		 ranked_cmp(const void *, const void *);

/* The rules whose score() orders search results (NULL: text order). */
void
fb_search_set_rules(struct fb_rules *r)
{
	search_rules = r;
}

int
fb_search_run(struct fb_db *db, const struct fb_query *qr, int64_t *total,
    struct fb_buf *out, struct fb_err *err)
{
	struct fb_sql	 sql;
	struct fb_hits	 hits;
	int64_t		*ids = NULL;
	size_t		 n = 0, i;
	int		 rc = FB_ERR;

	memset(&hits, 0, sizeof(hits));
	fb_query_sql(qr, &sql);
	if (search_total(db, qr, &sql, &hits, total, err) != FB_OK)
		goto cleanup;
	if ((ids = malloc(sizeof(*ids) * ((size_t)qr->page.limit + 1))) == NULL)
		abort();
	if (search_ranks(qr, &sql)) {
		if (search_rank(db, qr, &sql, &hits, ids, &n, err) != FB_OK)
			goto cleanup;
	} else if (search_ids(db, &sql, &hits, qr->page.limit,
	    qr->page.offset, ids, &n, err) != FB_OK)
		goto cleanup;
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
	free(ids);
	fb_hits_cleanup(&hits);
	fb_sql_cleanup(&sql);
	return (rc);
}

/*
 * The number of matches.  Words alone in relevance order take one pass
 * (search_text.c) that also keeps the best matches in hits: as deep as
 * the page goes, or as ranking.lua looks.  hits stays empty otherwise.
 */
static int
search_total(struct fb_db *db, const struct fb_query *qr,
    const struct fb_sql *sql, struct fb_hits *hits, int64_t *total,
    struct fb_err *err)
{
	size_t	k;

	if (sql->is_text_only) {
		k = (size_t)(qr->page.offset + qr->page.limit);
		if (search_ranks(qr, sql) && k < FB_RANK_CANDIDATES)
			k = FB_RANK_CANDIDATES;
		if (fb_search_text(db, sql, qr->include_inactive, k, hits,
		    err) != FB_OK)
			return (FB_ERR);
		*total = hits->total;
		return (FB_OK);
	}
	if (sql->narrow.len > 0 && !qr->include_inactive &&
	    fb_inactive_load(db, err) != FB_OK)
		return (FB_ERR);
	return (search_count(db, sql, total, err));
}

/*
 * New statement, bound: "SELECT count(*) FROM ... WHERE ..." when cols
 * is NULL (from the narrow form when there is one: see sql_narrow()),
 * else "SELECT l.listing_id<cols> FROM ... WHERE ... ORDER BY ...<tail>".
 */
static sqlite3_stmt *
search_prepare(struct fb_db *db, const struct fb_sql *sql, const char *cols,
    const char *tail, struct fb_err *err)
{
	const struct fb_buf	*from = &sql->text;
	struct fb_buf		 text;
	sqlite3_stmt		*st;

	fb_buf_init(&text, 1024);
	if (cols == NULL) {
		fb_buf_appends(&text, "SELECT count(*) ");
		if (sql->narrow.len > 0)
			from = &sql->narrow;
	} else
		fb_buf_appendf(&text, "SELECT l.listing_id%s ", cols);
	fb_buf_append(&text, from->data, from->len);
	if (cols != NULL) {
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

	if ((st = search_prepare(db, sql, NULL, NULL, err)) == NULL)
		return (FB_ERR);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		rc = FB_OK;
	} else
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return (rc);
}

/* Up to limit ids from offset on, in the query's own order. */
static int
search_ids(struct fb_db *db, const struct fb_sql *sql,
    const struct fb_hits *hits, int64_t limit, int64_t offset, int64_t *ids,
    size_t *n, struct fb_err *err)
{
	sqlite3_stmt	*st;
	size_t		 i;
	int		 step;

	if (sql->is_text_only) {
		for (i = (size_t)offset; i < hits->n &&
		    i < (size_t)(offset + limit); i++)
			ids[(*n)++] = hits->v[i].id;
		return (FB_OK);
	}

	if ((st = search_prepare(db, sql, "", " LIMIT ? OFFSET ?",
	    err)) == NULL)
		return (FB_ERR);
	sqlite3_bind_int64(st, sql->n_binds + 1, limit);
	sqlite3_bind_int64(st, sql->n_binds + 2, offset);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	if (step != SQLITE_DONE)
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return (step == SQLITE_DONE ? FB_OK : FB_ERR);
}

/*
 * ranking.lua applies to text searches in relevance order whose page
 * starts among the best FB_RANK_CANDIDATES matches.
 */
static int
search_ranks(const struct fb_query *qr, const struct fb_sql *sql)
{
	return (search_rules != NULL && sql->has_fts &&
	    qr->sort == FB_SORT_RELEVANCE && qr->page.limit > 0 &&
	    qr->page.offset < FB_RANK_CANDIDATES);
}

/*
 * The page in ranked order: the best FB_RANK_CANDIDATES text matches
 * reordered by score(), then the rest in text-match order.
 */
static int
search_rank(struct fb_db *db, const struct fb_query *qr,
    const struct fb_sql *sql, const struct fb_hits *hits, int64_t *ids,
    size_t *n, struct fb_err *err)
{
	struct ranked	 c[FB_RANK_CANDIDATES];
	size_t		 n_c = 0, i;
	int64_t		 end = qr->page.offset + qr->page.limit;

	if (search_score(db, qr, sql, hits, c, &n_c, err) != FB_OK)
		return (FB_ERR);
	for (i = (size_t)qr->page.offset; i < n_c && (int64_t)i < end; i++)
		ids[(*n)++] = c[i].id;
	if (n_c < FB_RANK_CANDIDATES || end <= FB_RANK_CANDIDATES)
		return (FB_OK);
	return (search_ids(db, sql, hits, end - FB_RANK_CANDIDATES,
	    FB_RANK_CANDIDATES, ids, n, err));	/* appends at ids[*n] */
}

/*
 * The candidates with their scores, best first.  The text match picks
 * and orders ids only (a narrow sort); each candidate's row is then read
 * by id for score().  When score() fails or the search's instruction
 * budget runs out, the candidates keep text-match order.
 */
static int
search_score(struct fb_db *db, const struct fb_query *qr,
    const struct fb_sql *sql, const struct fb_hits *hits, struct ranked *c,
    size_t *n, struct fb_err *err)
{
	if (search_candidates(db, sql, hits, c, n, err) != FB_OK)
		return (FB_ERR);
	if (search_call(db, qr, c, *n) == FB_OK)
		qsort(c, *n, sizeof(*c), ranked_cmp);
	return (FB_OK);
}

/* The best FB_RANK_CANDIDATES matches with their fb_rank, best first. */
static int
search_candidates(struct fb_db *db, const struct fb_sql *sql,
    const struct fb_hits *hits, struct ranked *c, size_t *n,
    struct fb_err *err)
{
	sqlite3_stmt	*st;
	int		 step;

	if (sql->is_text_only) {
		for (; *n < hits->n && *n < FB_RANK_CANDIDATES; (*n)++) {
			c[*n].id = hits->v[*n].id;
			c[*n].score = hits->v[*n].score;
			c[*n].pos = (int)*n;
		}
		return (FB_OK);
	}
	if ((st = search_prepare(db, sql, ", m.score",
	    " LIMIT " FB_STR(FB_RANK_CANDIDATES), err)) == NULL)
		return (FB_ERR);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		c[*n].id = sqlite3_column_int64(st, 0);
		c[*n].score = sqlite3_column_double(st, 1);
		c[*n].pos = (int)*n;
		(*n)++;
	}
	if (step != SQLITE_DONE)
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return (step == SQLITE_DONE ? FB_OK : FB_ERR);
}

/* score() for each candidate, relevance in, score out; FB_ERR: none. */
static int
search_call(struct fb_db *db, const struct fb_query *qr, struct ranked *c,
    size_t n)
{
	sqlite3_stmt	*st;
	struct fb_err	 err = { 0, "" };
	char		 sql[2200];
	size_t		 i;
	int		 rc = FB_OK, is_tx;

	(void)snprintf(sql, sizeof(sql), "SELECT %s FROM listings "
	    "WHERE listing_id = ?", fb_listing_select_list());
	if ((st = fb_db_stmt(db, FB_ST_LISTING_BY_ID, sql, &err)) == NULL)
		return (FB_ERR);
	/* One read transaction for all lookups, not one each. */
	is_tx = sqlite3_get_autocommit(db->h) &&
	    sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	fb_hook_batch(search_rules, FB_LUA_INSTR_RANK);
	for (i = 0; i < n && rc == FB_OK; i++) {
		sqlite3_bind_int64(st, 1, c[i].id);
		if (fb_hook_score(search_rules, st, c[i].id, qr->q, c[i].score,
		    &c[i].score, &err) != FB_OK)
			rc = FB_ERR;
		sqlite3_reset(st);
	}
	fb_hook_batch(search_rules, -1);
	if (is_tx)
		(void)sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
	return (rc);
}

/* Higher score first; ties keep text-match order. */
static int
ranked_cmp(const void *a, const void *b)
{
	const struct ranked	*x = a, *y = b;

	if (x->score != y->score)
		return (x->score > y->score ? -1 : 1);
	return (x->pos - y->pos);
}
