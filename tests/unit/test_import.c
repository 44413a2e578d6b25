/*
 * import.c: both formats, every kind of bad row, idempotence (updated_at
 * stays), --dry-run, --strict and --clear-db, 64-bit ids and unicode, an
 * empty shop's whole-index rebuild and a listing twice in one file; the
 * word indexes a whole-shop import builds on a second core (fts_build.c)
 * and its rollback journal when the database is its own (db.c).
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "test.h"

static char	errors[4096];

static void
collect(void *arg, const char *msg)
{
	(void)arg;
	strncat(errors, msg, sizeof(errors) - strlen(errors) - 2);
	strcat(errors, "\n");
}

static const struct fb_import_cb	cb = { collect, NULL, NULL };

static const char	flat[] =
	"listing_id,release_title,primary_artist,price_value,release_year,"
	"comments,posted,status\r\n"
	"9007199254740993,Homogenic,Bj\xc3\xb6rk,12.5,1997,"
	"\"sleeve, \"\"mint\"\"\nsecond line\",2025-06-27T15:36:31-07:00,"
	"For Sale\r\n"
	"3639550236,Keep Hope Alive,The Crystal Method,1.09,0,,"
	"2025-07-22T10:16:22-07:00,For Sale\r\n";

static const char	bad[] =
	"listing_id,release_title,price_value,release_year\n"
	",No id,1.00,1990\n"
	"11,Bad price,abc,1990\n"
	"12,Bad year,1.00,19x0\n"
	"13,Too few\n"
	"14,Bad \xff utf8,1.00,1990\n"
	"15,Good,2.00,1991\n";

static const char	discogs[] =
	"listing_id,artist,title,label,catno,format,release_id,status,price,"
	"listed,comments,media_condition,sleeve_condition,accept_offer,"
	"external_id,weight,format_quantity,flat_shipping,location\n"
	"501,Sigur R\xc3\xb3s,( ),Fat Cat,FATCD22,\"CD, Album\",123,For Sale,"
	"9.99,2025-01-02 10:00:00,nice,Mint (M),Near Mint (NM or M-),N,,"
	"100,1,2.50,shelf 3\n";

static int
run(struct fb_db *db, const char *csv, int flags, struct fb_import_stats *s)
{
	struct fb_err	err = { 0, "" };
	int		rc;

	errors[0] = '\0';
	rc = fb_import_buffer(db, csv, strlen(csv), "test.csv", flags, &cb,
	    s, &err);
	if (rc != FB_OK)
		printf("# import failed: %s\n", err.msg);
	return (rc);
}

static int64_t
count(struct fb_db *db, const char *sql)
{
	sqlite3_stmt	*st = fb_db_prepare(db, sql, NULL);
	int64_t		 n = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (n);
}

/* How many listings the word index finds for an FTS5 query. */
static int64_t
words(struct fb_db *db, const char *query)
{
	sqlite3_stmt	*st = fb_db_prepare(db, "SELECT count(*) FROM "
			    "listings_fts WHERE listings_fts MATCH ?", NULL);
	int64_t		 n = -1;

	if (st != NULL) {
		sqlite3_bind_text(st, 1, query, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return (n);
}

static void
test_flat(struct fb_db *db)
{
	struct fb_import_stats	s;

	EQ_INT(run(db, flat, 0, &s), FB_OK, "flat export imports");
	EQ_INT(s.added, 2, "two added");
	EQ_INT(count(db, "SELECT price_value FROM listings WHERE listing_id ="
	    " 9007199254740993"), 1250, "2^53+1 id and 12.5 exact");
	EQ_INT(count(db, "SELECT count(*) FROM listings WHERE comments = "
	    "'sleeve, \"mint\"' || char(10) || 'second line'"), 1,
	    "multi-line quoted comment");
	EQ_INT(count(db, "SELECT count(*) FROM listings WHERE release_year "
	    "IS NULL AND listing_id = 3639550236"), 1, "year 0 means unknown");
	EQ_INT(count(db, "SELECT count(*) FROM listings WHERE primary_artist "
	    "= 'Bj\xc3\xb6rk'"), 1, "unicode kept");
	fb_db_exec(db, "UPDATE listings SET updated_at = 'then'", NULL);
	EQ_INT(run(db, flat, 0, &s), FB_OK, "re-import");
	EQ_INT(s.unchanged, 2, "re-import changes nothing");
	EQ_INT(s.added + s.updated, 0, "nothing added or updated");
	EQ_INT(count(db, "SELECT count(*) FROM listings WHERE updated_at = "
	    "'then'"), 2, "updated_at stays on a re-import");
}

static void
test_bad_rows(struct fb_db *db)
{
	struct fb_import_stats	s;

	EQ_INT(run(db, bad, FB_IMPORT_STRICT, &s), FB_OK, "strict runs");
	EQ_INT(s.skipped, 5, "five bad rows");
	EQ_INT(count(db, "SELECT count(*) FROM listings WHERE listing_id = 15"),
	    0, "--strict wrote nothing");
	EQ_INT(run(db, bad, 0, &s), FB_OK, "lenient runs");
	EQ_INT(s.added, 1, "the good row is added");
	OK(strstr(errors, "line 2: listing_id: missing") != NULL,
	    "missing listing_id named");
	OK(strstr(errors, "line 3: price_value: 'abc' is not a price") != NULL,
	    "bad price named");
	OK(strstr(errors, "line 4: release_year: '19x0' is not a number") !=
	    NULL, "bad year named");
	OK(strstr(errors, "line 5: expected 4 fields, found 2") != NULL,
	    "wrong field count named");
	OK(strstr(errors, "line 6: release_title: invalid UTF-8") != NULL,
	    "invalid UTF-8 named");
}

static void
test_modes(struct fb_db *db)
{
	struct fb_import_stats	s;
	int64_t			before = count(db, "SELECT count(*) FROM "
				    "listings");

	EQ_INT(run(db, discogs, FB_IMPORT_DRY_RUN, &s), FB_OK, "dry run");
	EQ_INT(s.added, 1, "dry run reports the addition");
	EQ_INT(count(db, "SELECT count(*) FROM listings"), before,
	    "dry run wrote nothing");
	EQ_INT(run(db, discogs, FB_IMPORT_CLEAR, &s), FB_OK, "clear-db");
	EQ_INT(count(db, "SELECT count(*) FROM listings"), 1,
	    "--clear-db replaced the inventory");
	OK(strcmp(s.format, "Discogs inventory export") == 0, "format told");
	EQ_INT(count(db, "SELECT count(*) FROM listings WHERE primary_format ="
	    " 'CD' AND format_names = 'CD, Album' AND shipping_price = 250 "
	    "AND primary_artist = 'Sigur R\xc3\xb3s' AND catalog_number = "
	    "'FATCD22' AND condition = 'Mint (M)'"), 1,
	    "Discogs columns mapped");
}

/* The same id twice in one file, and a row for the text indexes. */
static const char	twice[] =
	"listing_id,release_title,artist_names,price_value\n"
	"701,Xylophone Dreams,Moondog,5.00\n"
	"702,Other,Someone,6.00\n"
	"701,Xylophone Nights,Moondog,7.00\n";

/*
 * Into an empty shop the word indexes are rebuilt whole (fts.c): every
 * row is found by text, only the last version of a row twice in the
 * file, and FTS5's write buffer is back at its default afterwards.  The
 * counts tell an insert from an update without a lookup per row.
 */
static void
test_empty_start(struct fb_db *db)
{
	struct fb_import_stats	s;

	fb_db_exec(db, "DELETE FROM listings", NULL);
	EQ_INT(run(db, twice, 0, &s), FB_OK, "import into an empty shop");
	OK(s.added == 2 && s.updated == 1 && s.unchanged == 0,
	    "id 701 twice: added 2, updated 1");
	EQ_INT(count(db, "SELECT rowid FROM listings_fts WHERE listings_fts "
	    "MATCH 'nights'"), 701, "the word index has the row's last version");
	EQ_INT(words(db, "dreams"), 0, "and not its first");
	EQ_INT(count(db, "SELECT count(*) FROM listings_tri WHERE "
	    "listings_tri MATCH 'moondo'"), 1, "the trigram index has it");
	EQ_INT(count(db, "SELECT count(*) FROM listings_fts"), 2,
	    "two rows in the word index");
	EQ_INT(count(db, "SELECT count(*) FROM listings_fts_config WHERE k = "
	    "'hashsize' AND v <> 1048576"), 0,
	    "word index: no bulk write buffer left");
	EQ_INT(count(db, "SELECT count(*) FROM listings_tri_config WHERE k = "
	    "'hashsize' AND v <> 1048576"), 0,
	    "trigram index: no bulk write buffer left");
	EQ_INT(count(db, "SELECT value FROM meta WHERE key = 'fts_deferred'"),
	    0, "the triggers are back on");
	EQ_INT(run(db, twice, 0, &s), FB_OK, "again, into a full shop");
	OK(s.added == 0 && s.updated == 2 && s.unchanged == 1,
	    "again: 701 changes twice (its two versions), 702 is unchanged");
}

static char *
text(struct fb_db *db, const char *sql)
{
	static char	out[8192];
	sqlite3_stmt	*st = fb_db_prepare(db, sql, NULL);

	(void)snprintf(out, sizeof(out), "(no row)");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		(void)snprintf(out, sizeof(out), "%s",
		    sqlite3_column_text(st, 0) != NULL ?
		    (const char *)sqlite3_column_text(st, 0) : "(null)");
	sqlite3_finalize(st);
	return (out);
}

#define TRIGGERS	"SELECT group_concat(sql, ';') FROM (SELECT sql FROM " \
			"sqlite_schema WHERE type = 'trigger' ORDER BY name)"

/* Both indexes consistent, and holding exactly what the listings hold. */
static void
check_indexes(struct fb_db *db, const char *when)
{
	char	what[128];

	(void)snprintf(what, sizeof(what), "%s: word index integrity", when);
	EQ_INT(fb_db_exec(db, "INSERT INTO listings_fts (listings_fts) "
	    "VALUES ('integrity-check')", NULL), FB_OK, what);
	(void)snprintf(what, sizeof(what), "%s: trigram index integrity", when);
	EQ_INT(fb_db_exec(db, "INSERT INTO listings_tri (listings_tri) "
	    "VALUES ('integrity-check')", NULL), FB_OK, what);
	(void)snprintf(what, sizeof(what), "%s: every listing, as it is, in "
	    "both indexes", when);
	EQ_INT(count(db, "SELECT count(*) FROM listings l LEFT JOIN "
	    "listings_fts f ON f.rowid = l.listing_id LEFT JOIN listings_tri t "
	    "ON t.rowid = l.listing_id WHERE f.rowid IS NULL OR t.rowid IS "
	    "NULL OR f.release_title IS NOT l.release_title OR f.artist_names "
	    "IS NOT l.artist_names OR f.label_names IS NOT l.label_names OR "
	    "f.catalog_number IS NOT l.catalog_number OR f.barcode IS NOT "
	    "l.barcode OR f.comments IS NOT l.comments OR t.genres IS NOT "
	    "l.genres OR t.format_names IS NOT l.format_names OR "
	    "t.artist_names IS NOT l.artist_names OR t.label_names IS NOT "
	    "l.label_names") +
	    count(db, "SELECT (SELECT count(*) FROM listings_fts) + (SELECT "
	    "count(*) FROM listings_tri) - 2 * (SELECT count(*) FROM "
	    "listings)"), 0, what);
}

/* n listings with every indexed column, 300 bytes of comments each. */
static char *
big_csv(int n, const char *word)
{
	struct fb_buf	b;
	int		i;

	fb_buf_init(&b, 1024);
	fb_buf_appends(&b, "listing_id,release_title,artist_names,label_names,"
	    "catalog_number,barcode,comments,genres,format_names,price_value\n");
	for (i = 1; i <= n; i++)
		fb_buf_appendf(&b, "%d,%s %d,Artist %d,Label %d,CAT-%d,%d,"
		    "\"%0300d\",Jazz,\"Vinyl, LP\",1.00\n", 1000 + i, word, i,
		    i, i % 7, i, 5000000 + i, i);
	return (fb_buf_cstr(&b));		/* the caller frees b.data */
}

/*
 * An import that writes the whole shop builds both indexes beside the
 * listings and swaps them in: more rows than one batch, the triggers
 * back as they were and working, the data version moved once.
 */
static void
test_bulk_index(struct fb_db *db)
{
	struct fb_import_stats	s;
	char			triggers[8192], *csv = big_csv(3000, "Quokka");
	int64_t			version;

	fb_db_exec(db, "DELETE FROM listings", NULL);
	(void)snprintf(triggers, sizeof(triggers), "%s", text(db, TRIGGERS));
	version = count(db, "SELECT value FROM meta WHERE key = "
	    "'data_version'");
	EQ_INT(run(db, csv, 0, &s), FB_OK, "3000 listings (1 MB) into an "
	    "empty shop");
	EQ_INT(s.added, 3000, "all added");
	check_indexes(db, "empty shop");
	EQ_INT(words(db, "quokka"), 3000, "every row found by a word");
	EQ_INT(count(db, "SELECT rowid FROM listings_fts WHERE listings_fts "
	    "MATCH '\"quokka 2999\"'"), 3999, "a row of a late batch");
	EQ_INT(count(db, "SELECT count(*) FROM listings_tri WHERE listings_tri "
	    "MATCH 'label_names : \"bel 3\"'"), 3000 / 7 + 1,
	    "trigrams of a column");
	EQ_STR(text(db, TRIGGERS), triggers, "the triggers are back, the same");
	EQ_INT(count(db, "SELECT value FROM meta WHERE key = 'data_version'"),
	    version + 1, "the data version moved once");
	fb_db_exec(db, "UPDATE listings SET release_title = 'Zebra Crossing' "
	    "WHERE listing_id = 1001", NULL);
	EQ_INT(count(db, "SELECT rowid FROM listings_fts WHERE listings_fts "
	    "MATCH 'zebra'"), 1001, "a later write reaches the index (trigger)");
	free(csv);
	csv = big_csv(40, "Wombat");
	fb_db_exec(db, "INSERT INTO listings_tri (listings_tri, rank) VALUES "
	    "('automerge', 9)", NULL);
	EQ_INT(run(db, csv, FB_IMPORT_CLEAR, &s), FB_OK, "--clear-db");
	check_indexes(db, "--clear-db");
	EQ_INT(count(db, "SELECT v FROM listings_tri_config WHERE k = "
	    "'automerge'"), 9, "an index keeps its settings");
	EQ_INT(words(db, "quokka OR zebra"), 0, "the old shop's words are gone");
	EQ_INT(words(db, "wombat"), 40, "the new shop's are there");
	free(csv);
}

/* A failed or dry whole-shop import leaves listings, indexes, triggers. */
static void
test_bulk_rollback(struct fb_db *db)
{
	struct fb_import_stats	s;
	char			triggers[8192];

	(void)snprintf(triggers, sizeof(triggers), "%s", text(db, TRIGGERS));
	EQ_INT(run(db, bad, FB_IMPORT_CLEAR | FB_IMPORT_STRICT, &s), FB_OK,
	    "--clear-db --strict with bad rows");
	EQ_INT(words(db, "wombat"), 40, "--strict: the old shop and index stay");
	EQ_INT(run(db, twice, FB_IMPORT_CLEAR | FB_IMPORT_DRY_RUN, &s), FB_OK,
	    "--clear-db --dry-run");
	EQ_INT(count(db, "SELECT count(*) FROM listings"), 40,
	    "--dry-run: the old shop stays");
	check_indexes(db, "after a rollback");
	EQ_STR(text(db, TRIGGERS), triggers, "the triggers are still there");
	EQ_STR(text(db, "PRAGMA journal_mode"), "wal", "and the WAL");
}

/*
 * Alone with the database, an import into an empty shop writes through a
 * rollback journal; with another connection there, for --clear-db and
 * for a dry run it stays in WAL.  Either way the database is in WAL
 * afterwards and the other side sees the rows.
 */
static void
test_solo(struct fb_db *db, const char *path)
{
	struct fb_import_stats	s;
	struct fb_db		other;
	struct fb_err		err = { 0, "" };

	fb_db_exec(db, "DELETE FROM listings", NULL);
	EQ_INT(run(db, twice, FB_IMPORT_DRY_RUN, &s), FB_OK, "a dry run");
	EQ_INT(s.is_solo, 0, "a dry run: WAL");
	EQ_INT(run(db, twice, 0, &s), FB_OK, "alone, into an empty shop");
	EQ_INT(s.is_solo, 1, "alone: through a rollback journal");
	EQ_STR(text(db, "PRAGMA journal_mode"), "wal", "alone: WAL again");
	EQ_INT(run(db, twice, 0, &s), FB_OK, "alone, a shop with listings");
	EQ_INT(s.is_solo, 0, "not an empty shop: WAL");
	EQ_INT(run(db, twice, FB_IMPORT_CLEAR, &s), FB_OK, "--clear-db");
	EQ_INT(s.is_solo, 0, "--clear-db: WAL");
	EQ_INT(fb_db_open(&other, path, &err), FB_OK, "another connection");
	EQ_INT(count(&other, "SELECT count(*) FROM listings"), 2,
	    "it reads the shop");
	fb_db_exec(db, "DELETE FROM listings", NULL);
	EQ_INT(run(db, flat, 0, &s), FB_OK, "an empty shop beside it");
	EQ_INT(s.is_solo, 0, "beside another connection: WAL");
	EQ_INT(count(&other, "SELECT count(*) FROM listings WHERE listing_id "
	    "IN (3639550236, 9007199254740993)"), 2,
	    "the other connection sees the new shop");
	check_indexes(db, "beside another connection");
	fb_db_close(&other);
	EQ_STR(text(db, "PRAGMA journal_mode"), "wal", "still WAL");
}

static void
slow_progress(void *arg, size_t at, size_t total, int64_t rows)
{
	(void)arg;
	(void)at;
	(void)total;
	(void)rows;
	usleep(400 * 1000);
}

/*
 * A connection opened while a solo import holds the database (a server
 * starting during a first import) waits for its commit instead of
 * failing, then reads the whole shop in WAL.  The import runs in a child
 * process, slowed to about 1.6 s.
 */
static void
test_solo_open(const char *dir)
{
	static const struct fb_import_cb slow = { NULL, slow_progress, NULL };
	struct fb_import_stats	s;
	struct fb_db		db, other;
	struct fb_err		err = { 0, "" };
	char			path[128], journal[140], *csv = big_csv(4000, "Ibis");
	pid_t			pid;
	int			status = -1, i;

	(void)snprintf(path, sizeof(path), "%s/solo.db", dir);
	(void)snprintf(journal, sizeof(journal), "%s-journal", path);
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK) {
		OK(0, "a third database");
		return;
	}
	fb_db_close(&db);
	if ((pid = fork()) == 0) {
		if (fb_db_open(&db, path, &err) != FB_OK ||
		    fb_import_buffer(&db, csv, strlen(csv), "t.csv", 0, &slow,
		    &s, &err) != FB_OK || !s.is_solo)
			_exit(1);
		fb_db_close(&db);
		_exit(0);
	}
	for (i = 0; i < 500 && access(journal, F_OK) != 0; i++)
		usleep(10 * 1000);
	OK(access(journal, F_OK) == 0, "the import is under way, solo");
	EQ_INT(fb_db_open(&other, path, &err), FB_OK,
	    "a connection opened meanwhile waits, then opens");
	if (err.msg[0] != '\0')
		printf("# %s\n", err.msg);
	EQ_INT(count(&other, "SELECT count(*) FROM listings"), 4000,
	    "it reads the whole import");
	EQ_STR(text(&other, "PRAGMA journal_mode"), "wal", "in WAL");
	(void)waitpid(pid, &status, 0);
	OK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the import committed, solo");
	fb_db_close(&other);
	free(csv);
}

/* The builder cannot start: the import says why and changes nothing. */
static void
test_bulk_broken(const char *dir)
{
	struct fb_db	db;
	struct fb_err	err = { 0, "" };
	struct fb_import_stats s;
	char		path[128];
	int		rc;

	(void)snprintf(path, sizeof(path), "%s/broken.db", dir);
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK) {
		OK(0, "a second database");
		return;
	}
	fb_db_exec(&db, "DROP TABLE listings_tri", NULL);
	rc = fb_import_buffer(&db, twice, strlen(twice), "t.csv", 0, &cb, &s,
	    &err);
	EQ_INT(rc, FB_ERR, "no trigram index: the import fails");
	EQ_STR(err.msg, "fts build: no table listings_tri", "and names it");
	EQ_INT(count(&db, "SELECT count(*) FROM listings"), 0, "nothing written");
	EQ_INT(count(&db, "SELECT count(*) FROM sqlite_schema WHERE type = "
	    "'trigger'"), 7, "the triggers stay");
	EQ_STR(text(&db, "PRAGMA journal_mode"), "wal", "WAL stays");
	fb_db_close(&db);
}

/*
 * A failure after the builder started (its thread running, the triggers
 * dropped): the rollback brings everything back, and the next import
 * works.  Here the listings lost their comments column.
 */
static void
test_bulk_late_failure(const char *dir)
{
	struct fb_db	db;
	struct fb_err	err = { 0, "" };
	struct fb_import_stats s;
	char		path[128], triggers[8192], *csv = big_csv(10, "Kiwi");

	(void)snprintf(path, sizeof(path), "%s/late.db", dir);
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK) {
		OK(0, "a fourth database");
		return;
	}
	fb_db_exec(&db, "ALTER TABLE listings RENAME COLUMN comments TO notes",
	    NULL);
	(void)snprintf(triggers, sizeof(triggers), "%s", text(&db, TRIGGERS));
	EQ_INT(fb_import_buffer(&db, csv, strlen(csv), "t.csv", 0, &cb, &s,
	    &err), FB_ERR, "no comments column: the import fails");
	OK(strstr(err.msg, "no column named comments") != NULL, "and says so");
	EQ_INT(count(&db, "SELECT count(*) FROM listings"), 0, "nothing written");
	EQ_STR(text(&db, TRIGGERS), triggers, "the triggers are back");
	EQ_STR(text(&db, "PRAGMA journal_mode"), "wal", "WAL is back");
	EQ_INT(run(&db, twice, 0, &s), FB_OK, "a file without comments then");
	EQ_INT(count(&db, "SELECT rowid FROM listings_fts WHERE listings_fts "
	    "MATCH 'nights'"), 701, "is in the word index");
	EQ_INT(count(&db, "SELECT count(*) FROM listings_tri"), 2,
	    "and in the trigram index");
	fb_db_close(&db);
	free(csv);
}

int
main(void)
{
	struct fb_db	db;
	struct fb_err	err = { 0, "" };
	char		dir[] = "/tmp/fb_test_import_XXXXXX", path[64];

	fb_db_global_init();
	if (mkdtemp(dir) == NULL)
		return (1);
	(void)snprintf(path, sizeof(path), "%s/t.db", dir);
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK)
		return (1);
	test_flat(&db);
	test_bad_rows(&db);
	test_modes(&db);
	test_empty_start(&db);
	EQ_INT(fb_fts_field("barcode"), 4, "fts field: barcode");
	EQ_INT(fb_fts_field("price_value"), -1, "fts field: not indexed");
	test_bulk_index(&db);
	test_bulk_rollback(&db);
	test_solo(&db, path);
	test_solo_open(dir);
	test_bulk_broken(dir);
	test_bulk_late_failure(dir);
	fb_db_close(&db);
	(void)snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return (1);
	return (TEST_DONE());
}
