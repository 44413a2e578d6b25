/*
 * rank.c and inactive.c: the relevance of a match (column weights, the
 * word's place in its column, columns out of range ignored) and the
 * sorted inactive-id list (found, not found, ends, empty, huge ids), then
 * both through SQL on a real database: fb_rank() orders a text match,
 * fb_inactive() answers from the list, and fb_inactive_load() follows a
 * listing that goes inactive when no data version is kept.
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
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return (1);
	return (TEST_DONE());
}
