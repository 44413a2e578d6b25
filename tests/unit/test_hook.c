/*
 * hook.c, row.c, rules.c and search ranking: each hook's contract and
 * failure policy.  map turns a Discogs listing into typed columns (exact
 * money, 64-bit ids, custom_metadata) and refuses wrong types by name;
 * keep's reason and its "keep on error" policy; score's type check and
 * the search's fall back to text order; the built-in defaults behave as
 * the shipped scripts; reload keeps the last good version, follows a
 * deleted file and two saves in the same tick; the stack stays balanced.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "test.h"

#define FIXTURES	"tests/fixtures/scripts/"

static char	dir[64];

static void
put(const char *name, const char *text)
{
	char	path[128];
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 n;

	if (f == NULL)
		return (strdup(""));
	(void)fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return (buf);
}

static void
put_file(const char *name, const char *src)
{
	char	*text = slurp(src);

	put(name, text);
	free(text);
}

/* The shipped scripts in a fresh SCRIPTS_DIR. */
static void
shipped(void)
{
	put_file("mapping.lua", "scripts/mapping.lua");
	put_file("filter.lua", "scripts/filter.lua");
	put_file("ranking.lua", "scripts/ranking.lua");
}

static int
init(struct fb_rules *r)
{
	struct fb_err	err = { 0, "" };

	memset(r, 0, sizeof(*r));
	return (fb_rules_init(r, dir, &err));
}

static const struct fb_value *
col(const struct fb_row *row, const char *name)
{
	return (fb_row_get(row, name));
}

static void
test_map_sample(void)
{
	struct fb_rules	 r;
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	json_t		*l = json_loads(fb_rules_sample_listing, 0, NULL);

	shipped();
	EQ_INT(init(&r), FB_OK, "the shipped scripts load");
	OK(!fb_rules_has_errors(&r), "and have no errors");
	fb_row_init(&row);
	EQ_INT(fb_hook_map(&r, l, &row, &err), FB_OK, "map(sample) works");
	EQ_INT(col(&row, "listing_id")->i, 3639550236LL, "listing_id > 2^31");
	EQ_INT(col(&row, "price_value")->i, 1250, "12.5 -> 1250 hundredths");
	EQ_INT(col(&row, "shipping_price")->i, 400, "shipping 4.0 -> 400");
	EQ_STR(col(&row, "price_currency")->s, "USD", "currency");
	EQ_INT(col(&row, "release_id")->i, 11693605, "release_id");
	EQ_INT(col(&row, "release_year")->i, 1998, "release_year");
	EQ_STR(col(&row, "artist_names")->s, "Anthony B / Heather Cummings",
	    "artist_names from release.artist");
	EQ_STR(col(&row, "format_names")->s, "Vinyl, 12\", 33 \xe2\x85\x93 RPM",
	    "format_names from the summary's format text");
	EQ_STR(col(&row, "primary_format")->s, "Vinyl", "primary_format");
	EQ_STR(col(&row, "image_uri")->s, "https://i.discogs.com/"
	    "sample-600.jpeg", "image_uri from images[1]");
	EQ_INT(col(&row, "release_community_have")->i, 57, "have");
	EQ_INT(col(&row, "release_community_want")->i, 112, "want");
	OK(col(&row, "weight")->type == FB_VAL_REAL &&
	    col(&row, "weight")->d == 230.0, "weight is a number");
	EQ_INT(col(&row, "genres")->type, FB_VAL_UNSET,
	    "genres left to release details");
	EQ_INT(col(&row, "custom_metadata")->type, FB_VAL_NULL,
	    "no custom_metadata");
	EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after map");
	fb_row_cleanup(&row);
	json_decref(l);
	fb_rules_cleanup(&r);
}

/* A mapping body (Lua returning a table) and what map must say. */
static void
map_case(const char *body, int rc, const char *want, const char *what)
{
	struct fb_rules	 r;
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	json_t		*l = json_loads("{\"id\": 7, \"price\": {\"value\": "
	    "0.3}}", 0, NULL);
	char		 text[1024];

	(void)snprintf(text, sizeof(text), "function map(listing)\n"
	    "\tif listing.id ~= 7 then return { listing_id = listing.id } "
	    "end\n\t%s\nend\n", body);
	put("mapping.lua", text);
	init(&r);
	fb_row_init(&row);
	EQ_INT(fb_hook_map(&r, l, &row, &err), rc, what);
	if (rc == FB_OK)
		EQ_STR(col(&row, "custom_metadata")->s ?
		    col(&row, "custom_metadata")->s : "null", want, what);
	else {
		OK(strstr(err.msg, want) != NULL, what);
		printf("# %s\n", err.msg);
		EQ_INT(col(&row, "listing_id")->type, FB_VAL_UNSET,
		    "a failed map leaves the row empty");
	}
	EQ_INT(fb_lua_top(r.lua), 0, "stack balanced");
	fb_row_cleanup(&row);
	json_decref(l);
	fb_rules_cleanup(&r);
}

static void
test_map_contract(void)
{
	map_case("return { listing_id = 7, shelf = 'A1', tags = {'x', 'y'},"
	    " n = 2 }", FB_OK, "{\"n\":2,\"shelf\":\"A1\",\"tags\":[\"x\","
	    "\"y\"]}", "extra keys go to custom_metadata, sorted");
	map_case("return { listing_id = '7', custom_metadata = { a = 1 }, "
	    "b = true }", FB_OK, "{\"a\":1,\"b\":true}",
	    "custom_metadata table merged with extra keys; id as digits");
	map_case("return 'row'", FB_ERR, "must return a table",
	    "map returning text");
	map_case("return { price_value = 1 }", FB_ERR, "must return "
	    "listing_id", "listing_id missing");
	map_case("return { listing_id = 7, price_value = {} }", FB_ERR,
	    "price_value must be a price", "a table as a price");
	map_case("return { listing_id = 7, price_value = -1 }", FB_ERR,
	    "price_value must be a price", "a negative price");
	map_case("return { listing_id = 7, release_year = 1977.5 }", FB_ERR,
	    "release_year must be a whole number", "a fractional year");
	map_case("return { listing_id = 7, status = 12 }", FB_ERR,
	    "status must be text", "a number as text");
	map_case("return { listing_id = 7, is_active = false }", FB_ERR,
	    "must not set is_active", "a column the sync owns");
	map_case("return { listing_id = 7, [1] = 'x' }", FB_ERR,
	    "field names are text", "a numeric key");
	map_case("return { listing_id = 7, f = print }", FB_ERR,
	    "a function cannot be stored", "a function in custom_metadata");
	map_case("return { listing_id = 7, x = 0/0 }", FB_ERR,
	    "nan and inf", "nan in custom_metadata");
	map_case("return { listing_id = 7, status = '\\xff' }", FB_ERR,
	    "UTF-8", "invalid UTF-8 text");
	map_case("return nil + 1", FB_ERR, "mapping.lua:3: attempt to "
	    "perform arithmetic", "a run-time error names file:line");
	shipped();
}

static void
test_money(void)
{
	static const struct {
		double		 d;
		int64_t		 want;
	} cases[] = {
		{ 12.5, 1250 }, { 12.345, 1235 }, { 0.1 + 0.2, 30 },
		{ 1.09, 109 }, { 0.005, 1 }, { 19.99, 1999 },
		{ 1e9, 100000000000LL }, { 0, 0 },
	};
	int64_t	v;
	size_t	i;
	char	what[64];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "money %.17g", cases[i].d);
		OK(fb_money_from_double(cases[i].d, &v) == FB_OK &&
		    v == cases[i].want, what);
	}
	OK(fb_money_from_text("12.50", &v) == FB_OK && v == 1250, "'12.50'");
	OK(fb_money_from_text("-0.015", &v) == FB_OK && v == -2,
	    "half away from zero, negative");
	OK(fb_money_from_text("1e3", &v) == FB_ERR, "no exponent");
	OK(fb_money_from_double(1e300, &v) == FB_ERR, "too large");
	OK(fb_money_from_double(0.0 / 0.0, &v) == FB_ERR, "nan");
}

static void
test_keep(void)
{
	static const struct {
		const char	*body;
		int		 rc, kept;
		const char	*reason;
	} cases[] = {
		{ "return true", FB_OK, 1, "" },
		{ "return false, 'too cheap: ' .. row.price_value", FB_OK, 0,
		    "too cheap: 12.5" },
		{ "return false", FB_OK, 0, "left out by filter.lua" },
		{ "return nil", FB_ERR, 1, "" },
		{ "return 'yes'", FB_ERR, 1, "" },
		{ "return row.nothing.here", FB_ERR, 1, "" },
	};
	struct fb_rules	 r;
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	json_t		*l = json_loads("{\"id\": 5, \"price\": {\"value\": "
	    "12.5}}", 0, NULL);
	char		 text[512], reason[64];
	size_t		 i;
	int		 kept;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text), "function keep(row, listing)"
		    "\n\tif listing.id ~= 5 then return true end\n\t%s\nend\n",
		    cases[i].body);
		put("filter.lua", text);
		init(&r);
		fb_row_init(&row);
		(void)fb_hook_map(&r, l, &row, &err);
		fb_err_clear(&err);
		EQ_INT(fb_hook_keep(&r, &row, l, &kept, reason, sizeof(reason),
		    &err), cases[i].rc, cases[i].body);
		EQ_INT(kept, cases[i].kept, "kept as the policy says");
		if (cases[i].rc == FB_OK)
			EQ_STR(reason, cases[i].reason, "the reason");
		else
			printf("# %s\n", err.msg);
		EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after keep");
		EQ_INT(r.s[FB_SCRIPT_KEEP].n_call_errors, cases[i].rc ==
		    FB_ERR, "a failed call is counted");
		fb_row_cleanup(&row);
		fb_rules_cleanup(&r);
	}
	json_decref(l);
	shipped();
}

/* map with the built-in defaults and with scripts/ give the same rows. */
static void
test_defaults(void)
{
	static const char *const	listings[] = {
		NULL,
		"{\"id\": 1}",
		"{\"id\": 2, \"weight\": \"120\", \"format_quantity\": "
		"\"auto\", \"release\": {\"year\": 0, \"format\": \"CD\", "
		"\"images\": [],"
		" \"stats\": {}}, \"price\": {\"value\": 3, \"currency\": "
		"\"EUR\"}}",
		"{\"id\": 3, \"release\": {\"format\": \"  Vinyl , LP\","
		" \"artist\": \"A\", \"label\": \"L\", \"stats\": "
		"{\"community\": {\"in_collection\": 0}}}}",
	};
	struct fb_rules	 a, b;
	struct fb_row	 ra, rb;
	struct fb_err	 err = { 0, "" };
	json_t		*l;
	size_t		 i;
	int		 c, same;

	shipped();
	init(&a);
	put("mapping.lua", "this is not lua");
	init(&b);
	OK(b.s[FB_SCRIPT_MAP].is_default, "broken mapping: defaults in force");
	for (i = 0; i < sizeof(listings) / sizeof(listings[0]); i++) {
		l = json_loads(listings[i] ? listings[i] :
		    fb_rules_sample_listing, 0, NULL);
		fb_row_init(&ra);
		fb_row_init(&rb);
		same = fb_hook_map(&a, l, &ra, &err) == FB_OK &&
		    fb_hook_map(&b, l, &rb, &err) == FB_OK;
		for (c = 0; same && c < fb_listing_ncolumns; c++)
			same = ra.v[c].type == rb.v[c].type &&
			    ra.v[c].i == rb.v[c].i && ra.v[c].d == rb.v[c].d &&
			    (ra.v[c].s == NULL ? rb.v[c].s == NULL :
			    rb.v[c].s != NULL && strcmp(ra.v[c].s,
			    rb.v[c].s) == 0);
		OK(same, "the built-in mapping matches scripts/mapping.lua "
		    "(update src/rules_default.c with it)");
		fb_row_cleanup(&ra);
		fb_row_cleanup(&rb);
		json_decref(l);
	}
	fb_rules_cleanup(&a);
	fb_rules_cleanup(&b);
	shipped();
}

/* Two polls: a new content must be read twice in a row to be tried. */
static int
poll2(struct fb_rules *r)
{
	int	n = fb_rules_poll(r);

	return (fb_rules_poll(r) + n);
}

static double
score_of(struct fb_rules *r)
{
	struct fb_row	row;
	struct fb_err	err = { 0, "" };
	double		v = -1;

	fb_row_init(&row);
	fb_row_set_int(&row, 0, 1);
	if (fb_hook_score_row(r, &row, "q", 1.0, &v, &err) != FB_OK)
		v = -2;
	fb_row_cleanup(&row);
	return (v);
}

static void
test_reload(void)
{
	struct fb_rules	 r;
	struct timeval	 tv[2];
	char		 path[128];
	uint64_t	 gen;

	shipped();
	init(&r);
	gen = r.generation;
	OK(score_of(&r) == 1.0, "shipped ranking: score = relevance");
	EQ_INT(poll2(&r), 0, "nothing changed: no reload");
	put("ranking.lua", "function score() return 5 end\n");
	EQ_INT(poll2(&r), 1, "a saved file reloads");
	OK(score_of(&r) == 5.0 && r.generation == gen + 1, "the new version "
	    "is live");
	put("ranking.lua", "function score() return 6 +\n");
	(void)poll2(&r);
	OK(score_of(&r) == 5.0, "a broken save: the previous version stays");
	OK(strstr(r.s[FB_SCRIPT_SCORE].error, "ranking.lua:2:") != NULL,
	    "and the error names file:line");
	printf("# %s\n", r.s[FB_SCRIPT_SCORE].error);
	put("mapping.lua", "function map(l) return { listing_id = l.id, "
	    "location = 'new' } end\n");
	EQ_INT(poll2(&r), 1, "another file's good version still goes live");
	OK(score_of(&r) == 5.0, "while ranking keeps its good version");
	put("ranking.lua", "function score() return 7 end\n");
	(void)poll2(&r);
	OK(score_of(&r) == 7.0 && r.s[FB_SCRIPT_SCORE].error[0] == '\0',
	    "the fix goes live and clears the error");
	(void)snprintf(path, sizeof(path), "%s/ranking.lua", dir);
	(void)unlink(path);
	(void)poll2(&r);
	OK(r.s[FB_SCRIPT_SCORE].is_missing && score_of(&r) == 7.0,
	    "a deleted file: reported missing, last good version stays");
	OK(strstr(r.s[FB_SCRIPT_SCORE].error, "missing") != NULL,
	    "the error says missing");
	put("ranking.lua", "function score() return 7 end\n");
	(void)poll2(&r);
	OK(!r.s[FB_SCRIPT_SCORE].is_missing &&
	    r.s[FB_SCRIPT_SCORE].error[0] == '\0', "restored: error cleared");
	/* Two saves: same size, same inode, same mtime (one clock tick). */
	tv[0].tv_sec = tv[1].tv_sec = time(NULL);
	tv[0].tv_usec = tv[1].tv_usec = 0;
	put("ranking.lua", "function score() return 8 end\n");
	(void)utimes(path, tv);
	(void)poll2(&r);
	OK(score_of(&r) == 8.0, "first save live");
	put("ranking.lua", "function score() return 9 end\n");
	(void)utimes(path, tv);
	(void)poll2(&r);
	OK(score_of(&r) == 9.0, "second save with the same size and mtime: "
	    "the last one wins");
	(void)unlink(path);
	OK(mkfifo(path, 0600) == 0, "ranking.lua replaced by a FIFO");
	(void)poll2(&r);
	OK(strstr(r.s[FB_SCRIPT_SCORE].error, "not a readable file") != NULL &&
	    score_of(&r) == 9.0, "a FIFO is refused without blocking");
	(void)unlink(path);
	EQ_INT(fb_lua_top(r.lua), 0, "stack balanced");
	fb_rules_cleanup(&r);
	shipped();
}

static void
test_startup_broken(void)
{
	struct fb_rules	 r;
	char		 path[128];

	put_file("ranking.lua", FIXTURES "syntax.lua");
	(void)snprintf(path, sizeof(path), "%s/filter.lua", dir);
	(void)unlink(path);
	EQ_INT(init(&r), FB_OK, "broken and missing scripts: still starts");
	OK(r.s[FB_SCRIPT_SCORE].is_default &&
	    strstr(r.s[FB_SCRIPT_SCORE].error, "ranking.lua:6:") != NULL,
	    "broken ranking: built-in default, error with file:line");
	OK(r.s[FB_SCRIPT_KEEP].is_default && r.s[FB_SCRIPT_KEEP].is_missing,
	    "missing filter: built-in default, reported missing");
	OK(!r.s[FB_SCRIPT_MAP].is_default, "mapping from its file");
	OK(score_of(&r) == 1.0, "the default ranking works");
	fb_rules_cleanup(&r);
	shipped();
}

static void
seed(struct fb_db *db)
{
	struct fb_err	err = { 0, "" };
	char		sql[512];
	int		i;

	for (i = 1; i <= 30; i++) {
		(void)snprintf(sql, sizeof(sql), "INSERT INTO listings "
		    "(listing_id, release_title, artist_names, primary_artist,"
		    " price_value, created_at, updated_at) VALUES (%d, "
		    "'Dub %s %d', 'Artist', 'Artist', %d, 'x', 'x')", i,
		    i % 3 ? "Dub" : "Plate", i, (i * 7919) % 5000 + 100);
		if (fb_db_exec(db, sql, &err) != FB_OK)
			printf("# seed: %s\n", err.msg);
	}
}

/* The ids of a search for q, first n. */
static int
search(struct fb_db *db, const char *q, int64_t off, int64_t lim,
    int64_t *ids)
{
	struct fb_query	 qr;
	struct fb_buf	 b;
	struct fb_err	 err = { 0, "" };
	json_t		*j;
	size_t		 i;
	int64_t		 total = 0;
	int		 n = 0;

	memset(&qr, 0, sizeof(qr));
	qr.mode = FB_QUERY_SEARCH;
	qr.q = q;
	qr.sort = FB_SORT_RELEVANCE;
	qr.page.has_limit = 1;
	qr.page.limit = lim;
	qr.page.offset = off;
	fb_buf_init(&b, 4096);
	if (fb_search_run(db, &qr, &total, &b, &err) != FB_OK)
		printf("# search: %s\n", err.msg);
	j = json_loadb(b.data, b.len, 0, NULL);
	for (i = 0; i < json_array_size(j); i++)
		ids[n++] = strtoll(json_string_value(json_object_get(
		    json_array_get(j, i), "listing_id")), NULL, 10);
	json_decref(j);
	fb_buf_cleanup(&b);
	return (n);
}

/* dir/name, migrated and seeded; 0 when it could not be made. */
static int
open_seeded(struct fb_db *db, const char *name)
{
	struct fb_err	err = { 0, "" };
	char		path[128];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (fb_db_open(db, path, &err) != FB_OK ||
	    fb_db_migrate(db, &err) != FB_OK) {
		printf("# %s: %s\n", name, err.msg);
		return (0);
	}
	seed(db);
	return (1);
}

/* Whether the seeded ids are cheapest first (seed()'s prices). */
static int
cheapest_first(const int64_t *ids, int n)
{
	int	i;

	for (i = 1; i < n; i++) {
		if ((ids[i - 1] * 7919) % 5000 > (ids[i] * 7919) % 5000)
			return (0);
	}
	return (1);
}

static void
test_search(void)
{
	struct fb_db	 db;
	struct fb_rules	 r;
	struct fb_err	 err = { 0, "" };
	int64_t		 text[64], ranked[64], page[64];
	int		 n;
	uint64_t	 t0;

	if (!open_seeded(&db, "search.db")) {
		OK(0, "search db");
		return;
	}
	fb_search_set_rules(NULL);
	n = search(&db, "dub", 0, 30, text);
	EQ_INT(n, 30, "30 matches in text order");
	put_file("ranking.lua", FIXTURES "by_price.lua");
	init(&r);
	fb_search_set_rules(&r);
	EQ_INT(search(&db, "dub", 0, 30, ranked), 30, "ranked: 30 matches");
	OK(cheapest_first(ranked, 30),
	    "ranking.lua orders the candidates (cheapest first)");
	EQ_INT(search(&db, "dub", 5, 3, page), 3, "a page of the ranking");
	OK(page[0] == ranked[5] && page[2] == ranked[7],
	    "offset and limit apply after ranking");
	fb_rules_cleanup(&r);
	put_file("ranking.lua", FIXTURES "loop.lua");
	init(&r);
	fb_search_set_rules(&r);
	t0 = fb_time_mono_us();
	EQ_INT(search(&db, "loop", 0, 30, ranked), 0, "no match for loop");
	(void)fb_db_exec(&db, "UPDATE listings SET release_title = "
	    "'loop ' || release_title", &err);
	n = search(&db, "loop", 0, 30, ranked);
	(void)search(&db, "dub", 0, 30, text);
	fb_search_set_rules(NULL);
	(void)search(&db, "loop", 0, 30, text);
	OK(n == 30 && memcmp(ranked, text, sizeof(int64_t) * 30) == 0,
	    "score over budget: the search keeps text-match order");
	OK(fb_time_mono_us() - t0 < 3000000, "and answers in under 3 s");
	EQ_INT(r.s[FB_SCRIPT_SCORE].n_call_errors, 1, "one failure counted "
	    "per search (the rest are skipped)");
	EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after a search");
	fb_rules_cleanup(&r);
	fb_db_close(&db);
	shipped();
}

/*
 * keep() gets the very table map() got for the same listing (one JSON
 * conversion, map's changes visible); any other listing, or a keep()
 * without a map() before it, gets a fresh table.
 */
static void
test_keep_reuse(void)
{
	struct fb_rules	 r;
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	json_t		*a = json_loads("{\"id\": 5}", 0, NULL);
	json_t		*b = json_loads("{\"id\": 6}", 0, NULL);
	char		 reason[64];
	int		 kept = -1;

	put("mapping.lua", "function map(listing)\n"
	    "\tlisting.seen_by_map = true\n"
	    "\treturn { listing_id = listing.id }\nend\n");
	put("filter.lua", "function keep(row, listing)\n"
	    "\treturn listing.seen_by_map == true, 'id ' .. listing.id\nend\n");
	init(&r);
	fb_row_init(&row);
	EQ_INT(fb_hook_map(&r, a, &row, &err), FB_OK, "map listing 5");
	EQ_INT(fb_hook_keep(&r, &row, a, &kept, reason, sizeof(reason), &err),
	    FB_OK, "keep listing 5");
	EQ_INT(kept, 1, "keep sees the table map changed");
	EQ_INT(fb_hook_keep(&r, &row, a, &kept, reason, sizeof(reason), &err),
	    FB_OK, "keep listing 5 again, without a map");
	EQ_INT(kept, 0, "a keep without its map gets a fresh table");
	EQ_INT(fb_hook_map(&r, a, &row, &err), FB_OK, "map listing 5 again");
	EQ_INT(fb_hook_keep(&r, &row, b, &kept, reason, sizeof(reason), &err),
	    FB_OK, "keep listing 6 after map of 5");
	OK(kept == 0 && strcmp(reason, "id 6") == 0,
	    "another listing gets its own table");
	EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after reuse");
	fb_row_cleanup(&row);
	fb_rules_cleanup(&r);
	json_decref(a);
	json_decref(b);
	shipped();
}

/*
 * score()'s row reads its listing on demand (hook_view.c): pairs() lists
 * every field and keeps what the script set, a row kept from an earlier
 * call reads nothing more, the metatable is locked, unknown names are nil.
 */
static const char	pairs_lua[] =
	"function score(row, query, relevance)\n"
	"	local price, n = nil, 0\n"
	"	row.release_title = 'mine'\n"
	"	for k, v in pairs(row) do\n"
	"		n = n + 1\n"
	"		if k == 'price_value' then price = v end\n"
	"	end\n"
	"	if n < 5 then error('pairs listed ' .. n .. ' fields') end\n"
	"	if row.release_title ~= 'mine' then error('overwritten') end\n"
	"	return -price\n"
	"end\n";
/* The self-check passes a plain table: only a search's row is a view. */
static const char	kept_lua[] =
	"local old\n"
	"function score(row, query, relevance)\n"
	"	if getmetatable(row) ~= false then return relevance end\n"
	"	if old ~= nil and old.artist_names ~= nil then\n"
	"		error('a kept row read a listing')\n"
	"	end\n"
	"	if row.nothing ~= nil or row[1] ~= nil then error('odd key') end\n"
	"	old = row\n"
	"	return -row.price_value\n"
	"end\n";

static void	test_view_gone(struct fb_db *, struct fb_rules *);

static void
test_view(void)
{
	struct fb_db	 db;
	struct fb_rules	 r;
	int64_t		 text[64], ranked[64];

	if (!open_seeded(&db, "view.db")) {
		OK(0, "view db");
		return;
	}
	fb_search_set_rules(NULL);
	EQ_INT(search(&db, "dub", 0, 30, text), 30, "view: 30 in text order");
	put("ranking.lua", pairs_lua);
	init(&r);
	fb_search_set_rules(&r);
	EQ_INT(search(&db, "dub", 0, 30, ranked), 30, "pairs: 30 ranked");
	OK(cheapest_first(ranked, 30),
	    "pairs(row) lists price_value: cheapest first");
	EQ_INT(r.s[FB_SCRIPT_SCORE].n_call_errors, 0, "pairs: no failures");
	fb_rules_cleanup(&r);
	put("ranking.lua", kept_lua);
	init(&r);
	fb_search_set_rules(&r);
	EQ_STR(r.s[FB_SCRIPT_SCORE].error, "", "the view script loads");
	EQ_INT(search(&db, "dub", 0, 30, ranked), 30, "kept rows: 30 ranked");
	OK(cheapest_first(ranked, 30),
	    "a locked metatable marks the view: cheapest first");
	EQ_INT(r.s[FB_SCRIPT_SCORE].n_call_errors, 0, "a kept row reads "
	    "nothing more during later calls; unknown keys are nil");
	EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after the view");
	fb_search_set_rules(NULL);
	test_view_gone(&db, &r);
	fb_rules_cleanup(&r);
	fb_db_close(&db);
	shipped();
}

/*
 * A candidate whose listing is gone by the time score() reads it: a
 * script that reads a field fails naming the listing; one that reads
 * nothing never touches the database and succeeds.
 */
static void
test_view_gone(struct fb_db *db, struct fb_rules *r)
{
	struct fb_err	 err = { 0, "" };
	sqlite3_stmt	*st;
	char		 sql[2200];
	double		 score = 0;

	(void)snprintf(sql, sizeof(sql), "SELECT %s FROM listings WHERE "
	    "listing_id = ?", fb_listing_select_list());
	if ((st = fb_db_prepare(db, sql, &err)) == NULL) {
		OK(0, "the by-id statement");
		return;
	}
	sqlite3_bind_int64(st, 1, 999);
	EQ_INT(fb_hook_score(r, st, 999, "dub", 3.0, &score, &err), FB_ERR,
	    "reading a field of a listing that is gone fails");
	OK(strstr(err.msg, "listing 999 is no longer in the shop") != NULL,
	    "the error names the listing");
	sqlite3_reset(st);
	fb_rules_cleanup(r);
	put("ranking.lua", "function score(row, q, rel) return rel end\n");
	init(r);
	fb_err_clear(&err);
	EQ_INT(fb_hook_score(r, st, 999, "dub", 3.0, &score, &err), FB_OK,
	    "a score that reads no field never reads the listing");
	OK(score == 3.0, "and gives its relevance back");
	EQ_INT(fb_lua_top(r->lua), 0, "stack balanced after a gone listing");
	sqlite3_finalize(st);
}

/* The first ```lua block after heading in scripts/README.md, as name. */
static int
put_example(const char *heading, const char *name)
{
	char	*md = slurp("scripts/README.md"), *p, *end;
	int	 rc = FB_ERR;

	if ((p = strstr(md, heading)) != NULL &&
	    (p = strstr(p, "```lua\n")) != NULL &&
	    (end = strstr(p + 7, "```")) != NULL) {
		*end = '\0';
		put(name, p + 7);
		rc = FB_OK;
	}
	free(md);
	return (rc);
}

/* keep() and score() on a row made of a few columns. */
static void
example_row(struct fb_row *row, int64_t price, const char *condition,
    const char *image, const char *genres)
{
	fb_row_init(row);
	fb_row_set_int(row, fb_row_column("listing_id"), 1);
	fb_row_set_int(row, fb_row_column("price_value"), price);
	fb_row_set_text(row, fb_row_column("condition"), condition,
	    strlen(condition));
	if (image != NULL)
		fb_row_set_text(row, fb_row_column("image_uri"), image,
		    strlen(image));
	if (genres != NULL)
		fb_row_set_text(row, fb_row_column("genres"), genres,
		    strlen(genres));
}

static void
example_keep(struct fb_rules *r, int64_t price, const char *condition,
    int want, const char *reason, const char *what)
{
	struct fb_row	row;
	struct fb_err	err = { 0, "" };
	char		got[128];
	int		kept = -1;

	example_row(&row, price, condition, NULL, NULL);
	EQ_INT(fb_hook_keep(r, &row, NULL, &kept, got, sizeof(got), &err),
	    FB_OK, what);
	EQ_INT(kept, want, what);
	EQ_STR(got, reason, what);
	fb_row_cleanup(&row);
}

static double
example_score(struct fb_rules *r, const char *image, const char *genres)
{
	struct fb_row	row;
	struct fb_err	err = { 0, "" };
	double		v = -1;

	example_row(&row, 1000, "Mint (M)", image, genres);
	if (fb_hook_score_row(r, &row, "q", 1.0, &v, &err) != FB_OK)
		printf("# %s\n", err.msg);
	fb_row_cleanup(&row);
	return (v);
}

/* The three worked examples of scripts/README.md, as written there. */
static void
test_readme(void)
{
	struct fb_rules	r;

	shipped();
	OK(put_example("## Example 1", "filter.lua") == FB_OK, "example 1");
	init(&r);
	EQ_STR(r.s[FB_SCRIPT_KEEP].error, "", "example 1 loads");
	example_keep(&r, 250, "Mint (M)", 0, "cheaper than 3", "2.50: out");
	example_keep(&r, 300, "Mint (M)", 1, "", "3.00: kept");
	fb_rules_cleanup(&r);
	OK(put_example("## Example 2", "filter.lua") == FB_OK, "example 2");
	init(&r);
	EQ_STR(r.s[FB_SCRIPT_KEEP].error, "", "example 2 loads");
	example_keep(&r, 1250, "Fair (F)", 0, "media in Fair (F) condition",
	    "Fair: out");
	example_keep(&r, 1250, "Poor (P)", 0, "media in Poor (P) condition",
	    "Poor: out");
	example_keep(&r, 100, "Mint (M)", 0, "cheaper than 3", "cheap: out");
	example_keep(&r, 1250, "Good (G)", 1, "", "Good: kept");
	fb_rules_cleanup(&r);
	OK(put_example("## Example 3", "ranking.lua") == FB_OK, "example 3");
	init(&r);
	EQ_STR(r.s[FB_SCRIPT_SCORE].error, "", "example 3 loads");
	OK(example_score(&r, NULL, NULL) == 1.0, "no picture, no genre: 1");
	OK(example_score(&r, "https://i/1.jpg", NULL) == 3.0, "picture: +2");
	OK(example_score(&r, NULL, "Reggae, Electronic") == 11.0,
	    "reggae: +10");
	fb_rules_cleanup(&r);
	shipped();
}

int
main(void)
{
	char	cmd[96];

	fb_cfg.log_level = -1;
	(void)snprintf(dir, sizeof(dir), "/tmp/fb-test-hook-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return (1);
	test_map_sample();
	test_map_contract();
	test_money();
	test_keep();
	test_defaults();
	test_reload();
	test_startup_broken();
	test_search();
	test_view();
	test_keep_reuse();
	test_readme();
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return (TEST_DONE());
}
