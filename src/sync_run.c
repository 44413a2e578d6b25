/*
 * One sync run from start to finish, for the server's task thread and
 * for the CLI alike: take the lock (which records the run), fetch every
 * page, apply, record the outcome, release the lock.
 *
 * The lock is meta.sync_lock = the running run's id, taken in one
 * BEGIN IMMEDIATE so two workers or a worker and the CLI cannot both get
 * it.  A run refreshes sync_lock_at as it works; a lock nobody refreshed
 * for LOCK_STALE_S belongs to a dead process, and its run is marked
 * failed as interrupted.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"

#define LOCK_STALE_S		300
#define HEARTBEAT_MS		10000

static int	run_finish(struct fb_sync *);
static int	recover(struct fb_db *, int, struct fb_err *);
static void	run_heartbeat(struct fb_sync *, const char *);
static void	run_held(struct fb_sync *);

/* FB_OK with a new run id; FB_ERR with err->code 409 when one runs. */
int
fb_sync_lock(struct fb_db *db, int64_t *run_id, const char *trigger,
    int flags, struct fb_err *err)
{
	int64_t	lock = 0, at = 0, now = fb_time_now();
	char	sql[512], iso[32];

	if (fb_db_begin(db, err) != FB_OK) {
		err->code = 409;
		fb_err_set(err, "the database is busy (a sync or an import is "
		    "writing); try again shortly");
		return (FB_ERR);
	}
	(void)fb_db_meta_get(db, "sync_lock", &lock);
	(void)fb_db_meta_get(db, "sync_lock_at", &at);
	if (lock != 0 && now - at < LOCK_STALE_S) {
		fb_db_rollback(db);
		err->code = 409;
		fb_err_set(err, "a sync is already running (run %lld)",
		    (long long)lock);
		return (FB_ERR);
	}
	if (lock != 0 && fb_sync_recover(db, err) != FB_OK)
		goto fail;
	fb_time_iso(iso, sizeof(iso), now);
	(void)snprintf(sql, sizeof(sql), "INSERT INTO sync_runs (status, "
	    "trigger, is_forced, is_dry_run, started_at) VALUES ('running', "
	    "'%s', %d, %d, '%s')", trigger, (flags & FB_SYNC_FORCE) != 0,
	    (flags & FB_SYNC_DRY_RUN) != 0, iso);
	if (fb_db_exec(db, sql, err) != FB_OK)
		goto fail;
	*run_id = sqlite3_last_insert_rowid(db->h);
	if (fb_db_meta_set(db, "sync_lock", *run_id, err) != FB_OK ||
	    fb_db_meta_set(db, "sync_lock_at", now, err) != FB_OK ||
	    fb_db_commit(db, err) != FB_OK)
		goto fail;
	return (FB_OK);
fail:
	fb_db_rollback(db);
	return (FB_ERR);
}

void
fb_sync_unlock(struct fb_db *db, int64_t run_id)
{
	char	sql[128];

	(void)snprintf(sql, sizeof(sql), "UPDATE meta SET value = 0 WHERE "
	    "key = 'sync_lock' AND value = %lld", (long long)run_id);
	(void)fb_db_exec(db, sql, NULL);
}

/* Runs left 'running' by a process that died are failed, the lock freed. */
int
fb_sync_recover(struct fb_db *db, struct fb_err *err)
{
	return (recover(db, 1, err));
}

/*
 * At server start: the server's own runs left 'running' died with the
 * previous process; a CLI run is only presumed dead once its heartbeat
 * is older than 30 s.
 */
int
fb_sync_recover_at_start(struct fb_db *db, struct fb_err *err)
{
	int64_t	lock = 0, at = 0;

	(void)fb_db_meta_get(db, "sync_lock", &lock);
	(void)fb_db_meta_get(db, "sync_lock_at", &at);
	return (recover(db, lock != 0 && fb_time_now() - at > 30, err));
}

/* Fails the dead runs (CLI runs too when cli_dead) and frees the lock. */
static int
recover(struct fb_db *db, int cli_dead, struct fb_err *err)
{
	char	iso[32], sql[640];

	fb_time_iso(iso, sizeof(iso), fb_time_now());
	(void)snprintf(sql, sizeof(sql), "UPDATE sync_runs SET status = "
	    "'failed', finished_at = '%s', error = 'interrupted: the process "
	    "stopped during the run; nothing was applied' WHERE status = "
	    "'running' AND (trigger <> 'cli' OR %d);"
	    "UPDATE meta SET value = 0 WHERE key = 'sync_lock' AND NOT EXISTS"
	    " (SELECT 1 FROM sync_runs WHERE status = 'running')", iso,
	    cli_dead);
	return (fb_db_exec(db, sql, err));
}

/* Fetch and apply for the run s->run_id holds the lock for. */
int
fb_sync_run(struct fb_sync *s, const char *trigger)
{
	uint64_t	start = fb_time_mono_us();
	int		rc;

	fb_pacer_init(&s->pacer, fb_cfg.discogs_min_interval_ms);
	fb_log(FB_LOG_INFO, "sync run %lld started (%s%s)",
	    (long long)s->run_id, trigger,
	    (s->flags & FB_SYNC_DRY_RUN) ? ", dry run" : "");
	if (fb_cfg.discogs_token[0] == '\0' || fb_cfg.discogs_seller[0] ==
	    '\0') {
		(void)snprintf(s->error, sizeof(s->error), "no DISCOGS_TOKEN "
		    "or DISCOGS_SELLER_USERNAME set");
		rc = FB_ERR;
	} else if ((rc = fb_sync_fetch(s)) == FB_OK)
		rc = fb_sync_apply(s);
	fb_sync_stage_close(s);
	(void)snprintf(s->status, sizeof(s->status), "%s", rc != FB_OK ?
	    "failed" : s->held_removals > 0 ? "held" : "succeeded");
	if (s->held_removals > 0)
		run_held(s);
	else if (rc == FB_OK && s->skipped > 0)
		(void)snprintf(s->error, sizeof(s->error), "%lld listings "
		    "skipped and left as they were, map() failed on them; the "
		    "first: %s", (long long)s->skipped, s->skip_error);
	(void)run_finish(s);
	fb_log(rc == FB_OK ? FB_LOG_INFO : FB_LOG_WARN, "sync run %lld %s in "
	    "%.1f s: %lld added, %lld updated, %lld removed, %lld skipped, "
	    "%lld requests%s%s", (long long)s->run_id, s->status,
	    (double)(fb_time_mono_us() - start) / 1e6, (long long)s->added,
	    (long long)s->updated, (long long)s->removed,
	    (long long)s->skipped, (long long)s->requests,
	    s->error[0] ? ": " : "", s->error);
	return (rc);
}

/*
 * A held run applied nothing, so it counts nothing (as its empty list of
 * changes says); what it would have done goes in its error.  A dry run
 * keeps its counts: they are what it reports.
 */
static void
run_held(struct fb_sync *s)
{
	(void)snprintf(s->error, sizeof(s->error), "held: %lld active "
	    "listings would be removed (%lld added, %lld updated), more than "
	    "SYNC_MAX_REMOVE_FRACTION allows; nothing applied (force it from "
	    "/admin or POST /api/sync {\"force\": true})",
	    (long long)s->held_removals, (long long)s->added,
	    (long long)s->updated);
	if (!(s->flags & FB_SYNC_DRY_RUN))
		s->added = s->updated = s->removed = 0;
}

/* Waits until the pacer lets a request go, and takes its slot. */
int
fb_sync_pace(struct fb_sync *s)
{
	uint64_t	wait;

	while ((wait = fb_pacer_claim(&s->pacer,
	    fb_time_mono_us() / 1000)) > 0) {
		if (fb_sync_sleep(s, wait) != FB_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

/* Sleeps ms in short slices, keeping the lock alive; FB_ERR if cancelled. */
int
fb_sync_sleep(struct fb_sync *s, uint64_t ms)
{
	struct timespec	ts;
	uint64_t	slice, since_beat = 0;

	if (ms >= 1000)
		fb_log(FB_LOG_INFO, "sync: waiting %.1f s (rate limit)",
		    (double)ms / 1000);
	while (ms > 0) {
		if (s->cancel != NULL && *s->cancel) {
			(void)snprintf(s->error, sizeof(s->error), "stopped: "
			    "the server is shutting down");
			return (FB_ERR);
		}
		slice = ms < 100 ? ms : 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(slice * 1000000);
		(void)nanosleep(&ts, NULL);
		ms -= slice;
		if ((since_beat += slice) >= HEARTBEAT_MS) {
			run_heartbeat(s, "waiting for the rate limit");
			since_beat = 0;
		}
	}
	return (FB_OK);
}

/* The run's row: final status and counts; a dry run leaves no row. */
static int
run_finish(struct fb_sync *s)
{
	sqlite3_stmt	*st;
	char		 iso[32];
	int		 rc;

	fb_sync_unlock(s->db, s->run_id);
	if (s->flags & FB_SYNC_DRY_RUN) {
		st = fb_db_prepare(s->db, "DELETE FROM sync_runs WHERE id = ?",
		    NULL);
		sqlite3_bind_int64(st, 1, s->run_id);
	} else {
		fb_time_iso(iso, sizeof(iso), fb_time_now());
		st = fb_db_prepare(s->db, "UPDATE sync_runs SET status = ?, "
		    "finished_at = ?, added = ?, updated = ?, removed = ?, "
		    "skipped = ?, pages = ?, requests = ?, retries = ?, "
		    "error = ?, progress = NULL WHERE id = ?", NULL);
		if (st == NULL)
			return (FB_ERR);
		sqlite3_bind_text(st, 1, s->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, iso, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, s->added);
		sqlite3_bind_int64(st, 4, s->updated);
		sqlite3_bind_int64(st, 5, s->removed);
		sqlite3_bind_int64(st, 6, s->skipped);
		sqlite3_bind_int64(st, 7, s->pages);
		sqlite3_bind_int64(st, 8, s->requests);
		sqlite3_bind_int64(st, 9, s->retries);
		if (s->error[0] != '\0')
			sqlite3_bind_text(st, 10, s->error, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, s->run_id);
	}
	rc = st != NULL && sqlite3_step(st) == SQLITE_DONE ? FB_OK : FB_ERR;
	sqlite3_finalize(st);
	return (rc);
}

static void
run_heartbeat(struct fb_sync *s, const char *what)
{
	sqlite3_stmt	*st;

	(void)fb_db_meta_set(s->db, "sync_lock_at", fb_time_now(), NULL);
	st = fb_db_prepare(s->db, "UPDATE sync_runs SET progress = ?, "
	    "pages = ?, requests = ?, retries = ? WHERE id = ?", NULL);
	if (st == NULL)
		return;
	sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, s->pages);
	sqlite3_bind_int64(st, 3, s->requests);
	sqlite3_bind_int64(st, 4, s->retries);
	sqlite3_bind_int64(st, 5, s->run_id);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

/*
 * The fetch reports each page here: log it (a debug line when the CLI
 * draws its own progress) and keep the lock alive.
 */
void
fb_sync_progress(struct fb_sync *s, const char *what)
{
	fb_log(s->on_page != NULL ? FB_LOG_DEBUG : FB_LOG_INFO,
	    "sync run %lld: %s", (long long)s->run_id, what);
	run_heartbeat(s, what);
}
