/*
 * hello: the smallest plugin, one GET route.  Copy this folder to start
 * a new one; plugins/README.md walks through it.
 *
 *   GET /api/hello            {"message":"Hello from a plugin","name":null}
 *   GET /api/hello?name=Ann   {"message":"Hello from a plugin","name":"Ann"}
 *
 * The greeting comes from `hello.greeting ...` in conf/plugins.conf.
 */
#include "freakinbeats-plugin.h"

static const struct fb_host_api	*api;
static const char		*greeting = "Hello";

static int	hello_init(struct fb_plugin_ctx *, const struct fb_host_api *);
static int	hello_get(struct fb_req *, void *);

FB_PLUGIN("hello", hello_init, NULL);

/* Keep api, read settings, claim routes.  Runs once in every worker. */
static int
hello_init(struct fb_plugin_ctx *ctx, const struct fb_host_api *host)
{
	const char	*g;

	api = host;
	if ((g = api->setting(ctx, "greeting")) != NULL)
		greeting = g;
	return (api->route_add(ctx, FB_METHOD_GET, "/api/hello", hello_get,
	    NULL));
}

/* Check the parameters, build the JSON, reply (which takes the JSON). */
static int
hello_get(struct fb_req *req, void *arg)
{
	static const char *const	 params[] = { "name", NULL };
	json_t				*body;

	(void)arg;
	if (api->req_params_allow(req, params) != FB_OK)
		return (FB_OK);		/* the host answered 400 */
	body = json_pack("{s:s, s:s?}", "message", greeting, "name",
	    api->req_param(req, "name"));
	if (body == NULL)		/* jansson refuses bad UTF-8 */
		return (api->reply_error(req, 400, "name: not UTF-8"));
	return (api->reply(req, 200, body));
}
