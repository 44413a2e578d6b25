/*
 * Plugin routes: claims made in init, and the dispatcher behind the
 * catch-all `route ^/api/.*$ fb_plugin_dispatch` of conf/routes.conf.
 *
 * Kore matches routes in file order, so every core route listed above
 * the catch-all wins.  A claim is checked against Kore's own route
 * table: the path must reach fb_plugin_dispatch, else the core owns it
 * and the whole plugin is refused; so is a claim that overlaps another
 * plugin's.  The dispatcher finds the claim (exact paths first, then
 * prefixes), answers 405 with Allow for a claimed path and another
 * method, runs the handler, and makes sure exactly one answer goes out.
 * A path nobody claims gets the core's JSON 404.
 */
#include <ctype.h>

#include "plugin.h"

int	fb_plugin_dispatch(struct http_request *);
int	fb_api_unknown(struct http_request *);

struct fb_plugin_route	fb_routes[FB_ROUTES_MAX];
int		fb_n_routes;

static uint64_t	req_serial;

static const struct {
	int		 flag;
	int		 kore;
	const char	*text;
} methods[] = {
	{ FB_METHOD_GET, HTTP_METHOD_GET, "GET, HEAD" },
	{ FB_METHOD_POST, HTTP_METHOD_POST, "POST" },
	{ FB_METHOD_PUT, HTTP_METHOD_PUT, "PUT" },
	{ FB_METHOD_DELETE, HTTP_METHOD_DELETE, "DELETE" },
	{ FB_METHOD_PATCH, HTTP_METHOD_PATCH, "PATCH" },
};

#define N_METHODS	((int)(sizeof(methods) / sizeof(methods[0])))

static int	route_check(struct fb_plugin_ctx *, int, const char *,
		    fb_handler);
static int	route_fail(struct fb_plugin_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	route_path_ok(const char *);
static const char *route_core_owner(const char *);
static int	route_overlaps(const struct fb_plugin_route *, const char *,
		    size_t, int);
static int	route_conflict(struct fb_plugin_ctx *, const char *, size_t,
		    int, int);
static int	route_matches(const struct fb_plugin_route *, const char *);
static struct fb_plugin_route *route_find(const char *, int, int *);
static int	method_flag(int);
static void	dispatch(struct http_request *, struct fb_plugin_route *, int);
static int	dispatch_path_arg(struct fb_req *);
static void	dispatch_run(struct fb_req *);

/* The host's api->route_add. */
int
fb_plugin_route_add(struct fb_plugin_ctx *pc, int flags, const char *path,
    fb_handler handler, void *arg)
{
	struct fb_plugin_route	*r;
	size_t			 len;
	int			 is_prefix;

	if (route_check(pc, flags, path, handler) != FB_OK)
		return (FB_ERR);
	len = strlen(path);
	if ((is_prefix = path[len - 1] == '*'))
		len--;
	if (route_conflict(pc, path, len, is_prefix, flags) != FB_OK)
		return (FB_ERR);
	if (fb_n_routes == FB_ROUTES_MAX)
		return (route_fail(pc, "route %s: more than %d plugin "
		    "routes", path, FB_ROUTES_MAX));
	r = &fb_routes[fb_n_routes++];
	memset(r, 0, sizeof(*r));
	memcpy(r->path, path, len);
	r->len = len;
	r->is_prefix = is_prefix;
	r->pc = pc;
	r->flags = flags;
	r->handler = handler;
	r->arg = arg;
	return (FB_OK);
}

/* "GET, HEAD, POST" for the methods in flags. */
void
fb_plugin_methods_text(int flags, char *out, size_t len)
{
	size_t	off = 0;
	int	i, n;

	out[0] = '\0';
	for (i = 0; i < N_METHODS && off < len; i++) {
		if (!(flags & methods[i].flag))
			continue;
		n = snprintf(out + off, len - off, "%s%s", off > 0 ? ", " : "",
		    methods[i].text);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Kore: every /api/ path no core route claimed before this one. */
int
fb_plugin_dispatch(struct http_request *req)
{
	struct fb_plugin_route	*r;
	int		 allow;

	r = route_find(req->path, method_flag(req->method), &allow);
	if (allow == 0)
		return (fb_api_unknown(req));
	dispatch(req, r, allow);
	return (KORE_RESULT_OK);
}

/* A claim made in init, with a clean path, a handler, known flags. */
static int
route_check(struct fb_plugin_ctx *pc, int flags, const char *path,
    fb_handler handler)
{
	const char	*owner;

	if (pc == NULL)
		return (FB_ERR);
	if (!pc->in_init) {
		fb_plugin_log(pc, FB_LOG_ERROR, "route_add(%.200s) outside "
		    "init: refused (claim routes in init only)",
		    path != NULL ? path : "NULL");
		return (FB_ERR);
	}
	if (path == NULL || !route_path_ok(path))
		return (route_fail(pc, "route '%.200s': a path is /a/b or a "
		    "prefix /a/ and a star, at most %d bytes of A-Z a-z 0-9 "
		    "/ . _ ~ -", path != NULL ? path : "NULL",
		    FB_ROUTE_PATH_MAX));
	if (handler == NULL || (flags & FB_METHODS) == 0 ||
	    (flags & ~FB_ROUTE_FLAGS) != 0)
		return (route_fail(pc, "route %s: needs a handler and "
		    "FB_METHOD_* flags (got 0x%x)", path, (unsigned)flags));
	if ((owner = route_core_owner(path)) != NULL)
		return (route_fail(pc, "route %s is taken by the core (%s)",
		    path, owner));
	return (FB_OK);
}

/*
 * Sets the plugin's refusal reason (the first failure; plugin.c logs it
 * with the verdict; later ones are logged here) and fails the call.
 */
static int
route_fail(struct fb_plugin_ctx *pc, const char *fmt, ...)
{
	va_list	ap;
	char	msg[200];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!pc->has_failed)
		fb_plugin_refuse(pc->rec, "plugin %s: %s", pc->rec->name, msg);
	else
		fb_plugin_log(pc, FB_LOG_ERROR, "%s", msg);
	pc->has_failed = 1;
	return (FB_ERR);
}

/* Exact, or a prefix ending in a slash and a star; unreserved bytes. */
static int
route_path_ok(const char *p)
{
	size_t	i, len = strlen(p);

	if (p[0] != '/' || len > FB_ROUTE_PATH_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (p[i] == '*')
			return (i == len - 1 && i >= 2 && p[i - 1] == '/');
		if (!isalnum((unsigned char)p[i]) && strchr("/._~-", p[i]) ==
		    NULL)
			return (0);
	}
	return (1);
}

/*
 * The Kore handler that a request for path would reach first, if it is
 * not the plugin dispatcher: then the core owns the path.  A prefix
 * claim is tested with one path under it.
 */
static const char *
route_core_owner(const char *path)
{
	struct kore_server		*srv;
	struct kore_domain		*dom;
	struct kore_module_handle	*h;
	char				 probe[FB_ROUTE_PATH_MAX + 2];
	size_t				 len = strlen(path);

	(void)snprintf(probe, sizeof(probe), "%.*s%s", (int)len -
	    (path[len - 1] == '*'), path, path[len - 1] == '*' ? "x" : "");
	LIST_FOREACH(srv, &kore_servers, list) {
		TAILQ_FOREACH(dom, &srv->domains, list) {
			TAILQ_FOREACH(h, &dom->handlers, list) {
				if (h->type == HANDLER_TYPE_STATIC ?
				    strcmp(h->path, probe) != 0 :
				    regexec(&h->rctx, probe, 0, NULL, 0) != 0)
					continue;
				if (strcmp(h->func, "fb_plugin_dispatch") != 0)
					return (h->func);
				break;
			}
		}
	}
	return (NULL);
}

/* Whether a request path could match both r and the new claim. */
static int
route_overlaps(const struct fb_plugin_route *r, const char *path, size_t len,
    int is_prefix)
{
	if (!r->is_prefix && !is_prefix)
		return (r->len == len && memcmp(r->path, path, len) == 0);
	if (r->is_prefix && is_prefix)
		return (memcmp(r->path, path, r->len < len ? r->len : len) ==
		    0);
	if (r->is_prefix)
		return (len > r->len && memcmp(r->path, path, r->len) == 0);
	return (r->len > len && memcmp(r->path, path, len) == 0);
}

/*
 * Another plugin's overlapping claim refuses this one; the same plugin
 * may claim one path twice only for different methods.
 */
static int
route_conflict(struct fb_plugin_ctx *pc, const char *path, size_t len,
    int is_prefix, int flags)
{
	struct fb_plugin_route	*r;
	int		 i;

	for (i = 0; i < fb_n_routes; i++) {
		r = &fb_routes[i];
		if (!route_overlaps(r, path, len, is_prefix))
			continue;
		if (r->pc != pc)
			return (route_fail(pc, "route %s is taken by plugin "
			    "%s (%s%s)", path, r->pc->rec->name, r->path,
			    r->is_prefix ? "*" : ""));
		if (r->is_prefix != is_prefix || r->len != len ||
		    (r->flags & flags & FB_METHODS) != 0)
			return (route_fail(pc, "route %s is claimed twice",
			    path));
	}
	return (FB_OK);
}

static int
route_matches(const struct fb_plugin_route *r, const char *path)
{
	if (!r->is_prefix)
		return (strcmp(r->path, path) == 0);
	return (strncmp(r->path, path, r->len) == 0 && path[r->len] != '\0');
}

/*
 * The claim for path and method (a FB_METHOD_* flag), or NULL; allow
 * gets every method claimed for path (0: nobody claims it).  Exact
 * claims come before prefixes.  A plugin the crash guard disabled has
 * no claims left, as in a worker started after it was disabled.
 */
static struct fb_plugin_route *
route_find(const char *path, int method, int *allow)
{
	struct fb_plugin_route	*r, *found = NULL;
	int		 i, pass;

	*allow = 0;
	for (pass = 0; pass < 2 && *allow == 0; pass++) {
		for (i = 0; i < fb_n_routes; i++) {
			r = &fb_routes[i];
			if (r->is_prefix != pass || !route_matches(r, path) ||
			    fb_plugin_is_disabled(r->pc))
				continue;
			*allow |= r->flags & FB_METHODS;
			if (found == NULL && (r->flags & method))
				found = r;
		}
	}
	return (found);
}

/* Kore's method as a FB_METHOD_* flag; HEAD is GET; others 0. */
static int
method_flag(int kore_method)
{
	int	i;

	if (kore_method == HTTP_METHOD_HEAD)
		return (FB_METHOD_GET);
	for (i = 0; i < N_METHODS; i++) {
		if (methods[i].kore == kore_method)
			return (methods[i].flag);
	}
	return (0);
}

/*
 * The shared prologue (405 with Allow, 400, data version, 304, cache),
 * then the handler.  r is NULL when the method is not claimed.
 */
static void
dispatch(struct http_request *req, struct fb_plugin_route *r, int allow)
{
	struct fb_req	fr;
	char		allow_text[64];
	int		flags = r != NULL ? r->flags : 0, ctx_flags = 0;

	fb_plugin_methods_text(allow, allow_text, sizeof(allow_text));
	if (flags & (FB_ROUTE_DATA | FB_ROUTE_CACHE))
		ctx_flags |= FB_CTX_DATA;
	if (flags & FB_ROUTE_CACHE)
		ctx_flags |= FB_CTX_CACHE;
	memset(&fr, 0, sizeof(fr));
	if (fb_ctx_begin(&fr.ctx, req, FB_R_PLUGIN, allow_text,
	    ctx_flags) != FB_OK) {
		fb_ctx_end(&fr.ctx);
		return;
	}
	if (r == NULL) {			/* not reached: begin says 405 */
		fb_reply_header(&fr.ctx, "allow", allow_text);
		fb_reply_error(&fr.ctx, 405, "method not allowed");
		fb_ctx_end(&fr.ctx);
		return;
	}
	fr.route = r;
	fr.serial = ++req_serial;
	if (dispatch_path_arg(&fr) != FB_OK)
		fb_reply_error(&fr.ctx, 400, "path: bad encoding after %s",
		    r->path);
	else
		dispatch_run(&fr);
	fb_plugin_req_end(&fr);
	fb_ctx_end(&fr.ctx);
}

/* For a prefix claim: the rest of the path, URL-decoded. */
static int
dispatch_path_arg(struct fb_req *fr)
{
	if (!fr->route->is_prefix)
		return (FB_OK);
	if ((fr->path_arg = strdup(fr->ctx.req->path + fr->route->len)) ==
	    NULL)
		abort();
	return (fb_url_decode(fr->path_arg, NULL));
}

/* Runs the handler; no answer from it becomes a JSON 500. */
static void
dispatch_run(struct fb_req *fr)
{
	struct fb_plugin_ctx	*pc = fr->route->pc;
	int			 rc;

	fb_plugin_enter(pc, fr->serial);
	rc = fr->route->handler(fr, fr->route->arg);
	fb_plugin_leave();
	if (fr->has_replied)
		return;
	fb_plugin_log(pc, FB_LOG_ERROR, "%s %.200s: the handler %s without "
	    "an answer", http_method_text(fr->ctx.req->method),
	    fr->ctx.req->path, rc == FB_OK ? "returned" : "failed");
	fb_reply_error(&fr->ctx, 500, "plugin %s failed", pc->rec->name);
	fr->has_replied = 1;
}
