/*
 * The query builder: search, filter and facet parameters, checked and
 * turned into SQL with bound values.  User text never becomes SQL text:
 * it is bound, or quoted as an FTS5 phrase with its quotes doubled.  The
 * substring filters keep the original's meaning (case-insensitive, and
 * % and _ are plain characters) but use the trigram index, not a scan,
 * once the text is 3 bytes or longer.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define FTS_TERMS_MAX	32

const char *const	fb_query_params_search[] = {
	"q", "artist", "genre", "format", "label", "year", "condition",
	"sleeve_condition", "min_price", "max_price", "sort", "limit",
	"offset", "include_inactive", NULL
};
const char *const	fb_query_params_filter[] = {
	"q", "artist", "label", "year", "condition", "sleeve_condition",
	"min_price", "max_price", "sort", "limit", "offset",
	"include_inactive", NULL
};

static const char	*sort_names[] = {
	"relevance", "posted", "price", "year", "artist", "title", NULL
};

static int	query_sort(struct fb_query *, const char *, struct fb_err *);
static const char *query_number(const struct fb_params *, const char *);
static int	query_numbers(struct fb_query *, const struct fb_params *,
		    struct fb_err *);
static void	sql_bind_text(struct fb_sql *, const char *, char *);
static void	sql_bind_int(struct fb_sql *, int64_t);
static void	sql_narrow(const struct fb_query *, struct fb_sql *);
static void	sql_substring(struct fb_sql *, struct fb_buf *,
		    const char *, const char *);
static void	sql_exact(struct fb_sql *, const char *, const char *);
static void	sql_order(const struct fb_query *, struct fb_sql *);
static void	fts_phrase(struct fb_buf *, const char *, size_t);
static int	query_is_narrow(const struct fb_query *);

int
fb_query_parse(struct fb_query *qr, const struct fb_params *p, int mode,
    struct fb_err *err)
{
	memset(qr, 0, sizeof(*qr));
	qr->mode = mode;
	if (fb_params_allow(p, mode == FB_QUERY_FILTER ?
	    fb_query_params_filter : fb_query_params_search, err) != FB_OK ||
	    fb_params_page(p, &qr->page, err) != FB_OK ||
	    fb_params_bool(p, "include_inactive", &qr->include_inactive,
	    err) != FB_OK || query_numbers(qr, p, err) != FB_OK)
		return (FB_ERR);
	qr->q = fb_params_get(p, "q");
	qr->artist = fb_params_get(p, "artist");
	qr->genre = fb_params_get(p, "genre");
	qr->format = fb_params_get(p, "format");
	qr->label = fb_params_get(p, "label");
	qr->condition = fb_params_get(p, "condition");
	qr->sleeve_condition = fb_params_get(p, "sleeve_condition");
	if (qr->q != NULL && strlen(qr->q) > 500) {
		fb_err_set(err, "q: longer than 500 bytes");
		return (FB_ERR);
	}
	qr->is_paged = qr->page.has_limit;
	if (!qr->page.has_limit) {
		qr->page.has_limit = 1;
		qr->page.limit = FB_PAGE_MAX;
	}
	return (query_sort(qr, fb_params_get(p, "sort"), err));
}

/* "12.5" -> 1250; at most two decimals, no sign, no exponent. */
int
fb_parse_money(const char *s, int64_t *out)
{
	int64_t	units = 0;
	int	frac = -1, digits = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)*s) || frac >= 2 ||
		    units > INT64_MAX / 100)
			return (FB_ERR);
		units = units * 10 + (*s - '0');
		digits++;
		if (frac >= 0)
			frac++;
	}
	if (digits == 0)
		return (FB_ERR);
	for (frac = frac < 0 ? 0 : frac; frac < 2; frac++)
		units *= 10;
	*out = units;
	return (FB_OK);
}

/*
 * The words of q as an FTS5 query: each word a quoted phrase, the last
 * a prefix, so results come as one types.  Returns the number of terms.
 */
int
fb_query_fts(const char *q, struct fb_buf *out)
{
	const char	*p = q, *start;
	int		 n = 0, has_word;

	while (*p != '\0' && n < FTS_TERMS_MAX) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (start = p, has_word = 0; *p != '\0' && *p != ' ' &&
		    *p != '\t'; p++)
			has_word |= isalnum((unsigned char)*p) ||
			    (unsigned char)*p >= 0x80;
		if (!has_word)
			continue;
		if (n++ > 0)
			fb_buf_appendc(out, ' ');
		fts_phrase(out, start, (size_t)(p - start));
	}
	if (n > 0)
		fb_buf_appendc(out, '*');
	return (n);
}

/* "FROM ... WHERE ..." and "ORDER BY ...", values in sql->binds. */
void
fb_query_sql(const struct fb_query *qr, struct fb_sql *sql)
{
	struct fb_buf	fts, tri;

	memset(sql, 0, sizeof(*sql));
	fb_buf_init(&sql->text, 512);
	fb_buf_init(&sql->order, 128);
	fb_buf_init(&sql->narrow, 0);
	fb_buf_init(&fts, 128);
	fb_buf_init(&tri, 128);
	/*
	 * A text match drives the query: the FTS rows come first (CROSS JOIN
	 * fixes the order) and is_active is kept off its index, otherwise
	 * SQLite walks every active row and runs the match for each.
	 */
	if (qr->q != NULL && fb_query_fts(qr->q, &fts) > 0) {
		fb_buf_appends(&sql->text, "FROM (SELECT rowid AS id, "
		    "fb_rank(listings_fts) AS score FROM listings_fts "
		    "WHERE listings_fts MATCH ?) m CROSS JOIN "
		    "listings l ON l.listing_id = m.id");
		sql_bind_text(sql, NULL, strdup(fb_buf_cstr(&fts)));
		sql->has_fts = 1;
	} else
		fb_buf_appends(&sql->text, "FROM listings l");
	if (qr->include_inactive)
		fb_buf_appends(&sql->text, " WHERE 1");
	else
		fb_buf_appends(&sql->text, query_is_narrow(qr) ?
		    " WHERE +l.is_active = 1" : " WHERE l.is_active = 1");
	if (qr->mode == FB_QUERY_FILTER) {
		sql_exact(sql, "l.primary_artist", qr->artist);
		sql_exact(sql, "l.primary_label", qr->label);
	} else {
		sql_substring(sql, &tri, "artist_names", qr->artist);
		sql_substring(sql, &tri, "label_names", qr->label);
		sql_substring(sql, &tri, "genres", qr->genre);
		sql_substring(sql, &tri, "format_names", qr->format);
	}
	if (tri.len > 0) {
		fb_buf_appends(&sql->text, " AND l.listing_id IN (SELECT rowid"
		    " FROM listings_tri WHERE listings_tri MATCH ?)");
		sql_bind_text(sql, NULL, strdup(fb_buf_cstr(&tri)));
	}
	sql_exact(sql, "l.condition", qr->condition);
	sql_exact(sql, "l.sleeve_condition", qr->sleeve_condition);
	if (qr->has_year) {
		fb_buf_appends(&sql->text, " AND l.release_year = ?");
		sql_bind_int(sql, qr->year);
	}
	if (qr->has_min_price) {
		fb_buf_appends(&sql->text, " AND l.price_value >= ?");
		sql_bind_int(sql, qr->min_price);
	}
	if (qr->has_max_price) {
		fb_buf_appends(&sql->text, " AND l.price_value <= ?");
		sql_bind_int(sql, qr->max_price);
	}
	sql_order(qr, sql);
	sql_narrow(qr, sql);
	fb_buf_cleanup(&fts);
	fb_buf_cleanup(&tri);
}

void
fb_sql_cleanup(struct fb_sql *sql)
{
	int	i;

	for (i = 0; i < sql->n_binds; i++)
		free(sql->binds[i].owned);
	fb_buf_cleanup(&sql->text);
	fb_buf_cleanup(&sql->order);
	fb_buf_cleanup(&sql->narrow);
	sql->n_binds = 0;
}

/* Binds every value from position first (1-based) on. */
int
fb_sql_bind(const struct fb_sql *sql, sqlite3_stmt *st, int first)
{
	int	i, rc;

	for (i = 0; i < sql->n_binds; i++) {
		if (sql->binds[i].is_int)
			rc = sqlite3_bind_int64(st, first + i,
			    sql->binds[i].i);
		else
			rc = sqlite3_bind_text(st, first + i,
			    sql->binds[i].owned ? sql->binds[i].owned :
			    sql->binds[i].s, -1, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

static int
query_sort(struct fb_query *qr, const char *s, struct fb_err *err)
{
	int	i;

	qr->sort = qr->q != NULL && *qr->q != '\0' ? FB_SORT_RELEVANCE :
	    FB_SORT_POSTED;
	qr->is_desc = qr->sort == FB_SORT_POSTED;
	if (s == NULL || *s == '\0')
		return (FB_OK);
	qr->is_desc = *s == '-';
	if (*s == '-')
		s++;
	for (i = 0; sort_names[i] != NULL; i++) {
		if (strcmp(s, sort_names[i]) == 0) {
			qr->sort = i;
			return (FB_OK);
		}
	}
	fb_err_set(err, "sort: '%.32s' is not one of relevance, posted, "
	    "price, year, artist, title (prefix - for descending)", s);
	return (FB_ERR);
}

/* A number parameter's text; an empty one (year= from a form) is absent. */
static const char *
query_number(const struct fb_params *p, const char *name)
{
	const char	*v = fb_params_get(p, name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

static int
query_numbers(struct fb_query *qr, const struct fb_params *p,
    struct fb_err *err)
{
	const char	*v;
	char		*end;
	long		 y;

	if ((v = query_number(p, "year")) != NULL) {
		errno = 0;
		y = strtol(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end != '\0' || y > 9999) {
			fb_err_set(err, "year: '%.32s' is not a year", v);
			return (FB_ERR);
		}
		qr->has_year = 1;
		qr->year = y;
	}
	if ((v = query_number(p, "min_price")) != NULL) {
		if (fb_parse_money(v, &qr->min_price) != FB_OK) {
			fb_err_set(err, "min_price: '%.32s' is not a price "
			    "such as 12.50", v);
			return (FB_ERR);
		}
		qr->has_min_price = 1;
	}
	if ((v = query_number(p, "max_price")) != NULL) {
		if (fb_parse_money(v, &qr->max_price) != FB_OK) {
			fb_err_set(err, "max_price: '%.32s' is not a price "
			    "such as 12.50", v);
			return (FB_ERR);
		}
		qr->has_max_price = 1;
	}
	return (FB_OK);
}

static void
sql_bind_text(struct fb_sql *sql, const char *s, char *owned)
{
	sql->binds[sql->n_binds].is_int = 0;
	sql->binds[sql->n_binds].s = s;
	sql->binds[sql->n_binds++].owned = owned;
}

static void
sql_bind_int(struct fb_sql *sql, int64_t v)
{
	sql->binds[sql->n_binds].is_int = 1;
	sql->binds[sql->n_binds++].i = v;
}

/* Case-insensitive substring: trigram phrase, or instr() under 3 bytes. */
static void
sql_substring(struct fb_sql *sql, struct fb_buf *tri, const char *column,
    const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	if (strlen(value) >= 3) {
		if (tri->len > 0)
			fb_buf_appends(tri, " AND ");
		fb_buf_appendf(tri, "%s : ", column);
		fts_phrase(tri, value, strlen(value));
		return;
	}
	fb_buf_appendf(&sql->text, " AND instr(lower(l.%s), lower(?)) > 0",
	    column);
	sql_bind_text(sql, value, NULL);
}

static void
sql_exact(struct fb_sql *sql, const char *column, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	fb_buf_appendf(&sql->text, " AND %s = ?", column);
	sql_bind_text(sql, value, NULL);
}

static void
sql_order(const struct fb_query *qr, struct fb_sql *sql)
{
	static const char	*keys[] = {
		"m.score", "l.posted_sort", "l.price_value", "l.release_year",
		"l.primary_artist COLLATE NOCASE",
		"l.release_title COLLATE NOCASE",
	};
	int			 sort = qr->sort, is_desc = qr->is_desc;

	if (sort == FB_SORT_RELEVANCE && !sql->has_fts) {
		sort = FB_SORT_POSTED;
		is_desc = 1;
	}
	if (sort == FB_SORT_RELEVANCE)
		is_desc = 1;		/* fb_rank: higher is better */
	fb_buf_appendf(&sql->order, " ORDER BY %s IS NULL, %s %s, "
	    "l.listing_id DESC", keys[sort], keys[sort],
	    is_desc ? "DESC" : "ASC");
}

/*
 * When the words of q are the only condition, the count needs nothing
 * from listings but whether a row is inactive, which fb_inactive()
 * (inactive.c) answers from memory; the caller loads its list first.
 * Joining every match to its listing cost a random read of a wide row
 * per match: 20k of them for a common word.  In relevance order the
 * page needs nothing more either: is_text_only sends the whole search to
 * search_text.c.  Same bound value (the FTS match is bind 1 of 1), so
 * fb_sql_bind() serves every form.
 */
static void
sql_narrow(const struct fb_query *qr, struct fb_sql *sql)
{
	if (!sql->has_fts || sql->n_binds != 1)
		return;
	fb_buf_appends(&sql->narrow, "FROM (SELECT rowid AS id, "
	    "fb_rank(listings_fts) AS score FROM listings_fts "
	    "WHERE listings_fts MATCH ?");
	if (!qr->include_inactive)
		fb_buf_appends(&sql->narrow, " AND NOT fb_inactive(rowid)");
	fb_buf_appends(&sql->narrow, ") m");
	sql->is_text_only = qr->sort == FB_SORT_RELEVANCE;
}

/* A text index (words or trigrams) picks the rows, not is_active. */
static int
query_is_narrow(const struct fb_query *qr)
{
	const char	*subs[4];
	int		 i;

	if (qr->q != NULL && *qr->q != '\0')
		return (1);
	if (qr->mode == FB_QUERY_FILTER)
		return (0);
	subs[0] = qr->artist;
	subs[1] = qr->label;
	subs[2] = qr->genre;
	subs[3] = qr->format;
	for (i = 0; i < 4; i++) {
		if (subs[i] != NULL && strlen(subs[i]) >= 3)
			return (1);
	}
	return (0);
}

/* An FTS5 phrase: "text" with inner quotes doubled. */
static void
fts_phrase(struct fb_buf *b, const char *s, size_t n)
{
	size_t	i;

	fb_buf_appendc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			fb_buf_appendc(b, '"');
		fb_buf_appendc(b, s[i]);
	}
	fb_buf_appendc(b, '"');
}
