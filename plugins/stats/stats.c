/*
 * stats: GET /api/stats, the shop in numbers.
 *
 * Keeps the original's two keys: total_listings (the active listings:
 * the original deleted sold ones, so its table only ever held those) and
 * last_updated (the newest updated_at of any listing, or null).  Adds
 * active and removed counts, the inventory value and the median price
 * per currency (exact decimals), counts by format, condition and genre
 * (most frequent first; no value counts as "unknown"), and the outcome
 * of the last sync: the newest row of sync_runs, or null while that
 * table does not exist.  Everything depends on the data only, so the
 * answer is built once per data version and kept as text; the host adds
 * the ETag and answers If-None-Match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freakinbeats-plugin.h"

#define JSON_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(15))
#define GENRES_MAX	1024

struct count {
	const char	*name;
	json_int_t	 n;
};

static const struct fb_host_api	*api;
static char			*cached;	/* json_dumps: free() */
static size_t			 cached_len;
static int64_t			 cached_version = -1;

static int	stats_init(struct fb_plugin_ctx *, const struct fb_host_api *);
static int	stats_fini(void);
static int	stats_get(struct fb_req *, void *);
static json_t	*stats_build(struct fb_req *);
static int	stats_totals(struct fb_req *, json_t *);
static int	stats_money(struct fb_req *, json_t *, const char *,
		    const char *);
static int	stats_counts(struct fb_req *, json_t *, const char *,
		    const char *);
static int	stats_genres(struct fb_req *, json_t *);
static void	genres_add(json_t *, const char *, json_int_t);
static json_t	*genres_sorted(json_t *);
static int	count_cmp(const void *, const void *);
static json_t	*stats_last_sync(struct fb_req *);
static json_t	*row_object(struct fb_stmt *);
static json_t	*column_json(struct fb_stmt *, int);

FB_PLUGIN("stats", stats_init, stats_fini);

/* Value and median per currency; money stays in hundredths in SQL. */
static const char	value_sql[] =
	"SELECT coalesce(price_currency, 'unknown'), sum(price_value), 1"
	" FROM listings WHERE is_active = 1 AND price_value IS NOT NULL"
	" GROUP BY 1 ORDER BY 1";
static const char	median_sql[] =
	"SELECT c, sum(p), count(*) FROM (SELECT c, p, row_number() OVER"
	" (PARTITION BY c ORDER BY p) AS rn, count(*) OVER (PARTITION BY c)"
	" AS n FROM (SELECT coalesce(price_currency, 'unknown') AS c,"
	" price_value AS p FROM listings WHERE is_active = 1 AND"
	" price_value IS NOT NULL)) WHERE rn IN ((n + 1) / 2, (n + 2) / 2)"
	" GROUP BY c ORDER BY c";

static int
stats_init(struct fb_plugin_ctx *ctx, const struct fb_host_api *host)
{
	api = host;
	return (api->route_add(ctx, FB_METHOD_GET | FB_ROUTE_DATA,
	    "/api/stats", stats_get, NULL));
}

static int
stats_fini(void)
{
	free(cached);
	cached = NULL;
	cached_version = -1;
	return (FB_OK);
}

static int
stats_get(struct fb_req *req, void *arg)
{
	json_t	*j;
	char	*text;
	int64_t	 v;

	(void)arg;
	if (api->req_params_allow(req, NULL) != FB_OK)
		return (FB_OK);
	if ((v = api->data_version(req)) < 0)
		return (api->reply_error(req, 503, "database unavailable"));
	if (cached == NULL || v != cached_version) {
		text = (j = stats_build(req)) != NULL ?
		    json_dumps(j, JSON_FLAGS) : NULL;
		json_decref(j);
		if (text == NULL)
			return (api->reply_error(req, 500, "stats: the "
			    "database could not answer"));
		free(cached);
		cached = text;
		cached_len = strlen(text);
		cached_version = v;
	}
	return (api->reply_text(req, 200, "application/json; charset=utf-8",
	    cached, cached_len));
}

/* New: the whole answer, or NULL (the host logged why). */
static json_t *
stats_build(struct fb_req *req)
{
	json_t	*o;

	if ((o = json_object()) == NULL ||
	    stats_totals(req, o) != FB_OK ||
	    stats_money(req, o, "inventory_value", value_sql) != FB_OK ||
	    stats_money(req, o, "median_price", median_sql) != FB_OK ||
	    stats_counts(req, o, "by_format", "primary_format") != FB_OK ||
	    stats_counts(req, o, "by_condition", "condition") != FB_OK ||
	    stats_genres(req, o) != FB_OK) {
		json_decref(o);
		return (NULL);
	}
	json_object_set_new(o, "last_sync", stats_last_sync(req));
	return (o);
}

static int
stats_totals(struct fb_req *req, json_t *o)
{
	struct fb_stmt	*st;
	json_int_t	 active, removed;

	st = api->db_prepare(req, "SELECT count(*) FILTER (WHERE is_active"
	    " = 1), count(*) FILTER (WHERE is_active = 0), max(updated_at)"
	    " FROM listings");
	if (st == NULL || api->db_step(st) != FB_DB_ROW) {
		api->db_finalize(st);
		return (FB_ERR);
	}
	active = api->db_column_int(st, 0);
	removed = api->db_column_int(st, 1);
	json_object_set_new(o, "total_listings", json_integer(active));
	json_object_set_new(o, "last_updated", column_json(st, 2));
	json_object_set_new(o, "active", json_integer(active));
	json_object_set_new(o, "removed", json_integer(removed));
	api->db_finalize(st);
	return (FB_OK);
}

/* Rows of (currency, sum of hundredths, n): key -> {currency: sum/n}. */
static int
stats_money(struct fb_req *req, json_t *o, const char *key, const char *sql)
{
	struct fb_stmt	*st;
	json_t		*m = json_object();
	int		 rc;

	if ((st = api->db_prepare(req, sql)) == NULL) {
		json_decref(m);
		return (FB_ERR);
	}
	while ((rc = api->db_step(st)) == FB_DB_ROW)
		json_object_set_new(m, api->db_column_text(st, 0),
		    json_real((double)api->db_column_int(st, 1) /
		    (100.0 * (double)api->db_column_int(st, 2))));
	api->db_finalize(st);
	json_object_set_new(o, key, m);
	return (rc == FB_DB_DONE ? FB_OK : FB_ERR);
}

/* key -> {value: count} of one column, most frequent first. */
static int
stats_counts(struct fb_req *req, json_t *o, const char *key,
    const char *column)
{
	struct fb_stmt	*st;
	json_t		*m = json_object();
	char		 sql[256];
	int		 rc;

	(void)snprintf(sql, sizeof(sql), "SELECT coalesce(nullif(%s, ''), "
	    "'unknown'), count(*) FROM listings WHERE is_active = 1 GROUP BY"
	    " 1 ORDER BY 2 DESC, 1", column);
	if ((st = api->db_prepare(req, sql)) == NULL) {
		json_decref(m);
		return (FB_ERR);
	}
	while ((rc = api->db_step(st)) == FB_DB_ROW)
		json_object_set_new(m, api->db_column_text(st, 0),
		    json_integer(api->db_column_int(st, 1)));
	api->db_finalize(st);
	json_object_set_new(o, key, m);
	return (rc == FB_DB_DONE ? FB_OK : FB_ERR);
}

/* genres holds "Jazz, Funk / Soul": each listing counts for each genre. */
static int
stats_genres(struct fb_req *req, json_t *o)
{
	struct fb_stmt	*st;
	json_t		*m = json_object();
	int		 rc;

	st = api->db_prepare(req, "SELECT genres, count(*) FROM listings "
	    "WHERE is_active = 1 GROUP BY genres");
	if (st == NULL) {
		json_decref(m);
		return (FB_ERR);
	}
	while ((rc = api->db_step(st)) == FB_DB_ROW)
		genres_add(m, api->db_column_text(st, 0),
		    api->db_column_int(st, 1));
	api->db_finalize(st);
	json_object_set_new(o, "by_genre", genres_sorted(m));
	json_decref(m);
	return (rc == FB_DB_DONE ? FB_OK : FB_ERR);
}

static void
genres_add(json_t *m, const char *list, json_int_t n)
{
	char		 name[256];
	const char	*p = list != NULL ? list : "", *end;
	size_t		 len;
	json_t		*have;

	do {
		p += strspn(p, " ");
		end = p + strcspn(p, ",");
		for (len = (size_t)(end - p); len > 0 && p[len - 1] == ' ';
		    len--)
			;
		(void)snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (len == 0 && (list == NULL || *list == '\0'))
			(void)snprintf(name, sizeof(name), "unknown");
		if (name[0] != '\0' && (have = json_object_get(m, name)) !=
		    NULL)
			json_integer_set(have, json_integer_value(have) + n);
		else if (name[0] != '\0')
			json_object_set_new(m, name, json_integer(n));
		p = *end == ',' ? end + 1 : end;
	} while (*p != '\0');
}

/* New: m's counts, most frequent first, then by name. */
static json_t *
genres_sorted(json_t *m)
{
	struct count	 list[GENRES_MAX];
	const char	*key;
	json_t		*v, *out = json_object();
	size_t		 n = 0, i;

	json_object_foreach(m, key, v) {
		if (n == GENRES_MAX)
			break;
		list[n].name = key;
		list[n++].n = json_integer_value(v);
	}
	qsort(list, n, sizeof(list[0]), count_cmp);
	for (i = 0; i < n; i++)
		json_object_set_new(out, list[i].name,
		    json_integer(list[i].n));
	return (out);
}

static int
count_cmp(const void *a, const void *b)
{
	const struct count	*x = a, *y = b;

	if (x->n != y->n)
		return (x->n > y->n ? -1 : 1);
	return (strcmp(x->name, y->name));
}

/* New: the newest sync run as an object, or null. */
static json_t *
stats_last_sync(struct fb_req *req)
{
	struct fb_stmt	*st;
	json_t		*run = NULL;
	int		 has_table;

	st = api->db_prepare(req, "SELECT 1 FROM sqlite_master WHERE type ="
	    " 'table' AND name = 'sync_runs'");
	has_table = st != NULL && api->db_step(st) == FB_DB_ROW;
	api->db_finalize(st);
	if (has_table && (st = api->db_prepare(req, "SELECT * FROM sync_runs"
	    " ORDER BY id DESC LIMIT 1")) != NULL) {
		if (api->db_step(st) == FB_DB_ROW)
			run = row_object(st);
		api->db_finalize(st);
	}
	return (run != NULL ? run : json_null());
}

static json_t *
row_object(struct fb_stmt *st)
{
	json_t	*o = json_object();
	int	 i;

	for (i = 0; o != NULL && i < api->db_column_count(st); i++)
		json_object_set_new(o, api->db_column_name(st, i),
		    column_json(st, i));
	return (o);
}

/* New: one column as JSON; text that is not UTF-8 becomes null. */
static json_t *
column_json(struct fb_stmt *st, int i)
{
	json_t	*v = NULL;

	switch (api->db_column_type(st, i)) {
	case FB_DB_INTEGER:
		v = json_integer(api->db_column_int(st, i));
		break;
	case FB_DB_FLOAT:
		v = json_real(api->db_column_double(st, i));
		break;
	case FB_DB_TEXT:
		v = json_string(api->db_column_text(st, i));
		break;
	default:
		break;
	}
	return (v != NULL ? v : json_null());
}
