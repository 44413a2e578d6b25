/*
 * The plugins' life: opened in the parent, initialised in each worker,
 * guarded against crashes, listed at GET /api/plugins.
 *
 * The parent reads conf/plugins.conf and dlopens each file (before any
 * chroot, paths relative to the working directory, verdicts logged
 * once).  Workers inherit the open files through fork and run each
 * plugin's init after privileges are dropped, so a plugin's state is the
 * worker's own, and a restarted worker starts its plugins afresh.  A
 * plugin never stops the server: whatever fails is logged, the plugin
 * is skipped and everything else goes on.  A page shared by all workers
 * records whose code each worker is running; when a worker dies inside
 * a plugin, the restarted worker counts it, and the plugin is disabled
 * at once if it died in init, or after GUARD_STRIKES crashes.
 */
#include <sys/mman.h>

#include "plugin.h"

#define GUARD_WORKERS		64
#define GUARD_STRIKES		3

int	fb_plugin_list(struct http_request *);

/* One cache line per worker, so workers do not share a written line. */
struct guard {
	struct {
		int32_t		running;	/* +i+1 handler, -(i+1) init */
		char		pad[60];
	} slot[GUARD_WORKERS];
	int32_t		crashes[FB_PLUGINS_MAX];
	int32_t		disabled[FB_PLUGINS_MAX];
};

struct fb_plugin_ctx	*fb_plugin_cur;
uint64_t		 fb_plugin_serial;

static struct fb_plugin_set	plugins;
static struct fb_plugin_ctx	ctxs[FB_PLUGINS_MAX];
static struct guard		*guard;

static void	plugin_init(struct fb_plugin_ctx *);
static void	plugin_fini(struct fb_plugin_ctx *);
static void	guard_check(void);
static int32_t	*guard_slot(void);
static void	list_plugin(struct fb_buf *, struct fb_plugin_ctx *);
static void	list_routes(struct fb_buf *, struct fb_plugin_ctx *);

/* Parent, before the fork: read the conf, open and check every file. */
void
fb_plugins_open(void)
{
	struct fb_plugin_rec	*rec;
	int			 i;

	guard = mmap(NULL, sizeof(*guard), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED) {
		guard = NULL;
		fb_log(FB_LOG_WARN, "plugins: no crash guard: mmap: %s",
		    strerror(errno));
	}
	if (fb_plugin_conf_read(&plugins, FB_PLUGINS_CONF) != FB_OK)
		return;
	if (!plugins.has_conf)
		fb_log(FB_LOG_INFO, "no %s: no plugins", FB_PLUGINS_CONF);
	for (i = 0; i < plugins.n; i++) {
		rec = &plugins.list[i];
		fb_plugin_open(rec);
		if (rec->state == FB_PLUGIN_REFUSED)
			fb_log(FB_LOG_ERROR, "%s; skipped", rec->reason);
	}
}

/* Worker: run each opened plugin's init, in conf order. */
void
fb_plugins_init(void)
{
	int	i;

	guard_check();
	for (i = 0; i < plugins.n; i++) {
		ctxs[i].index = i;
		ctxs[i].rec = &plugins.list[i];
		if (plugins.list[i].state == FB_PLUGIN_OPENED)
			plugin_init(&ctxs[i]);
	}
}

/* Worker teardown: fini in reverse order. */
void
fb_plugins_fini(void)
{
	int	i;

	for (i = plugins.n - 1; i >= 0; i--) {
		if (plugins.list[i].state == FB_PLUGIN_LOADED)
			plugin_fini(&ctxs[i]);
	}
}

int
fb_plugin_is_disabled(const struct fb_plugin_ctx *pc)
{
	return (guard != NULL &&
	    __atomic_load_n(&guard->disabled[pc->index], __ATOMIC_RELAXED));
}

/* Marks pc's code as running in this worker (for logs and the guard). */
void
fb_plugin_enter(struct fb_plugin_ctx *pc, uint64_t serial)
{
	int32_t	*slot = guard_slot();

	fb_plugin_cur = pc;
	fb_plugin_serial = serial;
	if (slot != NULL)
		__atomic_store_n(slot, pc->in_init ? -(pc->index + 1) :
		    pc->index + 1, __ATOMIC_RELAXED);
}

void
fb_plugin_leave(void)
{
	int32_t	*slot = guard_slot();

	fb_plugin_cur = NULL;
	fb_plugin_serial = 0;
	if (slot != NULL)
		__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
}

void
fb_plugin_log(const struct fb_plugin_ctx *pc, int level, const char *fmt,
    ...)
{
	va_list	ap;
	char	msg[768];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fb_log(level, "plugin %s: %s", pc != NULL ? pc->rec->name : "?",
	    msg);
}

/* GET /api/plugins (admin): every listed plugin, its state and routes. */
int
fb_plugin_list(struct http_request *req)
{
	static const char *const	 none[] = { NULL };
	struct fb_ctx			 ctx;
	struct fb_buf			 b;
	struct fb_err			 err = { 0, "" };
	int				 i;

	if (fb_ctx_begin(&ctx, req, FB_R_PLUGINS, FB_ALLOW_GET, 0) != FB_OK) {
		fb_ctx_end(&ctx);
		return (KORE_RESULT_OK);
	}
	if (fb_params_allow(&ctx.params, none, &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (fb_auth_require_admin(&ctx) == FB_OK) {
		fb_buf_init(&b, 4096);
		fb_buf_appendf(&b, "{\"host_abi\":\"%d.%d\",\"conf\":",
		    FB_PLUGIN_ABI_MAJOR, FB_PLUGIN_ABI_MINOR);
		fb_json_cstr(&b, plugins.has_conf ? plugins.conf : NULL);
		fb_buf_appendf(&b, ",\"conf_errors\":%d,\"conf_error\":",
		    plugins.n_errors);
		fb_json_cstr(&b, plugins.n_errors ? plugins.first_error : NULL);
		fb_buf_appendf(&b, ",\"worker\":%u,\"plugins\":[",
		    worker != NULL ? worker->id : 0);
		for (i = 0; i < plugins.n; i++) {
			if (i > 0)
				fb_buf_appendc(&b, ',');
			list_plugin(&b, &ctxs[i]);
		}
		fb_buf_appends(&b, "]}");
		fb_reply_json(&ctx, 200, &b);
		fb_buf_cleanup(&b);
	}
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/*
 * init, then commit its claims only if init succeeded and every claim
 * was good; otherwise the claims are dropped and the plugin refused.
 */
static void
plugin_init(struct fb_plugin_ctx *pc)
{
	struct fb_plugin_rec	*rec = pc->rec;
	int			 first = fb_n_routes, rc;

	pc->desc = rec->entry;
	if (fb_plugin_is_disabled(pc)) {
		fb_plugin_refuse(rec, "plugin %s: disabled: it crashed a "
		    "worker", rec->name);
		fb_log(FB_LOG_ERROR, "%s; skipped", rec->reason);
		return;
	}
	pc->in_init = 1;
	fb_plugin_enter(pc, 0);
	rc = pc->desc->init(pc, &fb_plugin_api);
	fb_plugin_leave();
	pc->in_init = 0;
	if (rc == FB_OK && !pc->has_failed) {
		rec->state = FB_PLUGIN_LOADED;
		fb_log(worker != NULL && worker->id == 1 ? FB_LOG_INFO :
		    FB_LOG_DEBUG, "plugin %s: loaded from %s, ABI %u.%u, %d "
		    "routes", rec->name, rec->path, (unsigned)rec->abi_major,
		    (unsigned)rec->abi_minor, fb_n_routes - first);
		return;
	}
	fb_n_routes = first;
	if (!pc->has_failed)
		fb_plugin_refuse(rec, "plugin %s: init failed (returned %d)",
		    rec->name, rc);
	else if (rc == FB_OK)
		plugin_fini(pc);
	rec->state = FB_PLUGIN_REFUSED;
	fb_log(FB_LOG_ERROR, "%s; skipped", rec->reason);
}

static void
plugin_fini(struct fb_plugin_ctx *pc)
{
	int	rc;

	if (pc->desc->fini == NULL)
		return;
	fb_plugin_enter(pc, 0);
	rc = pc->desc->fini();
	fb_plugin_leave();
	if (rc != FB_OK)
		fb_plugin_log(pc, FB_LOG_WARN, "fini returned %d", rc);
}

/*
 * A restarted worker finds its slot still set when its predecessor died
 * inside plugin code: count the crash, and disable the plugin if it died
 * in init or has crashed GUARD_STRIKES times.
 */
static void
guard_check(void)
{
	int32_t	*slot = guard_slot(), running, i, n;

	if (slot == NULL || (running = *slot) == 0)
		return;
	*slot = 0;
	i = (running > 0 ? running : -running) - 1;
	if (i >= plugins.n)
		return;
	n = __atomic_add_fetch(&guard->crashes[i], 1, __ATOMIC_RELAXED);
	fb_log(FB_LOG_ERROR, "plugin %s: worker %u died in its %s (crash "
	    "%d)", plugins.list[i].name, worker->id, running < 0 ? "init" :
	    "code", n);
	if (running < 0 || n >= GUARD_STRIKES) {
		__atomic_store_n(&guard->disabled[i], 1, __ATOMIC_RELAXED);
		fb_log(FB_LOG_ERROR, "plugin %s: disabled in every worker "
		    "until the server restarts", plugins.list[i].name);
	}
}

static int32_t *
guard_slot(void)
{
	if (guard == NULL || worker == NULL || worker->id >= GUARD_WORKERS)
		return (NULL);
	return (&guard->slot[worker->id].running);
}

static void
list_plugin(struct fb_buf *b, struct fb_plugin_ctx *pc)
{
	struct fb_plugin_rec	*rec = pc->rec;
	const char		*state = "refused";

	if (rec->state == FB_PLUGIN_LOADED)
		state = fb_plugin_is_disabled(pc) ? "disabled" : "loaded";
	fb_buf_appendc(b, '{');
	fb_json_key(b, "name");
	fb_json_cstr(b, rec->name);
	fb_buf_appendc(b, ',');
	fb_json_key(b, "path");
	fb_json_cstr(b, rec->path);
	fb_buf_appends(b, ",\"abi\":");
	if (rec->abi_major == 0 && rec->abi_minor == 0)
		fb_buf_appends(b, "null");
	else
		fb_buf_appendf(b, "\"%u.%u\"", (unsigned)rec->abi_major,
		    (unsigned)rec->abi_minor);
	fb_buf_appendf(b, ",\"state\":\"%s\",\"reason\":", state);
	fb_json_cstr(b, rec->state == FB_PLUGIN_REFUSED ? rec->reason : NULL);
	fb_buf_appendf(b, ",\"crashes\":%d,\"routes\":[", guard == NULL ? 0 :
	    __atomic_load_n(&guard->crashes[pc->index], __ATOMIC_RELAXED));
	list_routes(b, pc);
	fb_buf_appends(b, "]}");
}

static void
list_routes(struct fb_buf *b, struct fb_plugin_ctx *pc)
{
	struct fb_plugin_route	*r;
	char		 methods[64];
	int		 i, n = 0;

	for (i = 0; i < fb_n_routes; i++) {
		r = &fb_routes[i];
		if (r->pc != pc)
			continue;
		fb_plugin_methods_text(r->flags, methods, sizeof(methods));
		fb_buf_appends(b, n++ > 0 ? ",{" : "{");
		fb_json_key(b, "path");
		fb_buf_appendf(b, "\"%s%s\",\"methods\":\"%s\",\"data\":%s,"
		    "\"cache\":%s}", r->path, r->is_prefix ? "*" : "", methods,
		    r->flags & (FB_ROUTE_DATA | FB_ROUTE_CACHE) ? "true" :
		    "false", r->flags & FB_ROUTE_CACHE ? "true" : "false");
	}
}
