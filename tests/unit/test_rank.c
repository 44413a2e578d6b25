/*
 * rank.c and inactive.c: the relevance of a match (column weights, the
 * word's place in its column, columns out of range ignored) and the
 * sorted inactive-id list (found, not found, ends, empty, huge ids), then
 * both through SQL on a real database: fb_rank() orders a text match,
 * fb_inactive() answers from the list, and fb_inactive_load() follows a
 * listing that goes inactive when no data version is kept; and
 * search_text.c's one-pass count and best-k pages against a model.
 */
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "test.h"

#define NEAR(a, b)	((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static void
test_score(void)
{
	int	cols[4], offs[4];

	cols[0] = 0, offs[0] = 0;
	OK(NEAR(fb_rank_score(cols, offs, 1), 20.0),
	    "title, first word: 10 x 2");
	cols[0] = 5, offs[0] = 1;
	OK(NEAR(fb_rank_score(cols, offs, 1), 1.5),
	    "comments, second word: 1 x 1.5");
	cols[0] = 2, offs[0] = 3;
	OK(NEAR(fb_rank_score(cols, offs, 1), 5.0), "label, fourth word: 4 x 1.25");
	cols[0] = 0, offs[0] = 0, cols[1] = 1, offs[1] = 0;
	cols[2] = 3, offs[2] = 0, cols[3] = 4, offs[3] = 1;
	OK(NEAR(fb_rank_score(cols, offs, 4), 20.0 + 20.0 + 12.0 + 9.0),
	    "hits in title, artist, catalog number and barcode add up");
	cols[0] = 6, cols[1] = -1;
	OK(NEAR(fb_rank_score(cols, offs, 2), 0.0),
	    "a column out of range counts nothing");
	OK(NEAR(fb_rank_score(cols, offs, 0), 0.0), "no hits: 0");
	cols[0] = cols[1] = cols[2] = cols[3] = 5;
	offs[0] = offs[1] = offs[2] = offs[3] = 0;
	OK(NEAR(fb_rank_score(cols, offs, 4), 6.0),
	    "a column counts three matches at most");
	cols[0] = 1, offs[0] = 0, cols[1] = 5, offs[1] = 0;
	OK(fb_rank_score(cols, offs, 1) > fb_rank_score(cols + 1, offs + 1, 1) *
	    5, "an artist hit outweighs a comments hit five times over");
}

static void
test_has(void)
{
	int64_t		ids[] = { 3, 10, 11, 400, INT64_C(4361166565),
			    INT64_MAX };
	struct fb_order	o = { 0, ids, sizeof(ids) / sizeof(ids[0]) };
	struct fb_order	empty = { 0, NULL, 0 };
	size_t		i;
	int		all = 1;

	for (i = 0; i < o.n_ids; i++)
		all &= fb_inactive_has(&o, ids[i]);
	OK(all, "every listed id is found, first and last too");
	OK(!fb_inactive_has(&o, 0) && !fb_inactive_has(&o, 2) &&
	    !fb_inactive_has(&o, 4) && !fb_inactive_has(&o, 12) &&
	    !fb_inactive_has(&o, INT64_C(4361166564)) &&
	    !fb_inactive_has(&o, INT64_MAX - 1) && !fb_inactive_has(&o, -3),
	    "ids between, before and after the listed ones are not");
	OK(!fb_inactive_has(&empty, 3), "an empty list holds nothing");
}

static const char	seed_sql[] =
	"INSERT INTO listings (listing_id, release_title, artist_names,"
	" comments, is_active, created_at, updated_at) VALUES"
	" (1, 'Blue Train', 'John Coltrane', NULL, 1, 'x', 'x'),"
	" (2, 'Kind of Blue', 'Miles Davis', NULL, 1, 'x', 'x'),"
	" (3, 'Night Songs', 'Nobody', 'a blue sleeve', 1, 'x', 'x'),"
	" (4, 'Blue Monday', 'New Order', NULL, 0, 'x', 'x')";

/* The ids of "SELECT rowid ... MATCH 'blue' AND NOT fb_inactive(rowid)
 * ORDER BY fb_rank DESC", as "1,2,3". */
static void
ranked(struct fb_db *db, char *out, size_t len)
{
	sqlite3_stmt	*st;
	size_t		 n = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db->h, "SELECT rowid FROM listings_fts WHERE "
	    "listings_fts MATCH 'blue' AND NOT fb_inactive(rowid) ORDER BY "
	    "fb_rank(listings_fts) DESC", -1, &st, NULL) != SQLITE_OK) {
		printf("# %s\n", sqlite3_errmsg(db->h));
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW && n + 24 < len)
		n += (size_t)snprintf(out + n, len - n, "%s%lld", n ? "," : "",
		    (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
}

static void
test_sql(const char *dir)
{
	struct fb_db	db;
	struct fb_err	err = { 0, "" };
	char		path[128], got[128];

	(void)snprintf(path, sizeof(path), "%s/t.db", dir);
	OK(fb_db_open(&db, path, &err) == FB_OK, "database opens");
	OK(fb_db_migrate(&db, &err) == FB_OK, "schema migrates");
	OK(fb_db_exec(&db, seed_sql, &err) == FB_OK, "four listings");
	OK(fb_inactive_load(&db, &err) == FB_OK, "inactive ids load");
	EQ_INT(db.inactive.n_ids, 1, "one inactive listing");
	ranked(&db, got, sizeof(got));
	EQ_STR(got, "1,2,3", "first title word, third title word, comments; "
	    "the inactive 4 left out");
	OK(fb_db_exec(&db, "UPDATE listings SET is_active = 0 WHERE "
	    "listing_id = 1", &err) == FB_OK, "listing 1 goes inactive");
	OK(fb_inactive_load(&db, &err) == FB_OK, "inactive ids load again");
	ranked(&db, got, sizeof(got));
	EQ_STR(got, "2,3", "without a data version the list is read again");
	fb_db_close(&db);
}

/*
 * search_text.c through fb_search_run: 600 listings match "dub" with four
 * scores; every tenth is inactive.  Pages at the top, across the heap's
 * growth and at the very end match a model (score, then newer id), and
 * the total counts active matches only.
 */
#define N_DUB	600

static double
dub_score(int i)
{
	static const double	s[] = { 20.0, 15.0, 10.0 / 0.75, 2.0 };

	return (s[i % 4]);
}

/* The model's ids in answer order, active only; returns how many. */
static int
dub_model(int64_t *ids)
{
	int	n = 0, i, j;
	int64_t	t;

	for (i = N_DUB; i >= 1; i--)
		if (i % 10 != 0)
			ids[n++] = i;
	for (i = 1; i < n; i++)		/* stable insertion sort by score */
		for (j = i; j > 0 && dub_score((int)ids[j]) >
		    dub_score((int)ids[j - 1]); j--) {
			t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return (n);
}

/* Page [off, off + lim) of q=dub as ids; total in *total. */
static int
dub_page(struct fb_db *db, int64_t off, int64_t lim, int64_t *ids,
    int64_t *total)
{
	struct fb_query	 qr;
	struct fb_buf	 b;
	struct fb_err	 err = { 0, "" };
	const char	*p;
	int		 n = 0;

	memset(&qr, 0, sizeof(qr));
	qr.mode = FB_QUERY_SEARCH;
	qr.q = "dub";
	qr.sort = FB_SORT_RELEVANCE;
	qr.page.has_limit = 1;
	qr.page.limit = lim;
	qr.page.offset = off;
	fb_buf_init(&b, 65536);
	if (fb_search_run(db, &qr, total, &b, &err) != FB_OK)
		printf("# search: %s\n", err.msg);
	for (p = fb_buf_cstr(&b); (p = strstr(p, "\"listing_id\":\"")) != NULL;
	    p++)
		ids[n++] = strtoll(p + 14, NULL, 10);
	fb_buf_cleanup(&b);
	return (n);
}

static void
test_text(const char *dir)
{
	static const char	*titles[] = { "dub %d", "x dub %d",
				    "x y dub %d", "x y z %d" };
	struct fb_db		 db;
	struct fb_err		 err = { 0, "" };
	char			 path[128], sql[256];
	int64_t			 model[N_DUB], got[N_DUB], total = 0;
	int			 i, n, ok;

	(void)snprintf(path, sizeof(path), "%s/text.db", dir);
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK) {
		OK(0, "text db");
		return;
	}
	fb_search_set_rules(NULL);
	for (i = 1; i <= N_DUB; i++) {
		(void)snprintf(sql, sizeof(sql), "INSERT INTO listings "
		    "(listing_id, release_title, comments, is_active, created_at,"
		    " updated_at) VALUES (%d, printf('%s', %d), %s, %d, 'x', 'x')",
		    i, titles[i % 4], i, i % 4 == 3 ? "'dub'" : "NULL",
		    i % 10 != 0);
		(void)fb_db_exec(&db, sql, &err);
	}
	n = dub_model(model);
	EQ_INT(dub_page(&db, 0, 50, got, &total), 50, "first page: 50");
	EQ_INT(total, n, "the total counts active matches only");
	OK(memcmp(got, model, 50 * sizeof(int64_t)) == 0,
	    "first page in model order (score, then newer id)");
	EQ_INT(dub_page(&db, 240, 50, got, &total), 50, "page at 240: 50");
	OK(memcmp(got, model + 240, 50 * sizeof(int64_t)) == 0,
	    "page across the heap's growth past 256");
	i = dub_page(&db, n - 7, 50, got, &total);
	ok = i == 7 && memcmp(got, model + n - 7, 7 * sizeof(int64_t)) == 0;
	OK(ok, "the last 7 at the very end");
	EQ_INT(dub_page(&db, n, 50, got, &total), 0, "past the end: none");
	EQ_INT(dub_page(&db, 0, 0, got, &total), 0, "limit 0: none");
	EQ_INT(total, n, "limit 0 still counts");
	fb_db_close(&db);
}

int
main(void)
{
	char	dir[] = "/tmp/fb_test_rank_XXXXXX";
	char	cmd[128];

	if (mkdtemp(dir) == NULL)
		return (1);
	test_score();
	test_has();
	test_sql(dir);
	test_text(dir);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return (1);
	return (TEST_DONE());
}
