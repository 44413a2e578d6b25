/*
 * Text relevance: the FTS5 function fb_rank(listings_fts), registered on
 * every connection.  Higher is better.
 *
 * Each place a query word matches counts the weight of its column (title
 * and artist 10, catalog number and barcode 6, label 4, comments 1), and
 * counts double when it is the column's first word, falling off as
 * 1 + 1/(1 + position) after that; three matches a column at most.  It reads only the match positions
 * FTS5 already holds for the row.  bm25 also reads every row's column
 * sizes and a second pass over each word's matches; on a word found in
 * 20k listings that made it 9x slower (27 ms against 3 ms at 100k), and
 * that was the time one uncached search held a worker.
 */
#include "app.h"

static const double	rank_weights[] = {
	10.0,		/* release_title */
	10.0,		/* artist_names */
	4.0,		/* label_names */
	6.0,		/* catalog_number */
	6.0,		/* barcode */
	1.0,		/* comments */
};
#define RANK_COLUMNS	(sizeof(rank_weights) / sizeof(rank_weights[0]))
#define RANK_PER_COLUMN	3	/* matches counted in one column */

static void	rank_fn(const Fts5ExtensionApi *, Fts5Context *,
		    sqlite3_context *, int, sqlite3_value **);
static fts5_api	*rank_api(sqlite3 *);

/*
 * The score of one matched listing from its matches' columns and word
 * places.  A column counts its first RANK_PER_COLUMN matches only, so a
 * comment that repeats a word twenty times cannot outweigh the title.
 */
double
fb_rank_score(const int *cols, const int *offs, int n)
{
	int	seen[RANK_COLUMNS] = { 0 };
	double	s = 0.0;
	int	i;

	for (i = 0; i < n; i++) {
		if (cols[i] < 0 || (size_t)cols[i] >= RANK_COLUMNS ||
		    seen[cols[i]]++ >= RANK_PER_COLUMN)
			continue;
		s += rank_weights[cols[i]] * (1.0 + 1.0 / (1.0 + offs[i]));
	}
	return (s);
}

int
fb_rank_register(sqlite3 *h, struct fb_err *err)
{
	fts5_api	*api;
	int		 rc;

	if ((api = rank_api(h)) == NULL) {
		fb_err_set(err, "sqlite: this SQLite has no FTS5");
		return (FB_ERR);
	}
	if ((rc = api->xCreateFunction(api, "fb_rank", NULL, rank_fn,
	    NULL)) != SQLITE_OK) {
		fb_err_set(err, "sqlite: cannot register fb_rank: %s",
		    sqlite3_errstr(rc));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* The connection's FTS5 API, through SQLite's documented pointer call. */
static fts5_api *
rank_api(sqlite3 *h)
{
	sqlite3_stmt	*st;
	fts5_api	*api = NULL;

	if (sqlite3_prepare_v2(h, "SELECT fts5(?1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return (NULL);
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	return (api);
}

#define RANK_INST_MAX	64	/* matches counted per listing */

static void
rank_fn(const Fts5ExtensionApi *x, Fts5Context *fts, sqlite3_context *ctx,
    int argc, sqlite3_value **argv)
{
	int	cols[RANK_INST_MAX], offs[RANK_INST_MAX];
	int	n, i, phrase, rc;

	(void)argc;
	(void)argv;
	if ((rc = x->xInstCount(fts, &n)) != SQLITE_OK) {
		sqlite3_result_error_code(ctx, rc);
		return;
	}
	if (n > RANK_INST_MAX)
		n = RANK_INST_MAX;
	for (i = 0; i < n; i++) {
		if ((rc = x->xInst(fts, i, &phrase, &cols[i], &offs[i])) !=
		    SQLITE_OK) {
			sqlite3_result_error_code(ctx, rc);
			return;
		}
	}
	sqlite3_result_double(ctx, fb_rank_score(cols, offs, n));
}
