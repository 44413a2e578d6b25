/*
 * export: GET /api/export.csv, the inventory as CSV in the importer's
 * format, so `build/freakinbeats import FILE` takes it back unchanged.
 *
 * The format is the original's flattened export: a header of listing
 * field names, then one RFC 4180 record per listing (CRLF, fields quoted
 * when they hold a comma, a quote, a line break or edge spaces).  Every
 * listing field is written except the five the importer never reads
 * because they record the shop's own state (created_at, updated_at,
 * is_active, removed_at, sold_at).  Money is exact ("12.50"), ids are
 * digits, reals print in their shortest exact form, null is empty.
 * It takes the same parameters as /api/search (by default: every active
 * listing, newest first) and streams: about FB_STREAM_CHUNK bytes are in
 * memory at a time, whatever the size of the shop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freakinbeats-plugin.h"

#define COLUMNS_MAX	64

struct export {
	struct fb_stmt	*st;
	int		 n_cols;
	int		 is_skipped[COLUMNS_MAX];
	int		 has_header;
	size_t		 n_part;		/* bytes in this part */
};

static const char	*state_columns[] = {
	"created_at", "updated_at", "is_active", "removed_at", "sold_at", NULL
};

static const struct fb_host_api	*api;
static char			 disposition[160];

static int	export_init(struct fb_plugin_ctx *, const struct fb_host_api *);
static int	export_get(struct fb_req *, void *);
static int	export_fill(struct fb_sink *, void *);
static void	export_done(void *);
static void	export_columns(struct export *);
static void	export_header(struct fb_sink *, struct export *);
static void	export_row(struct fb_sink *, struct export *);
static void	put(struct fb_sink *, struct export *, const char *, size_t);
static void	put_field(struct fb_sink *, struct export *, const char *);
static void	put_real(struct fb_sink *, struct export *, double);

FB_PLUGIN("export", export_init, NULL);

/* Setting export.filename: the name offered to browsers. */
static int
export_init(struct fb_plugin_ctx *ctx, const struct fb_host_api *host)
{
	const char	*name;

	api = host;
	name = api->setting(ctx, "filename");
	if (name == NULL || name[0] == '\0' || strlen(name) > 100 ||
	    name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ0123456789._-")] != '\0') {
		if (name != NULL)
			api->log(FB_LOG_WARN, "export.filename '%.100s': use "
			    "letters, digits, . _ -; using inventory.csv",
			    name);
		name = "inventory.csv";
	}
	(void)snprintf(disposition, sizeof(disposition),
	    "attachment; filename=\"%s\"", name);
	return (api->route_add(ctx, FB_METHOD_GET | FB_ROUTE_DATA,
	    "/api/export.csv", export_get, NULL));
}

static int
export_get(struct fb_req *req, void *arg)
{
	struct export	*e;

	(void)arg;
	if ((e = api->alloc(sizeof(*e))) == NULL)
		return (api->reply_error(req, 503, "out of memory"));
	memset(e, 0, sizeof(*e));
	if ((e->st = api->listings_open(req)) == NULL) {
		api->free(e);
		return (FB_OK);		/* the host answered 400 or 500 */
	}
	export_columns(e);
	(void)api->reply_header(req, "content-disposition", disposition);
	return (api->reply_stream(req, 200, "text/csv; charset=utf-8",
	    export_fill, export_done, e));
}

/* One part: the header first, then rows until about one chunk. */
static int
export_fill(struct fb_sink *sink, void *arg)
{
	struct export	*e = arg;
	int		 rc;

	e->n_part = 0;
	if (!e->has_header)
		export_header(sink, e);
	while (e->n_part < FB_STREAM_CHUNK) {
		if ((rc = api->db_step(e->st)) == FB_DB_DONE)
			return (0);
		if (rc != FB_DB_ROW)
			return (FB_ERR);
		export_row(sink, e);
	}
	return (1);
}

static void
export_done(void *arg)
{
	struct export	*e = arg;

	api->db_finalize(e->st);
	api->free(e);
}

static void
export_columns(struct export *e)
{
	const char	*name;
	int		 i, j;

	e->n_cols = api->db_column_count(e->st);
	if (e->n_cols > COLUMNS_MAX)
		e->n_cols = COLUMNS_MAX;
	for (i = 0; i < e->n_cols; i++) {
		name = api->db_column_name(e->st, i);
		for (j = 0; state_columns[j] != NULL; j++)
			e->is_skipped[i] |= strcmp(name, state_columns[j]) == 0;
	}
}

static void
export_header(struct fb_sink *sink, struct export *e)
{
	int	i, n = 0;

	for (i = 0; i < e->n_cols; i++) {
		if (e->is_skipped[i])
			continue;
		if (n++ > 0)
			put(sink, e, ",", 1);
		put_field(sink, e, api->db_column_name(e->st, i));
	}
	put(sink, e, "\r\n", 2);
	e->has_header = 1;
}

static void
export_row(struct fb_sink *sink, struct export *e)
{
	int	i, n = 0;

	for (i = 0; i < e->n_cols; i++) {
		if (e->is_skipped[i])
			continue;
		if (n++ > 0)
			put(sink, e, ",", 1);
		switch (api->db_column_type(e->st, i)) {
		case FB_DB_NULL:
			break;
		case FB_DB_FLOAT:
			put_real(sink, e, api->db_column_double(e->st, i));
			break;
		default:
			put_field(sink, e, api->db_column_text(e->st, i));
			break;
		}
	}
	put(sink, e, "\r\n", 2);
}

static void
put(struct fb_sink *sink, struct export *e, const char *s, size_t len)
{
	(void)api->sink_write(sink, s, len);
	e->n_part += len;
}

/* Quoted, with quotes doubled, when the text needs it. */
static void
put_field(struct fb_sink *sink, struct export *e, const char *s)
{
	size_t		 len = s != NULL ? strlen(s) : 0;
	const char	*q;

	if (len == 0)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' &&
	    s[len - 1] != ' ') {
		put(sink, e, s, len);
		return;
	}
	put(sink, e, "\"", 1);
	while ((q = strchr(s, '"')) != NULL) {
		put(sink, e, s, (size_t)(q - s) + 1);
		put(sink, e, "\"", 1);
		s = q + 1;
	}
	put(sink, e, s, strlen(s));
	put(sink, e, "\"", 1);
}

/* The shortest text that reads back as exactly d. */
static void
put_real(struct fb_sink *sink, struct export *e, double d)
{
	char	buf[40];
	int	prec;

	for (prec = 15; prec <= 17; prec++) {
		(void)snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	put(sink, e, buf, strlen(buf));
}
