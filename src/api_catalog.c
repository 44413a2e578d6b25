/*
 * Handlers for the catalogue: /api/search, /api/filter and /api/facets.
 * They share one query builder (query.c), so a filter means the same in
 * the results and in the facet counts.  Answers are cached per data
 * version like every data route.
 */
#include "server.h"

int	fb_api_search(struct http_request *);
int	fb_api_filter(struct http_request *);
int	fb_api_facets(struct http_request *);

static const char *const	facet_params[] = {
	"q", "artist", "genre", "format", "label", "year", "condition",
	"sleeve_condition", "min_price", "max_price", "include_inactive", NULL
};

static int	catalog_list(struct http_request *, enum fb_route, int);

int
fb_api_search(struct http_request *req)
{
	return (catalog_list(req, FB_R_SEARCH, FB_QUERY_SEARCH));
}

int
fb_api_filter(struct http_request *req)
{
	return (catalog_list(req, FB_R_FILTER, FB_QUERY_FILTER));
}

int
fb_api_facets(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_query	qr;
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };

	if (fb_ctx_begin(&ctx, req, FB_R_FACETS, FB_ALLOW_GET,
	    FB_CTX_DATA | FB_CTX_CACHE) != FB_OK)
		return (KORE_RESULT_OK);
	fb_buf_init(&b, 8192);
	if (fb_params_allow(&ctx.params, facet_params, &err) != FB_OK ||
	    fb_query_parse(&qr, &ctx.params, FB_QUERY_SEARCH, &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (fb_facets_run(&fb_w.db, &qr, &b, &err) != FB_OK)
		fb_reply_error(&ctx, 500, "%s", err.msg);
	else {
		fb_cache_store(&ctx, 200, &b);
		fb_reply_json(&ctx, 200, &b);
	}
	fb_buf_cleanup(&b);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* A bare JSON array for old clients; X-Total-Count and Link for paging. */
static int
catalog_list(struct http_request *req, enum fb_route route, int mode)
{
	struct fb_ctx	ctx;
	struct fb_query	qr;
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };
	int64_t		total = 0;

	if (fb_ctx_begin(&ctx, req, route, FB_ALLOW_GET,
	    FB_CTX_DATA | FB_CTX_CACHE) != FB_OK)
		return (KORE_RESULT_OK);
	fb_buf_init(&b, 65536);
	if (fb_query_parse(&qr, &ctx.params, mode, &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (fb_search_run(&fb_w.db, &qr, &total, &b, &err) != FB_OK)
		fb_reply_error(&ctx, 500, "%s", err.msg);
	else {
		fb_reply_page_headers(&ctx, total, &qr.page);
		fb_cache_store(&ctx, 200, &b);
		fb_reply_json(&ctx, 200, &b);
	}
	fb_buf_cleanup(&b);
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}
