/*
 * The schema, as numbered steps keyed by PRAGMA user_version.
 *
 * Step N brings a database from version N-1 to N inside one transaction,
 * together with the user_version bump, so a failed step leaves the
 * database exactly as it was.  Steps are append-only: never edit a step
 * that has shipped; add a new one.  The parent runs the migration once,
 * before the workers fork.
 */
#include <stdio.h>

#include "app.h"

/*
 * Step 1: listings and the data version.
 * Money columns (price_value, shipping_price) hold INTEGER hundredths so
 * sums and comparisons are exact; listing.c renders them as decimals.
 * posted_sort is derived from posted (which keeps Discogs' own text, with
 * its time zone) so that "newest first" orders by the real instant.
 * Every write to listings bumps meta.data_version: ETags and the response
 * caches of every worker key on it.
 */
static const char	step1[] =
	"CREATE TABLE listings ("
	" listing_id INTEGER PRIMARY KEY,"
	" status TEXT, condition TEXT, sleeve_condition TEXT,"
	" posted TEXT,"
	" posted_sort INTEGER GENERATED ALWAYS AS (unixepoch(posted)) STORED,"
	" uri TEXT, resource_url TEXT,"
	" price_value INTEGER, price_currency TEXT,"
	" shipping_price INTEGER, shipping_currency TEXT,"
	" weight REAL, format_quantity INTEGER, external_id TEXT,"
	" location TEXT, comments TEXT,"
	" release_id INTEGER, release_title TEXT, release_year INTEGER,"
	" release_resource_url TEXT, release_uri TEXT,"
	" artist_names TEXT, primary_artist TEXT,"
	" label_names TEXT, primary_label TEXT,"
	" format_names TEXT, primary_format TEXT,"
	" genres TEXT, styles TEXT, country TEXT,"
	" catalog_number TEXT, barcode TEXT,"
	" master_id INTEGER, master_url TEXT,"
	" image_uri TEXT, image_resource_url TEXT,"
	" release_community_have INTEGER, release_community_want INTEGER,"
	" export_timestamp TEXT,"
	" created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
	" is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),"
	" removed_at TEXT, sold_at TEXT,"
	" custom_metadata TEXT CHECK (custom_metadata IS NULL OR"
	"  json_valid(custom_metadata))"
	");"
	"CREATE INDEX idx_listings_release_id ON listings(release_id);"
	"CREATE INDEX idx_listings_primary_artist ON listings(primary_artist);"
	"CREATE INDEX idx_listings_is_active ON listings"
	" (is_active, posted_sort DESC, listing_id DESC);"
	"CREATE INDEX idx_listings_posted ON listings"
	" (posted_sort DESC, listing_id DESC);"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta (key, value) VALUES ('data_version', 1);"
	"CREATE TRIGGER listings_ins AFTER INSERT ON listings BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'data_version'; END;"
	"CREATE TRIGGER listings_upd AFTER UPDATE ON listings BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'data_version'; END;"
	"CREATE TRIGGER listings_del AFTER DELETE ON listings BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'data_version'; END;";

/*
 * Step 2: full-text search.  listings_fts (words, diacritics folded;
 * step 5 drops its prefix indexes) serves q=; listings_tri (trigrams)
 * serves the substring filters artist=, label=, genre=, format= without
 * a scan.  Both keep their own copy of the text so a row can be removed
 * by rowid alone.  Triggers keep them in step in the writer's own
 * transaction; a bulk writer (import, sync) sets meta.fts_deferred and
 * brings them up to date in two set-based statements at the end (fts.c),
 * bumping the data version once instead of once per row,
 * because FTS5 flushes its buffer at every statement and a row-by-row
 * import of 100k listings would take five times as long.
 */
#define FTS_LIVE	"WHEN (SELECT value FROM meta WHERE key = 'fts_deferred')"\
			" IS NOT 1 "
#define FTS_NEW		" INSERT INTO listings_fts(rowid, release_title," \
	"  artist_names, label_names, catalog_number, barcode, comments)" \
	"  VALUES (new.listing_id, new.release_title, new.artist_names," \
	"  new.label_names, new.catalog_number, new.barcode, new.comments);"
#define TRI_NEW		" INSERT INTO listings_tri(rowid, artist_names," \
	"  label_names, genres, format_names) VALUES (new.listing_id," \
	"  new.artist_names, new.label_names, new.genres, new.format_names);"

#define VERSION_BUMP	" UPDATE meta SET value = value + 1" \
	" WHERE key = 'data_version'; "

static const char	step2[] =
	"CREATE VIRTUAL TABLE listings_fts USING fts5(release_title,"
	" artist_names, label_names, catalog_number, barcode, comments,"
	" tokenize='unicode61 remove_diacritics 2', prefix='2 3');"
	"CREATE VIRTUAL TABLE listings_tri USING fts5(artist_names,"
	" label_names, genres, format_names, tokenize='trigram');"
	"INSERT INTO meta (key, value) VALUES ('fts_deferred', 0);"
	"CREATE TRIGGER listings_fts_ins AFTER INSERT ON listings " FTS_LIVE
	"BEGIN" FTS_NEW TRI_NEW " END;"
	"CREATE TRIGGER listings_fts_del AFTER DELETE ON listings " FTS_LIVE
	"BEGIN DELETE FROM listings_fts WHERE rowid = old.listing_id;"
	" DELETE FROM listings_tri WHERE rowid = old.listing_id; END;"
	"CREATE TRIGGER listings_fts_upd AFTER UPDATE OF release_title,"
	" artist_names, label_names, catalog_number, barcode, comments"
	" ON listings " FTS_LIVE
	"BEGIN DELETE FROM listings_fts WHERE rowid = old.listing_id;"
	FTS_NEW " END;"
	"CREATE TRIGGER listings_tri_upd AFTER UPDATE OF artist_names,"
	" label_names, genres, format_names ON listings " FTS_LIVE
	"BEGIN DELETE FROM listings_tri WHERE rowid = old.listing_id;"
	TRI_NEW " END;"
	"INSERT INTO listings_fts(rowid, release_title, artist_names,"
	" label_names, catalog_number, barcode, comments) SELECT listing_id,"
	" release_title, artist_names, label_names, catalog_number, barcode,"
	" comments FROM listings;"
	"INSERT INTO listings_tri(rowid, artist_names, label_names, genres,"
	" format_names) SELECT listing_id, artist_names, label_names, genres,"
	" format_names FROM listings;"
	"CREATE INDEX idx_listings_primary_label ON listings(primary_label);"
	"CREATE INDEX idx_listings_release_year ON listings(release_year);"
	"DROP TRIGGER listings_ins; DROP TRIGGER listings_upd;"
	"DROP TRIGGER listings_del;"
	"CREATE TRIGGER listings_ins AFTER INSERT ON listings " FTS_LIVE
	"BEGIN" VERSION_BUMP "END;"
	"CREATE TRIGGER listings_upd AFTER UPDATE ON listings " FTS_LIVE
	"BEGIN" VERSION_BUMP "END;"
	"CREATE TRIGGER listings_del AFTER DELETE ON listings " FTS_LIVE
	"BEGIN" VERSION_BUMP "END;";

/*
 * Step 3: the sync.  Every run is recorded with its counts and, per
 * listing, what changed (fields: {"col": {"old": x, "new": y}}).
 * content_hash lets a re-sync skip unchanged listings without comparing
 * every field.  releases is the enrichment queue and cache: one row per
 * release id, fetched once, a 404 remembered.  meta.sync_lock holds the
 * id of the running run (0: none), refreshed in sync_lock_at while it
 * works, so one sync runs at a time across workers and the CLI.
 */
static const char	step3[] =
	"ALTER TABLE listings ADD COLUMN content_hash INTEGER;"
	"CREATE TABLE sync_runs ("
	" id INTEGER PRIMARY KEY,"
	" status TEXT NOT NULL CHECK (status IN ('running', 'succeeded',"
	"  'failed', 'held')),"
	" trigger TEXT NOT NULL, is_forced INTEGER NOT NULL DEFAULT 0,"
	" is_dry_run INTEGER NOT NULL DEFAULT 0,"
	" started_at TEXT NOT NULL, finished_at TEXT,"
	" added INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,"
	" removed INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,"
	" pages INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0,"
	" retries INTEGER NOT NULL DEFAULT 0, error TEXT, progress TEXT);"
	"CREATE TABLE sync_changes ("
	" run_id INTEGER NOT NULL REFERENCES sync_runs(id),"
	" listing_id INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('added', 'updated', 'removed')),"
	" fields TEXT,"
	" UNIQUE (run_id, listing_id));"
	"CREATE TABLE releases ("
	" release_id INTEGER PRIMARY KEY,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"  'done', 'failed', 'missing')),"
	" priority INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL"
	"  DEFAULT 0, fetched_at TEXT, error TEXT, data TEXT);"
	"CREATE INDEX idx_releases_queue ON releases(state, priority DESC);"
	"INSERT INTO meta (key, value) VALUES ('sync_lock', 0),"
	" ('sync_lock_at', 0);";

/*
 * Step 4: admin sessions (src/admin.c).  One row per login: the SHA-256
 * of the cookie's token (the token itself is never stored), a tag of the
 * passphrase it was issued under, so a new ADMIN_PASSPHRASE ends every
 * session, and when it expires.  Logout deletes the row.
 */
static const char	step4[] =
	"CREATE TABLE admin_sessions ("
	" token_hash TEXT PRIMARY KEY,"
	" pass_tag TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * Step 5: the word index without its 2- and 3-letter prefix indexes.
 * They cost half the time of every bulk write (an import or first sync
 * of 100k listings: about 0.7 s of 1.6 s) and bought little: FTS5 still
 * answers "lo*" from the word list itself, in a few milliseconds at
 * 100k listings, and a prefix of four letters or more never used them.
 * The triggers name the table, so they keep working on the new one.
 */
static const char	step5[] =
	"DROP TABLE listings_fts;"
	"CREATE VIRTUAL TABLE listings_fts USING fts5(release_title,"
	" artist_names, label_names, catalog_number, barcode, comments,"
	" tokenize='unicode61 remove_diacritics 2');"
	"INSERT INTO listings_fts(rowid, release_title, artist_names,"
	" label_names, catalog_number, barcode, comments) SELECT listing_id,"
	" release_title, artist_names, label_names, catalog_number, barcode,"
	" comments FROM listings;";

static const char	*steps[] = {
	step1,
	step2,
	step3,
	step4,
	step5,
};

#define N_STEPS		((int)(sizeof(steps) / sizeof(steps[0])))

static int	migrate_version(struct fb_db *, int *, struct fb_err *);
static int	migrate_step(struct fb_db *, int, struct fb_err *);

int
fb_db_schema_version(void)
{
	return (N_STEPS);
}

int
fb_db_migrate(struct fb_db *db, struct fb_err *err)
{
	int	version;

	if (migrate_version(db, &version, err) != FB_OK)
		return (FB_ERR);
	if (version > N_STEPS) {
		fb_err_set(err, "DATABASE_URL: schema version %d is newer "
		    "than this build knows (%d); upgrade freakinbeats",
		    version, N_STEPS);
		return (FB_ERR);
	}
	for (; version < N_STEPS; version++) {
		if (migrate_step(db, version + 1, err) != FB_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

static int
migrate_version(struct fb_db *db, int *version, struct fb_err *err)
{
	sqlite3_stmt	*st;

	if ((st = fb_db_prepare(db, "PRAGMA user_version", err)) == NULL)
		return (FB_ERR);
	*version = sqlite3_step(st) == SQLITE_ROW ?
	    sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (*version < 0) {
		fb_err_set(err, "DATABASE_URL: %s", sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

static int
migrate_step(struct fb_db *db, int to, struct fb_err *err)
{
	char	bump[64];

	(void)snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", to);
	if (fb_db_begin(db, err) != FB_OK)
		return (FB_ERR);
	if (fb_db_exec(db, steps[to - 1], err) != FB_OK ||
	    fb_db_exec(db, bump, err) != FB_OK ||
	    fb_db_commit(db, err) != FB_OK) {
		fb_db_rollback(db);
		fb_log(FB_LOG_ERROR, "schema step %d failed: %s", to,
		    err->msg);
		return (FB_ERR);
	}
	fb_log(FB_LOG_INFO, "database schema now at version %d", to);
	return (FB_OK);
}
