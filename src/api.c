/*
 * Handlers for the core routes of kore.conf.
 *
 * A handler only parses, calls the model and replies: fb_ctx_begin()
 * has already checked the method and the query string, refreshed the
 * data version and answered 304 or from the cache when it could.  SQL
 * lives in listing*.c, JSON shapes in listing.c and reply.c.
 */
#include "server.h"

#define ID_MAX_LEN	64

int	fb_api_healthz(struct http_request *);
int	fb_api_metrics(struct http_request *);
int	fb_api_data(struct http_request *);
int	fb_api_data_item(struct http_request *);
int	fb_api_unknown(struct http_request *);

static const char *const	no_params[] = { NULL };
static const char *const	data_params[] = {
	"limit", "offset", "include_inactive", NULL
};

static void	data_page(struct fb_ctx *, int, const struct fb_page *);
static int	healthz_demo(void);

int
fb_api_healthz(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_buf	b;
	int		ok;

	if (fb_ctx_begin(&ctx, req, FB_R_HEALTHZ, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	ok = fb_w.db_ok && fb_db_refresh(&fb_w.db) == FB_OK;
	fb_buf_init(&b, 128);
	fb_buf_appendf(&b, "{\"status\":\"%s\",\"version\":\"%s\","
	    "\"demo\":%s}", ok ? "ok" : "unavailable", FB_VERSION,
	    ok && healthz_demo() ? "true" : "false");
	fb_reply_json(&ctx, ok ? 200 : 503, &b);
	fb_buf_cleanup(&b);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

int
fb_api_metrics(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_buf	b;
	int64_t		active = -1;

	if (fb_ctx_begin(&ctx, req, FB_R_METRICS, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_w.db_ok && fb_db_refresh(&fb_w.db) == FB_OK)
		active = fb_listing_total(&fb_w.db, 0);
	fb_buf_init(&b, 8192);
	fb_metrics_render(&b, active);
	fb_reply(&ctx, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	fb_buf_cleanup(&b);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* The whole set streams; limit/offset cut a page with Link headers. */
int
fb_api_data(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_page	page;
	struct fb_err	err = { 0, "" };
	int		inactive;

	if (fb_ctx_begin(&ctx, req, FB_R_DATA, FB_ALLOW_GET,
	    FB_CTX_DATA | FB_CTX_CACHE) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_params_allow(&ctx.params, data_params, &err) != FB_OK ||
	    fb_params_page(&ctx.params, &page, &err) != FB_OK ||
	    fb_params_bool(&ctx.params, "include_inactive", &inactive,
	    &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (!page.has_limit) {
		fb_reply_page_headers(&ctx, fb_listing_total(&fb_w.db,
		    inactive), &page);
		fb_stream_listings(&ctx, inactive);
	} else
		data_page(&ctx, inactive, &page);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

int
fb_api_data_item(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };
	char		raw[ID_MAX_LEN + 1];
	const char	*p = req->path + sizeof("/api/data/") - 1;
	int64_t		id;

	if (fb_ctx_begin(&ctx, req, FB_R_DATA_ITEM, FB_ALLOW_GET,
	    FB_CTX_DATA | FB_CTX_CACHE | FB_CTX_SNAPSHOT) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_params_allow(&ctx.params, no_params, &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (strlen(p) > ID_MAX_LEN ||
	    snprintf(raw, sizeof(raw), "%s", p) < 0 ||
	    fb_url_decode(raw, NULL) != FB_OK || fb_parse_id(raw, &id) != FB_OK)
		fb_reply_error(&ctx, 404, "Listing not found");	/* as Flask */
	else {
		fb_buf_init(&b, 2048);
		if (fb_listing_by_id(&fb_w.db, id, &b, &err) == FB_OK) {
			fb_cache_store(&ctx, 200, &b);
			fb_reply_json(&ctx, 200, &b);
		} else if (err.code == 404)
			fb_reply_error(&ctx, 404, "Listing not found");
		else
			fb_reply_error(&ctx, 500, "%s", err.msg);
		fb_buf_cleanup(&b);
	}
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* Every path no route claims: a JSON 404, never an HTML page. */
int
fb_api_unknown(struct http_request *req)
{
	struct fb_ctx	ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.route = FB_R_UNKNOWN;
	ctx.start_us = fb_time_mono_us();
	fb_reply_error(&ctx, 404, "no such route: %.200s", req->path);
	return (KORE_RESULT_OK);
}

static void
data_page(struct fb_ctx *ctx, int inactive, const struct fb_page *page)
{
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };
	int64_t		total;

	if ((total = fb_listing_total(&fb_w.db, inactive)) < 0) {
		fb_reply_error(ctx, 500, "database error");
		return;
	}
	fb_buf_init(&b, (size_t)page->limit * 1600 + 16);
	if (fb_listing_page(&fb_w.db, inactive, page->offset, page->limit,
	    &b, &err) != FB_OK)
		fb_reply_error(ctx, 500, "%s", err.msg);
	else {
		fb_reply_page_headers(ctx, total, page);
		fb_cache_store(ctx, 200, &b);
		fb_reply_json(ctx, 200, &b);
	}
	fb_buf_cleanup(&b);
}

/* Whether the shop still shows the demo inventory (cached per version). */
static int
healthz_demo(void)
{
	static int64_t	version = -1;
	static int	is_demo;
	int64_t		v;

	if (version != fb_w.db.version) {
		version = fb_w.db.version;
		is_demo = fb_db_meta_get(&fb_w.db, "demo_inventory", &v) ==
		    FB_OK && v != 0;
	}
	return (is_demo);
}
