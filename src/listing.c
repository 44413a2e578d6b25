/*
 * A listing: the column list, and a row rendered as the original's JSON.
 *
 * The X-macro below is the single list of listing fields.  It gives the
 * SELECT list, the JSON keys (pre-quoted, so rendering never escapes a
 * key) and how each value is typed in JSON: ids travel as strings, money
 * as exact decimals from integer hundredths, is_active as a boolean and
 * custom_metadata as an embedded object.  SQL about single listings lives
 * here; ordered pages live in listing_page.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

#define LISTING_COLUMNS(X)						\
	X(listing_id, FB_COL_ID)	X(status, FB_COL_TEXT)		\
	X(condition, FB_COL_TEXT)	X(sleeve_condition, FB_COL_TEXT)\
	X(posted, FB_COL_TEXT)		X(uri, FB_COL_TEXT)		\
	X(resource_url, FB_COL_TEXT)	X(price_value, FB_COL_MONEY)	\
	X(price_currency, FB_COL_TEXT)	X(shipping_price, FB_COL_MONEY)	\
	X(shipping_currency, FB_COL_TEXT) X(weight, FB_COL_REAL)	\
	X(format_quantity, FB_COL_INT)	X(external_id, FB_COL_TEXT)	\
	X(location, FB_COL_TEXT)	X(comments, FB_COL_TEXT)	\
	X(release_id, FB_COL_ID)	X(release_title, FB_COL_TEXT)	\
	X(release_year, FB_COL_INT)					\
	X(release_resource_url, FB_COL_TEXT)				\
	X(release_uri, FB_COL_TEXT)	X(artist_names, FB_COL_TEXT)	\
	X(primary_artist, FB_COL_TEXT)	X(label_names, FB_COL_TEXT)	\
	X(primary_label, FB_COL_TEXT)	X(format_names, FB_COL_TEXT)	\
	X(primary_format, FB_COL_TEXT)	X(genres, FB_COL_TEXT)		\
	X(styles, FB_COL_TEXT)		X(country, FB_COL_TEXT)		\
	X(catalog_number, FB_COL_TEXT)	X(barcode, FB_COL_TEXT)		\
	X(master_id, FB_COL_ID)		X(master_url, FB_COL_TEXT)	\
	X(image_uri, FB_COL_TEXT)	X(image_resource_url, FB_COL_TEXT)\
	X(release_community_have, FB_COL_INT)				\
	X(release_community_want, FB_COL_INT)				\
	X(export_timestamp, FB_COL_TEXT) X(created_at, FB_COL_TEXT)	\
	X(updated_at, FB_COL_TEXT)	X(is_active, FB_COL_BOOL)	\
	X(removed_at, FB_COL_TEXT)	X(sold_at, FB_COL_TEXT)		\
	X(custom_metadata, FB_COL_JSON)

#define COLUMN_ENTRY(n, t)	{ #n, t },
#define COLUMN_KEY(n, t)	"\"" #n "\":",

const struct fb_column	fb_listing_columns[] = {
	LISTING_COLUMNS(COLUMN_ENTRY)
};
const int		fb_listing_ncolumns =
    sizeof(fb_listing_columns) / sizeof(fb_listing_columns[0]);

static const char	*column_keys[] = { LISTING_COLUMNS(COLUMN_KEY) };

static pthread_once_t	select_once = PTHREAD_ONCE_INIT;
static char		select_list[2048];

static pthread_once_t	state_once = PTHREAD_ONCE_INIT;
static char		is_state[64];

static void	listing_build_select(void);
static void	listing_find_state(void);
static void	listing_value(struct fb_buf *, sqlite3_stmt *, int, int);

/*
 * Columns that record the shop's own state of a listing: the importer and
 * map() never set them; the sync and the importer write them themselves.
 */
int
fb_listing_is_state(int col)
{
	(void)pthread_once(&state_once, listing_find_state);
	return (is_state[col]);
}

static void
listing_find_state(void)
{
	static const char *const	names[] = {
		"created_at", "updated_at", "is_active", "removed_at",
		"sold_at", NULL
	};
	int				i, col;

	for (col = 0; col < fb_listing_ncolumns; col++) {
		for (i = 0; names[i] != NULL; i++)
			is_state[col] |= strcmp(names[i],
			    fb_listing_columns[col].name) == 0;
	}
}

/* Borrowed, static: "listing_id,status,...,custom_metadata". */
const char *
fb_listing_select_list(void)
{
	(void)pthread_once(&select_once, listing_build_select);
	return (select_list);
}

/* Renders the current row of st, whose columns are the select list. */
void
fb_listing_json(struct fb_buf *b, sqlite3_stmt *st)
{
	int	i;

	fb_buf_appendc(b, '{');
	for (i = 0; i < fb_listing_ncolumns; i++) {
		if (i > 0)
			fb_buf_appendc(b, ',');
		fb_buf_appends(b, column_keys[i]);
		listing_value(b, st, i, fb_listing_columns[i].type);
	}
	fb_buf_appendc(b, '}');
}

/* FB_OK with the JSON appended to b, FB_ERR with err->code 404 if absent. */
int
fb_listing_by_id(struct fb_db *db, int64_t id, struct fb_buf *b,
    struct fb_err *err)
{
	sqlite3_stmt	*st;
	char		 sql[2200];
	int		 rc;

	(void)snprintf(sql, sizeof(sql), "SELECT %s FROM listings "
	    "WHERE listing_id = ?", fb_listing_select_list());
	if ((st = fb_db_stmt(db, FB_ST_LISTING_BY_ID, sql, err)) == NULL)
		return (FB_ERR);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fb_listing_json(b, st);
	else if (rc == SQLITE_DONE) {
		err->code = 404;
		fb_err_set(err, "Listing not found");
	} else
		fb_err_set(err, "sqlite: %s", sqlite3_errmsg(db->h));
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? FB_OK : FB_ERR);
}

static void
listing_build_select(void)
{
	size_t	off = 0;
	int	i;

	for (i = 0; i < fb_listing_ncolumns; i++) {
		off += (size_t)snprintf(select_list + off,
		    sizeof(select_list) - off, "%s%s", i ? "," : "",
		    fb_listing_columns[i].name);
	}
}

static void
listing_value(struct fb_buf *b, sqlite3_stmt *st, int i, int type)
{
	const unsigned char	*text;

	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		fb_buf_append(b, "null", 4);
		return;
	}
	switch (type) {
	case FB_COL_ID:
		fb_buf_appendc(b, '"');
		fb_buf_append_int(b, sqlite3_column_int64(st, i));
		fb_buf_appendc(b, '"');
		break;
	case FB_COL_INT:
		fb_buf_append_int(b, sqlite3_column_int64(st, i));
		break;
	case FB_COL_REAL:
		fb_buf_appendf(b, "%.15g", sqlite3_column_double(st, i));
		break;
	case FB_COL_MONEY:
		fb_json_money(b, sqlite3_column_int64(st, i));
		break;
	case FB_COL_BOOL:
		fb_buf_appends(b, sqlite3_column_int(st, i) ? "true" : "false");
		break;
	case FB_COL_JSON:
		text = sqlite3_column_text(st, i);
		fb_buf_append(b, text, (size_t)sqlite3_column_bytes(st, i));
		break;
	default:
		text = sqlite3_column_text(st, i);
		fb_json_str(b, (const char *)text,
		    (size_t)sqlite3_column_bytes(st, i));
		break;
	}
}
