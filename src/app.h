/*
 * Freakinbeats: the one internal header.
 *
 * Structs, FB_* constants and the prototypes of every src/ file, grouped
 * by the file that defines them.  Nothing here depends on Kore, so the
 * pure parts (config, buf, params, listing, db) build into the CLI and the
 * unit tests as well as into the Kore module.  Kore-facing prototypes live
 * in kore_glue.h.
 */
#ifndef FB_APP_H
#define FB_APP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define FB_VERSION		"0.1.0"

#define FB_OK			0
#define FB_ERR			(-1)

/* err.c: caller-owned error details; filling one never allocates. */
struct fb_err {
	int		code;
	char		msg[256];
};

void	fb_err_set(struct fb_err *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	fb_err_clear(struct fb_err *);

/* buf.c: a growable byte buffer and the JSON text writer on top of it. */
struct fb_buf {
	char		*data;
	size_t		len;
	size_t		cap;
};

void	fb_buf_init(struct fb_buf *, size_t);
void	fb_buf_cleanup(struct fb_buf *);
void	fb_buf_reset(struct fb_buf *);
void	fb_buf_append(struct fb_buf *, const void *, size_t);
void	fb_buf_appendc(struct fb_buf *, char);
void	fb_buf_appends(struct fb_buf *, const char *);
void	fb_buf_appendf(struct fb_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*fb_buf_cstr(struct fb_buf *);			/* borrowed */
void	fb_json_str(struct fb_buf *, const char *, size_t);
void	fb_json_cstr(struct fb_buf *, const char *);	/* NULL -> null */
void	fb_json_key(struct fb_buf *, const char *);
void	fb_json_money(struct fb_buf *, int64_t);
void	fb_buf_append_int(struct fb_buf *, int64_t);
int	fb_utf8_valid(const char *, size_t);
#define FB_HASH_INIT		14695981039346656037ULL
uint64_t fb_hash(const void *, size_t, uint64_t);

/* config.c: the environment contract of DESIGN.md. */
struct fb_config {
	uint16_t	port;
	char		host[64];
	uint16_t	tls_port;			/* 0: no TLS listener */
	char		tls_cert[256];
	char		tls_key[256];
	char		db_path[256];
	char		discogs_token[256];		/* never logged */
	char		discogs_seller[128];
	char		discogs_api_url[256];
	char		discogs_user_agent[128];
	uint32_t	discogs_min_interval_ms;
	double		sync_interval_hours;
	int		enable_auto_sync;
	double		sync_max_remove_fraction;
	char		admin_passphrase[256];
	char		scripts_dir[256];
	int		log_level;
};

#define FB_LOG_ERROR		0
#define FB_LOG_WARN		1
#define FB_LOG_INFO		2
#define FB_LOG_DEBUG		3

extern struct fb_config	fb_cfg;

/* Variables read from a .env file; the process environment wins. */
#define FB_ENV_MAX		64

struct fb_env {
	char		*text;				/* owns the strings */
	int		n_vars;
	const char	*names[FB_ENV_MAX];
	const char	*values[FB_ENV_MAX];
	int		lines[FB_ENV_MAX];
};

int	fb_env_read(struct fb_env *, const char *, struct fb_err *);
int	fb_env_parse(struct fb_env *, char *, const char *, struct fb_err *);
void	fb_env_cleanup(struct fb_env *);
int	fb_config_parse(struct fb_config *, const struct fb_env *,
	    struct fb_err *);
int	fb_config_load(struct fb_config *, struct fb_err *);

/* log.c: one line per event on stderr, level-filtered. */
void	fb_log(int, const char *, ...) __attribute__((format(printf, 2, 3)));
void	fb_log_set_before(void (*)(void *), void *);

/* params.c: strict query-string parsing; every error names the parameter. */
#define FB_PARAMS_MAX		32
#define FB_PAGE_MAX		1000

struct fb_param {
	char		*name;
	char		*value;
};

struct fb_params {
	char		*copy;				/* owns every string */
	int		n_params;
	struct fb_param	list[FB_PARAMS_MAX];
};

struct fb_page {
	int		has_limit;
	int		has_offset;
	int64_t		limit;
	int64_t		offset;
};

int	fb_params_parse(struct fb_params *, const char *, struct fb_err *);
void	fb_params_cleanup(struct fb_params *);
const char *fb_params_get(const struct fb_params *, const char *);
int	fb_params_allow(const struct fb_params *, const char *const *,
	    struct fb_err *);
int	fb_params_page(const struct fb_params *, struct fb_page *,
	    struct fb_err *);
int	fb_params_bool(const struct fb_params *, const char *, int *,
	    struct fb_err *);
int	fb_url_decode(char *, size_t *);
int	fb_parse_id(const char *, int64_t *);

/* db.c: one SQLite connection per process or thread, WAL, busy timeout. */
enum fb_stmt_id {
	FB_ST_LISTING_BY_ID,
	FB_ST_LISTING_PAGE,
	FB_ST_LISTING_PAGE_ALL,
	FB_ST_INACTIVE,
	FB_ST_META_GET,
	FB_ST_META_SET,
	FB_ST_FTS_TOUCH,
	FB_ST_SYNC_STAGE,
	FB_ST_SYNC_SEEN,
	FB_ST_SYNC_OLD,
	FB_ST_SYNC_ROW,
	FB_ST_SYNC_CHANGE,
	FB_ST_BEGIN,
	FB_ST_COMMIT,
	FB_ST_MAX
};

/* The ordered ids of a listing set, rebuilt when the data version moves. */
struct fb_order {
	int64_t		version;
	int64_t		*ids;
	size_t		n_ids;
};

struct fb_db {
	sqlite3		*h;
	struct fb_order	order[2];			/* [include_inactive] */
	struct fb_order	inactive;			/* inactive.c */
	int		fts_all;	/* fts.c: every listing touched */
	struct fb_fts_build *fts_build;	/* fts_build.c, during an import */
	int		is_solo;	/* fb_db_solo_begin() */
	sqlite3_stmt	*cache[FB_ST_MAX];		/* see fb_db_stmt() */
	sqlite3_stmt	*st_version;
	sqlite3_stmt	*st_data_version;
	int64_t		pragma_version;
	int64_t		own_changes;
	int64_t		version;			/* meta data_version */
};

#define FB_DB_BUSY_TIMEOUT_MS	5000
#define FB_DB_OPEN_WAIT_MS	120000	/* for a solo import: db.c */

void	fb_db_global_init(void);
int	fb_db_open(struct fb_db *, const char *, struct fb_err *);
int	fb_db_prepare_version(struct fb_db *, struct fb_err *);
void	fb_db_close(struct fb_db *);
int	fb_db_exec(struct fb_db *, const char *, struct fb_err *);
sqlite3_stmt *fb_db_prepare(struct fb_db *, const char *, struct fb_err *);
sqlite3_stmt *fb_db_stmt(struct fb_db *, enum fb_stmt_id, const char *,
	    struct fb_err *);
int	fb_db_refresh(struct fb_db *);
int	fb_db_meta_get(struct fb_db *, const char *, int64_t *);
int64_t	fb_db_count(struct fb_db *, const char *);
int	fb_db_meta_set(struct fb_db *, const char *, int64_t,
	    struct fb_err *);
int	fb_db_begin(struct fb_db *, struct fb_err *);
int	fb_db_read_begin(struct fb_db *);
void	fb_db_read_end(struct fb_db *);
int	fb_db_commit(struct fb_db *, struct fb_err *);
void	fb_db_rollback(struct fb_db *);
int	fb_db_solo_begin(struct fb_db *);
void	fb_db_solo_end(struct fb_db *);

/* db_migrate.c: schema steps keyed by PRAGMA user_version. */
int	fb_db_migrate(struct fb_db *, struct fb_err *);
int	fb_db_schema_version(void);

/* fts.c: bulk writers bring the text indexes up to date at the end. */
int	fb_fts_defer_begin(struct fb_db *, struct fb_err *);
int	fb_fts_touch(struct fb_db *, int64_t, struct fb_err *);
int	fb_fts_touch_all(struct fb_db *, struct fb_err *);
int	fb_fts_defer_end(struct fb_db *, struct fb_err *);

/* fts_build.c: an import's word indexes, built on a second core. */
#define FB_FTS_NFIELDS		8
extern const char *const fb_fts_fields[FB_FTS_NFIELDS];

struct fb_fts_row {
	int64_t		id;
	const char	*v[FB_FTS_NFIELDS];		/* NULL: SQL NULL */
	size_t		n[FB_FTS_NFIELDS];
};

int	fb_fts_field(const char *);
int	fb_fts_build_begin(struct fb_db *, struct fb_err *);
void	fb_fts_build_row(struct fb_db *, const struct fb_fts_row *);
int	fb_fts_build_end(struct fb_db *, struct fb_err *);
void	fb_fts_build_free(struct fb_db *);

/* listing.c: a listing row <-> JSON; the column list is defined there. */
#define FB_COL_TEXT		1	/* TEXT, rendered as string or null */
#define FB_COL_ID		2	/* INTEGER, rendered as a string */
#define FB_COL_INT		3	/* INTEGER or null */
#define FB_COL_REAL		4	/* REAL or null */
#define FB_COL_MONEY		5	/* INTEGER hundredths, rendered 12.5 */
#define FB_COL_BOOL		6	/* INTEGER 0/1, rendered false/true */
#define FB_COL_JSON		7	/* TEXT holding JSON, rendered raw */

struct fb_column {
	const char	*name;
	int		type;
};

extern const struct fb_column	fb_listing_columns[];
extern const int		fb_listing_ncolumns;

const char *fb_listing_select_list(void);
int	fb_listing_is_state(int);
void	fb_listing_json(struct fb_buf *, sqlite3_stmt *);
int	fb_listing_by_id(struct fb_db *, int64_t, struct fb_buf *,
	    struct fb_err *);

/* listing_page.c: ordered pages and the streamed dump of /api/data. */
struct fb_cursor {
	sqlite3_stmt	*st;
	int		n_rows;
	int		done;
};

int	fb_listing_page(struct fb_db *, int, int64_t, int64_t,
	    struct fb_buf *, struct fb_err *);
int64_t	fb_listing_total(struct fb_db *, int);
void	fb_order_cleanup(struct fb_order *);
int	fb_order_read(struct fb_db *, sqlite3_stmt *, struct fb_order *,
	    struct fb_err *);

/* inactive.c: fb_inactive(id), from a per-version list of inactive ids. */
int	fb_inactive_register(struct fb_db *, struct fb_err *);
int	fb_inactive_load(struct fb_db *, struct fb_err *);
int	fb_inactive_has(const struct fb_order *, int64_t);
int	fb_cursor_open(struct fb_cursor *, struct fb_db *, int,
	    struct fb_err *);
int	fb_cursor_fill(struct fb_cursor *, struct fb_buf *, size_t);
void	fb_cursor_close(struct fb_cursor *);

/* query.c: the parameters of search, filter and facets, as SQL. */
#define FB_SORT_RELEVANCE	0
#define FB_SORT_POSTED		1
#define FB_SORT_PRICE		2
#define FB_SORT_YEAR		3
#define FB_SORT_ARTIST		4
#define FB_SORT_TITLE		5

#define FB_QUERY_SEARCH		0	/* substring artist/label/... */
#define FB_QUERY_FILTER		1	/* the original's exact matches */

#define FB_QUERY_BINDS		32

struct fb_query {
	int		mode;
	const char	*q;				/* borrowed from params */
	const char	*artist, *genre, *format, *label;
	const char	*condition, *sleeve_condition;
	int		has_year;
	int64_t		year;
	int		has_min_price, has_max_price;
	int64_t		min_price, max_price;		/* hundredths */
	int		include_inactive;
	int		sort, is_desc;
	struct fb_page	page;
	int		is_paged;	/* limit given; else FB_PAGE_MAX */
};

/* A WHERE clause with its bound values, ready for sqlite3_bind_*. */
struct fb_sql {
	struct fb_buf	text;				/* FROM ... WHERE ... */
	struct fb_buf	order;				/* ORDER BY ... */
	struct fb_buf	narrow;		/* q alone: FROM the text index */
	int		is_text_only;	/* and by relevance: search_text.c */
	int		has_fts;
	int		n_binds;
	struct {
		int		is_int;
		int64_t		i;
		const char	*s;			/* borrowed */
		char		*owned;			/* or owned */
	} binds[FB_QUERY_BINDS];
};

extern const char *const	fb_query_params_search[];
extern const char *const	fb_query_params_filter[];

int	fb_query_parse(struct fb_query *, const struct fb_params *, int,
	    struct fb_err *);
void	fb_query_sql(const struct fb_query *, struct fb_sql *);
void	fb_sql_cleanup(struct fb_sql *);
int	fb_sql_bind(const struct fb_sql *, sqlite3_stmt *, int);
int	fb_query_fts(const char *, struct fb_buf *);

/* rank.c: fb_rank(listings_fts), the text relevance; higher is better. */
int	fb_rank_register(sqlite3 *, struct fb_err *);
double	fb_rank_score(const int *, const int *, int);
int	fb_parse_money(const char *, int64_t *);

/* json_arena.c: a parsed document's tree in this thread's bump arena;
 * reset once the tree is dropped, release at the end. */
struct json_t;
struct json_error_t;

struct json_t	*fb_json_arena_load(const char *, size_t,
		    struct json_error_t *);
void		 fb_json_arena_reset(void);
void		 fb_json_arena_release(void);

/* search_text.c: words alone in relevance order, counted and ranked in
 * one pass: the best k, best first. */
struct fb_hit {
	int64_t		id;
	double		score;
};

struct fb_hits {
	struct fb_hit	*v;
	size_t		 n, cap;
	int64_t		 total;		/* every match, not just the best k */
};

int	fb_search_text(struct fb_db *, const struct fb_sql *, int, size_t,
	    struct fb_hits *, struct fb_err *);
void	fb_hits_cleanup(struct fb_hits *);

/* search.c: run a query: total, ordered ids, then the listings' JSON. */
int	fb_search_run(struct fb_db *, const struct fb_query *, int64_t *,
	    struct fb_buf *, struct fb_err *);

/* csv.c: an RFC 4180 reader over a buffer. */
#define FB_CSV_FIELDS_MAX	64

struct fb_csv {
	const char	*p, *end;
	int		line;				/* next line to read */
	int		row_line;			/* where the record began */
	int		n_fields;
	size_t		offs[FB_CSV_FIELDS_MAX];
	size_t		lens[FB_CSV_FIELDS_MAX];
	struct fb_buf	buf;				/* the unquoted fields */
};

void	fb_csv_init(struct fb_csv *, const char *, size_t);
void	fb_csv_cleanup(struct fb_csv *);
int	fb_csv_next(struct fb_csv *, struct fb_err *);
const char *fb_csv_field(const struct fb_csv *, int, size_t *);

/* import.c: CSV exports into listings, one transaction, idempotent. */
#define FB_IMPORT_CLEAR		0x01	/* replace the inventory */
#define FB_IMPORT_DRY_RUN	0x02	/* report, write nothing */
#define FB_IMPORT_STRICT	0x04	/* any bad row: write nothing */

struct fb_import_stats {
	int64_t		rows, added, updated, unchanged, skipped;
	double		seconds;
	const char	*format;			/* static */
	int		is_solo;	/* wrote through a rollback journal */
};

struct fb_import_cb {
	void		(*row_error)(void *, const char *);
	void		(*progress)(void *, size_t, size_t, int64_t);
	void		*arg;
};

int	fb_import_file(struct fb_db *, const char *, int,
	    const struct fb_import_cb *, struct fb_import_stats *,
	    struct fb_err *);
int	fb_import_buffer(struct fb_db *, const char *, size_t, const char *,
	    int, const struct fb_import_cb *, struct fb_import_stats *,
	    struct fb_err *);

/* facets.c: value counts of the listings a query matches. */
int	fb_facets_run(struct fb_db *, const struct fb_query *,
	    struct fb_buf *, struct fb_err *);

/*
 * row.c: a listing as typed column values, the way mapping.lua's map()
 * leaves it and the sync writes it.  v[i] is the column
 * fb_listing_columns[i]; ids, integers, booleans and money (hundredths)
 * are FB_VAL_INT, weight is FB_VAL_REAL, text and custom_metadata (JSON
 * object text) are FB_VAL_TEXT.  FB_VAL_UNSET means map() did not return
 * the column (Lua cannot tell nil from absent): the sync writes NULL for
 * it, except for the columns release details fill in later (genres,
 * styles, country, barcode, master_id, master_url), which it leaves as
 * they are.  custom_metadata is never UNSET after map(): NULL or an
 * object.
 */
#define FB_ROW_MAX		64	/* >= fb_listing_ncolumns */

#define FB_VAL_UNSET		0
#define FB_VAL_NULL		1
#define FB_VAL_INT		2
#define FB_VAL_REAL		3
#define FB_VAL_TEXT		4

struct fb_value {
	int		type;
	int64_t		i;
	double		d;
	char		*s;				/* owned, NUL-ended */
	size_t		len;
};

struct fb_row {
	struct fb_value	v[FB_ROW_MAX];
};

void	fb_row_init(struct fb_row *);
void	fb_row_cleanup(struct fb_row *);		/* back to all-UNSET */
int	fb_row_column(const char *);			/* index, or -1 */
const struct fb_value *fb_row_get(const struct fb_row *, const char *);
void	fb_row_set_int(struct fb_row *, int, int64_t);
void	fb_row_set_real(struct fb_row *, int, double);
void	fb_row_set_text(struct fb_row *, int, const char *, size_t);
void	fb_row_set_null(struct fb_row *, int);
int	fb_row_bind(const struct fb_row *, int, sqlite3_stmt *, int);
void	fb_row_from_stmt(struct fb_row *, sqlite3_stmt *);
void	fb_row_encode(const struct fb_row *, struct fb_buf *);
int	fb_row_decode(struct fb_row *, const void *, size_t);
uint64_t fb_row_hash(const struct fb_row *);
int	fb_money_from_double(double, int64_t *);
int	fb_money_from_text(const char *, int64_t *);

/*
 * script.c: one sandboxed Lua 5.4 state holding the three rules.  Only
 * base (no dofile, loadfile, collectgarbage; load is text-only), string
 * (no dump), table, math, utf8 and os.time/date/clock; each script has
 * its own _ENV; memory is capped; every call has an instruction budget
 * that pcall cannot swallow.  Not thread-safe: one per worker or thread.
 */
#define FB_SCRIPT_MAP		0	/* mapping.lua: map(listing) */
#define FB_SCRIPT_KEEP		1	/* filter.lua: keep(row, listing) */
#define FB_SCRIPT_SCORE		2	/* ranking.lua: score(row, q, rel) */
#define FB_SCRIPT_N		3

#define FB_LUA_MEM_MAX		(32 * 1024 * 1024)	/* bytes, per state */
#define FB_LUA_TICK		1000	/* instructions per budget check */
#define FB_LUA_INSTR_LOAD	(10 * 1000 * 1000)	/* running a chunk */
#define FB_LUA_INSTR_CALL	(1000 * 1000)	/* one map or keep call */
#define FB_LUA_INSTR_SCORE	(200 * 1000)	/* one score call */
#define FB_LUA_INSTR_RANK	(4 * 1000 * 1000)	/* one search, all */
#define FB_RANK_CANDIDATES	200	/* best text matches ranking sees */

struct lua_State;
struct json_t;

struct fb_lua {
	struct lua_State *L;
	size_t		 mem_used;
	size_t		 mem_max;
	int		 ref[FB_SCRIPT_N];		/* LUA_NOREF: none */
	int		 is_tripped;			/* budget ran out */
	int		 is_exhausted;			/* hit the cap once */
	int64_t		 ticks_left;			/* this call */
	int64_t		 batch_ticks;			/* -1: no batch */
	int		 n_prints;
	struct json_t	*pending;			/* freed after a call */
	const struct json_t *mapped;	/* listing whose table map() saw */
	char		 names[FB_SCRIPT_N][300];	/* "scripts/x.lua" */
	char		 traceback[1024];		/* of the last error */
};

extern const char *const	fb_script_files[FB_SCRIPT_N];
extern const char *const	fb_script_funcs[FB_SCRIPT_N];

struct fb_lua *fb_lua_new(size_t, struct fb_err *);
void	fb_lua_free(struct fb_lua *);
int	fb_lua_load(struct fb_lua *, int, const char *, const char *, size_t,
	    struct fb_err *);
int	fb_lua_call(struct fb_lua *, int, int (*)(struct lua_State *),
	    void *, int, int64_t, struct fb_err *);
void	fb_lua_batch(struct fb_lua *, int64_t);
int	fb_lua_top(const struct fb_lua *);

/* script_api.c: the sandbox's own versions of print, load, tostring... */
void	fb_script_api_open(struct lua_State *);
void	fb_script_env_new(struct lua_State *, const char *);

/*
 * hook.c: the typed calls the sync and the search make, and each one's
 * failure policy.  All leave the Lua stack as they found it.
 *   fb_hook_map: FB_OK with out filled (caller: fb_row_init before,
 *     fb_row_cleanup after); FB_ERR: skip the listing, count it, report
 *     err in the sync run.  listing is borrowed.
 *   fb_hook_keep: FB_OK with *is_kept, and reason ("" or why not) when
 *     left out; FB_ERR: *is_kept is 1 (the policy keeps it), err says why.
 *   fb_hook_score: FB_OK with *score; FB_ERR: the search falls back to
 *     text-match order.  st selects fb_listing_select_list() for the
 *     listing, bound but not stepped: the row given to score() reads it
 *     on first use (hook_view.c).  relevance is fb_rank, higher is better.
 */
struct fb_rules;

int	fb_hook_map(struct fb_rules *, struct json_t *, struct fb_row *,
	    struct fb_err *);
int	fb_hook_keep(struct fb_rules *, const struct fb_row *,
	    struct json_t *, int *, char *, size_t, struct fb_err *);
int	fb_hook_score(struct fb_rules *, sqlite3_stmt *, int64_t,
	    const char *, double, double *, struct fb_err *);
int	fb_hook_score_row(struct fb_rules *, const struct fb_row *,
	    const char *, double, double *, struct fb_err *);
void	fb_hook_batch(struct fb_rules *, int64_t);
int	fb_hook_push_json(struct lua_State *, struct json_t *, int);
void	fb_hook_push_stmt_column(struct lua_State *, sqlite3_stmt *, int);
int	fb_hook_push_row(struct lua_State *, const struct fb_row *);

/* hook_view.c: score()'s row, read from the listing's row on first use. */
void	fb_hook_view_push(struct lua_State *, sqlite3_stmt *, int64_t);
void	fb_hook_view_end(struct lua_State *);
int	fb_hook_to_row(struct fb_lua *, int, struct fb_row *,
	    struct fb_err *);

/*
 * rules.c: SCRIPTS_DIR's three files loaded into one fb_lua, reloaded
 * when a file changes.  A new version of a file goes live whole or not
 * at all: it must compile, define its function and pass a self-check on
 * a sample listing; otherwise the last good version (or the built-in
 * default) stays and the error is kept for /api/rules.
 */
#define FB_RULES_LOADED		1	/* a new version is live */
#define FB_RULES_FAILED		2	/* a new version was refused */
#define FB_RULES_MISSING	3	/* the file went away */
#define FB_RULES_CALL_FAILED	4	/* a hook call failed at run time */

struct fb_rules_script {
	char		 path[300];			/* chunk name */
	char		*good_text;			/* NULL: built-in */
	size_t		 good_len;
	uint64_t	 good_hash;
	int64_t		 loaded_at;
	int		 is_default;
	int		 is_missing;
	int		 is_settling;			/* re-read next tick */
	uint64_t	 sig[4];			/* ino size mtime */
	uint64_t	 seen_hash;
	uint64_t	 tried_hash;
	char		 error[256];			/* "": none */
	char		 traceback[1024];
	int64_t		 error_at;
	uint64_t	 n_call_errors;
	char		 call_error[256];
	int64_t		 call_error_at;
	int64_t		 call_logged_at;
};

struct fb_rules {
	char			 dir[256];
	struct fb_lua		*lua;			/* in force */
	struct fb_rules_script	 s[FB_SCRIPT_N];
	uint64_t		 generation;		/* +1 per swap */
	int			 is_probe;		/* a self-check */
	/* Each event: (arg, rules, script, FB_RULES_*, change key). */
	void			(*report)(void *, const struct fb_rules *,
				    int, int, uint64_t);
	void			*report_arg;
};

extern const char *const	fb_rules_defaults[FB_SCRIPT_N];
extern const char		fb_rules_sample_listing[];

int	fb_rules_init(struct fb_rules *, const char *, struct fb_err *);
void	fb_rules_cleanup(struct fb_rules *);
int	fb_rules_poll(struct fb_rules *);
void	fb_rules_log(const struct fb_rules *, int, int);
int	fb_rules_has_errors(const struct fb_rules *);
void	fb_rules_json(const struct fb_rules *, struct fb_buf *);
void	fb_rules_call_failed(struct fb_rules *, int, const struct fb_err *);
uint64_t fb_rules_fingerprint(const struct fb_rules *);

/* search.c: the rules whose score() orders search results, or NULL. */
void	fb_search_set_rules(struct fb_rules *);

/*
 * plugin_load.c: conf/plugins.conf and the checks made before a plugin
 * may run: dlopen(RTLD_NOW | RTLD_LOCAL), the descriptor, its ABI and
 * its name.  Kore-free; plugin.c runs what passed in each worker.
 */
#define FB_PLUGINS_CONF		"conf/plugins.conf"
#define FB_PLUGINS_MAX		32
#define FB_PLUGIN_SETTINGS_MAX	32
#define FB_PLUGIN_NAME_MAX	32

#define FB_PLUGIN_LISTED	0	/* in the conf, not opened yet */
#define FB_PLUGIN_OPENED	1	/* file, descriptor and ABI are good */
#define FB_PLUGIN_LOADED	2	/* init succeeded (in this worker) */
#define FB_PLUGIN_REFUSED	3	/* see reason */

struct fb_plugin_setting {
	char		*key;
	char		*value;
};

struct fb_plugin_rec {
	char		 name[FB_PLUGIN_NAME_MAX + 1];
	char		 path[256];
	int		 line;				/* in the conf */
	int		 state;
	char		 reason[256];
	void		*handle;			/* dlopen */
	const void	*entry;		/* const struct fb_plugin * */
	uint32_t	 abi_major, abi_minor;
	int		 n_settings;
	struct fb_plugin_setting settings[FB_PLUGIN_SETTINGS_MAX];
};

struct fb_plugin_set {
	char		 conf[256];
	int		 has_conf;			/* the file exists */
	int		 n_errors;			/* bad lines */
	char		 first_error[256];
	int		 n;
	struct fb_plugin_rec list[FB_PLUGINS_MAX];
};

int	fb_plugin_conf_read(struct fb_plugin_set *, const char *);
void	fb_plugin_conf_parse(struct fb_plugin_set *, char *, const char *);
void	fb_plugin_open(struct fb_plugin_rec *);
void	fb_plugin_refuse(struct fb_plugin_rec *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *fb_plugin_setting_get(const struct fb_plugin_rec *,
	    const char *);
void	fb_plugin_set_cleanup(struct fb_plugin_set *);

/* pacer.c: when the next Discogs request may go (pure, in ms). */
struct fb_pacer {
	uint64_t	*shared_last;			/* or NULL */
	uint32_t	min_interval_ms;
	uint64_t	next_at_ms;
	int		backoff_step;
	int		remaining;
};

extern uint64_t	*fb_pacer_shared;

void	fb_pacer_init(struct fb_pacer *, uint32_t);
uint64_t fb_pacer_wait(const struct fb_pacer *, uint64_t);
uint64_t fb_pacer_claim(struct fb_pacer *, uint64_t);
uint64_t fb_pacer_result(struct fb_pacer *, uint64_t, int, int, int,
	    uint32_t);
uint64_t fb_pacer_backoff(int);

/* discogs.c: one blocking GET with timeouts and a size cap (threads). */
struct fb_http {
	int		status;				/* 0: no answer */
	int		retry_after;			/* -1: absent */
	int		remaining;			/* -1: absent */
	struct fb_buf	body;
	char		error[160];			/* transport error */
};

int	fb_discogs_get(const char *, struct fb_http *);
void	fb_http_cleanup(struct fb_http *);
int	fb_discogs_global_init(void);

/* sync_*.c: one sync run, the same engine for the server and the CLI. */
#define FB_SYNC_DRY_RUN		0x01
#define FB_SYNC_FORCE		0x02

struct fb_sync {
	struct fb_db		*db;
	struct fb_rules		*rules;
	struct fb_pacer		 pacer;
	int			 flags;
	int64_t			 run_id;
	int64_t			 items;			/* pagination.items */
	int64_t			 pages, requests, retries, rate_limited;
	int64_t			 added, updated, removed, skipped, kept_out;
	int64_t			 held_removals;
	sqlite3_stmt		*insert_st;		/* apply's cache */
	const volatile int	*cancel;		/* set: stop soon */
	void			(*on_page)(void *, int64_t, int64_t);
	void			*on_page_arg;	/* (page, of pages): CLI */
	char			 error[256];
	char			 skip_error[160];	/* map()'s first */
	char			 status[16];		/* final status */
};

/* What the staging area holds for a listing (sync_stage.c). */
#define FB_STAGE_KEPT		0	/* map() and keep() took it */
#define FB_STAGE_SKIPPED	1	/* map() failed on it */
#define FB_STAGE_KEPT_OUT	2	/* keep() said no */

int	fb_sync_stage_open(struct fb_sync *);
void	fb_sync_stage_close(struct fb_sync *);
int	fb_sync_stage_clear(struct fb_sync *);
int	fb_sync_stage_page(struct fb_sync *, struct json_t *);
int	fb_sync_fetch(struct fb_sync *);
int	fb_sync_apply(struct fb_sync *);
int	fb_sync_run(struct fb_sync *, const char *);
int	fb_sync_lock(struct fb_db *, int64_t *, const char *, int,
	    struct fb_err *);
void	fb_sync_unlock(struct fb_db *, int64_t);
int	fb_sync_recover(struct fb_db *, struct fb_err *);
int	fb_sync_recover_at_start(struct fb_db *, struct fb_err *);
int	fb_sync_sleep(struct fb_sync *, uint64_t);
int	fb_sync_pace(struct fb_sync *);
int	fb_enrich_enqueue(struct fb_db *, struct fb_err *);
int	fb_enrich_batch(struct fb_sync *, int);
void	fb_sync_progress(struct fb_sync *, const char *);

/* tls.c: a self-signed pair for first runs. */
int	fb_tls_ensure_pair(const char *, const char *, struct fb_err *);

/* timeutil.c */
void	fb_time_iso(char *, size_t, int64_t);
int64_t	fb_time_now(void);
uint64_t fb_time_mono_us(void);

#endif
