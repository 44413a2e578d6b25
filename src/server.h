/*
 * The Kore side of Freakinbeats: worker state, request context, replies,
 * metrics, the response cache and streaming.  Only files that run inside
 * the Kore module include this header; app.h stays Kore-free so the CLI
 * and the unit tests never link Kore.
 */
#ifndef FB_SERVER_H
#define FB_SERVER_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/seccomp.h>

#include "app.h"

/* Routes as the metrics know them; keep route_names in metrics.c in step. */
enum fb_route {
	FB_R_HEALTHZ,
	FB_R_METRICS,
	FB_R_DATA,
	FB_R_DATA_ITEM,
	FB_R_SEARCH,
	FB_R_FILTER,
	FB_R_FACETS,
	FB_R_UNKNOWN,
	FB_R_PLUGINS,
	FB_R_PLUGIN,
	FB_R_RULES,
	FB_R_SYNC,
	FB_R_SYNC_STATUS,
	FB_R_SYNC_RUNS,
	FB_R_PAGE_SHOP,
	FB_R_PAGE_DETAIL,
	FB_R_PAGE_CART,
	FB_R_PAGE_ADMIN,
	FB_R_STATIC,
	FB_R_ADMIN_LOGIN,
	FB_R_ADMIN_LOGOUT,
	FB_R_ADMIN_SESSION,
	FB_R_MAX
};

#define FB_ALLOW_GET		"GET, HEAD"

/* What one worker owns; built in kore_worker_configure(). */
struct fb_worker {
	struct fb_db	db;
	int		db_ok;
};

extern struct fb_worker	fb_w;

/* One request as our handlers see it. */
struct fb_ctx {
	struct http_request	*req;
	enum fb_route		 route;
	uint64_t		 start_us;
	struct fb_params	 params;
	char			 etag[48];
	int			 is_cacheable;
	int			 in_snapshot;	/* FB_CTX_SNAPSHOT began one */
};

/* ctx.c: the prologue and epilogue every handler shares. */
#define FB_CTX_DATA		0x01	/* refresh the data version, ETag */
#define FB_CTX_CACHE		0x02	/* try the response cache first */
#define FB_CTX_SNAPSHOT		0x04	/* one read transaction (read-only) */

int	fb_ctx_begin(struct fb_ctx *, struct http_request *, enum fb_route,
	    const char *, int);
void	fb_ctx_end(struct fb_ctx *);

/* reply.c: the only caller of http_response(). */
void	fb_reply(struct fb_ctx *, int, const char *, const void *, size_t);
void	fb_reply_json(struct fb_ctx *, int, struct fb_buf *);
void	fb_reply_json_tagged(struct fb_ctx *, struct fb_buf *, int64_t);
void	fb_reply_error(struct fb_ctx *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	fb_reply_header(struct fb_ctx *, const char *, const char *);
int	fb_reply_not_modified(struct fb_ctx *);
void	fb_reply_page_headers(struct fb_ctx *, int64_t, const struct fb_page *);
int	fb_req_is_tls(struct http_request *);

/* stream.c: chunked answers made part by part (the dump, plugins). */
struct fb_stream;
/* Appends the next part to b: 1 more to come, 0 the last, -1 failure. */
typedef int	(*fb_stream_fill)(struct fb_stream *, struct fb_buf *, void *);
typedef void	(*fb_stream_free)(void *);

int	fb_stream_start(struct fb_ctx *, int, const char *, fb_stream_fill,
	    fb_stream_free, void *);
void	fb_stream_listings(struct fb_ctx *, int);

/* cache.c: responses keyed by data version and URI, per worker. */
int	fb_cache_reply(struct fb_ctx *);
void	fb_cache_store(struct fb_ctx *, int, struct fb_buf *);
void	fb_cache_clear(void);

/* metrics.c: counters shared by all workers (MAP_SHARED, atomics). */
int	fb_metrics_init(struct fb_err *);
void	fb_metrics_record(enum fb_route, int, uint64_t);
#define FB_CACHE_HIT		0
#define FB_CACHE_STORE		1
#define FB_CACHE_EVICT		2
void	fb_metrics_cache(int);
void	fb_metrics_render(struct fb_buf *, int64_t);
int	fb_metrics_rules(int, int, uint64_t);

/* api_rules.c: this worker's rules, their reload timer, GET /api/rules. */
void	fb_rules_worker_init(void);
void	fb_rules_worker_cleanup(void);
uint64_t fb_rules_worker_fingerprint(void);	/* 0: no rules */
void	fb_rules_worker_report(void *, const struct fb_rules *, int, int,
	    uint64_t);				/* thread-safe */

/*
 * plugin.c: loadable endpoint modules (src/public/freakinbeats-plugin.h).
 * The parent opens and checks them; each worker runs their init.
 */
void	fb_plugins_open(void);
void	fb_plugins_init(void);
void	fb_plugins_fini(void);

/* sync.c: the schedule (worker 1) and the task thread of a run. */
void	fb_sync_worker_init(void);
void	fb_sync_worker_stop(void);
int	fb_sync_start(const char *, int, int64_t *, struct fb_err *);
void	fb_metrics_sync(const char *, int64_t, int64_t, int64_t);

/* auth.c: the admin's Bearer passphrase, compared in constant time. */
int	fb_auth_admin(struct http_request *);
int	fb_auth_require_admin(struct fb_ctx *);
int	fb_auth_passphrase_ok(const char *);

/* admin.c: the admin login's session cookie, its throttle and counters. */
int	fb_admin_init(struct fb_err *);		/* parent, before fork */
void	fb_admin_metrics(struct fb_buf *);
int	fb_admin_session_ok(struct http_request *);
int	fb_admin_same_origin(struct http_request *);

/* pages.c: the storefront's HTML pages and static files (src/web/). */
int	fb_pages_load(struct fb_err *);		/* parent, before fork */

/* seccomp: each file that needs system calls declares them itself. */
extern struct sock_filter	fb_db_seccomp[];
extern size_t			fb_db_seccomp_len;
extern struct sock_filter	fb_discogs_seccomp[];
extern size_t			fb_discogs_seccomp_len;
extern struct sock_filter	fb_app_seccomp[];
extern size_t			fb_app_seccomp_len;

#endif
