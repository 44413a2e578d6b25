/*
 * freakinbeats-plugin.h: the whole plugin ABI, and its manual.
 *
 * A plugin is a folder plugins/NAME/ with C files that include only this
 * header (and jansson.h, which it includes for you).  `make` builds it
 * into build/plugins/NAME.so with -Isrc/public -fvisibility=hidden, and
 * conf/plugins.conf says whether and in which order it loads.  The
 * smallest plugin, plugins/hello/hello.c, is the one to copy; the guide
 * is plugins/README.md.
 *
 * The contract, in short:
 *   - Export one descriptor with FB_PLUGIN(name, init, fini).  The host
 *     loads the file only when the descriptor's ABI major equals the
 *     host's and its minor is not newer, and when its name is the one
 *     conf/plugins.conf gives it.
 *   - init(ctx, api) runs once in every Kore worker.  Keep api (it stays
 *     valid for the worker's life), claim routes with api->route_add and
 *     read settings with api->setting.  Return FB_OK, or FB_ERR to be
 *     skipped (then fini is not called: undo your own work).  A route
 *     that is taken, by the core or by another plugin, refuses the whole
 *     plugin, whatever init returns (fini runs if init returned FB_OK).
 *     Plugin paths live under /api/; core routes always win.  Do no
 *     work in constructors: they run in the server's parent, as root.
 *   - A handler gets the request and the arg given to route_add.  It
 *     answers exactly once, with one of the api->reply* calls, and
 *     returns FB_OK.  Returning FB_ERR without an answer gives the client
 *     a JSON 500; returning without an answer is a bug, logged, and also
 *     a 500.  Handlers run on the worker's event loop: never block.
 *   - fini() runs when the worker stops, in reverse load order.
 *
 * Memory: neither side frees the other's memory.  Strings the host gives
 * are borrowed: valid until the request ends (request data), until fini
 * (settings), or as said below.  Use api->alloc/api->free or your own
 * malloc for your own data.  JSON crosses as jansson json_t under
 * jansson's rules: "new" means you own a reference (json_decref it or
 * pass it on), "borrowed" means do not decref, "steals" means the call
 * takes your reference, even when it fails.  Host and plugins share the
 * same libjansson.so.
 *
 * Versioning: the host table only ever grows at the end.  A new member
 * bumps FB_PLUGIN_ABI_MINOR; removing or changing a member bumps the
 * major, and every plugin must be rebuilt.  The table's first member is
 * its own size as the host built it.
 */
#ifndef FREAKINBEATS_PLUGIN_H
#define FREAKINBEATS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FB_PLUGIN_ABI_MAJOR	1	/* bump: old plugins refuse to load */
#define FB_PLUGIN_ABI_MINOR	0	/* bump: members appended below */

#ifndef FB_OK
#define FB_OK			0
#define FB_ERR			(-1)
#endif

/* Log levels for api->log; LOG_LEVEL in the environment filters them. */
#ifndef FB_LOG_ERROR
#define FB_LOG_ERROR		0
#define FB_LOG_WARN		1
#define FB_LOG_INFO		2
#define FB_LOG_DEBUG		3
#endif

/*
 * route_add flags: methods, or-ed with route options.  FB_METHOD_GET
 * also answers HEAD (the host drops the body).  A request for a claimed
 * path with another method gets 405 with an Allow header from the host.
 */
#define FB_METHOD_GET		0x0001
#define FB_METHOD_POST		0x0002
#define FB_METHOD_PUT		0x0004
#define FB_METHOD_DELETE	0x0008
#define FB_METHOD_PATCH		0x0010
#define FB_METHODS		0x001f

/*
 * FB_ROUTE_DATA: the answer depends on the shop's data only.  The host
 * brings the data version up to date, answers If-None-Match with 304,
 * adds an ETag to 2xx answers and answers 503 if the database is down.
 * FB_ROUTE_CACHE (implies DATA): the host also keeps 200 answers of
 * api->reply (JSON) per data version and URI, and serves repeats without
 * calling the handler.  Only for answers that depend on nothing else.
 */
#define FB_ROUTE_DATA		0x0100
#define FB_ROUTE_CACHE		0x0200

/* api->db_step results, and api->db_column_type values. */
#define FB_DB_DONE		0
#define FB_DB_ROW		1
#define FB_DB_INTEGER		1
#define FB_DB_FLOAT		2
#define FB_DB_TEXT		3
#define FB_DB_BLOB		4
#define FB_DB_NULL		5

/* A stream's fill callback writes about this much per call. */
#define FB_STREAM_CHUNK		(64 * 1024)
/* ... and never more than this: a bigger write fails. */
#define FB_STREAM_CHUNK_MAX	(1024 * 1024)

struct fb_req;			/* opaque: one HTTP request */
struct fb_plugin_ctx;		/* opaque: the plugin, as the host sees it */
struct fb_stmt;			/* opaque: a prepared read-only query */
struct fb_sink;			/* opaque: where a stream's bytes go */

/* Answers one request; see the contract above. */
typedef int	(*fb_handler)(struct fb_req *, void *);

/*
 * A stream's producer: write about FB_STREAM_CHUNK bytes with
 * api->sink_write, then return 1 if more is to come, 0 when this was
 * the last part, or FB_ERR to give up (the client sees a 500 if nothing
 * was sent yet, else a cut connection).  Called again once the previous
 * part has gone out, so one part is in memory at a time.
 */
typedef int	(*fb_fill)(struct fb_sink *, void *);
/* Called exactly once when a stream ends, however it ends: free arg. */
typedef void	(*fb_done)(void *);

struct fb_host_api {
	uint32_t	size;		/* sizeof as the host built it */

	/* ABI 1.0.  Append only; never reorder or remove. */

	/*
	 * Claims path for the methods and options in flags, with arg passed
	 * to handler.  Only valid while init runs: a later call fails and is
	 * logged.  path is exact ("/api/stats") or a prefix: a path that
	 * ends in a slash and a star, as in "/api/things/" "*", matches
	 * "/api/things/42" (see req_path_arg).
	 * Core routes are never yours: a path the core serves, or one
	 * another plugin claimed, fails the call and refuses the plugin.
	 * path is copied.  FB_OK or FB_ERR.
	 */
	int		(*route_add)(struct fb_plugin_ctx *, int, const char *,
			    fb_handler, void *);
	/*
	 * The value of the setting `NAME.key value` in conf/plugins.conf,
	 * or NULL.  Borrowed: valid until fini.  Works any time.
	 */
	const char	*(*setting)(struct fb_plugin_ctx *, const char *);
	/* One log line, prefixed with "plugin NAME: ". */
	void		(*log)(int, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
	/* malloc and free; alloc returns NULL when memory is short. */
	void		*(*alloc)(size_t);
	void		(*free)(void *);

	/* The request.  Strings are borrowed until the request ends. */

	/* FB_METHOD_GET (also for HEAD), FB_METHOD_POST, ... */
	int		(*req_method)(struct fb_req *);
	/* The path as sent, not URL-decoded. */
	const char	*(*req_path)(struct fb_req *);
	/* For a prefix route: the rest of the path, URL-decoded; else NULL. */
	const char	*(*req_path_arg)(struct fb_req *);
	/* A query parameter, URL-decoded, or NULL if absent. */
	const char	*(*req_param)(struct fb_req *, const char *);
	/*
	 * Checks that every query parameter is in names (NULL-terminated;
	 * NULL means none).
	 * If not, answers 400 naming the parameter and returns FB_ERR: then
	 * just return FB_OK from the handler.
	 */
	int		(*req_params_allow)(struct fb_req *,
			    const char *const *);
	/* A request header (name in any case), or NULL. */
	const char	*(*req_header)(struct fb_req *, const char *);
	/* The body parsed as JSON, or NULL (none, or not JSON).  Borrowed. */
	json_t		*(*req_body)(struct fb_req *);
	/* 1 when the request carries the admin's Bearer passphrase. */
	int		(*req_is_admin)(struct fb_req *);

	/*
	 * Answers.  Exactly one per request; a second one fails (FB_ERR)
	 * and is logged.  Status must be 200-599.
	 */

	/*
	 * JSON answer.  Steals body (NULL only for 204 and 304).  Reals are
	 * written with 15 significant digits, so json_money values print
	 * exactly.
	 */
	int		(*reply)(struct fb_req *, int, json_t *);
	/* {"error": "<message>"} with status 400-599. */
	int		(*reply_error)(struct fb_req *, int, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
	/* Any bytes with a content type ("text/plain; charset=utf-8"). */
	int		(*reply_text)(struct fb_req *, int, const char *,
			    const void *, size_t);
	/*
	 * Adds a header to the answer; call it before the reply.  Names and
	 * values with control characters are refused.
	 */
	int		(*reply_header)(struct fb_req *, const char *,
			    const char *);
	/*
	 * Conditional GET with your own version: tag (1-29 bytes of A-Z a-z
	 * 0-9 . _ -; the host adds the quotes) becomes the answer's ETag.
	 * Returns 1 when the request's If-None-Match names it: the host has
	 * answered 304, so just return FB_OK.  Returns 0 otherwise (answer
	 * as usual; the ETag goes out with a 2xx), FB_ERR for a bad tag.
	 * Not needed with FB_ROUTE_DATA, whose ETag is the data version.
	 */
	int		(*reply_etag)(struct fb_req *, const char *);
	/*
	 * A streamed answer (chunked): fill produces the body part by part,
	 * done(arg) runs once at the end, even when this call fails.  For
	 * HEAD only the headers go out and done runs at once.
	 */
	int		(*reply_stream)(struct fb_req *, int, const char *,
			    fb_fill, fb_done, void *);
	/* From a fill callback: appends bytes to the current part. */
	int		(*sink_write)(struct fb_sink *, const void *, size_t);

	/*
	 * The data.  Read-only: the database is the core's.  Queries run
	 * on the worker's own SQLite connection.
	 */

	/*
	 * The data version: it moves whenever listings change (sync,
	 * import).  Key your caches on it.  -1 if the database is down.
	 */
	int64_t		(*data_version)(struct fb_req *);
	/*
	 * Moves whenever anything in the database changes (any table, any
	 * writer: a sync run's progress too).  Key caches of what is not
	 * listings on it, such as sync_runs.  -1 if the database is down.
	 */
	int64_t		(*db_generation)(struct fb_req *);
	/*
	 * New: one prepared SELECT (bind values with ?, never paste user
	 * text into sql).  Anything that is not a read-only query (writes,
	 * PRAGMA, ATTACH, BEGIN, several statements) is refused: NULL, and
	 * the reason is logged.  Finalize it with db_finalize; one left
	 * open when the request (or its stream) ends is reset and logged.
	 * A single db_step that runs longer than 2 s is interrupted.
	 */
	struct fb_stmt	*(*db_prepare)(struct fb_req *, const char *);
	/*
	 * New: the listings that match the request's query string with the
	 * same parameters and meaning as GET /api/search (q, artist, genre,
	 * format, label, year, condition, sleeve_condition, min_price,
	 * max_price, include_inactive, sort, limit, offset), in the same
	 * order; without limit, every match.  Columns are the listing
	 * fields of GET /api/data, in that order, as SQLite values; money
	 * (price_value, shipping_price) is exact decimal text ("12.50").
	 * NULL when the host has already answered (400 naming a bad
	 * parameter, or 500): then return FB_OK.
	 */
	struct fb_stmt	*(*listings_open)(struct fb_req *);
	/* Binds position (1-based).  Text is copied. */
	int		(*db_bind_int)(struct fb_stmt *, int, int64_t);
	int		(*db_bind_text)(struct fb_stmt *, int, const char *);
	/* FB_DB_ROW, FB_DB_DONE, or FB_ERR (logged). */
	int		(*db_step)(struct fb_stmt *);
	int		(*db_column_count)(struct fb_stmt *);
	/* Borrowed: valid until db_finalize. */
	const char	*(*db_column_name)(struct fb_stmt *, int);
	/* FB_DB_INTEGER, FB_DB_FLOAT, FB_DB_TEXT, FB_DB_BLOB, FB_DB_NULL. */
	int		(*db_column_type)(struct fb_stmt *, int);
	int64_t		(*db_column_int)(struct fb_stmt *, int);
	double		(*db_column_double)(struct fb_stmt *, int);
	/* Borrowed: valid until the next db_step; NULL for NULL. */
	const char	*(*db_column_text)(struct fb_stmt *, int);
	/* Frees the statement; NULL is fine. */
	void		(*db_finalize)(struct fb_stmt *);

	/* New: money from integer hundredths (1250 -> 12.5), exact in reply. */
	json_t		*(*json_money)(int64_t);
};

/*
 * The descriptor: exactly one per plugin, made with FB_PLUGIN().  The two
 * version fields stay first in every ABI, so any host can read them.
 */
struct fb_plugin {
	uint32_t	abi_major;
	uint32_t	abi_minor;
	const char	*name;
	int		(*init)(struct fb_plugin_ctx *,
			    const struct fb_host_api *);
	int		(*fini)(void);
};

/*
 * FB_PLUGIN("hello", hello_init, NULL): defines the exported descriptor
 * `fb_plugin_entry`, stamped with the ABI this header describes.  name
 * must match the name conf/plugins.conf uses; fini may be NULL.
 */
#define FB_PLUGIN(name, init, fini)					\
	__attribute__((visibility("default")))				\
	extern const struct fb_plugin fb_plugin_entry;			\
	__attribute__((visibility("default")))				\
	const struct fb_plugin fb_plugin_entry = {			\
	    FB_PLUGIN_ABI_MAJOR, FB_PLUGIN_ABI_MINOR, (name), (init), (fini) }

#define FB_PLUGIN_SYMBOL	"fb_plugin_entry"

#endif
