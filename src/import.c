/*
 * The CSV importer: the original's flattened export and Discogs' own
 * inventory export, told apart by their header, into listings.
 *
 * Everything happens in one transaction.  A row is upserted by
 * listing_id, and an existing row is only rewritten (and its updated_at
 * moved) when a field really changed, so importing the same file twice
 * changes nothing.  A bad row is reported as `line N: column: reason`
 * and skipped; with FB_IMPORT_STRICT any bad row rolls everything back.
 * A dry run does all the work and rolls back, so its report is exact.
 * Columns a file does not carry are left as they are.
 *
 * An import that writes the whole shop (it was empty, or --clear-db)
 * builds the word indexes on a second core (fts_build.c).  One into an
 * empty shop that no other connection has open writes through a rollback
 * journal instead of the WAL (fb_db_solo_begin()).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"

#define MAX_TARGETS	48

/* A CSV column of Discogs' export and the listing columns it fills. */
struct discogs_column {
	const char	*csv;
	const char	*col1, *col2;
};

static const struct discogs_column	discogs_columns[] = {
	{ "listing_id", "listing_id", NULL },
	{ "artist", "artist_names", "primary_artist" },
	{ "title", "release_title", NULL },
	{ "label", "label_names", "primary_label" },
	{ "catno", "catalog_number", NULL },
	{ "format", "format_names", "primary_format" },
	{ "release_id", "release_id", NULL },
	{ "status", "status", NULL },
	{ "price", "price_value", NULL },
	{ "listed", "posted", NULL },
	{ "comments", "comments", NULL },
	{ "media_condition", "condition", NULL },
	{ "sleeve_condition", "sleeve_condition", NULL },
	{ "accept_offer", NULL, NULL },
	{ "external_id", "external_id", NULL },
	{ "weight", "weight", NULL },
	{ "format_quantity", "format_quantity", NULL },
	{ "flat_shipping", "shipping_price", NULL },
	{ "location", "location", NULL },
	{ NULL, NULL, NULL }
};

struct target {
	int		field;			/* CSV field index */
	int		column;			/* index in fb_listing_columns */
	int		is_primary;		/* first item of a list */
	int		fts;			/* in fb_fts_fields, or -1 */
};

struct import {
	struct fb_db		*db;
	const struct fb_import_cb *cb;
	struct fb_import_stats	*stats;
	int			 n_fields;
	char			*names[FB_CSV_FIELDS_MAX];	/* header */
	int			 n_targets;
	int			 id_target;
	struct target		 targets[MAX_TARGETS];
	sqlite3_stmt		*st_upsert;
	int64_t			 cur_id;
	struct fb_fts_row	 fts_row;		/* the row's text */
	char			 now[32];
};

static int	import_begin(struct fb_db *, int, struct fb_err *);
static int	import_header(struct import *, struct fb_csv *,
		    struct fb_err *);
static int	import_header_discogs(struct import *, struct fb_csv *);
static int	import_header_flat(struct import *, struct fb_csv *);
static int	import_add_target(struct import *, int, const char *, int);
static int	import_prepare(struct import *, struct fb_err *);
static int	import_rows(struct import *, struct fb_csv *, int);
static int	import_row(struct import *, struct fb_csv *, char *, size_t);
static int	import_bind(struct import *, struct fb_csv *, int,
		    const struct target *, char *, size_t);
static void	import_report(struct import *, const char *);
static const char *printable(char *, size_t, const char *);
static int	column_index(const char *);

int
fb_import_file(struct fb_db *db, const char *path, int flags,
    const struct fb_import_cb *cb, struct fb_import_stats *stats,
    struct fb_err *err)
{
	struct stat	 st;
	void		*map;
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		fb_err_set(err, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return (FB_ERR);
	}
	if (st.st_size == 0) {
		close(fd);
		fb_err_set(err, "%s: empty file", path);
		return (FB_ERR);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fb_err_set(err, "%s: %s", path, strerror(errno));
		return (FB_ERR);
	}
	/* Read front to back: ask the kernel for the whole file now. */
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	(void)madvise(map, (size_t)st.st_size, MADV_WILLNEED);
	rc = fb_import_buffer(db, map, (size_t)st.st_size, path, flags, cb,
	    stats, err);
	munmap(map, (size_t)st.st_size);
	return (rc);
}

int
fb_import_buffer(struct fb_db *db, const char *data, size_t len,
    const char *name, int flags, const struct fb_import_cb *cb,
    struct fb_import_stats *stats, struct fb_err *err)
{
	struct import	im;
	struct fb_csv	csv;
	uint64_t	start = fb_time_mono_us();
	char		msg[sizeof(err->msg)];
	int		rc = FB_ERR, i;

	memset(&im, 0, sizeof(im));
	memset(stats, 0, sizeof(*stats));
	im.db = db;
	im.cb = cb;
	im.stats = stats;
	fb_time_iso(im.now, sizeof(im.now), fb_time_now());
	fb_csv_init(&csv, data, len);
	if (import_header(&im, &csv, err) != FB_OK) {
		(void)snprintf(msg, sizeof(msg), "%s", err->msg);
		fb_err_set(err, "%s: %s", name, msg);
		goto done;
	}
	/* A first import: nobody can be reading a shop that does not exist
	 * yet.  (--clear-db would journal the whole old shop: no gain.) */
	if (!(flags & (FB_IMPORT_CLEAR | FB_IMPORT_DRY_RUN)) &&
	    fb_db_count(db, "SELECT NOT EXISTS (SELECT 1 FROM listings)") == 1)
		stats->is_solo = fb_db_solo_begin(db);
	if (fb_db_begin(db, err) != FB_OK)
		goto done;
	if (import_begin(db, flags, err) != FB_OK ||
	    import_prepare(&im, err) != FB_OK ||
	    import_rows(&im, &csv, flags) != FB_OK ||
	    fb_fts_defer_end(db, err) != FB_OK) {
		fb_db_rollback(db);
		goto done;
	}
	if ((flags & FB_IMPORT_DRY_RUN) ||
	    ((flags & FB_IMPORT_STRICT) && stats->skipped > 0))
		fb_db_rollback(db);
	else if (fb_db_commit(db, err) != FB_OK) {
		fb_db_rollback(db);
		goto done;
	}
	rc = FB_OK;
done:
	fb_fts_build_free(db);
	fb_db_solo_end(db);
	sqlite3_finalize(im.st_upsert);
	for (i = 0; i < im.n_fields; i++)
		free(im.names[i]);
	fb_csv_cleanup(&csv);
	stats->seconds = (double)(fb_time_mono_us() - start) / 1e6;
	return (rc);
}

/*
 * Inside the transaction, before the first row: text indexes deferred,
 * their builder started when every listing gets written (which also
 * takes the triggers away, so --clear-db's DELETE empties the table at
 * once instead of row by row).
 */
static int
import_begin(struct fb_db *db, int flags, struct fb_err *err)
{
	if (fb_fts_defer_begin(db, err) != FB_OK ||
	    ((flags & FB_IMPORT_CLEAR) && fb_fts_touch_all(db, err) != FB_OK))
		return (FB_ERR);
	if (db->fts_all && fb_fts_build_begin(db, err) != FB_OK)
		return (FB_ERR);
	if ((flags & FB_IMPORT_CLEAR) &&
	    fb_db_exec(db, "DELETE FROM listings", err) != FB_OK)
		return (FB_ERR);
	return (FB_OK);
}

/* Reads the header, tells the format and maps fields to columns. */
static int
import_header(struct import *im, struct fb_csv *csv, struct fb_err *err)
{
	int	i, has_artist = 0, has_title = 0;

	if (fb_csv_next(csv, err) != 1) {
		if (err->msg[0] == '\0')
			fb_err_set(err, "line 1: no header");
		return (FB_ERR);
	}
	im->n_fields = csv->n_fields;
	for (i = 0; i < csv->n_fields; i++) {
		if ((im->names[i] = strdup(fb_csv_field(csv, i, NULL))) ==
		    NULL)
			abort();
		has_artist |= strcmp(im->names[i], "artist") == 0;
		has_title |= strcmp(im->names[i], "title") == 0;
	}
	if (has_artist && has_title)
		i = import_header_discogs(im, csv);
	else
		i = import_header_flat(im, csv);
	if (i != FB_OK || im->id_target < 0) {
		fb_err_set(err, "line 1: no listing_id column; expected the "
		    "original's export or Discogs' inventory export");
		return (FB_ERR);
	}
	return (FB_OK);
}

static int
import_header_discogs(struct import *im, struct fb_csv *csv)
{
	const struct discogs_column	*d;
	int				 i;
	char				 msg[160];

	im->stats->format = "Discogs inventory export";
	im->id_target = -1;
	for (i = 0; i < csv->n_fields; i++) {
		for (d = discogs_columns; d->csv != NULL; d++) {
			if (strcmp(d->csv, im->names[i]) == 0)
				break;
		}
		if (d->csv == NULL) {
			(void)snprintf(msg, sizeof(msg), "warning: line 1: "
			    "column '%.64s' is not in Discogs' export; "
			    "ignored", im->names[i]);
			import_report(im, msg);
			continue;
		}
		if ((d->col1 != NULL && import_add_target(im, i, d->col1, 0)
		    != FB_OK) || (d->col2 != NULL && import_add_target(im, i,
		    d->col2, strcmp(d->col2, "primary_format") == 0) != FB_OK))
			return (FB_ERR);
	}
	return (FB_OK);
}

static int
import_header_flat(struct import *im, struct fb_csv *csv)
{
	int	i, col;
	char	msg[160];

	im->stats->format = "the original's export";
	im->id_target = -1;
	for (i = 0; i < csv->n_fields; i++) {
		if ((col = column_index(im->names[i])) >= 0 &&
		    fb_listing_is_state(col))
			continue;	/* our own state; a file never sets it */
		if (col < 0) {
			(void)snprintf(msg, sizeof(msg), "warning: line 1: "
			    "column '%.64s' is not a listing field; ignored",
			    im->names[i]);
			import_report(im, msg);
			continue;
		}
		if (import_add_target(im, i, im->names[i], 0) != FB_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

/* A duplicate column in the header keeps its first occurrence. */
static int
import_add_target(struct import *im, int field, const char *column,
    int is_primary)
{
	int	c = column_index(column), i;

	for (i = 0; i < im->n_targets; i++) {
		if (im->targets[i].column == c)
			return (FB_OK);
	}
	if (c < 0 || im->n_targets == MAX_TARGETS)
		return (FB_ERR);
	if (strcmp(column, "listing_id") == 0)
		im->id_target = im->n_targets;
	im->targets[im->n_targets].field = field;
	im->targets[im->n_targets].fts = fb_fts_field(column);
	im->targets[im->n_targets].column = c;
	im->targets[im->n_targets++].is_primary = is_primary;
	return (FB_OK);
}

/*
 * INSERT ... ON CONFLICT DO UPDATE ... WHERE some column differs: an
 * unchanged row is not written at all, so updated_at stays.
 */
static int
import_prepare(struct import *im, struct fb_err *err)
{
	struct fb_buf	ins, set, diff;
	const char	*name;
	int		i;

	fb_buf_init(&ins, 1024);
	fb_buf_init(&set, 1024);
	fb_buf_init(&diff, 1024);
	fb_buf_appends(&ins, "INSERT INTO listings (");
	for (i = 0; i < im->n_targets; i++) {
		name = fb_listing_columns[im->targets[i].column].name;
		fb_buf_appendf(&ins, "%s, ", name);
		fb_buf_appendf(&set, "%s = excluded.%s, ", name, name);
		fb_buf_appendf(&diff, "%s IS NOT excluded.%s OR ", name, name);
	}
	fb_buf_appends(&ins, "created_at, updated_at, is_active) VALUES (");
	for (i = 0; i < im->n_targets; i++)
		fb_buf_appends(&ins, "?, ");
	fb_buf_appendf(&ins, "?%d, ?%d, 1) ON CONFLICT(listing_id) DO UPDATE "
	    "SET %supdated_at = excluded.updated_at, is_active = 1, "
	    "removed_at = NULL WHERE %sis_active = 0", im->n_targets + 1,
	    im->n_targets + 1, fb_buf_cstr(&set), fb_buf_cstr(&diff));
	im->st_upsert = fb_db_prepare(im->db, fb_buf_cstr(&ins), err);
	fb_buf_cleanup(&ins);
	fb_buf_cleanup(&set);
	fb_buf_cleanup(&diff);
	if (im->st_upsert == NULL)
		return (FB_ERR);
	return (FB_OK);
}

static int
import_rows(struct import *im, struct fb_csv *csv, int flags)
{
	struct fb_err	err = { 0, "" };
	char		msg[sizeof(err.msg) + 64];
	size_t		total = (size_t)(csv->end - csv->p);
	const char	*begin = csv->p;
	int		rc;

	while ((rc = fb_csv_next(csv, &err)) != 0) {
		im->stats->rows++;
		if (rc < 0 || import_row(im, csv, msg, sizeof(msg)) != FB_OK) {
			im->stats->skipped++;
			import_report(im, rc < 0 ? err.msg : msg);
			fb_err_clear(&err);
			if ((flags & FB_IMPORT_STRICT) && im->stats->skipped > 50)
				break;
		}
		if (im->cb != NULL && im->cb->progress != NULL &&
		    im->stats->rows % 1000 == 0)
			im->cb->progress(im->cb->arg,
			    (size_t)(csv->p - begin), total, im->stats->rows);
	}
	if (im->cb != NULL && im->cb->progress != NULL)
		im->cb->progress(im->cb->arg, total, total, im->stats->rows);
	return (FB_OK);
}

/* One record: check, bind, upsert, count.  msg explains a failure. */
static int
import_row(struct import *im, struct fb_csv *csv, char *msg, size_t len)
{
	struct fb_err	err = { 0, "" };
	int		i, rc;

	if (csv->n_fields != im->n_fields) {
		(void)snprintf(msg, len, "line %d: expected %d fields, found "
		    "%d", csv->row_line, im->n_fields, csv->n_fields);
		return (FB_ERR);
	}
	sqlite3_reset(im->st_upsert);		/* every row binds them all */
	memset(im->fts_row.v, 0, sizeof(im->fts_row.v));
	for (i = 0; i < im->n_targets; i++) {
		if (import_bind(im, csv, i + 1, &im->targets[i], msg, len) !=
		    FB_OK)
			return (FB_ERR);
	}
	sqlite3_bind_text(im->st_upsert, im->n_targets + 1, im->now, -1,
	    SQLITE_STATIC);
	/* An insert sets the last rowid to the listing id; an update leaves
	 * it alone (a lookup per row before cost more). */
	sqlite3_set_last_insert_rowid(im->db->h, 0);
	if ((rc = sqlite3_step(im->st_upsert)) != SQLITE_DONE) {
		(void)snprintf(msg, len, "line %d: %s", csv->row_line,
		    sqlite3_errmsg(im->db->h));
		return (FB_ERR);
	}
	if (sqlite3_changes(im->db->h) == 0) {
		im->stats->unchanged++;
		return (FB_OK);
	}
	if (sqlite3_last_insert_rowid(im->db->h) == im->cur_id)
		im->stats->added++;
	else
		im->stats->updated++;
	if (im->db->fts_build != NULL) {
		im->fts_row.id = im->cur_id;
		fb_fts_build_row(im->db, &im->fts_row);
	}
	if (fb_fts_touch(im->db, im->cur_id, &err) != FB_OK) {
		(void)snprintf(msg, len, "line %d: %s", csv->row_line,
		    err.msg);
		return (FB_ERR);
	}
	return (FB_OK);
}

/* Binds one field, converted for its column; msg names a bad value. */
static int
import_bind(struct import *im, struct fb_csv *csv, int pos,
    const struct target *t, char *msg, size_t len)
{
	const struct fb_column	*col = &fb_listing_columns[t->column];
	const char		*name = im->names[t->field], *v;
	sqlite3_stmt		*st = im->st_upsert;
	size_t			 n;
	int64_t			 i;
	char			*end, shown[48];
	double			 d;

	v = fb_csv_field(csv, t->field, &n);
	if (!fb_utf8_valid(v, n)) {
		(void)snprintf(msg, len, "line %d: %s: invalid UTF-8",
		    csv->row_line, name);
		return (FB_ERR);
	}
	if (n == 0) {
		if (col->type == FB_COL_ID && pos == im->id_target + 1) {
			(void)snprintf(msg, len, "line %d: %s: missing",
			    csv->row_line, name);
			return (FB_ERR);
		}
		sqlite3_bind_null(st, pos);
		return (FB_OK);
	}
	errno = 0;
	switch (col->type) {
	case FB_COL_ID:
		if (fb_parse_id(v, &i) != FB_OK)
			break;
		if (pos == im->id_target + 1)
			im->cur_id = i;
		sqlite3_bind_int64(st, pos, i);
		return (FB_OK);
	case FB_COL_INT:
		i = strtoll(v, &end, 10);
		if (*end != '\0' || errno != 0)
			break;
		if (i == 0 && strcmp(col->name, "release_year") == 0)
			sqlite3_bind_null(st, pos);	/* Discogs: unknown */
		else
			sqlite3_bind_int64(st, pos, i);
		return (FB_OK);
	case FB_COL_REAL:
		d = strtod(v, &end);
		if (*end != '\0' || errno != 0)
			break;
		sqlite3_bind_double(st, pos, d);
		return (FB_OK);
	case FB_COL_MONEY:
		if (fb_parse_money(v, &i) != FB_OK)
			break;
		sqlite3_bind_int64(st, pos, i);
		return (FB_OK);
	default:
		if (t->is_primary && (end = memchr(v, ',', n)) != NULL)
			n = (size_t)(end - v);
		sqlite3_bind_text(st, pos, v, (int)n, SQLITE_STATIC);
		if (t->fts >= 0) {
			im->fts_row.v[t->fts] = v;
			im->fts_row.n[t->fts] = n;
		}
		return (FB_OK);
	}
	(void)snprintf(msg, len, "line %d: %s: '%s' is not %s",
	    csv->row_line, name, printable(shown, sizeof(shown), v),
	    col->type == FB_COL_MONEY ?
	    "a price such as 12.50" : col->type == FB_COL_ID ?
	    "an id (digits only)" : "a number");
	return (FB_ERR);
}

/* At most len-1 bytes of s for a message: line breaks become spaces. */
static const char *
printable(char *out, size_t len, const char *s)
{
	size_t	i;

	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	out[i] = '\0';
	return (out);
}

static void
import_report(struct import *im, const char *msg)
{
	if (im->cb != NULL && im->cb->row_error != NULL)
		im->cb->row_error(im->cb->arg, msg);
}

static int
column_index(const char *name)
{
	int	i;

	for (i = 0; i < fb_listing_ncolumns; i++) {
		if (strcmp(fb_listing_columns[i].name, name) == 0)
			return (i);
	}
	return (-1);
}
