/*
 * `freakinbeats rules check [--db URL]`: the owner's dry run of the Lua
 * rules.
 *
 * It loads SCRIPTS_DIR's scripts exactly as a worker does (compile,
 * function, self-check) and prints each one's state, with `file:line`
 * and a traceback for an error.  Then, on the database (DATABASE_URL, or
 * --db sqlite:///PATH or a plain path), it shows what filter.lua would
 * leave out of the active listings and how ranking.lua reorders a few
 * searches.  Stored rows are already mapped, so keep(row, listing) gets a
 * listing rebuilt from the row (see scripts/README.md).  It never writes
 * to the database.  Exit 1 when a script has an error, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "cli.h"

#define SHOW_DROPPED	10
#define SHOW_ERRORS	3
#define SHOW_RESULTS	5
#define N_QUERIES	3

static int	check_args(int, char **, const char **);
static void	check_scripts(const struct fb_rules *);
static void	check_traceback(const char *);
static int	check_db(struct fb_rules *, const char *);
static void	check_keep(struct fb_rules *, struct fb_db *);
static void	check_keep_row(struct fb_rules *, struct fb_row *, int64_t *,
		    int64_t *);
static void	check_rank(struct fb_rules *, struct fb_db *);
static void	check_query(struct fb_rules *, struct fb_db *, const char *);
static json_t	*check_run(struct fb_db *, const char *, int64_t *);
static int	check_line(json_t *, size_t, char *, size_t);
static int	check_cut(char *, size_t, const char *, int);
static json_t	*check_listing(const struct fb_row *);
static json_t	*check_value(const struct fb_row *, const char *);
static void	check_set(json_t *, const char *, json_t *);
static void	check_quiet(void *, const struct fb_rules *, int, int,
		    uint64_t);

int
fb_cli_rules(int argc, char **argv)
{
	struct fb_rules	 rules;
	struct fb_err	 err = { 0, "" };
	const char	*db = NULL;
	int		 rc;

	if (check_args(argc, argv, &db) != FB_OK)
		return (FB_EXIT_USAGE);
	if (fb_config_load(&fb_cfg, &err) != FB_OK) {
		fprintf(stderr, "freakinbeats: %s\n", err.msg);
		return (FB_EXIT_WORK);
	}
	memset(&rules, 0, sizeof(rules));
	rules.report = check_quiet;		/* we print our own report */
	if (fb_rules_init(&rules, fb_cfg.scripts_dir, &err) != FB_OK) {
		fprintf(stderr, "freakinbeats: %s\n", err.msg);
		return (FB_EXIT_WORK);
	}
	check_scripts(&rules);
	rc = fb_rules_has_errors(&rules) ? FB_EXIT_WORK : 0;
	if (check_db(&rules, db) != FB_OK)
		rc = FB_EXIT_WORK;
	fb_rules_cleanup(&rules);
	return (rc);
}

/* "check" and an optional "--db URL" (or --db=URL). */
static int
check_args(int argc, char **argv, const char **db)
{
	int	i;

	if (argc < 2 || strcmp(argv[1], "check") != 0)
		goto usage;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			*db = argv[++i];
		else if (strncmp(argv[i], "--db=", 5) == 0)
			*db = argv[i] + 5;
		else
			goto usage;
	}
	return (FB_OK);
usage:
	fprintf(stderr, "usage: freakinbeats rules check [--db URL]\n");
	return (FB_ERR);
}

static void
check_scripts(const struct fb_rules *r)
{
	const struct fb_rules_script	*s;
	int				 i;

	printf("Rules in %s:\n", r->dir);
	for (i = 0; i < FB_SCRIPT_N; i++) {
		s = &r->s[i];
		if (s->error[0] == '\0') {
			printf("  ok     %s: %s() loads and passes the "
			    "self-check (version %016llx)\n", s->path,
			    fb_script_funcs[i],
			    (unsigned long long)s->good_hash);
			continue;
		}
		printf("  ERROR  %s\n", s->error);
		check_traceback(s->traceback);
		printf("         The server would keep %s.\n", s->is_default ?
		    "the built-in version" : "the last good version");
	}
}

/* The traceback's lines after the message, indented. */
static void
check_traceback(const char *tb)
{
	const char	*p = strchr(tb, '\n'), *end;

	while (p != NULL && *++p != '\0') {
		end = strchr(p, '\n');
		printf("         %.*s\n", end ? (int)(end - p) : (int)strlen(p),
		    p[0] == '\t' ? p + 1 : p);
		p = end;
	}
}

/* The data part; a missing database is not an error. */
static int
check_db(struct fb_rules *r, const char *url)
{
	struct fb_db	 db;
	struct fb_err	 err = { 0, "" };
	const char	*path = fb_cfg.db_path;

	if (url != NULL)
		path = strncmp(url, "sqlite:///", 10) == 0 ? url + 10 : url;
	if (access(path, R_OK) != 0) {
		printf("\nNo database at %s: nothing more to show.\n", path);
		return (url != NULL ? FB_ERR : FB_OK);
	}
	if (fb_db_open(&db, path, &err) != FB_OK ||
	    fb_db_migrate(&db, &err) != FB_OK) {
		fprintf(stderr, "freakinbeats: %s\n", err.msg);
		if (db.h != NULL)
			fb_db_close(&db);
		return (FB_ERR);
	}
	printf("\nDatabase %s:\n", path);
	check_keep(r, &db);
	check_rank(r, &db);
	fb_db_close(&db);
	return (FB_OK);
}

/* keep() over every active listing: what would leave the shop. */
static void
check_keep(struct fb_rules *r, struct fb_db *db)
{
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	sqlite3_stmt	*st;
	char		 sql[2300];
	int64_t		 n = 0, dropped = 0, failed = 0;

	(void)snprintf(sql, sizeof(sql), "SELECT %s FROM listings WHERE "
	    "is_active = 1 ORDER BY listing_id", fb_listing_select_list());
	if ((st = fb_db_prepare(db, sql, &err)) == NULL) {
		printf("  cannot read the listings: %s\n", err.msg);
		return;
	}
	fb_row_init(&row);
	printf("\nfilter.lua on the active listings:\n");
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		fb_row_from_stmt(&row, st);
		check_keep_row(r, &row, &dropped, &failed);
	}
	sqlite3_finalize(st);
	fb_row_cleanup(&row);
	printf("  %lld listings: %lld kept, %lld left out", (long long)n,
	    (long long)(n - dropped), (long long)dropped);
	if (failed > 0)
		printf(", keep() failed on %lld (kept by the failure policy)",
		    (long long)failed);
	printf("\n");
}

static void
check_keep_row(struct fb_rules *r, struct fb_row *row, int64_t *dropped,
    int64_t *failed)
{
	struct fb_err	 err = { 0, "" };
	json_t		*listing = check_listing(row);
	char		 reason[200];
	int		 kept;

	if (fb_hook_keep(r, row, listing, &kept, reason, sizeof(reason),
	    &err) != FB_OK) {
		if ((*failed)++ < SHOW_ERRORS)
			printf("  ERROR  listing %lld: %s\n", (long long)
			    fb_row_get(row, "listing_id")->i, err.msg);
	} else if (!kept && (*dropped)++ < SHOW_DROPPED)
		printf("  out    listing %lld  %s - %s: %s\n", (long long)
		    fb_row_get(row, "listing_id")->i,
		    fb_row_get(row, "primary_artist")->s ?
		    fb_row_get(row, "primary_artist")->s : "?",
		    fb_row_get(row, "release_title")->s ?
		    fb_row_get(row, "release_title")->s : "?", reason);
	json_decref(listing);
}

/* The first word of the most common artists, as sample searches. */
static void
check_rank(struct fb_rules *r, struct fb_db *db)
{
	struct fb_err	 err = { 0, "" };
	sqlite3_stmt	*st;
	char		 words[N_QUERIES][64];
	int		 n = 0, i;

	st = fb_db_prepare(db, "SELECT primary_artist, count(*) AS n FROM "
	    "listings WHERE is_active = 1 AND primary_artist IS NOT NULL "
	    "GROUP BY primary_artist ORDER BY n DESC LIMIT 20", &err);
	while (st != NULL && n < N_QUERIES && sqlite3_step(st) == SQLITE_ROW) {
		(void)sscanf((const char *)sqlite3_column_text(st, 0),
		    "%63[^ ,/()&]", words[n]);
		if (strlen(words[n]) < 2)
			continue;
		for (i = 0; i < n && strcasecmp(words[i], words[n]) != 0; i++)
			;
		if (i == n)
			n++;
	}
	sqlite3_finalize(st);
	printf("\nranking.lua on sample searches (the best %d of %d "
	    "candidates):\n", SHOW_RESULTS, FB_RANK_CANDIDATES);
	if (n == 0)
		printf("  no listings to search\n");
	for (i = 0; i < n; i++)
		check_query(r, db, words[i]);
}

/* One search, before (text match) and after ranking, side by side. */
static void
check_query(struct fb_rules *r, struct fb_db *db, const char *q)
{
	json_t		*before, *after;
	int64_t		 total = 0;
	uint64_t	 n_fail = r->s[FB_SCRIPT_SCORE].n_call_errors;
	char		 a[200], b[200];
	size_t		 i;
	int		 n;

	fb_search_set_rules(NULL);
	before = check_run(db, q, &total);
	fb_search_set_rules(r);
	after = check_run(db, q, &total);
	fb_search_set_rules(NULL);
	printf("  q=%s (%lld matches)\n    %-50s %s\n", q, (long long)total,
	    "text match only", "with ranking.lua");
	for (i = 0; i < SHOW_RESULTS && i < json_array_size(before); i++) {
		n = check_line(before, i, a, sizeof(a));
		check_line(after, i, b, sizeof(b));
		printf("    %zu. %s%*s %zu. %s\n", i + 1, a, 47 - n, "", i + 1,
		    b);
	}
	if (r->s[FB_SCRIPT_SCORE].n_call_errors != n_fail)
		printf("    ERROR  %s\n           (the shop shows text-match "
		    "order)\n", r->s[FB_SCRIPT_SCORE].call_error);
	json_decref(before);
	json_decref(after);
}

/* New: the first results of q as JSON, or NULL. */
static json_t *
check_run(struct fb_db *db, const char *q, int64_t *total)
{
	struct fb_query	 qr;
	struct fb_buf	 b;
	struct fb_err	 err = { 0, "" };
	json_t		*j = NULL;

	memset(&qr, 0, sizeof(qr));
	qr.mode = FB_QUERY_SEARCH;
	qr.q = q;
	qr.sort = FB_SORT_RELEVANCE;
	qr.page.has_limit = 1;
	qr.page.limit = SHOW_RESULTS;
	fb_buf_init(&b, 16384);
	if (fb_search_run(db, &qr, total, &b, &err) == FB_OK)
		j = json_loadb(b.data, b.len, 0, NULL);
	else
		printf("  search %s: %s\n", q, err.msg);
	fb_buf_cleanup(&b);
	return (j);
}

/* "Artist - Title 12.50", cut to fit a column; returns its width. */
static int
check_line(json_t *list, size_t i, char *out, size_t len)
{
	json_t	*l = json_array_get(list, i);
	char	 artist[96], title[96];
	int	 n;

	n = check_cut(artist, sizeof(artist), json_string_value(
	    json_object_get(l, "primary_artist")), 20);
	n += check_cut(title, sizeof(title), json_string_value(
	    json_object_get(l, "release_title")), 22);
	n += snprintf(out, len, "%s - %s %.2f", artist, title,
	    json_number_value(json_object_get(l, "price_value"))) -
	    (int)strlen(artist) - (int)strlen(title);
	return (n);
}

/* At most max UTF-8 characters of s (NULL: "?"); returns how many. */
static int
check_cut(char *out, size_t len, const char *s, int max)
{
	size_t	o = 0;
	int	n = 0;

	if (s == NULL)
		s = "?";
	while (*s != '\0' && o + 5 < len) {
		if (((unsigned char)*s & 0xc0) != 0x80 && n++ == max)
			break;
		out[o++] = *s++;
	}
	out[o] = '\0';
	return (n > max ? max : n);
}

/*
 * New: a Discogs listing rebuilt from a stored row, the inverse of the
 * shipped mapping.lua.  What Discogs sent but the row does not keep
 * (the seller, allow_offers, the thumbnail's own URL) is not there.
 */
static json_t *
check_listing(const struct fb_row *row)
{
	json_t	*l = json_object(), *rel = json_object(), *m, *img;

	static const char *const	same[] = {
		"status", "condition", "sleeve_condition", "posted", "uri",
		"resource_url", "weight", "format_quantity", "external_id",
		"location", "comments", NULL
	};
	int				i;

	check_set(l, "id", check_value(row, "listing_id"));
	for (i = 0; same[i] != NULL; i++)
		check_set(l, same[i], check_value(row, same[i]));
	m = json_object();
	check_set(m, "value", check_value(row, "price_value"));
	check_set(m, "currency", check_value(row, "price_currency"));
	json_object_set_new(l, "price", m);
	if (fb_row_get(row, "shipping_price")->type == FB_VAL_INT) {
		m = json_object();
		check_set(m, "value", check_value(row, "shipping_price"));
		check_set(m, "currency", check_value(row,
		    "shipping_currency"));
		json_object_set_new(l, "shipping_price", m);
	}
	check_set(rel, "id", check_value(row, "release_id"));
	check_set(rel, "title", check_value(row, "release_title"));
	check_set(rel, "year", check_value(row, "release_year"));
	check_set(rel, "resource_url", check_value(row,
	    "release_resource_url"));
	check_set(rel, "uri", check_value(row, "release_uri"));
	check_set(rel, "artist", check_value(row, "artist_names"));
	check_set(rel, "label", check_value(row, "label_names"));
	check_set(rel, "format", check_value(row, "format_names"));
	check_set(rel, "catalog_number", check_value(row, "catalog_number"));
	check_set(rel, "thumbnail", check_value(row, "image_uri"));
	if (fb_row_get(row, "image_uri")->type == FB_VAL_TEXT) {
		img = json_object();
		check_set(img, "type", json_string("primary"));
		check_set(img, "uri", check_value(row, "image_uri"));
		check_set(img, "resource_url", check_value(row,
		    "image_resource_url"));
		json_object_set_new(rel, "images", json_pack("[o]", img));
	}
	m = json_object();
	check_set(m, "in_collection", check_value(row,
	    "release_community_have"));
	check_set(m, "in_wantlist", check_value(row,
	    "release_community_want"));
	json_object_set_new(rel, "stats", json_pack("{s:o}", "community", m));
	json_object_set_new(l, "release", rel);
	return (l);
}

/* New: one column as JSON (money as a number), or NULL when null. */
static json_t *
check_value(const struct fb_row *row, const char *name)
{
	const struct fb_value	*v = fb_row_get(row, name);
	int			 type;

	if (v == NULL)
		return (NULL);
	type = fb_listing_columns[fb_row_column(name)].type;
	switch (v->type) {
	case FB_VAL_INT:
		return (type == FB_COL_MONEY ? json_real((double)v->i / 100.0) :
		    json_integer(v->i));
	case FB_VAL_REAL:
		return (json_real(v->d));
	case FB_VAL_TEXT:
		return (json_stringn(v->s, v->len));
	default:
		return (NULL);
	}
}

/* Sets key unless v is NULL (a null column is left out, as in JSON). */
static void
check_set(json_t *obj, const char *key, json_t *v)
{
	if (v != NULL)
		json_object_set_new(obj, key, v);
}

/* Rules events: the report printed above says it all. */
static void
check_quiet(void *arg, const struct fb_rules *r, int script, int kind,
    uint64_t key)
{
	(void)arg;
	(void)r;
	(void)script;
	(void)kind;
	(void)key;
}
