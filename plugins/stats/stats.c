/*
 * stats: GET /api/stats, the shop in numbers.
 *
 * Keeps the original's two keys: total_listings (the active listings:
 * the original deleted sold ones, so its table only ever held those) and
 * last_updated (the newest updated_at of any listing, or null).  Adds
 * active and removed counts, the inventory value and the median price
 * per currency (exact decimals), counts by format, condition and genre
 * (most frequent first; no value counts as "unknown"), and the outcome
 * of the last sync: the newest finished run in sync_runs, or null.  The
 * counts come from one pass over the active listings (a 100k-listing
 * shop is one table scan) and are kept per data version; last_sync is
 * re-read only when the database generation moves.  Repeats are served
 * from one cached text, with an ETag of its hash, and 304.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freakinbeats-plugin.h"

#define JSON_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(15))
#define CURRENCIES_MAX	64
#define KEYS_MAX	4096

/* Prices of one currency, in hundredths, for the sum and the median. */
struct currency {
	char		 name[16];
	int64_t		*prices;
	size_t		 n, cap;
	int64_t		 sum;
};

/* What one pass over the active listings collects. */
struct acc {
	struct currency	 cur[CURRENCIES_MAX];
	int		 n_cur;
	json_t		*formats, *conditions, *genres;
};

struct count {
	const char	*name;
	json_int_t	 n;
};

static const struct fb_host_api	*api;
static json_t			*heavy;		/* all but last_sync */
static int64_t			 heavy_version = -1;	/* data version */
static char			*cached;	/* json_dumps: free() */
static size_t			 cached_len;
static int64_t			 cached_gen = -1;	/* db generation */
static char			 etag[24];

static int	stats_init(struct fb_plugin_ctx *, const struct fb_host_api *);
static int	stats_fini(void);
static int	stats_get(struct fb_req *, void *);
static int	stats_refresh(struct fb_req *);
static json_t	*stats_build(struct fb_req *);
static int	stats_totals(struct fb_req *, json_t *);
static int	stats_scan(struct fb_req *, struct acc *);
static void	acc_row(struct acc *, struct fb_stmt *);
static void	acc_price(struct acc *, const char *, int64_t);
static void	acc_count(json_t *, const char *);
static void	acc_genres(json_t *, const char *);
static void	acc_money(struct acc *, json_t *);
static void	acc_free(struct acc *);
static json_t	*counts_sorted(json_t *);
static int	count_cmp(const void *, const void *);
static int	price_cmp(const void *, const void *);
static int	currency_cmp(const void *, const void *);
static json_t	*stats_last_sync(struct fb_req *);
static json_t	*row_object(struct fb_stmt *);
static json_t	*column_json(struct fb_stmt *, int);

FB_PLUGIN("stats", stats_init, stats_fini);

static int
stats_init(struct fb_plugin_ctx *ctx, const struct fb_host_api *host)
{
	api = host;
	return (api->route_add(ctx, FB_METHOD_GET, "/api/stats", stats_get,
	    NULL));
}

static int
stats_fini(void)
{
	json_decref(heavy);
	heavy = NULL;
	free(cached);
	cached = NULL;
	heavy_version = cached_gen = -1;
	return (FB_OK);
}

static int
stats_get(struct fb_req *req, void *arg)
{
	(void)arg;
	if (api->req_params_allow(req, NULL) != FB_OK)
		return (FB_OK);
	if (stats_refresh(req) != FB_OK)
		return (api->reply_error(req, 503, "stats: the database could "
		    "not answer"));
	if (api->reply_etag(req, etag) == 1)
		return (FB_OK);			/* 304 */
	return (api->reply_text(req, 200, "application/json; charset=utf-8",
	    cached, cached_len));
}

/*
 * Two caches: the counts (one table scan) per data version, and the
 * answer with last_sync per database generation, which also moves when
 * a sync run is recorded without changing any listing.
 */
static int
stats_refresh(struct fb_req *req)
{
	int64_t		 v = api->data_version(req), g = api->db_generation(req);
	json_t		*o;
	char		*text;
	const char	*p;
	uint64_t	 h = 14695981039346656037ULL;

	if (v < 0 || g < 0)
		return (FB_ERR);
	if (cached != NULL && g == cached_gen && v == heavy_version)
		return (FB_OK);
	if (heavy == NULL || v != heavy_version) {
		json_decref(heavy);
		if ((heavy = stats_build(req)) == NULL)
			return (FB_ERR);
		heavy_version = v;
	}
	o = json_copy(heavy);
	json_object_set_new(o, "last_sync", stats_last_sync(req));
	text = json_dumps(o, JSON_FLAGS);
	json_decref(o);
	if (text == NULL)
		return (FB_ERR);
	for (p = text; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	(void)snprintf(etag, sizeof(etag), "s%016llx", (unsigned long long)h);
	free(cached);
	cached = text;
	cached_len = strlen(text);
	cached_gen = g;
	return (FB_OK);
}

/* New: the answer but last_sync, or NULL (the host logged why). */
static json_t *
stats_build(struct fb_req *req)
{
	struct acc	 acc;
	json_t		*o;

	memset(&acc, 0, sizeof(acc));
	acc.formats = json_object();
	acc.conditions = json_object();
	acc.genres = json_object();
	if ((o = json_object()) == NULL || stats_totals(req, o) != FB_OK ||
	    stats_scan(req, &acc) != FB_OK) {
		json_decref(o);
		acc_free(&acc);
		return (NULL);
	}
	acc_money(&acc, o);
	json_object_set_new(o, "by_format", counts_sorted(acc.formats));
	json_object_set_new(o, "by_condition", counts_sorted(acc.conditions));
	json_object_set_new(o, "by_genre", counts_sorted(acc.genres));
	acc_free(&acc);
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

/*
 * One pass over the active listings.  "+is_active" keeps SQLite off the
 * is_active index: reading the table in order beats fetching 100k rows
 * one by one through the index.
 */
static int
stats_scan(struct fb_req *req, struct acc *acc)
{
	struct fb_stmt	*st;
	int		 rc;

	st = api->db_prepare(req, "SELECT price_currency, price_value, "
	    "primary_format, condition, genres FROM listings WHERE "
	    "+is_active = 1");
	if (st == NULL)
		return (FB_ERR);
	while ((rc = api->db_step(st)) == FB_DB_ROW)
		acc_row(acc, st);
	api->db_finalize(st);
	return (rc == FB_DB_DONE ? FB_OK : FB_ERR);
}

static void
acc_row(struct acc *acc, struct fb_stmt *st)
{
	const char	*c = api->db_column_text(st, 0);

	if (api->db_column_type(st, 1) != FB_DB_NULL)
		acc_price(acc, c != NULL && c[0] != '\0' ? c : "unknown",
		    api->db_column_int(st, 1));
	acc_count(acc->formats, api->db_column_text(st, 2));
	acc_count(acc->conditions, api->db_column_text(st, 3));
	acc_genres(acc->genres, api->db_column_text(st, 4));
}

static void
acc_price(struct acc *acc, const char *name, int64_t price)
{
	struct currency	*c = NULL;
	int64_t		*p;
	int		 i;

	for (i = 0; c == NULL && i < acc->n_cur; i++)
		if (strcmp(acc->cur[i].name, name) == 0)
			c = &acc->cur[i];
	if (c == NULL && (acc->n_cur == CURRENCIES_MAX ||
	    strlen(name) >= sizeof(c->name)))
		return;
	if (c == NULL) {
		c = &acc->cur[acc->n_cur++];
		(void)snprintf(c->name, sizeof(c->name), "%s", name);
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		if ((p = realloc(c->prices, c->cap * sizeof(*p))) == NULL)
			abort();
		c->prices = p;
	}
	c->prices[c->n++] = price;
	c->sum += price;
}

/* One more listing for value (NULL or "" counts as "unknown"). */
static void
acc_count(json_t *m, const char *value)
{
	json_t	*have;

	if (value == NULL || value[0] == '\0')
		value = "unknown";
	if ((have = json_object_get(m, value)) != NULL)
		json_integer_set(have, json_integer_value(have) + 1);
	else if (json_object_size(m) < KEYS_MAX)
		json_object_set_new(m, value, json_integer(1));
}

/* genres holds "Jazz, Funk / Soul": each listing counts for each genre. */
static void
acc_genres(json_t *m, const char *list)
{
	char		 name[256];
	const char	*p = list, *end;
	size_t		 len;

	if (list == NULL || list[strspn(list, " ,")] == '\0') {
		acc_count(m, NULL);
		return;
	}
	for (; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		p += strspn(p, " ");
		end = p + strcspn(p, ",");
		for (len = (size_t)(end - p); len > 0 && p[len - 1] == ' ';
		    len--)
			;
		if (len == 0 || len >= sizeof(name))
			continue;
		memcpy(name, p, len);
		name[len] = '\0';
		acc_count(m, name);
	}
}

/* inventory_value and median_price, per currency, in name order. */
static void
acc_money(struct acc *acc, json_t *o)
{
	json_t		*value = json_object(), *median = json_object();
	struct currency	*c;
	int64_t		 mid;
	int		 i;

	qsort(acc->cur, (size_t)acc->n_cur, sizeof(acc->cur[0]), currency_cmp);
	for (i = 0; i < acc->n_cur; i++) {
		c = &acc->cur[i];
		qsort(c->prices, c->n, sizeof(*c->prices), price_cmp);
		mid = c->n % 2 ? 2 * c->prices[c->n / 2] :
		    c->prices[c->n / 2 - 1] + c->prices[c->n / 2];
		json_object_set_new(value, c->name, api->json_money(c->sum));
		json_object_set_new(median, c->name, json_real((double)mid /
		    200.0));
	}
	json_object_set_new(o, "inventory_value", value);
	json_object_set_new(o, "median_price", median);
}

static void
acc_free(struct acc *acc)
{
	int	i;

	for (i = 0; i < acc->n_cur; i++)
		free(acc->cur[i].prices);
	json_decref(acc->formats);
	json_decref(acc->conditions);
	json_decref(acc->genres);
}

/* New: m's counts, most frequent first, then by name. */
static json_t *
counts_sorted(json_t *m)
{
	struct count	*list;
	const char	*key;
	json_t		*v, *out = json_object();
	size_t		 n = 0, i;

	if ((list = calloc(json_object_size(m) + 1, sizeof(*list))) == NULL)
		abort();
	json_object_foreach(m, key, v) {
		list[n].name = key;
		list[n++].n = json_integer_value(v);
	}
	qsort(list, n, sizeof(list[0]), count_cmp);
	for (i = 0; i < n; i++)
		json_object_set_new(out, list[i].name,
		    json_integer(list[i].n));
	free(list);
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

static int
currency_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct currency *)a)->name,
	    ((const struct currency *)b)->name));
}

static int
price_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * New: the newest finished sync run, with the keys of DESIGN.md's RUN,
 * or null (no run yet, or no sync_runs table in this database).
 */
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
	if (has_table && (st = api->db_prepare(req, "SELECT id, status, "
	    "started_at, finished_at, added, updated, removed, error FROM "
	    "sync_runs WHERE status <> 'running' ORDER BY id DESC LIMIT 1"))
	    != NULL) {
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
