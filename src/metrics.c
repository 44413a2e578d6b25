/*
 * Metrics in the Prometheus text format, summed over every worker.
 *
 * The counters live in one anonymous MAP_SHARED region made by the parent
 * before the workers fork, and are bumped with atomic adds, so whichever
 * worker answers /metrics sees the whole server.  Statuses are counted
 * per route and code; latencies go into fixed histogram buckets.
 */
#include <sys/mman.h>

#include <stddef.h>

#include "server.h"

#define N_STATUS	16		/* distinct codes kept per route */
#define N_BUCKETS	12

struct route_stats {
	uint64_t	status_code[N_STATUS];
	uint64_t	status_count[N_STATUS];
	uint64_t	bucket[N_BUCKETS];
	uint64_t	count;
	uint64_t	sum_us;
};

struct shared_metrics {
	struct route_stats	routes[FB_R_MAX];
	uint64_t		rules_errors[FB_SCRIPT_N];
	uint64_t		rules_call_failures[FB_SCRIPT_N];
	uint64_t		rules_reloads[FB_SCRIPT_N];
	uint64_t		rules_last_key[FB_SCRIPT_N];
	uint64_t		sync_runs[3];	/* succeeded, failed, held */
	uint64_t		sync_requests, sync_429s, sync_retries;
	uint64_t		sync_last_success;	/* unix time */
	uint64_t		discogs_last_request;	/* fb_pacer_shared */
	uint64_t		cache[3];	/* hits, stores, evictions */
};

static const char	*sync_outcomes[3] = { "succeeded", "failed", "held" };

static struct shared_metrics	*shm;

static const char	*route_names[FB_R_MAX] = {
	"/healthz", "/metrics", "/api/data", "/api/data/{listing_id}",
	"/api/search", "/api/filter", "/api/facets", "unknown",
	"/api/plugins", "plugin", "/api/rules", "/api/sync",
	"/api/sync/status", "/api/sync/runs",
	"/", "/detail/{listing_id}", "/cart", "/admin", "/static",
	"/api/admin/login", "/api/admin/logout", "/api/admin/session",
};

static const uint64_t	bucket_us[N_BUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	1000000, UINT64_MAX
};

static void	render_counts(struct fb_buf *, int);
static void	render_sync(struct fb_buf *);
static void	render_histogram(struct fb_buf *, int);
static void	render_rules(struct fb_buf *);

int
fb_metrics_init(struct fb_err *err)
{
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		shm = NULL;
		fb_err_set(err, "metrics: mmap: %s", strerror(errno));
		return (FB_ERR);
	}
	fb_pacer_shared = &shm->discogs_last_request;	/* one budget */
	return (FB_OK);
}

void
fb_metrics_record(enum fb_route route, int status, uint64_t us)
{
	struct route_stats	*r;
	uint64_t		 code;
	int			 i;

	if (shm == NULL)
		return;
	r = &shm->routes[route];
	for (i = 0; i < N_STATUS; i++) {
		code = __atomic_load_n(&r->status_code[i], __ATOMIC_RELAXED);
		if (code == 0 && __atomic_compare_exchange_n(
		    &r->status_code[i], &code, (uint64_t)status, 0,
		    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			code = (uint64_t)status;
		if (code == (uint64_t)status) {
			__atomic_add_fetch(&r->status_count[i], 1,
			    __ATOMIC_RELAXED);
			break;
		}
	}
	for (i = 0; us > bucket_us[i]; i++)
		;
	__atomic_add_fetch(&r->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->sum_us, us, __ATOMIC_RELAXED);
}

void
fb_metrics_render(struct fb_buf *b, int64_t active)
{
	int	i;

	fb_buf_appends(b,
	    "# HELP fb_http_requests_total HTTP requests by route and "
	    "status.\n# TYPE fb_http_requests_total counter\n");
	for (i = 0; shm != NULL && i < FB_R_MAX; i++)
		render_counts(b, i);
	fb_buf_appends(b, "# HELP fb_http_request_duration_seconds "
	    "Time from the handler's start to the answer.\n"
	    "# TYPE fb_http_request_duration_seconds histogram\n");
	for (i = 0; shm != NULL && i < FB_R_MAX; i++)
		render_histogram(b, i);
	fb_buf_appends(b,
	    "# HELP fb_listings_active Listings currently for sale.\n"
	    "# TYPE fb_listings_active gauge\n");
	fb_buf_appendf(b, "fb_listings_active %lld\n", (long long)active);
	if (shm != NULL) {
		render_rules(b);
		render_sync(b);
		fb_buf_appendf(b, "# HELP fb_cache_events_total Response cache "
		    "hits, stores and evictions (all workers).\n"
		    "# TYPE fb_cache_events_total counter\n"
		    "fb_cache_events_total{event=\"hit\"} %llu\n"
		    "fb_cache_events_total{event=\"store\"} %llu\n"
		    "fb_cache_events_total{event=\"evict\"} %llu\n",
		    (unsigned long long)shm->cache[0],
		    (unsigned long long)shm->cache[1],
		    (unsigned long long)shm->cache[2]);
	}
	fb_admin_metrics(b);
}

/* A response-cache event (FB_CACHE_HIT, _STORE, _EVICT). */
void
fb_metrics_cache(int event)
{
	if (shm != NULL && event >= 0 && event < 3)
		__atomic_add_fetch(&shm->cache[event], 1, __ATOMIC_RELAXED);
}

/* A finished sync run (from its task thread): outcome and requests. */
void
fb_metrics_sync(const char *status, int64_t requests, int64_t r429,
    int64_t retries)
{
	int	i;

	if (shm == NULL)
		return;
	for (i = 0; i < 3; i++) {
		if (strcmp(status, sync_outcomes[i]) == 0)
			__atomic_add_fetch(&shm->sync_runs[i], 1,
			    __ATOMIC_RELAXED);
	}
	if (strcmp(status, "succeeded") == 0)
		__atomic_store_n(&shm->sync_last_success,
		    (uint64_t)fb_time_now(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->sync_requests, (uint64_t)requests,
	    __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->sync_429s, (uint64_t)r429, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->sync_retries, (uint64_t)retries,
	    __ATOMIC_RELAXED);
}

static void
render_sync(struct fb_buf *b)
{
	int	i;

	fb_buf_appends(b, "# HELP fb_sync_runs_total Finished sync runs by "
	    "outcome.\n# TYPE fb_sync_runs_total counter\n");
	for (i = 0; i < 3; i++)
		fb_buf_appendf(b, "fb_sync_runs_total{status=\"%s\"} %llu\n",
		    sync_outcomes[i], (unsigned long long)shm->sync_runs[i]);
	fb_buf_appendf(b, "# HELP fb_sync_last_success_timestamp_seconds "
	    "When the last sync succeeded.\n# TYPE "
	    "fb_sync_last_success_timestamp_seconds gauge\n"
	    "fb_sync_last_success_timestamp_seconds %llu\n"
	    "# HELP fb_discogs_requests_total Requests sent to Discogs.\n"
	    "# TYPE fb_discogs_requests_total counter\n"
	    "fb_discogs_requests_total %llu\n"
	    "# HELP fb_discogs_rate_limited_total Answers 429 from Discogs.\n"
	    "# TYPE fb_discogs_rate_limited_total counter\n"
	    "fb_discogs_rate_limited_total %llu\n"
	    "# HELP fb_discogs_retries_total Requests to Discogs tried again."
	    "\n# TYPE fb_discogs_retries_total counter\n"
	    "fb_discogs_retries_total %llu\n",
	    (unsigned long long)shm->sync_last_success,
	    (unsigned long long)shm->sync_requests,
	    (unsigned long long)shm->sync_429s,
	    (unsigned long long)shm->sync_retries);
}

/*
 * A rules event (FB_RULES_*) of one script.  key names one change of one
 * file (its content and stat), the same in every worker: a load, refusal
 * or removal is counted once however many workers see it, and only the
 * first to see it gets 1 (and logs it).  Run-time failures of a hook are
 * counted every time.
 */
int
fb_metrics_rules(int script, int kind, uint64_t key)
{
	uint64_t	old;

	if (shm == NULL || script < 0 || script >= FB_SCRIPT_N)
		return (1);
	if (kind == FB_RULES_CALL_FAILED) {
		__atomic_add_fetch(&shm->rules_call_failures[script], 1,
		    __ATOMIC_RELAXED);
		return (1);
	}
	old = __atomic_load_n(&shm->rules_last_key[script], __ATOMIC_RELAXED);
	do {
		if (old == key)
			return (0);
	} while (!__atomic_compare_exchange_n(&shm->rules_last_key[script],
	    &old, key, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	__atomic_add_fetch(kind == FB_RULES_LOADED ?
	    &shm->rules_reloads[script] : &shm->rules_errors[script], 1,
	    __ATOMIC_RELAXED);
	return (1);
}

static void
render_counts(struct fb_buf *b, int route)
{
	struct route_stats	*r = &shm->routes[route];
	int			 i;

	for (i = 0; i < N_STATUS && r->status_code[i] != 0; i++)
		fb_buf_appendf(b, "fb_http_requests_total{route=\"%s\","
		    "status=\"%llu\"} %llu\n", route_names[route],
		    (unsigned long long)r->status_code[i],
		    (unsigned long long)r->status_count[i]);
}

/* fb_rules_*_total{script="..."}: every script, zeros included. */
static void
render_rules(struct fb_buf *b)
{
	static const struct {
		const char	*name, *help;
		size_t		 off;
	} series[] = {
		{ "fb_rules_errors_total", "Rule files refused (compile, "
		    "missing function, self-check) or missing, by script.",
		    offsetof(struct shared_metrics, rules_errors) },
		{ "fb_rules_call_failures_total", "Rule calls that failed at "
		    "run time (the failure policy applied), by script.",
		    offsetof(struct shared_metrics, rules_call_failures) },
		{ "fb_rules_reloads_total", "New rule versions that went "
		    "live, by script.",
		    offsetof(struct shared_metrics, rules_reloads) },
	};
	const uint64_t	*v;
	size_t		 i;
	int		 j;

	for (i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
		fb_buf_appendf(b, "# HELP %s %s\n# TYPE %s counter\n",
		    series[i].name, series[i].help, series[i].name);
		v = (const uint64_t *)(const void *)((const char *)shm +
		    series[i].off);
		for (j = 0; j < FB_SCRIPT_N; j++)
			fb_buf_appendf(b, "%s{script=\"%s\"} %llu\n",
			    series[i].name, fb_script_files[j],
			    (unsigned long long)__atomic_load_n(&v[j],
			    __ATOMIC_RELAXED));
	}
}

static void
render_histogram(struct fb_buf *b, int route)
{
	struct route_stats	*r = &shm->routes[route];
	const char		*name = route_names[route];
	uint64_t		 cum = 0;
	int			 i;

	for (i = 0; i < N_BUCKETS; i++) {
		cum += r->bucket[i];
		if (bucket_us[i] == UINT64_MAX)
			fb_buf_appendf(b, "fb_http_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)cum);
		else
			fb_buf_appendf(b, "fb_http_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"%g\"} %llu\n", name,
			    bucket_us[i] / 1e6, (unsigned long long)cum);
	}
	fb_buf_appendf(b, "fb_http_request_duration_seconds_sum{route=\"%s\"}"
	    " %g\nfb_http_request_duration_seconds_count{route=\"%s\"} "
	    "%llu\n", name, r->sum_us / 1e6, name,
	    (unsigned long long)r->count);
}
