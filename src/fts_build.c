/*
 * The word indexes of a bulk import, built on a second core.
 *
 * When an import writes every listing of the shop (it started empty, or
 * --clear-db), the importer hands each row it writes to
 * fb_fts_build_row().  A thread indexes those rows into private copies of
 * listings_fts and listings_tri, in an in-memory database, while the
 * importer goes on writing listings.  fb_fts_build_end() waits for the
 * thread and puts the finished indexes in place of the old ones, inside
 * the importer's transaction: each index is dropped and created again
 * from its own CREATE statement (so no connection keeps a stale view of
 * it) and FTS5's shadow tables, its documented storage, are copied
 * across.  fb_fts_build_free() detaches what is left once the importer
 * has committed or rolled back.
 *
 * Rows travel in batches: the importer fills one buffer while the thread
 * reads the other.  A row is its id, then each of fb_fts_fields as a
 * 32-bit length (-1: NULL) and its bytes.  A listing written twice is
 * replaced, so the index holds what the listing finally holds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define BATCH_BYTES	(256 * 1024)
#define SCRATCH		"fb_fts_scratch"
#define BULK_HASHSIZE	"16777216"	/* FTS5 write buffer, 1 MB default */

/* The text both indexes hold, in the order a row carries it. */
const char *const	fb_fts_fields[FB_FTS_NFIELDS] = {
	"release_title", "artist_names", "label_names", "catalog_number",
	"barcode", "comments", "genres", "format_names"
};

struct index_spec {
	const char	*name;
	int		 nfields;
	int		 field[FB_FTS_NFIELDS];	/* into fb_fts_fields */
};

static const struct index_spec	specs[2] = {
	{ "listings_fts", 6, { 0, 1, 2, 3, 4, 5 } },
	{ "listings_tri", 4, { 1, 2, 6, 7 } },
};

struct fb_fts_build {
	sqlite3		*scratch;
	sqlite3_stmt	*st[2];			/* an insert per spec */
	char		*create[2];		/* each spec's CREATE */
	struct fb_buf	 triggers;		/* listings', dropped meanwhile */
	pthread_t	 thread;
	int		 is_running;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct fb_buf	 fill;			/* the importer's */
	struct fb_buf	 work;			/* the thread's while has_work */
	int		 has_work, is_done;
	int		 rc;			/* the thread's; msg says why */
	char		 msg[200];
	int		 is_attached;
};

static int	build_scratch(struct fb_fts_build *, struct fb_db *,
		    struct fb_err *);
static int	build_spec(struct fb_fts_build *, struct fb_db *, int,
		    struct fb_err *);
static int	build_drop_triggers(struct fb_fts_build *, struct fb_db *,
		    struct fb_err *);
static void	*build_thread(void *);
static void	 build_batch(struct fb_fts_build *, const struct fb_buf *);
static const char *build_record(struct fb_fts_build *, const char *);
static void	 build_hand_over(struct fb_fts_build *);
static void	 build_join(struct fb_fts_build *);
static int	 build_attach(struct fb_fts_build *, struct fb_db *,
		    struct fb_err *);
static int	 build_swap(struct fb_fts_build *, struct fb_db *,
		    struct fb_err *);

int
fb_fts_field(const char *column)
{
	int	i;

	for (i = 0; i < FB_FTS_NFIELDS; i++) {
		if (strcmp(fb_fts_fields[i], column) == 0)
			return (i);
	}
	return (-1);
}

int
fb_fts_build_begin(struct fb_db *db, struct fb_err *err)
{
	struct fb_fts_build	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		abort();
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	fb_buf_init(&b->fill, BATCH_BYTES + 4096);
	fb_buf_init(&b->work, BATCH_BYTES + 4096);
	fb_buf_init(&b->triggers, 4096);
	db->fts_build = b;
	if (build_scratch(b, db, err) != FB_OK ||
	    build_drop_triggers(b, db, err) != FB_OK)
		return (FB_ERR);
	if (pthread_create(&b->thread, NULL, build_thread, b) != 0) {
		fb_err_set(err, "fts build: cannot start a thread");
		return (FB_ERR);
	}
	b->is_running = 1;
	return (FB_OK);
}

/* Both indexes, empty, in a private in-memory database; a transaction. */
static int
build_scratch(struct fb_fts_build *b, struct fb_db *db, struct fb_err *err)
{
	if (sqlite3_open_v2(SCRATCH, &b->scratch, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, "memdb") != SQLITE_OK) {
		fb_err_set(err, "fts build: cannot open a scratch database");
		return (FB_ERR);
	}
	if (build_spec(b, db, 0, err) != FB_OK ||
	    build_spec(b, db, 1, err) != FB_OK)
		return (FB_ERR);
	if (sqlite3_exec(b->scratch, "BEGIN", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fb_err_set(err, "fts build: %s", sqlite3_errmsg(b->scratch));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* One index: the shop's own CREATE, a bulk write buffer, an insert. */
static int
build_spec(struct fb_fts_build *b, struct fb_db *db, int i,
    struct fb_err *err)
{
	const struct index_spec	*s = &specs[i];
	sqlite3_stmt		*st;
	struct fb_buf		 sql;
	int			 j, rc;

	if ((st = fb_db_prepare(db, "SELECT sql FROM main.sqlite_schema "
	    "WHERE type = 'table' AND name = ?", err)) == NULL)
		return (FB_ERR);
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL &&
	    (b->create[i] = strdup((const char *)sqlite3_column_text(st, 0)))
	    == NULL)
		abort();
	sqlite3_finalize(st);
	if (b->create[i] == NULL) {
		fb_err_set(err, "fts build: no table %s", s->name);
		return (FB_ERR);
	}
	fb_buf_init(&sql, 512);
	fb_buf_appendf(&sql, "%s; INSERT INTO %s (%s, rank) VALUES "
	    "('hashsize', " BULK_HASHSIZE ");", b->create[i], s->name,
	    s->name);
	rc = sqlite3_exec(b->scratch, fb_buf_cstr(&sql), NULL, NULL, NULL);
	fb_buf_reset(&sql);
	fb_buf_appendf(&sql, "INSERT OR REPLACE INTO %s (rowid", s->name);
	for (j = 0; j < s->nfields; j++)
		fb_buf_appendf(&sql, ", %s", fb_fts_fields[s->field[j]]);
	fb_buf_appends(&sql, ") VALUES (?");
	for (j = 0; j < s->nfields; j++)
		fb_buf_appends(&sql, ", ?");
	fb_buf_appends(&sql, ")");
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(b->scratch, fb_buf_cstr(&sql), -1,
		    &b->st[i], NULL);
	fb_buf_cleanup(&sql);
	if (rc != SQLITE_OK) {
		fb_err_set(err, "fts build: %s: %s", s->name,
		    sqlite3_errmsg(b->scratch));
		return (FB_ERR);
	}
	return (FB_OK);
}

/*
 * The triggers on listings only bump the data version and keep the word
 * indexes in step, which the end does once for all; meanwhile they would
 * cost a sixth of the import.  They come back, from their own CREATE
 * statements, before the commit; a rollback brings them back too.
 */
static int
build_drop_triggers(struct fb_fts_build *b, struct fb_db *db,
    struct fb_err *err)
{
	sqlite3_stmt	*st;
	struct fb_buf	 drop;
	int		 rc;

	if ((st = fb_db_prepare(db, "SELECT name, sql FROM main.sqlite_schema "
	    "WHERE type = 'trigger' AND tbl_name = 'listings'", err)) == NULL)
		return (FB_ERR);
	fb_buf_init(&drop, 512);
	while (sqlite3_step(st) == SQLITE_ROW) {
		fb_buf_appendf(&drop, "DROP TRIGGER main.\"%s\";",
		    (const char *)sqlite3_column_text(st, 0));
		fb_buf_appendf(&b->triggers, "%s;",
		    (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	rc = fb_db_exec(db, fb_buf_cstr(&drop), err);
	fb_buf_cleanup(&drop);
	return (rc);
}

/* Queues one written listing; a full batch goes to the thread. */
void
fb_fts_build_row(struct fb_db *db, const struct fb_fts_row *row)
{
	struct fb_fts_build	*b = db->fts_build;
	int32_t			 n;
	int			 i;

	fb_buf_append(&b->fill, &row->id, sizeof(row->id));
	for (i = 0; i < FB_FTS_NFIELDS; i++) {
		n = row->v[i] == NULL ? -1 : (int32_t)row->n[i];
		fb_buf_append(&b->fill, &n, sizeof(n));
		if (n > 0)
			fb_buf_append(&b->fill, row->v[i], (size_t)n);
	}
	if (b->fill.len >= BATCH_BYTES)
		build_hand_over(b);
}

/* Waits for the thread to finish its batch, then gives it this one. */
static void
build_hand_over(struct fb_fts_build *b)
{
	struct fb_buf	tmp;

	pthread_mutex_lock(&b->lock);
	while (b->has_work)
		pthread_cond_wait(&b->cond, &b->lock);
	tmp = b->work;
	b->work = b->fill;
	b->fill = tmp;
	b->has_work = 1;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void *
build_thread(void *arg)
{
	struct fb_fts_build	*b = arg;
	int			 has_work;

	(void)pthread_setname_np(pthread_self(), "fb-fts-build");
	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (!b->has_work && !b->is_done)
			pthread_cond_wait(&b->cond, &b->lock);
		has_work = b->has_work;
		pthread_mutex_unlock(&b->lock);
		if (!has_work)
			break;
		if (b->rc == FB_OK)
			build_batch(b, &b->work);
		pthread_mutex_lock(&b->lock);
		fb_buf_reset(&b->work);
		b->has_work = 0;
		pthread_cond_signal(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
	if (b->rc == FB_OK && sqlite3_exec(b->scratch, "COMMIT", NULL, NULL,
	    NULL) != SQLITE_OK) {
		(void)snprintf(b->msg, sizeof(b->msg), "%s",
		    sqlite3_errmsg(b->scratch));
		b->rc = FB_ERR;
	}
	return (NULL);
}

static void
build_batch(struct fb_fts_build *b, const struct fb_buf *batch)
{
	const char	*p = batch->data, *end = batch->data + batch->len;

	while (p < end && b->rc == FB_OK)
		p = build_record(b, p);
}

/*
 * Indexes one row in both tables; returns where the next one starts.  A
 * batch only ever holds whole rows (fb_fts_build_row()).
 */
static const char *
build_record(struct fb_fts_build *b, const char *p)
{
	const char	*v[FB_FTS_NFIELDS];
	int32_t		 n[FB_FTS_NFIELDS];
	int64_t		 id;
	int		 i, j, f;

	memcpy(&id, p, sizeof(id));
	p += sizeof(id);
	for (i = 0; i < FB_FTS_NFIELDS; i++) {
		memcpy(&n[i], p, sizeof(n[i]));
		v[i] = p + sizeof(n[i]);
		p = v[i] + (n[i] > 0 ? n[i] : 0);
	}
	for (i = 0; i < 2 && b->rc == FB_OK; i++) {
		sqlite3_bind_int64(b->st[i], 1, id);
		for (j = 0; j < specs[i].nfields; j++) {
			f = specs[i].field[j];
			if (n[f] < 0)
				sqlite3_bind_null(b->st[i], j + 2);
			else
				sqlite3_bind_text(b->st[i], j + 2, v[f], n[f],
				    SQLITE_STATIC);
		}
		if (sqlite3_step(b->st[i]) != SQLITE_DONE) {
			(void)snprintf(b->msg, sizeof(b->msg), "listing %lld: "
			    "%s", (long long)id, sqlite3_errmsg(b->scratch));
			b->rc = FB_ERR;
		}
		sqlite3_reset(b->st[i]);
	}
	return (p);
}

/* The last batch, then the thread's end; its error if it had one. */
static void
build_join(struct fb_fts_build *b)
{
	if (!b->is_running)
		return;
	if (b->fill.len > 0)
		build_hand_over(b);
	pthread_mutex_lock(&b->lock);
	b->is_done = 1;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	b->is_running = 0;
}

/*
 * Inside the importer's transaction: the built indexes replace the old
 * ones.  Every listing must be in them, or nothing is swapped.
 */
int
fb_fts_build_end(struct fb_db *db, struct fb_err *err)
{
	struct fb_fts_build	*b = db->fts_build;

	build_join(b);
	if (b->rc != FB_OK) {
		fb_err_set(err, "fts build: %s", b->msg);
		return (FB_ERR);
	}
	if (build_attach(b, db, err) != FB_OK ||
	    build_swap(b, db, err) != FB_OK ||
	    fb_db_exec(db, fb_buf_cstr(&b->triggers), err) != FB_OK)
		return (FB_ERR);
	if (fb_db_count(db, "SELECT (SELECT count(*) FROM main.listings_fts) "
	    "= (SELECT count(*) FROM main.listings) AND (SELECT count(*) FROM "
	    "main.listings_tri) = (SELECT count(*) FROM main.listings)") != 1) {
		fb_err_set(err, "fts build: the index and the listings differ");
		return (FB_ERR);
	}
	return (FB_OK);
}

/*
 * The scratch database (one block of memory: the memdb VFS) attached
 * read-only as SCRATCH, without a copy; the scratch connection keeps
 * owning that memory until fb_fts_build_free() has detached it.
 */
static int
build_attach(struct fb_fts_build *b, struct fb_db *db, struct fb_err *err)
{
	unsigned char	*image;
	sqlite3_int64	 size;

	if ((image = sqlite3_serialize(b->scratch, "main", &size,
	    SQLITE_SERIALIZE_NOCOPY)) == NULL) {
		fb_err_set(err, "fts build: the scratch database is empty");
		return (FB_ERR);
	}
	if (fb_db_exec(db, "ATTACH ':memory:' AS " SCRATCH, err) != FB_OK)
		return (FB_ERR);
	b->is_attached = 1;
	if (sqlite3_deserialize(db->h, SCRATCH, image, size, size,
	    SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
		fb_err_set(err, "fts build: %s", sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

/*
 * Each index dropped and created again with its settings (its _config
 * table: the live one's, not the scratch copy's bulk write buffer), then
 * every other shadow table of the scratch copy, whatever options the
 * CREATE names, copied over the new one's.
 */
static int
build_swap(struct fb_fts_build *b, struct fb_db *db, struct fb_err *err)
{
	sqlite3_stmt	*st;
	struct fb_buf	 sql;
	const char	*name;
	int		 i, rc;

	fb_buf_init(&sql, 2048);
	for (i = 0; i < 2; i++)
		fb_buf_appendf(&sql, "CREATE TEMP TABLE fb_fts_config AS "
		    "SELECT * FROM main.%s_config; DROP TABLE main.%s; %s; "
		    "DELETE FROM main.%s_config; INSERT INTO main.%s_config "
		    "SELECT * FROM temp.fb_fts_config; DROP TABLE "
		    "temp.fb_fts_config;", specs[i].name, specs[i].name,
		    b->create[i], specs[i].name, specs[i].name);
	if ((st = fb_db_prepare(db, "SELECT name FROM " SCRATCH
	    ".sqlite_schema WHERE type = 'table' AND sql NOT LIKE "
	    "'CREATE VIRTUAL%' AND name NOT LIKE '%\\_config' ESCAPE '\\'",
	    err)) == NULL) {
		fb_buf_cleanup(&sql);
		return (FB_ERR);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		fb_buf_appendf(&sql, "DELETE FROM main.\"%s\"; INSERT INTO "
		    "main.\"%s\" SELECT * FROM " SCRATCH ".\"%s\";", name, name,
		    name);
	}
	sqlite3_finalize(st);
	rc = fb_db_exec(db, fb_buf_cstr(&sql), err);
	fb_buf_cleanup(&sql);
	return (rc);
}

/* After the commit or rollback: the thread, the scratch copy, the rest. */
void
fb_fts_build_free(struct fb_db *db)
{
	struct fb_fts_build	*b = db->fts_build;

	if (b == NULL)
		return;
	build_join(b);
	sqlite3_finalize(b->st[0]);
	sqlite3_finalize(b->st[1]);
	if (b->is_attached && sqlite3_exec(db->h, "DETACH " SCRATCH, NULL,
	    NULL, NULL) != SQLITE_OK)
		fb_log(FB_LOG_WARN, "fts build: cannot detach the scratch "
		    "copy: %s (its memory stays)", sqlite3_errmsg(db->h));
	else
		sqlite3_close(b->scratch);	/* the memory SCRATCH used */
	free(b->create[0]);
	free(b->create[1]);
	fb_buf_cleanup(&b->fill);
	fb_buf_cleanup(&b->work);
	fb_buf_cleanup(&b->triggers);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
	db->fts_build = NULL;
}
