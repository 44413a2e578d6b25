/*
 * Replies: the only caller of http_response().
 *
 * Every answer goes out through fb_reply(), which adds the headers all
 * responses share (content type, nosniff, HSTS on TLS only, the ETag of
 * data routes) and records the request in the metrics.  Errors are always
 * JSON objects with an "error" key.
 */
#include <stdio.h>

#include "server.h"

#define HSTS_VALUE	"max-age=31536000; includeSubDomains"

static int	reply_is_tls(struct http_request *);
static int	etag_matches(const char *, const char *);
static void	page_base(struct http_request *, struct fb_buf *);
static int	is_page_param(const char *, size_t);
static void	page_link(struct fb_buf *, const struct fb_buf *, int64_t,
		    int64_t, const char *);

void
fb_reply(struct fb_ctx *ctx, int status, const char *type, const void *d,
    size_t len)
{
	struct http_request	*req = ctx->req;

	http_response_header(req, "content-type", type);
	http_response_header(req, "x-content-type-options", "nosniff");
	if (reply_is_tls(req))
		http_response_header(req, "strict-transport-security",
		    HSTS_VALUE);
	if (ctx->etag[0] != '\0' && status < 300)
		http_response_header(req, "etag", ctx->etag);
	http_response(req, status, d, len);
	fb_metrics_record(ctx->route, status,
	    fb_time_mono_us() - ctx->start_us);
}

void
fb_reply_json(struct fb_ctx *ctx, int status, struct fb_buf *body)
{
	fb_reply(ctx, status, "application/json; charset=utf-8", body->data,
	    body->len);
}

/*
 * A 200 for a route whose answer the data version does not key (sync
 * runs, rules): its ETag is a hash of the body itself and of extra (what
 * the headers say that the body does not, such as a list's total), and
 * a matching If-None-Match gets a 304.
 */
void
fb_reply_json_tagged(struct fb_ctx *ctx, struct fb_buf *body, int64_t extra)
{
	(void)snprintf(ctx->etag, sizeof(ctx->etag), "\"c%016llx\"",
	    (unsigned long long)fb_hash(body->data, body->len,
	    FB_HASH_INIT ^ (uint64_t)extra));
	if (!fb_reply_not_modified(ctx))
		fb_reply_json(ctx, 200, body);
}

void
fb_reply_error(struct fb_ctx *ctx, int status, const char *fmt, ...)
{
	struct fb_buf	body;
	va_list		ap;
	char		msg[512];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fb_buf_init(&body, 128);
	fb_buf_appendc(&body, '{');
	fb_json_key(&body, "error");
	fb_json_cstr(&body, msg);
	fb_buf_appendc(&body, '}');
	ctx->etag[0] = '\0';
	fb_reply_json(ctx, status, &body);
	fb_buf_cleanup(&body);
}

void
fb_reply_header(struct fb_ctx *ctx, const char *name, const char *value)
{
	http_response_header(ctx->req, name, value);
}

/* Sends 304 and returns 1 when If-None-Match names the current ETag. */
int
fb_reply_not_modified(struct fb_ctx *ctx)
{
	const char	*inm;

	if (!http_request_header(ctx->req, "if-none-match", &inm) ||
	    !etag_matches(inm, ctx->etag))
		return (0);
	http_response_header(ctx->req, "etag", ctx->etag);
	http_response(ctx->req, 304, NULL, 0);
	fb_metrics_record(ctx->route, 304, fb_time_mono_us() - ctx->start_us);
	return (1);
}

/* X-Total-Count, and a Link header with first, prev, next and last. */
void
fb_reply_page_headers(struct fb_ctx *ctx, int64_t total,
    const struct fb_page *page)
{
	struct fb_buf	base, link;
	int64_t		lim = page->limit, off = page->offset;
	char		num[24];

	(void)snprintf(num, sizeof(num), "%lld", (long long)total);
	http_response_header(ctx->req, "x-total-count", num);
	if (!page->has_limit || lim == 0)
		return;
	fb_buf_init(&base, 256);
	fb_buf_init(&link, 512);
	page_base(ctx->req, &base);
	page_link(&link, &base, lim, 0, "first");
	if (off > 0)
		page_link(&link, &base, lim, off > lim ? off - lim : 0, "prev");
	if (off + lim < total)
		page_link(&link, &base, lim, off + lim, "next");
	page_link(&link, &base, lim, total > 0 ? (total - 1) / lim * lim : 0,
	    "last");
	http_response_header(ctx->req, "link", fb_buf_cstr(&link));
	fb_buf_cleanup(&base);
	fb_buf_cleanup(&link);
}

/* "path?other=params&" : the request's own query minus limit and offset. */
static void
page_base(struct http_request *req, struct fb_buf *b)
{
	const char	*p = req->query_string, *end;
	size_t		 n;

	fb_buf_appends(b, req->path);
	fb_buf_appendc(b, '?');
	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n > 0 && !is_page_param(p, n)) {
			fb_buf_append(b, p, n);
			fb_buf_appendc(b, '&');
		}
		p = end != NULL ? end + 1 : NULL;
	}
}

/* Whether the raw pair p[0..n) is limit or offset (with or without =). */
static int
is_page_param(const char *p, size_t n)
{
	const char	*eq = memchr(p, '=', n);
	size_t		 name = eq != NULL ? (size_t)(eq - p) : n;

	return ((name == 5 && strncmp(p, "limit", 5) == 0) ||
	    (name == 6 && strncmp(p, "offset", 6) == 0));
}

static void
page_link(struct fb_buf *link, const struct fb_buf *base, int64_t lim,
    int64_t off, const char *rel)
{
	if (link->len > 0)
		fb_buf_appends(link, ", ");
	fb_buf_appendc(link, '<');
	fb_buf_append(link, base->data, base->len);
	fb_buf_appendf(link, "limit=%lld&offset=%lld>; rel=\"%s\"",
	    (long long)lim, (long long)off, rel);
}

/* 1 when req came in on the TLS listener. */
int
fb_req_is_tls(struct http_request *req)
{
	return (reply_is_tls(req));
}

static int
reply_is_tls(struct http_request *req)
{
	return (req->owner != NULL && req->owner->owner != NULL &&
	    req->owner->owner->server->tls);
}

/* If-None-Match: "*" or a list of (weak or strong) tags. */
static int
etag_matches(const char *inm, const char *etag)
{
	const char	*p = inm;
	size_t		 n = strlen(etag);

	if (etag[0] == '\0')
		return (0);
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return (1);
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return (1);
		while (*p != '\0' && *p != ',')
			p++;
	}
	return (0);
}
