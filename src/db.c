/*
 * The SQLite connection: one per worker, per task thread and per CLI run.
 *
 * Opened after the fork, never shared.  WAL lets readers go on while a
 * writer holds its transaction; the busy timeout covers the short moments
 * when they meet.  fb_db_refresh() is the cheap per-request check that
 * tells a worker another connection committed, so caches and ETags move.
 * Start-up problems (missing folder, read-only file) get a message that
 * names DATABASE_URL and the path.
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"


static int	db_check_path(const char *, struct fb_err *);
static int	db_journal(struct fb_db *, const char *, char *, size_t,
		    struct fb_err *);
static int	db_wal(struct fb_db *, struct fb_err *);
static int	db_pragmas(struct fb_db *, struct fb_err *);

/*
 * Process-wide, before the first connection: SQLite's memory statistics
 * take one global mutex on every allocation, which two threads writing
 * at once (an import and its index builder) fight over; nothing here
 * reads them.
 */
void
fb_db_global_init(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
fb_db_open(struct fb_db *db, const char *path, struct fb_err *err)
{
	int	flags;

	memset(db, 0, sizeof(*db));
	if (db_check_path(path, err) != FB_OK)
		return (FB_ERR);
	flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		fb_err_set(err, "DATABASE_URL: cannot open '%s': %s", path,
		    db->h ? sqlite3_errmsg(db->h) : "out of memory");
		fb_db_close(db);
		return (FB_ERR);
	}
	sqlite3_busy_timeout(db->h, FB_DB_BUSY_TIMEOUT_MS);
	if (db_pragmas(db, err) != FB_OK ||
	    fb_rank_register(db->h, err) != FB_OK ||
	    fb_inactive_register(db, err) != FB_OK) {
		fb_db_close(db);
		return (FB_ERR);
	}
	db->pragma_version = -1;
	return (FB_OK);
}

/*
 * Borrowed: the cached statement for id, prepared from sql on first use
 * (NULL sql: only look) and finalized by fb_db_close().  The caller
 * resets it after use.
 */
sqlite3_stmt *
fb_db_stmt(struct fb_db *db, enum fb_stmt_id id, const char *sql,
    struct fb_err *err)
{
	if (db->cache[id] == NULL && sql != NULL)
		db->cache[id] = fb_db_prepare(db, sql, err);
	return (db->cache[id]);
}

void
fb_db_close(struct fb_db *db)
{
	int	i;

	fb_fts_build_free(db);
	for (i = 0; i < FB_ST_MAX; i++)
		sqlite3_finalize(db->cache[i]);
	fb_order_cleanup(&db->order[0]);
	fb_order_cleanup(&db->order[1]);
	fb_order_cleanup(&db->inactive);
	sqlite3_finalize(db->st_version);
	sqlite3_finalize(db->st_data_version);
	if (db->h != NULL)
		sqlite3_close_v2(db->h);
	memset(db, 0, sizeof(*db));
}

int
fb_db_exec(struct fb_db *db, const char *sql, struct fb_err *err)
{
	char	*msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fb_err_set(err, "sqlite: %s", msg ? msg :
		    sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return (FB_ERR);
	}
	return (FB_OK);
}

/* New: the caller finalizes the statement. */
sqlite3_stmt *
fb_db_prepare(struct fb_db *db, const char *sql, struct fb_err *err)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL) != SQLITE_OK) {
		fb_err_set(err, "sqlite: %s", sqlite3_errmsg(db->h));
		return (NULL);
	}
	return (st);
}

/*
 * Brings db->version up to date, re-reading it only when a commit
 * happened since the last call: another connection's (PRAGMA
 * data_version moved) or this one's (total_changes moved).
 */
int
fb_db_refresh(struct fb_db *db)
{
	int64_t	pv, own;

	if (sqlite3_step(db->st_data_version) != SQLITE_ROW) {
		sqlite3_reset(db->st_data_version);
		return (FB_ERR);
	}
	pv = sqlite3_column_int64(db->st_data_version, 0);
	sqlite3_reset(db->st_data_version);
	own = sqlite3_total_changes64(db->h);
	if (pv == db->pragma_version && own == db->own_changes)
		return (FB_OK);
	if (sqlite3_step(db->st_version) != SQLITE_ROW) {
		sqlite3_reset(db->st_version);
		return (FB_ERR);
	}
	db->version = sqlite3_column_int64(db->st_version, 0);
	sqlite3_reset(db->st_version);
	db->pragma_version = pv;
	db->own_changes = own;
	return (FB_OK);
}

/* The first column of the first row of sql, as a number; -1 on error. */
int64_t
fb_db_count(struct fb_db *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if ((st = fb_db_prepare(db, sql, NULL)) == NULL)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (n);
}

/* A number kept in the meta table; FB_ERR when the key is absent. */
int
fb_db_meta_get(struct fb_db *db, const char *key, int64_t *value)
{
	sqlite3_stmt	*st;
	int		 rc = FB_ERR;

	st = fb_db_stmt(db, FB_ST_META_GET,
	    "SELECT value FROM meta WHERE key = ?", NULL);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*value = sqlite3_column_int64(st, 0);
		rc = FB_OK;
	}
	sqlite3_reset(st);
	return (rc);
}

int
fb_db_meta_set(struct fb_db *db, const char *key, int64_t value,
    struct fb_err *err)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = fb_db_stmt(db, FB_ST_META_SET, "INSERT INTO meta (key, value) "
	    "VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
	    "excluded.value", err);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fb_err_set(err, "sqlite: %s", sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

int
fb_db_begin(struct fb_db *db, struct fb_err *err)
{
	return (fb_db_exec(db, "BEGIN IMMEDIATE", err));
}

/*
 * A read snapshot for one request: the data version and the rows it then
 * reads come from the same moment, and SQLite takes its locks (and
 * checks the file) once instead of once per statement.
 */
int
fb_db_read_begin(struct fb_db *db)
{
	sqlite3_stmt	*st = fb_db_stmt(db, FB_ST_BEGIN, "BEGIN", NULL);
	int		 rc;

	if (st == NULL)
		return (FB_ERR);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? FB_OK : FB_ERR);
}

void
fb_db_read_end(struct fb_db *db)
{
	sqlite3_stmt	*st;

	if (sqlite3_get_autocommit(db->h) ||
	    (st = fb_db_stmt(db, FB_ST_COMMIT, "COMMIT", NULL)) == NULL)
		return;
	(void)sqlite3_step(st);
	sqlite3_reset(st);
}

int
fb_db_commit(struct fb_db *db, struct fb_err *err)
{
	return (fb_db_exec(db, "COMMIT", err));
}

void
fb_db_rollback(struct fb_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * A bulk writer alone with the database (no other connection has it
 * open: SQLite then grants the exclusive lock that leaving WAL needs)
 * writes each page once, through a rollback journal with full syncs,
 * instead of into the WAL and again at the checkpoint.  Anybody there
 * keeps it in WAL, and nobody waits: the attempt does not retry.  Until
 * fb_db_solo_end() a connection that arrives waits for the writer's
 * commit, as it would for any rollback-journal writer.  Returns 1 when
 * the connection went solo.
 */
int
fb_db_solo_begin(struct fb_db *db)
{
	char	mode[16];
	int	is_solo;

	sqlite3_busy_timeout(db->h, 0);
	is_solo = db_journal(db, "DELETE", mode, sizeof(mode), NULL) ==
	    SQLITE_ROW && strcmp(mode, "delete") == 0;
	sqlite3_busy_timeout(db->h, FB_DB_BUSY_TIMEOUT_MS);
	db->is_solo = is_solo;		/* from here on, end puts WAL back */
	if (is_solo)
		(void)fb_db_exec(db, "PRAGMA synchronous = FULL", NULL);
	return (is_solo);
}

/* Back to WAL after the commit or rollback. */
void
fb_db_solo_end(struct fb_db *db)
{
	if (!db->is_solo)
		return;
	db->is_solo = 0;
	if (fb_db_exec(db, "PRAGMA journal_mode = WAL", NULL) != FB_OK ||
	    fb_db_exec(db, "PRAGMA synchronous = NORMAL", NULL) != FB_OK)
		fb_log(FB_LOG_WARN, "database left in rollback-journal mode: "
		    "%s (the next connection puts WAL back)",
		    sqlite3_errmsg(db->h));
}

/* Prepares the version statements; needs the schema, so call it after
 * fb_db_migrate() on a new database. */
int
fb_db_prepare_version(struct fb_db *db, struct fb_err *err)
{
	db->st_data_version = fb_db_prepare(db, "PRAGMA data_version", err);
	if (db->st_data_version == NULL)
		return (FB_ERR);
	db->st_version = fb_db_prepare(db,
	    "SELECT value FROM meta WHERE key = 'data_version'", err);
	if (db->st_version == NULL)
		return (FB_ERR);
	return (fb_db_refresh(db) == FB_OK ? FB_OK : FB_ERR);
}

static int
db_check_path(const char *path, struct fb_err *err)
{
	char		 copy[512], *dir;
	struct stat	 st;

	if (strcmp(path, ":memory:") == 0)
		return (FB_OK);
	(void)snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		fb_err_set(err, "DATABASE_URL: folder '%s' does not exist",
		    dir);
		return (FB_ERR);
	}
	if (stat(path, &st) == 0 && (access(path, R_OK | W_OK) == -1 ||
	    (st.st_mode & 0222) == 0)) {
		fb_err_set(err, "DATABASE_URL: '%s' is read-only (mode %04o)",
		    path, (unsigned)(st.st_mode & 07777));
		return (FB_ERR);
	}
	if (access(dir, W_OK | X_OK) == -1) {
		fb_err_set(err, "DATABASE_URL: folder '%s' is not writable "
		    "(SQLite keeps its -wal and -shm files there)", dir);
		return (FB_ERR);
	}
	return (FB_OK);
}

/*
 * PRAGMA journal_mode = mode: SQLITE_ROW with the mode now in force in
 * got, -1 when it cannot even be prepared (err says why), else the step's
 * code (SQLITE_BUSY when another connection holds the lock it needs).
 */
static int
db_journal(struct fb_db *db, const char *mode, char *got, size_t len,
    struct fb_err *err)
{
	sqlite3_stmt	*st;
	char		 sql[48];
	int		 rc;

	(void)snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", mode);
	if ((st = fb_db_prepare(db, sql, err)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		(void)snprintf(got, len, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return (rc);
}

/*
 * WAL, which opening sets.  Leaving a rollback journal needs the
 * exclusive lock that a writer in one holds until its commit, and SQLite
 * does not wait for it (no busy handler): an import alone with the
 * database (fb_db_solo_begin()) may take many seconds, and a server or
 * worker starting meanwhile waits for it here rather than fail.
 */
static int
db_wal(struct fb_db *db, struct fb_err *err)
{
	uint64_t	 deadline = fb_time_mono_us() +
			    (uint64_t)FB_DB_OPEN_WAIT_MS * 1000;
	char		 mode[16];
	int		 rc, is_wal = 0;

	for (;;) {
		if ((rc = db_journal(db, "WAL", mode, sizeof(mode), err)) == -1)
			return (FB_ERR);
		is_wal = rc == SQLITE_ROW && (strcmp(mode, "wal") == 0 ||
		    strcmp(mode, "memory") == 0);	/* ":memory:": no WAL */
		if (is_wal || (rc != SQLITE_ROW && (rc & 0xff) != SQLITE_BUSY &&
		    (rc & 0xff) != SQLITE_LOCKED) || fb_time_mono_us() > deadline)
			break;
		sqlite3_sleep(20);
	}
	if (!is_wal) {
		fb_err_set(err, "sqlite: cannot use WAL: %s",
		    sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

static int
db_pragmas(struct fb_db *db, struct fb_err *err)
{
	char	msg[sizeof(err->msg)];

	if (db_wal(db, err) != FB_OK ||
	    fb_db_exec(db, "PRAGMA synchronous = NORMAL", err) != FB_OK ||
	    fb_db_exec(db, "PRAGMA foreign_keys = ON", err) != FB_OK ||
	    fb_db_exec(db, "PRAGMA temp_store = MEMORY", err) != FB_OK ||
	    fb_db_exec(db, "PRAGMA cache_size = -16000", err) != FB_OK ||
	    fb_db_exec(db, "PRAGMA mmap_size = 33554432", err) != FB_OK ||
	    fb_db_exec(db, "PRAGMA journal_size_limit = 67108864", err) !=
	    FB_OK) {
		(void)snprintf(msg, sizeof(msg), "%s", err->msg);
		fb_err_set(err, "DATABASE_URL: %s", msg);
		return (FB_ERR);
	}
	return (FB_OK);
}

#if defined(FB_KORE_MODULE)
#include <kore/kore.h>
#include <kore/seccomp.h>

/* What SQLite calls beyond Kore's base list (WAL, sync, file locks). */
struct sock_filter	fb_db_seccomp[] = {
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(pwrite64),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(fchown),
	KORE_SYSCALL_ALLOW(fallocate),
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(unlink),
	KORE_SYSCALL_ALLOW(fcntl),
};
size_t	fb_db_seccomp_len = KORE_FILTER_LEN(fb_db_seccomp);
#endif
