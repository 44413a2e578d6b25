/*
 * The rules inside a Kore worker: the worker's own Lua state, the timer
 * that picks up a saved script within RULES_TICK_MS * 2, and GET
 * /api/rules.
 *
 * Each worker loads and checks the scripts by itself, so every worker
 * follows a change without messages between them.  The sync task's own
 * rules report through fb_rules_worker_report() too.  Loads, refusals and
 * missing files are counted in /metrics and logged once per change,
 * whichever worker sees it first.  A swap clears this worker's response
 * cache, since search order may have changed.  /api/rules is public and
 * read-only: script state and errors, nothing secret.
 */
#include "server.h"

#define RULES_TICK_MS	250

int	fb_api_rules(struct http_request *);

static struct fb_rules	rules;
static int		rules_ok;
static struct kore_timer *rules_timer;

static const char *const	no_params[] = { NULL };

static void	rules_tick(void *, u_int64_t);

/* From kore_worker_configure(): load, then check the files 4 times a s. */
void
fb_rules_worker_init(void)
{
	struct fb_err	err = { 0, "" };

	memset(&rules, 0, sizeof(rules));
	rules.report = fb_rules_worker_report;
	if (fb_rules_init(&rules, fb_cfg.scripts_dir, &err) != FB_OK) {
		fb_log(FB_LOG_ERROR, "worker %u: %s; searches keep text order",
		    worker->id, err.msg);
		return;
	}
	rules_ok = 1;
	fb_search_set_rules(&rules);
	rules_timer = kore_timer_add(rules_tick, RULES_TICK_MS, NULL, 0);
}

void
fb_rules_worker_cleanup(void)
{
	if (rules_timer != NULL)
		kore_timer_remove(rules_timer);
	rules_timer = NULL;
	fb_search_set_rules(NULL);
	if (rules_ok)
		fb_rules_cleanup(&rules);
	rules_ok = 0;
}

/* For ETags of search answers: changes when the rules in force do. */
uint64_t
fb_rules_worker_fingerprint(void)
{
	return (rules_ok ? fb_rules_fingerprint(&rules) : 0);
}

int
fb_api_rules(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };

	if (fb_ctx_begin(&ctx, req, FB_R_RULES, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	if (fb_params_allow(&ctx.params, no_params, &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (!rules_ok)
		fb_reply_error(&ctx, 503, "rules: not loaded (see the log)");
	else {
		fb_buf_init(&b, 4096);
		fb_rules_json(&rules, &b);
		fb_reply_header(&ctx, "cache-control", "no-store");
		fb_reply_json_tagged(&ctx, &b, 0);
		fb_buf_cleanup(&b);
	}
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

static void
rules_tick(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;
	if (fb_rules_poll(&rules))
		fb_cache_clear();
}

/*
 * A rules event: counted once per change across workers (and the sync
 * task), and logged by the first to see it.  Thread-safe: only atomics
 * and fb_log.  Set it as r->report before fb_rules_init().
 */
void
fb_rules_worker_report(void *arg, const struct fb_rules *r, int script,
    int kind, uint64_t key)
{
	(void)arg;
	if (fb_metrics_rules(script, kind, key))
		fb_rules_log(r, script, kind);
}
