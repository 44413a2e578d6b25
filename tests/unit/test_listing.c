/*
 * listing.c, listing_page.c, db*.c and buf.c: the schema migrates, a row
 * renders as the original's JSON with exact money and 64-bit ids, pages
 * follow "newest posted first", every write moves the data version, and
 * a request's read snapshot sees one moment.
 */
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "test.h"

static void
seed(struct fb_db *db, const char *sql)
{
	struct fb_err	err = { 0, "" };

	if (fb_db_exec(db, sql, &err) != FB_OK)
		printf("# seed failed: %s\n", err.msg);
}

static void
open_db(struct fb_db *db, const char *path)
{
	struct fb_err	err = { 0, "" };

	OK(fb_db_open(db, path, &err) == FB_OK, "database opens");
	OK(fb_db_migrate(db, &err) == FB_OK, "schema migrates");
	OK(fb_db_prepare_version(db, &err) == FB_OK, "version readable");
	seed(db, "INSERT INTO listings (listing_id, status, posted, "
	    "price_value, price_currency, release_id, release_year, "
	    "release_title, primary_artist, comments, created_at, "
	    "updated_at, custom_metadata) VALUES "
	    "(9007199254740993, 'For Sale', '2025-06-27T15:36:31-07:00', 109,"
	    " 'USD', 11693605, NULL, 'Stop \"The\" Killing', 'Bj\xc3\xb6rk',"
	    " 'line1\nline2\ttab\\', '2025-01-01', '2025-01-01', "
	    "'{\"shelf\":\"A1\"}'),"
	    "(3639550236, 'For Sale', '2025-06-27T20:00:00Z', 6000, 'EUR', 1,"
	    " 1995, 'T2', 'A2', NULL, '2025-01-01', '2025-01-01', NULL),"
	    "(100, 'Sold', '2025-07-01T00:00:00Z', 1250, 'GBP', 2, 2000,"
	    " 'T3', 'A3', NULL, '2025-01-01', '2025-01-01', NULL)");
	seed(db, "UPDATE listings SET is_active = 0, removed_at = "
	    "'2025-08-01T00:00:00Z' WHERE listing_id = 100");
}

static void
test_render(struct fb_db *db)
{
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };
	const char	*s;

	fb_buf_init(&b, 64);
	EQ_INT(fb_listing_by_id(db, 9007199254740993LL, &b, &err), FB_OK,
	    "2^53+1 found");
	s = fb_buf_cstr(&b);
	OK(strstr(s, "\"listing_id\":\"9007199254740993\"") != NULL,
	    "64-bit id exact, as a string");
	OK(strstr(s, "\"price_value\":1.09,") != NULL, "1.09 exact");
	OK(strstr(s, "\"release_id\":\"11693605\"") != NULL, "release id str");
	OK(strstr(s, "\"release_year\":null") != NULL, "null year");
	OK(strstr(s, "\"release_title\":\"Stop \\\"The\\\" Killing\"") != NULL,
	    "quotes escaped");
	OK(strstr(s, "\"comments\":\"line1\\nline2\\ttab\\\\\"") != NULL,
	    "control characters escaped");
	OK(strstr(s, "\"primary_artist\":\"Bj\xc3\xb6rk\"") != NULL,
	    "UTF-8 passes through");
	OK(strstr(s, "\"is_active\":true") != NULL, "is_active boolean");
	OK(strstr(s, "\"custom_metadata\":{\"shelf\":\"A1\"}") != NULL,
	    "custom_metadata is an object");
	fb_buf_reset(&b);
	EQ_INT(fb_listing_by_id(db, 3639550236LL, &b, &err), FB_OK, "found");
	OK(strstr(fb_buf_cstr(&b), "\"price_value\":60.0,") != NULL,
	    "60.0 rendered as the original did");
	fb_buf_reset(&b);
	EQ_INT(fb_listing_by_id(db, 42, &b, &err), FB_ERR, "absent id");
	EQ_INT(err.code, 404, "absent is a 404");
	fb_buf_cleanup(&b);
}

static void
test_money_and_escape(void)
{
	static const struct { int64_t minor; const char *text; } money[] = {
		{ 109, "1.09" }, { 1250, "12.5" }, { 6000, "60.0" },
		{ 10, "0.1" }, { 1, "0.01" }, { 0, "0.0" }, { -250, "-2.5" },
		{ 99999999999, "999999999.99" },
	};
	struct fb_buf	b;
	size_t		i;

	fb_buf_init(&b, 4);
	for (i = 0; i < sizeof(money) / sizeof(money[0]); i++) {
		fb_buf_reset(&b);
		fb_json_money(&b, money[i].minor);
		EQ_STR(fb_buf_cstr(&b), money[i].text, money[i].text);
	}
	fb_buf_reset(&b);
	fb_json_str(&b, "a\xff" "b\xc3", 4);
	EQ_STR(fb_buf_cstr(&b), "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"",
	    "invalid UTF-8 becomes U+FFFD");
	fb_buf_reset(&b);
	fb_json_str(&b, "\x01\x1f", 2);
	EQ_STR(fb_buf_cstr(&b), "\"\\u0001\\u001f\"", "\\u escapes");
	fb_buf_reset(&b);
	fb_buf_append_int(&b, INT64_MIN);
	EQ_STR(fb_buf_cstr(&b), "-9223372036854775808", "INT64_MIN");
	fb_buf_cleanup(&b);
}

static void
test_pages(struct fb_db *db)
{
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };
	const char	*s, *first, *second;

	fb_buf_init(&b, 64);
	EQ_INT(fb_listing_total(db, 0), 2, "two active");
	EQ_INT(fb_listing_total(db, 1), 3, "three in all");
	EQ_INT(fb_listing_page(db, 0, 0, 10, &b, &err), FB_OK, "page");
	s = fb_buf_cstr(&b);
	first = strstr(s, "9007199254740993");
	second = strstr(s, "3639550236");
	OK(first != NULL && second != NULL && first < second,
	    "22:36Z (15:36-07:00) is newer than 20:00Z");
	OK(strstr(s, "\"100\"") == NULL, "removed listing left out");
	fb_buf_reset(&b);
	EQ_INT(fb_listing_page(db, 0, 5, 10, &b, &err), FB_OK, "far page");
	EQ_STR(fb_buf_cstr(&b), "[]", "past the end is empty");
	fb_buf_cleanup(&b);
}

static void
test_version(struct fb_db *db)
{
	int64_t	before;

	fb_db_refresh(db);
	before = db->version;
	seed(db, "UPDATE listings SET status = 'X' WHERE listing_id = 100");
	fb_db_refresh(db);
	OK(db->version > before, "a write moves the data version");
}

/*
 * A request's read snapshot (fb_db_read_begin): a commit by another
 * connection meanwhile changes neither the version it reads nor the rows,
 * until the snapshot ends; then both move together.
 */
static void
test_snapshot(struct fb_db *db, const char *path)
{
	struct fb_db	other;
	struct fb_err	err = { 0, "" };
	int64_t		before;

	if (fb_db_open(&other, path, &err) != FB_OK) {
		OK(0, "a second connection");
		return;
	}
	fb_db_refresh(db);
	before = db->version;
	EQ_INT(fb_db_read_begin(db), FB_OK, "a read snapshot begins");
	EQ_INT(fb_db_count(db, "SELECT count(*) FROM listings"), 3,
	    "it reads the shop");
	seed(&other, "UPDATE listings SET status = 'Y' WHERE listing_id = 100;"
	    "INSERT INTO listings (listing_id, created_at, updated_at) VALUES"
	    " (7, 'x', 'x')");
	fb_db_refresh(db);
	EQ_INT(db->version, before, "another connection's commit: the same "
	    "version inside the snapshot");
	EQ_INT(fb_db_count(db, "SELECT count(*) FROM listings"), 3,
	    "and the same rows");
	fb_db_read_end(db);
	EQ_INT(sqlite3_get_autocommit(db->h), 1, "the snapshot ends");
	fb_db_refresh(db);
	OK(db->version > before, "then the version moves");
	EQ_INT(fb_db_count(db, "SELECT count(*) FROM listings"), 4,
	    "with the rows");
	fb_db_read_end(db);
	EQ_INT(sqlite3_get_autocommit(db->h), 1, "ending twice is harmless");
	seed(&other, "DELETE FROM listings WHERE listing_id = 7");
	fb_db_close(&other);
}

static void
test_path_errors(void)
{
	struct fb_db	db;
	struct fb_err	err = { 0, "" };

	EQ_INT(fb_db_open(&db, "/nonexistent/dir/x.db", &err), FB_ERR,
	    "missing folder refused");
	OK(strstr(err.msg, "DATABASE_URL: folder '/nonexistent/dir'") != NULL,
	    "names DATABASE_URL and the folder");
}

int
main(void)
{
	struct fb_db	db;
	char		path[] = "/tmp/fb_test_listing_XXXXXX";
	char		file[64];

	if (mkdtemp(path) == NULL)
		return (1);
	(void)snprintf(file, sizeof(file), "%s/t.db", path);
	open_db(&db, file);
	test_render(&db);
	test_money_and_escape();
	test_pages(&db);
	test_version(&db);
	test_snapshot(&db, file);
	test_path_errors();
	fb_db_close(&db);
	(void)snprintf(file, sizeof(file), "rm -rf %s", path);
	if (system(file) != 0)
		return (1);
	return (TEST_DONE());
}
