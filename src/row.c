/*
 * A listing as typed column values (struct fb_row): what map() produced,
 * ready for the sync to compare and upsert.  Columns are indexed as in
 * fb_listing_columns.  Money is exact: integer hundredths, converted from
 * a Lua number through its shortest decimal text and rounded half away
 * from zero, so 12.345 becomes 1235 and 0.1 + 0.2 becomes 30.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define MONEY_MAX	1e13		/* hundredths: 100 billion */

static pthread_once_t	sorted_once = PTHREAD_ONCE_INIT;
static int		sorted[FB_ROW_MAX];	/* column indexes by name */

static void	row_sort(void);
static int	row_cmp(const void *, const void *);
static void	row_clear(struct fb_value *);

void
fb_row_init(struct fb_row *r)
{
	memset(r, 0, sizeof(*r));
}

void
fb_row_cleanup(struct fb_row *r)
{
	int	i;

	for (i = 0; i < FB_ROW_MAX; i++)
		row_clear(&r->v[i]);
}

/* The index of a listing column, or -1 (a binary search). */
int
fb_row_column(const char *name)
{
	int	lo = 0, hi, mid, c;

	(void)pthread_once(&sorted_once, row_sort);
	hi = fb_listing_ncolumns - 1;
	while (lo <= hi) {
		mid = (lo + hi) / 2;
		c = strcmp(name, fb_listing_columns[sorted[mid]].name);
		if (c == 0)
			return (sorted[mid]);
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return (-1);
}

/* Borrowed: the value of a column by name, or NULL if no such column. */
const struct fb_value *
fb_row_get(const struct fb_row *r, const char *name)
{
	int	i = fb_row_column(name);

	return (i < 0 ? NULL : &r->v[i]);
}

void
fb_row_set_int(struct fb_row *r, int col, int64_t i)
{
	row_clear(&r->v[col]);
	r->v[col].type = FB_VAL_INT;
	r->v[col].i = i;
}

void
fb_row_set_real(struct fb_row *r, int col, double d)
{
	row_clear(&r->v[col]);
	r->v[col].type = FB_VAL_REAL;
	r->v[col].d = d;
}

/* Copies s (len bytes); the caller has checked it is UTF-8. */
void
fb_row_set_text(struct fb_row *r, int col, const char *s, size_t len)
{
	row_clear(&r->v[col]);
	if ((r->v[col].s = malloc(len + 1)) == NULL)
		abort();
	memcpy(r->v[col].s, s, len);
	r->v[col].s[len] = '\0';
	r->v[col].len = len;
	r->v[col].type = FB_VAL_TEXT;
}

void
fb_row_set_null(struct fb_row *r, int col)
{
	row_clear(&r->v[col]);
	r->v[col].type = FB_VAL_NULL;
}

/* Binds column col at pos; UNSET binds NULL.  FB_OK or FB_ERR. */
int
fb_row_bind(const struct fb_row *r, int col, sqlite3_stmt *st, int pos)
{
	const struct fb_value	*v = &r->v[col];
	int			 rc;

	switch (v->type) {
	case FB_VAL_INT:
		rc = sqlite3_bind_int64(st, pos, v->i);
		break;
	case FB_VAL_REAL:
		rc = sqlite3_bind_double(st, pos, v->d);
		break;
	case FB_VAL_TEXT:
		rc = sqlite3_bind_text(st, pos, v->s, (int)v->len,
		    SQLITE_TRANSIENT);
		break;
	default:
		rc = sqlite3_bind_null(st, pos);
		break;
	}
	return (rc == SQLITE_OK ? FB_OK : FB_ERR);
}

/* st's current row, whose first columns are fb_listing_select_list(). */
void
fb_row_from_stmt(struct fb_row *r, sqlite3_stmt *st)
{
	int	i;

	fb_row_cleanup(r);
	for (i = 0; i < fb_listing_ncolumns; i++) {
		if (sqlite3_column_type(st, i) == SQLITE_NULL) {
			fb_row_set_null(r, i);
			continue;
		}
		switch (fb_listing_columns[i].type) {
		case FB_COL_REAL:
			fb_row_set_real(r, i, sqlite3_column_double(st, i));
			break;
		case FB_COL_TEXT:
		case FB_COL_JSON:
			fb_row_set_text(r, i,
			    (const char *)sqlite3_column_text(st, i),
			    (size_t)sqlite3_column_bytes(st, i));
			break;
		default:
			fb_row_set_int(r, i, sqlite3_column_int64(st, i));
			break;
		}
	}
}

/*
 * A price as a number: 15 significant digits give back the decimal the
 * script wrote (12.5, 0.3 for 0.1 + 0.2), which is then rounded exactly.
 */
int
fb_money_from_double(double d, int64_t *out)
{
	char	text[64];

	if (!isfinite(d) || fabs(d) * 100 >= MONEY_MAX)
		return (FB_ERR);
	(void)snprintf(text, sizeof(text), "%.15g", d);
	if (strchr(text, 'e') != NULL) {		/* tiny: 1e-05 */
		*out = 0;
		return (FB_OK);
	}
	return (fb_money_from_text(text, out));
}

/* "12.345" -> 1235, "-0.005" -> -1: half away from zero, exact. */
int
fb_money_from_text(const char *s, int64_t *out)
{
	int64_t	units = 0;
	int	neg = 0, frac = -1, digits = 0, round = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s != '\0'; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			return (FB_ERR);
		digits++;
		if (frac >= 2) {
			if (frac++ == 2)
				round = *s >= '5';
			continue;
		}
		if (units >= (int64_t)(MONEY_MAX / 10))
			return (FB_ERR);
		units = units * 10 + (*s - '0');
		if (frac >= 0)
			frac++;
	}
	if (digits == 0)
		return (FB_ERR);
	for (frac = frac < 0 ? 0 : frac; frac < 2; frac++)
		units *= 10;
	units += round;
	*out = neg ? -units : units;
	return (FB_OK);
}

static void
row_sort(void)
{
	int	i;

	for (i = 0; i < fb_listing_ncolumns; i++)
		sorted[i] = i;
	qsort(sorted, (size_t)fb_listing_ncolumns, sizeof(sorted[0]),
	    row_cmp);
}

static int
row_cmp(const void *a, const void *b)
{
	return (strcmp(fb_listing_columns[*(const int *)a].name,
	    fb_listing_columns[*(const int *)b].name));
}

static void
row_clear(struct fb_value *v)
{
	free(v->s);
	memset(v, 0, sizeof(*v));
}

/*
 * A row as bytes for the sync's scratch file, read back by the same
 * process: per set column, its index, its type, then 8 bytes (INT,
 * REAL) or a 4-byte length and the text.  Unset columns are left out.
 */
void
fb_row_encode(const struct fb_row *r, struct fb_buf *b)
{
	const struct fb_value	*v;
	unsigned char		 head[2];
	uint32_t		 len;
	int			 i;

	for (i = 0; i < fb_listing_ncolumns; i++) {
		v = &r->v[i];
		if (v->type == FB_VAL_UNSET)
			continue;
		head[0] = (unsigned char)i;
		head[1] = (unsigned char)v->type;
		fb_buf_append(b, head, sizeof(head));
		if (v->type == FB_VAL_INT)
			fb_buf_append(b, &v->i, sizeof(v->i));
		else if (v->type == FB_VAL_REAL)
			fb_buf_append(b, &v->d, sizeof(v->d));
		else if (v->type == FB_VAL_TEXT) {
			len = (uint32_t)v->len;
			fb_buf_append(b, &len, sizeof(len));
			fb_buf_append(b, v->s, v->len);
		}
	}
}

/* Fills an initialised row from fb_row_encode's bytes; FB_ERR if torn. */
int
fb_row_decode(struct fb_row *r, const void *data, size_t n)
{
	const unsigned char	*p = data, *end = p + n;
	uint32_t		 len;
	int			 col, type;

	while (p + 2 <= end) {
		col = p[0];
		type = p[1];
		p += 2;
		if (col >= fb_listing_ncolumns)
			return (FB_ERR);
		if (type == FB_VAL_NULL)
			fb_row_set_null(r, col);
		else if ((type == FB_VAL_INT || type == FB_VAL_REAL) &&
		    end - p >= 8) {
			if (type == FB_VAL_INT)
				memcpy(&r->v[col].i, p, 8);
			else
				memcpy(&r->v[col].d, p, 8);
			r->v[col].type = type;
			p += 8;
		} else if (type == FB_VAL_TEXT && end - p >= 4) {
			memcpy(&len, p, 4);
			if ((size_t)(end - p - 4) < len)
				return (FB_ERR);
			fb_row_set_text(r, col, (const char *)p + 4, len);
			p += 4 + len;
		} else
			return (FB_ERR);
	}
	return (p == end ? FB_OK : FB_ERR);
}

/* FNV-1a over every column map() set: index, type, value. */
uint64_t
fb_row_hash(const struct fb_row *row)
{
	uint64_t		 h = FB_HASH_INIT;
	const void		*p;
	size_t			 n;
	int			 i;

	for (i = 0; i < fb_listing_ncolumns; i++) {
		const struct fb_value	*v = &row->v[i];

		if (v->type == FB_VAL_UNSET)
			continue;
		h = (h ^ (uint64_t)(i * 8 + v->type)) * 1099511628211ULL;
		if (v->type == FB_VAL_TEXT) {
			p = v->s;
			n = v->len;
		} else {
			p = v->type == FB_VAL_REAL ? (const void *)&v->d :
			    (const void *)&v->i;
			n = 8;
		}
		h = fb_hash(p, n, h);
	}
	return (h);
}
