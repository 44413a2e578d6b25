/*
 * Ordered listings: the pages of /api/data and its streamed full dump.
 *
 * Order is newest `posted` first, ties broken by listing id.  A page is
 * cut from a per-connection array of ordered ids, rebuilt once per data
 * version, so `offset=99950` costs the same as `offset=0` (SQLite's
 * OFFSET would walk every skipped row).  The full dump instead walks one
 * statement in chunks, so it reads a consistent snapshot and its memory
 * does not grow with the inventory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define ORDER_ACTIVE	"SELECT listing_id FROM listings WHERE is_active = 1 " \
			"ORDER BY posted_sort DESC, listing_id DESC"
#define ORDER_ALL	"SELECT listing_id FROM listings " \
			"ORDER BY posted_sort DESC, listing_id DESC"

static struct fb_order	*order_get(struct fb_db *, int, struct fb_err *);
static int		 order_build(struct fb_db *, struct fb_order *, int,
			    struct fb_err *);

/* Appends a JSON array of at most limit listings starting at offset. */
int
fb_listing_page(struct fb_db *db, int include_inactive, int64_t offset,
    int64_t limit, struct fb_buf *b, struct fb_err *err)
{
	struct fb_order	*o;
	size_t		 i, end;

	int		 rc = FB_OK;

	if ((o = order_get(db, include_inactive, err)) == NULL)
		return (FB_ERR);
	fb_buf_appendc(b, '[');
	end = (size_t)offset + (size_t)limit;
	if (end > o->n_ids)
		end = o->n_ids;
	(void)fb_db_exec(db, "BEGIN", NULL);	/* one snapshot, one lock */
	for (i = (size_t)offset; i < end && rc == FB_OK; i++) {
		if (i > (size_t)offset)
			fb_buf_appendc(b, ',');
		rc = fb_listing_by_id(db, o->ids[i], b, err);
	}
	(void)fb_db_exec(db, "COMMIT", NULL);
	fb_buf_appendc(b, ']');
	return (rc);
}

/* The number of listings in the set, or -1 on a database error. */
int64_t
fb_listing_total(struct fb_db *db, int include_inactive)
{
	struct fb_order	*o;
	struct fb_err	 err = { 0, "" };

	if ((o = order_get(db, include_inactive, &err)) == NULL)
		return (-1);
	return ((int64_t)o->n_ids);
}

void
fb_order_cleanup(struct fb_order *o)
{
	free(o->ids);
	memset(o, 0, sizeof(*o));
}

/* Opens a snapshot read of the whole set, in order. */
int
fb_cursor_open(struct fb_cursor *c, struct fb_db *db, int include_inactive,
    struct fb_err *err)
{
	char	sql[2300];

	memset(c, 0, sizeof(*c));
	(void)snprintf(sql, sizeof(sql), "SELECT %s FROM listings %s"
	    "ORDER BY posted_sort DESC, listing_id DESC",
	    fb_listing_select_list(),
	    include_inactive ? "" : "WHERE is_active = 1 ");
	if ((c->st = fb_db_prepare(db, sql, err)) == NULL)
		return (FB_ERR);
	return (FB_OK);
}

/*
 * Appends rows until b holds at least want bytes or the set ends, which
 * sets c->done.  Returns FB_ERR on a database error.
 */
int
fb_cursor_fill(struct fb_cursor *c, struct fb_buf *b, size_t want)
{
	int	rc;

	while (!c->done && b->len < want) {
		if ((rc = sqlite3_step(c->st)) == SQLITE_DONE) {
			c->done = 1;
			break;
		}
		if (rc != SQLITE_ROW)
			return (FB_ERR);
		if (c->n_rows++ > 0)
			fb_buf_appendc(b, ',');
		fb_listing_json(b, c->st);
	}
	return (FB_OK);
}

void
fb_cursor_close(struct fb_cursor *c)
{
	sqlite3_finalize(c->st);
	c->st = NULL;
}

static struct fb_order *
order_get(struct fb_db *db, int include_inactive, struct fb_err *err)
{
	struct fb_order	*o = &db->order[include_inactive ? 1 : 0];

	if (o->ids != NULL && o->version == db->version)
		return (o);
	if (order_build(db, o, include_inactive, err) != FB_OK)
		return (NULL);
	return (o);
}

static int
order_build(struct fb_db *db, struct fb_order *o, int include_inactive,
    struct fb_err *err)
{
	sqlite3_stmt	*st;

	st = fb_db_stmt(db, include_inactive ? FB_ST_LISTING_PAGE_ALL :
	    FB_ST_LISTING_PAGE, include_inactive ? ORDER_ALL : ORDER_ACTIVE,
	    err);
	if (st == NULL)
		return (FB_ERR);
	return (fb_order_read(db, st, o, err));
}

/* o: the first column of every row of st (a cached statement), tagged
 * with the connection's data version. */
int
fb_order_read(struct fb_db *db, sqlite3_stmt *st, struct fb_order *o,
    struct fb_err *err)
{
	size_t		 cap = 1024;
	int		 rc;

	fb_order_cleanup(o);
	if ((o->ids = malloc(cap * sizeof(*o->ids))) == NULL)
		abort();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (o->n_ids == cap) {
			cap *= 2;
			if ((o->ids = realloc(o->ids,
			    cap * sizeof(*o->ids))) == NULL)
				abort();
		}
		o->ids[o->n_ids++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fb_err_set(err, "sqlite: %s", sqlite3_errmsg(db->h));
		fb_order_cleanup(o);
		return (FB_ERR);
	}
	o->version = db->version;
	return (FB_OK);
}
