/*
 * The request context: what every handler does before and after its own
 * work.  fb_ctx_begin() checks the method (405 with Allow), parses the
 * query string strictly (400 naming the parameter), refreshes the data
 * version, and answers from the ETag or the response cache when it can.
 * When it returns FB_ERR the reply has already been sent.
 */
#include "server.h"

struct fb_worker	fb_w;

static int	ctx_method_ok(struct http_request *, const char *);
static int	ctx_data(struct fb_ctx *, int);

int
fb_ctx_begin(struct fb_ctx *ctx, struct http_request *req,
    enum fb_route route, const char *allow, int flags)
{
	struct fb_err	err = { 0, "" };

	memset(ctx, 0, sizeof(*ctx));
	ctx->req = req;
	ctx->route = route;
	ctx->start_us = fb_time_mono_us();
	if (!ctx_method_ok(req, allow)) {
		fb_reply_header(ctx, "allow", allow);
		fb_reply_error(ctx, 405, "method %s not allowed; use %s",
		    http_method_text(req->method), allow);
		return (FB_ERR);
	}
	if (fb_params_parse(&ctx->params, req->query_string, &err) != FB_OK) {
		fb_reply_error(ctx, 400, "%s", err.msg);
		return (FB_ERR);
	}
	if (!(flags & FB_CTX_DATA))
		return (FB_OK);
	if (ctx_data(ctx, flags) == FB_OK)
		return (FB_OK);
	fb_ctx_end(ctx);		/* answered: the handler stops here */
	return (FB_ERR);
}

/* The data version, the ETag, a 304 or a cached answer. */
static int
ctx_data(struct fb_ctx *ctx, int flags)
{
	if (fb_w.db_ok && (flags & FB_CTX_SNAPSHOT))
		ctx->in_snapshot = fb_db_read_begin(&fb_w.db) == FB_OK;
	if (!fb_w.db_ok || fb_db_refresh(&fb_w.db) != FB_OK) {
		fb_reply_error(ctx, 503, "database unavailable");
		return (FB_ERR);
	}
	/* The rules' fingerprint too: a new ranking.lua reorders results. */
	(void)snprintf(ctx->etag, sizeof(ctx->etag), "\"v%lld-%llx\"",
	    (long long)fb_w.db.version,
	    (unsigned long long)(fb_rules_worker_fingerprint() & 0xffffffff));
	if (fb_reply_not_modified(ctx))
		return (FB_ERR);
	ctx->is_cacheable = (flags & FB_CTX_CACHE) &&
	    ctx->req->method == HTTP_METHOD_GET;
	if (ctx->is_cacheable && fb_cache_reply(ctx))
		return (FB_ERR);
	return (FB_OK);
}

void
fb_ctx_end(struct fb_ctx *ctx)
{
	if (ctx->in_snapshot)
		fb_db_read_end(&fb_w.db);
	ctx->in_snapshot = 0;
	fb_params_cleanup(&ctx->params);
}

/* allow is a list such as "GET, HEAD"; HEAD is implied by GET. */
static int
ctx_method_ok(struct http_request *req, const char *allow)
{
	const char	*m = http_method_text(req->method);

	if (req->method == HTTP_METHOD_HEAD)
		m = "GET";
	return (m != NULL && strstr(allow, m) != NULL);
}
