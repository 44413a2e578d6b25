/*
 * A search by words alone, in relevance order, in one pass over the word
 * index: every match is counted (inactive ones left out, from memory:
 * inactive.c) and the best k are kept in a heap, then sorted.  SQLite
 * needed two passes for the same answer, a count and a sorted LIMIT, and
 * the first one was a third of an uncached search of a common word.
 * Order: higher fb_rank first, then the higher listing id (the newer).
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"

static int	hit_better(const struct fb_hit *, const struct fb_hit *);
static int	hit_cmp(const void *, const void *);
static void	heap_add(struct fb_hits *, size_t, const struct fb_hit *);
static void	heap_down(struct fb_hit *, size_t, size_t);

int
fb_search_text(struct fb_db *db, const struct fb_sql *sql,
    int include_inactive, size_t k, struct fb_hits *h, struct fb_err *err)
{
	sqlite3_stmt	*st;
	struct fb_hit	 x;
	int		 step;

	memset(h, 0, sizeof(*h));
	if ((!include_inactive && fb_inactive_load(db, err) != FB_OK) ||
	    (st = fb_db_prepare(db, "SELECT rowid, fb_rank(listings_fts) "
	    "FROM listings_fts WHERE listings_fts MATCH ?", err)) == NULL)
		return (FB_ERR);
	if (fb_sql_bind(sql, st, 1) != FB_OK) {
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
		sqlite3_finalize(st);
		return (FB_ERR);
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		x.id = sqlite3_column_int64(st, 0);
		if (!include_inactive && fb_inactive_has(&db->inactive, x.id))
			continue;
		x.score = sqlite3_column_double(st, 1);
		h->total++;
		heap_add(h, k, &x);
	}
	if (step != SQLITE_DONE)
		fb_err_set(err, "search: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	if (h->n > 0)
		qsort(h->v, h->n, sizeof(*h->v), hit_cmp);
	return (step == SQLITE_DONE ? FB_OK : FB_ERR);
}

void
fb_hits_cleanup(struct fb_hits *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* Whether a comes before b in the answer. */
static int
hit_better(const struct fb_hit *a, const struct fb_hit *b)
{
	if (a->score != b->score)
		return (a->score > b->score);
	return (a->id > b->id);
}

/* For qsort: best first. */
static int
hit_cmp(const void *a, const void *b)
{
	if (hit_better(a, b))
		return (-1);
	return (hit_better(b, a) ? 1 : 0);
}

/* The heap keeps the best k, the worst of them at the root. */
static void
heap_add(struct fb_hits *h, size_t k, const struct fb_hit *x)
{
	struct fb_hit	t;
	size_t		i, parent;

	if (k == 0)
		return;
	if (h->n == h->cap && h->cap < k) {	/* k may be a deep offset */
		h->cap = h->cap == 0 ? 256 : h->cap * 2;
		if (h->cap > k)
			h->cap = k;
		if ((h->v = realloc(h->v, h->cap * sizeof(*h->v))) == NULL)
			abort();
	}
	if (h->n == k) {
		if (!hit_better(x, &h->v[0]))
			return;
		h->v[0] = *x;
		heap_down(h->v, h->n, 0);
		return;
	}
	i = h->n++;
	h->v[i] = *x;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!hit_better(&h->v[parent], &h->v[i]))
			break;
		t = h->v[i];
		h->v[i] = h->v[parent];
		h->v[parent] = t;
		i = parent;
	}
}

/* Sinks v[i] below any child that is worse than it. */
static void
heap_down(struct fb_hit *v, size_t n, size_t i)
{
	struct fb_hit	t;
	size_t		worst, c;

	for (;;) {
		worst = i;
		for (c = 2 * i + 1; c <= 2 * i + 2 && c < n; c++) {
			if (hit_better(&v[worst], &v[c]))
				worst = c;
		}
		if (worst == i)
			return;
		t = v[i];
		v[i] = v[worst];
		v[worst] = t;
		i = worst;
	}
}
