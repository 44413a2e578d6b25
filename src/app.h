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
	FB_ST_META_GET,
	FB_ST_META_SET,
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
	sqlite3_stmt	*cache[FB_ST_MAX];		/* see fb_db_stmt() */
	sqlite3_stmt	*st_version;
	sqlite3_stmt	*st_data_version;
	int64_t		pragma_version;
	int64_t		own_changes;
	int64_t		version;			/* meta data_version */
};

int	fb_db_open(struct fb_db *, const char *, struct fb_err *);
int	fb_db_prepare_version(struct fb_db *, struct fb_err *);
void	fb_db_close(struct fb_db *);
int	fb_db_exec(struct fb_db *, const char *, struct fb_err *);
sqlite3_stmt *fb_db_prepare(struct fb_db *, const char *, struct fb_err *);
sqlite3_stmt *fb_db_stmt(struct fb_db *, enum fb_stmt_id, const char *,
	    struct fb_err *);
int	fb_db_refresh(struct fb_db *);
int	fb_db_meta_get(struct fb_db *, const char *, int64_t *);
int	fb_db_meta_set(struct fb_db *, const char *, int64_t,
	    struct fb_err *);
int	fb_db_begin(struct fb_db *, struct fb_err *);
int	fb_db_commit(struct fb_db *, struct fb_err *);
void	fb_db_rollback(struct fb_db *);

/* db_migrate.c: schema steps keyed by PRAGMA user_version. */
int	fb_db_migrate(struct fb_db *, struct fb_err *);
int	fb_db_schema_version(void);

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
};

/* A WHERE clause with its bound values, ready for sqlite3_bind_*. */
struct fb_sql {
	struct fb_buf	text;				/* FROM ... WHERE ... */
	struct fb_buf	order;				/* ORDER BY ... */
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
int	fb_parse_money(const char *, int64_t *);

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

/* tls.c: a self-signed pair for first runs. */
int	fb_tls_ensure_pair(const char *, const char *, struct fb_err *);

/* timeutil.c */
void	fb_time_iso(char *, size_t, int64_t);
int64_t	fb_time_now(void);
uint64_t fb_time_mono_us(void);

#endif
