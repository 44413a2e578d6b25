/*
 * The plugin host's internals, shared by plugin.c (life cycle, crash
 * guard, GET /api/plugins), plugin_route.c (claims and dispatch),
 * plugin_api.c (the host table) and plugin_stream.c (chunked answers).
 * Plugins never see this file; their whole view is
 * src/public/freakinbeats-plugin.h.
 */
#ifndef FB_PLUGIN_HOST_H
#define FB_PLUGIN_HOST_H

#include <jansson.h>

#include "server.h"
#include "public/freakinbeats-plugin.h"

#define FB_ROUTES_MAX		128
#define FB_ROUTE_PATH_MAX	200
#define FB_ROUTE_FLAGS		(FB_METHODS | FB_ROUTE_DATA | FB_ROUTE_CACHE)

/* One plugin as the host tracks it in a worker; plugins get a pointer. */
struct fb_plugin_ctx {
	int			 index;		/* in the loaded set */
	struct fb_plugin_rec	*rec;
	const struct fb_plugin	*desc;
	int			 in_init;	/* route_add allowed */
	int			 has_failed;	/* a claim failed in init */
};

/* A claimed path: exact, or a prefix (kept with its final '/'). */
struct fb_plugin_route {
	struct fb_plugin_ctx	*pc;
	char			 path[FB_ROUTE_PATH_MAX + 1];
	size_t			 len;
	int			 is_prefix;
	int			 flags;
	fb_handler		 handler;
	void			*arg;
};

/* One request to a plugin route; lives on the dispatcher's stack. */
struct fb_req {
	struct fb_ctx		 ctx;
	struct fb_plugin_route		*route;
	uint64_t		 serial;	/* tags its statements */
	char			*path_arg;	/* decoded rest of a prefix */
	json_t			*body;
	int			 has_body;	/* body was looked at */
	int			 has_replied;
	int			 is_streaming;
};

/* plugin.c */
extern struct fb_plugin_ctx	*fb_plugin_cur;	/* whose code runs now */
extern uint64_t			 fb_plugin_serial;	/* its request */

int	fb_plugin_is_disabled(const struct fb_plugin_ctx *);
void	fb_plugin_enter(struct fb_plugin_ctx *, uint64_t);
void	fb_plugin_leave(void);
void	fb_plugin_log(const struct fb_plugin_ctx *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* plugin_route.c */
extern struct fb_plugin_route	fb_routes[FB_ROUTES_MAX];
extern int		fb_n_routes;

int	fb_plugin_route_add(struct fb_plugin_ctx *, int, const char *,
	    fb_handler, void *);
void	fb_plugin_methods_text(int, char *, size_t);

/* plugin_api.c */
extern const struct fb_host_api	fb_plugin_api;

void	fb_plugin_req_end(struct fb_req *);
void	fb_plugin_stmts_reset(uint64_t);

/* plugin_stream.c */
int	fb_plugin_stream(struct fb_req *, int, const char *, fb_fill,
	    fb_done, void *);
int	fb_plugin_sink_write(struct fb_sink *, const void *, size_t);

#endif
