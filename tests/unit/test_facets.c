/*
 * facets.c: exact counts over a known shop of 12 listings.  Each facet's
 * values, counts and order; grading order for conditions; comma lists
 * split and trimmed (with Discogs' "Folk, World, & Country" kept whole);
 * every price band, empty ones too; filters and include_inactive narrow
 * or widen the counts, by every query plan; the top-100 cap; an SQL
 * error leaves out alone.
 */
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "test.h"

/*
 * Ten active listings and two inactive ones (11, 12).  Row 8 has no year
 * and messy spacing, row 10 has NULL or empty facet values everywhere.
 */
static const char	fixture[] =
	"INSERT INTO listings (listing_id, primary_artist, artist_names,"
	" primary_label, label_names, release_year, condition,"
	" sleeve_condition, format_names, genres, styles, country,"
	" price_value, is_active, created_at, updated_at) VALUES"
	"(1, 'Bj\xc3\xb6rk', 'Bj\xc3\xb6rk', 'One Little Indian',"
	" 'One Little Indian', 1997, 'Near Mint (NM or M-)',"
	" 'Very Good Plus (VG+)', 'Vinyl, LP, Album', 'Electronic, Pop',"
	" 'Trip Hop, Experimental', 'UK', 2500, 1, 'x', 'x'),"
	"(2, 'Bj\xc3\xb6rk', 'Bj\xc3\xb6rk', 'One Little Indian',"
	" 'One Little Indian', 1995, 'Mint (M)', 'Mint (M)', 'CD, Album',"
	" 'Electronic', 'Trip Hop', 'UK', 999, 1, 'x', 'x'),"
	"(3, 'Bj\xc3\xb6rk', 'Bj\xc3\xb6rk', 'Elektra', 'Elektra', 1995,"
	" 'Very Good (VG)', 'Generic', 'Vinyl, 12\", 33 \xe2\x85\x93 RPM',"
	" 'Electronic', 'Ambient', 'US', 1000, 1, 'x', 'x'),"
	"(4, 'Kraftwerk', 'Kraftwerk', 'Kling Klang', 'Kling Klang', 1978,"
	" 'Very Good Plus (VG+)', 'Very Good (VG)',"
	" 'Vinyl, LP, Album, Vinyl, LP', 'Electronic',"
	" 'Krautrock, Synth-pop', 'Germany', 4999, 1, 'x', 'x'),"
	"(5, 'Kraftwerk', 'Kraftwerk', 'EMI', 'EMI', 1981, 'Good (G)',"
	" 'Good Plus (G+)', 'Vinyl, LP', 'Electronic, Pop', 'Synth-pop',"
	" 'Germany', 2000, 1, 'x', 'x'),"
	"(6, 'Fela Kuti', 'Fela Kuti', 'Afrodisia', 'Afrodisia', 1973,"
	" 'Poor (P)', 'No Cover', 'Vinyl, LP',"
	" 'Jazz, Folk, World, & Country, Funk / Soul', 'Afrobeat',"
	" 'Nigeria', 19999, 1, 'x', 'x'),"
	"(7, 'Miles Davis', 'Miles Davis', 'Columbia', 'Columbia', 1959,"
	" 'Fair (F)', 'Not Graded', 'Vinyl, LP, Album', 'Jazz', 'Modal',"
	" 'US', 20000, 1, 'x', 'x'),"
	"(8, 'Miles Davis', 'Miles Davis', 'Columbia', 'Columbia', NULL,"
	" 'Very Good Plus (VG+)', 'Generic', ' Vinyl ,LP ', 'Jazz',"
	" 'Hard Bop', 'US', 0, 1, 'x', 'x'),"
	"(9, '\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80',"
	" '\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80', 'Alfa Records',"
	" 'Alfa Records', 1983, 'Very Good Plus (VG+)',"
	" 'Very Good Plus (VG+)', 'Vinyl, LP', 'Electronic, Stage & Screen',"
	" 'Ambient', 'Japan', 150000, 1, 'x', 'x'),"
	"(10, NULL, NULL, '', '', 0, 'Near Mint (NM or M-)', NULL, NULL, '',"
	" ', ,', '', NULL, 1, 'x', 'x'),"
	"(11, 'Nina Simone', 'Nina Simone', 'Philips', 'Philips', 1965,"
	" 'Mint (M)', 'Mint (M)', 'Vinyl, LP', 'Jazz', 'Soul-Jazz', 'US',"
	" 3000, 0, 'x', 'x'),"
	"(12, 'Bj\xc3\xb6rk', 'Bj\xc3\xb6rk', 'One Little Indian',"
	" 'One Little Indian', 1993, 'Very Good (VG)', 'Very Good (VG)',"
	" 'Cassette, Album', 'Electronic', 'Downtempo', 'UK', 800, 0, 'x',"
	" 'x')";

/* Listings with 150 distinct artists, for the top-100 cap. */
static const char	many[] =
	"INSERT INTO listings (listing_id, primary_artist, created_at,"
	" updated_at) WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL"
	" SELECT n + 1 FROM c WHERE n < 150)"
	" SELECT n, printf('A%03d', n), 'x', 'x' FROM c";

static void
seed(struct fb_db *db, const char *sql)
{
	struct fb_err	err = { 0, "" };

	if (fb_db_exec(db, sql, &err) != FB_OK)
		printf("# seed failed: %s\n", err.msg);
}

static void
open_db(struct fb_db *db, const char *path, const char *rows)
{
	struct fb_err	err = { 0, "" };

	OK(fb_db_open(db, path, &err) == FB_OK, "database opens");
	OK(fb_db_migrate(db, &err) == FB_OK, "schema migrates");
	seed(db, rows);
}

/* Runs the facets of query string qs into b; returns fb_facets_run's. */
static int
run_mode(struct fb_db *db, const char *qs, int mode, struct fb_buf *b)
{
	struct fb_params	params;
	struct fb_query		qr;
	struct fb_err		err = { 0, "" };
	int			rc = FB_ERR;

	fb_buf_reset(b);
	if (fb_params_parse(&params, qs, &err) == FB_OK &&
	    fb_query_parse(&qr, &params, mode, &err) == FB_OK)
		rc = fb_facets_run(db, &qr, b, &err);
	if (rc != FB_OK)
		printf("# %s: %s\n", qs, err.msg);
	fb_params_cleanup(&params);
	(void)fb_buf_cstr(b);
	return (rc);
}

static int
run(struct fb_db *db, const char *qs, struct fb_buf *b)
{
	return (run_mode(db, qs, FB_QUERY_SEARCH, b));
}

/* The array after "key": in json, copied into out (strings respected). */
static const char *
facet(const char *json, const char *key, char *out, size_t size)
{
	char		 pat[64];
	const char	*p;
	size_t		 n = 0;
	int		 depth = 0, in_str = 0;

	(void)snprintf(pat, sizeof(pat), "\"%s\":[", key);
	if ((p = strstr(json, pat)) == NULL)
		return ("(missing)");
	for (p += strlen(pat) - 1; *p != '\0' && n + 1 < size; p++) {
		out[n++] = *p;
		if (in_str && *p == '\\' && p[1] != '\0')
			out[n++] = *++p;
		else if (*p == '"')
			in_str = !in_str;
		else if (!in_str && (*p == '[' || *p == ']'))
			depth += *p == '[' ? 1 : -1;
		if (depth == 0)
			break;
	}
	out[n] = '\0';
	return (out);
}

static int
count_of(const char *s, const char *what)
{
	int	n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return (n);
}

static void
test_values(struct fb_db *db)
{
	struct fb_buf	b;
	char		a[2048];
	const char	*j;

	fb_buf_init(&b, 64);
	EQ_INT(run(db, "", &b), FB_OK, "facets of every active listing");
	j = b.data;
	EQ_STR(facet(j, "artists", a, sizeof(a)),
	    "[{\"value\":\"Bj\xc3\xb6rk\",\"count\":3},"
	    "{\"value\":\"Kraftwerk\",\"count\":2},"
	    "{\"value\":\"Miles Davis\",\"count\":2},"
	    "{\"value\":\"Fela Kuti\",\"count\":1},"
	    "{\"value\":\"\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80\","
	    "\"count\":1}]", "artists: count desc, value asc, unicode kept");
	EQ_STR(facet(j, "labels", a, sizeof(a)),
	    "[{\"value\":\"Columbia\",\"count\":2},"
	    "{\"value\":\"One Little Indian\",\"count\":2},"
	    "{\"value\":\"Afrodisia\",\"count\":1},"
	    "{\"value\":\"Alfa Records\",\"count\":1},"
	    "{\"value\":\"EMI\",\"count\":1},"
	    "{\"value\":\"Elektra\",\"count\":1},"
	    "{\"value\":\"Kling Klang\",\"count\":1}]", "labels, '' left out");
	EQ_STR(facet(j, "years", a, sizeof(a)),
	    "[{\"value\":1997,\"count\":1},{\"value\":1995,\"count\":2},"
	    "{\"value\":1983,\"count\":1},{\"value\":1981,\"count\":1},"
	    "{\"value\":1978,\"count\":1},{\"value\":1973,\"count\":1},"
	    "{\"value\":1959,\"count\":1}]",
	    "years: numbers, newest first, NULL and 0 left out");
	EQ_STR(facet(j, "countries", a, sizeof(a)),
	    "[{\"value\":\"US\",\"count\":3},"
	    "{\"value\":\"Germany\",\"count\":2},"
	    "{\"value\":\"UK\",\"count\":2},"
	    "{\"value\":\"Japan\",\"count\":1},"
	    "{\"value\":\"Nigeria\",\"count\":1}]", "countries");
	OK(strstr(j, "\"total\":10}") != NULL, "total is 10, last key");
	OK(j[0] == '{' && strncmp(j, "{\"artists\":[", 12) == 0,
	    "object starts with artists");
	fb_buf_cleanup(&b);
}

static void
test_grades(struct fb_db *db)
{
	struct fb_buf	b;
	char		a[2048];

	fb_buf_init(&b, 64);
	EQ_INT(run(db, "", &b), FB_OK, "facets run");
	EQ_STR(facet(b.data, "conditions", a, sizeof(a)),
	    "[{\"value\":\"Mint (M)\",\"count\":1},"
	    "{\"value\":\"Near Mint (NM or M-)\",\"count\":2},"
	    "{\"value\":\"Very Good Plus (VG+)\",\"count\":3},"
	    "{\"value\":\"Very Good (VG)\",\"count\":1},"
	    "{\"value\":\"Good (G)\",\"count\":1},"
	    "{\"value\":\"Fair (F)\",\"count\":1},"
	    "{\"value\":\"Poor (P)\",\"count\":1}]",
	    "conditions in grading order, not by count");
	EQ_STR(facet(b.data, "sleeve_conditions", a, sizeof(a)),
	    "[{\"value\":\"Mint (M)\",\"count\":1},"
	    "{\"value\":\"Very Good Plus (VG+)\",\"count\":2},"
	    "{\"value\":\"Very Good (VG)\",\"count\":1},"
	    "{\"value\":\"Good Plus (G+)\",\"count\":1},"
	    "{\"value\":\"Generic\",\"count\":2},"
	    "{\"value\":\"No Cover\",\"count\":1},"
	    "{\"value\":\"Not Graded\",\"count\":1}]",
	    "sleeve grades first, then the others by count");
	fb_buf_cleanup(&b);
}

static void
test_lists(struct fb_db *db)
{
	struct fb_buf	b;
	char		a[2048];

	fb_buf_init(&b, 64);
	EQ_INT(run(db, "", &b), FB_OK, "facets run");
	EQ_STR(facet(b.data, "formats", a, sizeof(a)),
	    "[{\"value\":\"Vinyl\",\"count\":8},"
	    "{\"value\":\"LP\",\"count\":7},"
	    "{\"value\":\"Album\",\"count\":4},"
	    "{\"value\":\"12\\\"\",\"count\":1},"
	    "{\"value\":\"33 \xe2\x85\x93 RPM\",\"count\":1},"
	    "{\"value\":\"CD\",\"count\":1}]",
	    "formats split, trimmed, once per listing, quote escaped");
	EQ_STR(facet(b.data, "genres", a, sizeof(a)),
	    "[{\"value\":\"Electronic\",\"count\":6},"
	    "{\"value\":\"Jazz\",\"count\":3},"
	    "{\"value\":\"Pop\",\"count\":2},"
	    "{\"value\":\"Folk, World, & Country\",\"count\":1},"
	    "{\"value\":\"Funk / Soul\",\"count\":1},"
	    "{\"value\":\"Stage & Screen\",\"count\":1}]",
	    "genres split; Folk, World, & Country kept whole");
	EQ_STR(facet(b.data, "styles", a, sizeof(a)),
	    "[{\"value\":\"Ambient\",\"count\":2},"
	    "{\"value\":\"Synth-pop\",\"count\":2},"
	    "{\"value\":\"Trip Hop\",\"count\":2},"
	    "{\"value\":\"Afrobeat\",\"count\":1},"
	    "{\"value\":\"Experimental\",\"count\":1},"
	    "{\"value\":\"Hard Bop\",\"count\":1},"
	    "{\"value\":\"Krautrock\",\"count\":1},"
	    "{\"value\":\"Modal\",\"count\":1}]", "styles, ', ,' is nothing");
	fb_buf_cleanup(&b);
}

static void
test_bands(struct fb_db *db)
{
	struct fb_buf	b;
	char		a[2048];

	fb_buf_init(&b, 64);
	EQ_INT(run(db, "", &b), FB_OK, "facets run");
	EQ_STR(facet(b.data, "price_bands", a, sizeof(a)),
	    "[{\"value\":\"0-10\",\"min\":0.0,\"max\":10.0,\"count\":2},"
	    "{\"value\":\"10-20\",\"min\":10.0,\"max\":20.0,\"count\":1},"
	    "{\"value\":\"20-50\",\"min\":20.0,\"max\":50.0,\"count\":3},"
	    "{\"value\":\"50-100\",\"min\":50.0,\"max\":100.0,\"count\":0},"
	    "{\"value\":\"100-200\",\"min\":100.0,\"max\":200.0,"
	    "\"count\":1},"
	    "{\"value\":\"200+\",\"min\":200.0,\"max\":null,\"count\":2}]",
	    "bands: lower bound in, upper out, empty band listed");
	fb_buf_cleanup(&b);
}

static void
test_filters(struct fb_db *db)
{
	struct fb_buf	b;
	char		a[2048];

	fb_buf_init(&b, 64);
	EQ_INT(run(db, "condition=Very+Good+Plus+%28VG%2B%29", &b), FB_OK,
	    "condition filter");
	EQ_STR(facet(b.data, "artists", a, sizeof(a)),
	    "[{\"value\":\"Kraftwerk\",\"count\":1},"
	    "{\"value\":\"Miles Davis\",\"count\":1},"
	    "{\"value\":\"\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80\","
	    "\"count\":1}]", "condition narrows artists");
	OK(strstr(b.data, "\"total\":3}") != NULL, "3 VG+ listings");
	EQ_INT(run(db, "artist=Bj%C3%B6rk", &b), FB_OK, "artist filter");
	EQ_STR(facet(b.data, "labels", a, sizeof(a)),
	    "[{\"value\":\"One Little Indian\",\"count\":2},"
	    "{\"value\":\"Elektra\",\"count\":1}]", "artist narrows labels");
	OK(strstr(b.data, "\"total\":3}") != NULL, "3 active by Bjork");
	EQ_INT(run(db, "q=kraftwerk&min_price=20", &b), FB_OK, "q and price");
	OK(strstr(b.data, "\"total\":2}") != NULL, "2 Kraftwerk over 20");
	EQ_STR(facet(b.data, "years", a, sizeof(a)),
	    "[{\"value\":1981,\"count\":1},{\"value\":1978,\"count\":1}]",
	    "q narrows years");
	EQ_INT(run(db, "year=1995", &b), FB_OK, "year filter (indexed)");
	EQ_STR(facet(b.data, "years", a, sizeof(a)),
	    "[{\"value\":1995,\"count\":2}]", "year narrows years");
	OK(strstr(b.data, "\"total\":2}") != NULL, "2 from 1995");
	EQ_INT(run_mode(db, "artist=Miles+Davis", FB_QUERY_FILTER, &b), FB_OK,
	    "exact artist filter (indexed)");
	EQ_STR(facet(b.data, "conditions", a, sizeof(a)),
	    "[{\"value\":\"Very Good Plus (VG+)\",\"count\":1},"
	    "{\"value\":\"Fair (F)\",\"count\":1}]", "exact artist grades");
	EQ_INT(run_mode(db, "artist=Miles", FB_QUERY_FILTER, &b), FB_OK,
	    "exact artist, no match");
	OK(strstr(b.data, "\"total\":0}") != NULL, "exact means exact");
	EQ_INT(run(db, "genre=qx", &b), FB_OK, "no match");
	OK(strstr(b.data, "\"artists\":[],\"labels\":[],\"years\":[]") !=
	    NULL, "empty arrays");
	OK(strstr(b.data, "\"total\":0}") != NULL, "total 0");
	fb_buf_cleanup(&b);
}

static void
test_inactive(struct fb_db *db)
{
	struct fb_buf	b;
	char		a[2048];

	fb_buf_init(&b, 64);
	EQ_INT(run(db, "artist=Bj%C3%B6rk&include_inactive=1", &b), FB_OK,
	    "include_inactive");
	EQ_STR(facet(b.data, "artists", a, sizeof(a)),
	    "[{\"value\":\"Bj\xc3\xb6rk\",\"count\":4}]",
	    "inactive Bjork counted");
	OK(strstr(b.data, "\"total\":4}") != NULL, "4 by Bjork in all");
	EQ_INT(run(db, "include_inactive=1", &b), FB_OK, "all listings");
	OK(strstr(b.data, "\"total\":12}") != NULL, "12 in all");
	OK(strstr(b.data, "Nina Simone") != NULL, "inactive artist shows");
	OK(strstr(b.data, "{\"value\":\"Cassette\",\"count\":1}") != NULL,
	    "inactive format shows");
	EQ_INT(run(db, "", &b), FB_OK, "active only");
	OK(strstr(b.data, "Nina Simone") == NULL, "inactive left out");
	OK(strstr(b.data, "Cassette") == NULL, "its format left out");
	fb_buf_cleanup(&b);
}

static void
test_top(const char *dir)
{
	struct fb_db	db;
	struct fb_buf	b;
	char		file[128], a[16384];

	(void)snprintf(file, sizeof(file), "%s/many.db", dir);
	open_db(&db, file, many);
	fb_buf_init(&b, 64);
	EQ_INT(run(&db, "", &b), FB_OK, "150 artists");
	facet(b.data, "artists", a, sizeof(a));
	EQ_INT(count_of(a, "\"count\":"), 100, "top 100 kept");
	OK(strncmp(a, "[{\"value\":\"A001\",\"count\":1}", 27) == 0,
	    "ties by value: A001 first");
	OK(strstr(a, "{\"value\":\"A100\",\"count\":1}]") != NULL,
	    "A100 last");
	OK(strstr(b.data, "\"total\":150}") != NULL, "total counts all");
	fb_buf_cleanup(&b);
	fb_db_close(&db);
}

static void
test_error(const char *dir)
{
	struct fb_db	db;
	struct fb_buf	b;
	struct fb_query	qr;
	struct fb_err	err = { 0, "" };
	char		file[128];

	(void)snprintf(file, sizeof(file), "%s/empty.db", dir);
	OK(fb_db_open(&db, file, &err) == FB_OK, "unmigrated db opens");
	memset(&qr, 0, sizeof(qr));
	fb_buf_init(&b, 64);
	EQ_INT(fb_facets_run(&db, &qr, &b, &err), FB_ERR, "no table: error");
	OK(strncmp(err.msg, "facets: ", 8) == 0 &&
	    strstr(err.msg, "listings") != NULL, "message names facets");
	EQ_INT(b.len, 0, "nothing written on error");
	fb_buf_cleanup(&b);
	fb_db_close(&db);
}

int
main(void)
{
	struct fb_db	db;
	char		dir[] = "/tmp/fb_test_facets_XXXXXX";
	char		file[128];

	if (mkdtemp(dir) == NULL)
		return (1);
	(void)snprintf(file, sizeof(file), "%s/t.db", dir);
	open_db(&db, file, fixture);
	test_values(&db);
	test_grades(&db);
	test_lists(&db);
	test_bands(&db);
	test_filters(&db);
	test_inactive(&db);
	fb_db_close(&db);
	test_top(dir);
	test_error(dir);
	(void)snprintf(file, sizeof(file), "rm -rf %s", dir);
	if (system(file) != 0)
		return (1);
	return (TEST_DONE());
}
