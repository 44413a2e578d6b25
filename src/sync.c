/*
 * The sync inside Kore: the schedule and the task thread.
 *
 * Only worker 1 arms the schedule: a 1 s Kore timer that starts a run
 * shortly after start-up and then every SYNC_INTERVAL_HOURS.  Any worker
 * can start a run for POST /api/sync.  A run takes the database lock on
 * the worker (briefly: it is one small write), then the fetch and the
 * write transaction happen in a Kore task thread with its own SQLite
 * connection, Lua state and curl handle, so HTTP never waits on them.
 * Between runs, worker 1's timer also feeds the release-details job
 * (enrich.c) a batch at a time.  When data changes, every worker
 * notices through the data version on its next request; no message is
 * needed.
 */
#include "server.h"

#include <kore/tasks.h>

#define FIRST_RUN_DELAY_MS	3000
#define TICK_MS			1000
#define LOCK_BUSY_MS		100
#define ENRICH_BATCH		50

struct sync_job {
	int64_t		run_id;
	int		flags;
	const char	*trigger;
};

static struct kore_task	sync_task, enrich_task;
static struct sync_job	job;
static int		is_busy, is_enriching;
static volatile int	is_stopping;
static uint64_t		next_run_ms;

static void	sync_tick(void *, u_int64_t);
static int	sync_entry(struct kore_task *);
static void	sync_done(struct kore_task *);
static void	sync_schedule(uint64_t, uint64_t);
static void	enrich_start(void);
static int	enrich_entry(struct kore_task *);
static void	enrich_done(struct kore_task *);

void
fb_sync_worker_init(void)
{
	if (worker->id != 1 || fb_cfg.discogs_token[0] == '\0')
		return;
	if (fb_cfg.enable_auto_sync)
		sync_schedule(kore_time_ms(), FIRST_RUN_DELAY_MS);
	else
		next_run_ms = UINT64_MAX;
	(void)kore_timer_add(sync_tick, TICK_MS, NULL, 0);
}

void
fb_sync_worker_stop(void)
{
	is_stopping = 1;
}

/*
 * Takes the lock (recording the run) and starts the task.  FB_ERR with
 * err->code 409 when a run is already going, here or elsewhere.
 */
int
fb_sync_start(const char *trigger, int flags, int64_t *run_id,
    struct fb_err *err)
{
	int	rc;

	if (is_busy) {
		err->code = 409;
		fb_err_set(err, "a sync is already running (run %lld)",
		    (long long)job.run_id);
		return (FB_ERR);
	}
	sqlite3_busy_timeout(fb_w.db.h, LOCK_BUSY_MS);
	rc = fb_sync_lock(&fb_w.db, run_id, trigger, flags, err);
	sqlite3_busy_timeout(fb_w.db.h, FB_DB_BUSY_TIMEOUT_MS);
	if (rc != FB_OK)
		return (FB_ERR);
	job.run_id = *run_id;
	job.flags = flags;
	job.trigger = trigger;
	is_busy = 1;
	kore_task_create(&sync_task, sync_entry);
	kore_task_bind_callback(&sync_task, sync_done);
	kore_task_run(&sync_task);
	return (FB_OK);
}

static void
sync_tick(void *arg, u_int64_t now)
{
	struct fb_err	err = { 0, "" };
	int64_t		run_id;

	(void)arg;
	if (!fb_w.db_ok || is_busy)
		return;
	if (now < next_run_ms) {
		enrich_start();
		return;
	}
	if (fb_sync_start("schedule", 0, &run_id, &err) != FB_OK) {
		fb_log(FB_LOG_INFO, "scheduled sync skipped: %s", err.msg);
		sync_schedule(now, 60000);
		return;
	}
	sync_schedule(now, (uint64_t)(fb_cfg.sync_interval_hours * 3600e3));
}

/* Remembers the next run, for this timer and for /api/sync/status. */
static void
sync_schedule(uint64_t now, uint64_t delay_ms)
{
	next_run_ms = now + delay_ms;
	if (!fb_w.db_ok)
		return;
	/* On the event loop: never wait for a sync's write transaction. */
	sqlite3_busy_timeout(fb_w.db.h, LOCK_BUSY_MS);
	(void)fb_db_meta_set(&fb_w.db, "sync_next_at",
	    fb_time_now() + (int64_t)(delay_ms / 1000), NULL);
	sqlite3_busy_timeout(fb_w.db.h, FB_DB_BUSY_TIMEOUT_MS);
}

/* The task thread: its own connection and rules; never worker state. */
static int
sync_entry(struct kore_task *t)
{
	struct fb_sync	 s;
	struct fb_rules	 rules;
	struct fb_db	 db;
	struct fb_err	 err = { 0, "" };
	int		 rc = FB_ERR;

	(void)t;
	memset(&s, 0, sizeof(s));
	memset(&rules, 0, sizeof(rules));
	rules.report = fb_rules_worker_report;	/* counted, logged once */
	s.run_id = job.run_id;
	s.flags = job.flags;
	s.cancel = &is_stopping;
	if (fb_db_open(&db, fb_cfg.db_path, &err) != FB_OK) {
		fb_log(FB_LOG_ERROR, "sync run %lld: %s",
		    (long long)s.run_id, err.msg);
		return (rc);
	}
	if (fb_rules_init(&rules, fb_cfg.scripts_dir, &err) == FB_OK) {
		s.db = &db;
		s.rules = &rules;
		rc = fb_sync_run(&s, job.trigger);
		fb_metrics_sync(s.status, s.requests, s.rate_limited,
		    s.retries);
		fb_rules_cleanup(&rules);
	} else
		fb_log(FB_LOG_ERROR, "sync: rules: %s", err.msg);
	if (rc != FB_OK && s.status[0] == '\0')
		fb_sync_unlock(&db, s.run_id);
	fb_db_close(&db);
	return (rc);
}

static void
sync_done(struct kore_task *t)
{
	if (kore_task_state(t) != KORE_TASK_STATE_FINISHED)
		return;
	kore_task_destroy(t);
	is_busy = 0;
}

/* Release details, a batch at a time, when no sync runs here. */
static void
enrich_start(void)
{
	if (is_enriching || fb_db_count(&fb_w.db, "SELECT EXISTS (SELECT 1 "
	    "FROM releases WHERE state = 'pending')") != 1)
		return;
	is_enriching = 1;
	kore_task_create(&enrich_task, enrich_entry);
	kore_task_bind_callback(&enrich_task, enrich_done);
	kore_task_run(&enrich_task);
}

static int
enrich_entry(struct kore_task *t)
{
	struct fb_sync	s;
	struct fb_db	db;
	int		n;

	(void)t;
	memset(&s, 0, sizeof(s));
	s.cancel = &is_stopping;
	if (fb_db_open(&db, fb_cfg.db_path, NULL) != FB_OK)
		return (FB_ERR);
	s.db = &db;
	fb_pacer_init(&s.pacer, fb_cfg.discogs_min_interval_ms);
	n = fb_enrich_batch(&s, ENRICH_BATCH);
	if (n != 0)
		fb_log(FB_LOG_INFO, "release details: %d fetched%s", n < 0 ?
		    (int)s.requests : n, n < 0 ? ", paused" : "");
	fb_metrics_sync("", s.requests, s.rate_limited, 0);
	fb_db_close(&db);
	return (FB_OK);
}

static void
enrich_done(struct kore_task *t)
{
	if (kore_task_state(t) != KORE_TASK_STATE_FINISHED)
		return;
	kore_task_destroy(t);
	is_enriching = 0;
}
