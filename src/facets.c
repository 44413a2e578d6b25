/*
 * Facets: how many of the listings a search or filter matches carry each
 * artist, label, year, grade, format, genre, style, country and price
 * band.  One pass over the matching rows counts every facet at once in
 * small hash tables, so the cost is one scan whatever the facet count,
 * and total and counts come from the same snapshot.  The WHERE clause and
 * its bound values come from query.c: user text never becomes SQL here;
 * this file only chooses between an index and a plain scan.  Nothing is
 * written to the output until the scan has succeeded.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define FACET_TOP	100		/* entries kept per facet */
#define FACET_ALL	((size_t)-1)
#define TALLY_MIN	64		/* first hash size, a power of 2 */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define KIND_VALUE	0		/* one value per row */
#define KIND_YEAR	1		/* an INTEGER, newest first */
#define KIND_GRADE	2		/* Discogs grading order first */
#define KIND_LIST	3		/* comma-separated values */

/* Facet i is column i of facets_select; price_value comes last. */
static const struct {
	const char	*key;
	int		 kind;
	size_t		 top;
} facets[] = {
	{ "artists", KIND_VALUE, FACET_TOP },
	{ "labels", KIND_VALUE, FACET_TOP },
	{ "years", KIND_YEAR, FACET_ALL },
	{ "conditions", KIND_GRADE, FACET_TOP },
	{ "sleeve_conditions", KIND_GRADE, FACET_TOP },
	{ "formats", KIND_LIST, FACET_TOP },
	{ "genres", KIND_LIST, FACET_TOP },
	{ "styles", KIND_LIST, FACET_TOP },
	{ "countries", KIND_VALUE, FACET_TOP },
};

#define N_FACETS	((int)NELEM(facets))
#define COL_PRICE	N_FACETS

/* How query.c's text starts; facets_prepare() may add NOT INDEXED. */
#define FROM_L		"FROM listings l"
#define FROM_L_LEN	(sizeof(FROM_L) - 1)

static const char	facets_select[] =
	"SELECT l.primary_artist, l.primary_label, l.release_year, "
	"l.condition, l.sleeve_condition, l.format_names, l.genres, "
	"l.styles, l.country, l.price_value ";

/* Mint down to Poor; any other value sorts after these, by count. */
static const char *const grades[] = {
	"Mint (M)", "Near Mint (NM or M-)", "Very Good Plus (VG+)",
	"Very Good (VG)", "Good Plus (G+)", "Good (G)", "Fair (F)",
	"Poor (P)",
};

/* List items that hold commas themselves: Discogs' one such genre. */
static const char *const list_atoms[] = {
	"Folk, World, & Country",
};

/* Price bands on hundredths: lo inclusive, hi exclusive, -1 for none. */
static const struct {
	const char	*name;
	int64_t		 lo, hi;
} bands[] = {
	{ "0-10", 0, 1000 }, { "10-20", 1000, 2000 },
	{ "20-50", 2000, 5000 }, { "50-100", 5000, 10000 },
	{ "100-200", 10000, 20000 }, { "200+", 20000, -1 },
};

#define N_BANDS		((int)NELEM(bands))

struct tally_ent {
	char		*s;			/* NULL: a free slot */
	size_t		 len;
	uint64_t	 hash;
	int64_t		 num;			/* the year, KIND_YEAR */
	int64_t		 count;
	int64_t		 last_row;		/* counts once per row */
	int		 rank;			/* grade order, KIND_GRADE */
};

/* Open addressing, linear probing, at most half full. */
struct tally {
	struct tally_ent	*ents;
	size_t			 cap, n;
};

struct facets {
	struct tally	t[N_FACETS];
	int64_t		bands[N_BANDS];
	int64_t		total;
};

static sqlite3_stmt	*facets_prepare(struct fb_db *, const struct fb_query *,
			    const struct fb_sql *, struct fb_err *);
static int		 facets_no_index(const struct fb_query *,
			    const struct fb_sql *);
static int		 facets_scan(struct fb_db *, sqlite3_stmt *,
			    struct facets *, struct fb_err *);
static void		 facets_row(struct facets *, sqlite3_stmt *);
static void		 facets_year(struct tally *, sqlite3_stmt *, int,
			    int64_t);
static void		 facets_band(struct facets *, int64_t);
static void		 facets_write(struct fb_buf *, struct facets *);
static void		 facet_write(struct fb_buf *, const struct tally *,
			    int, size_t);
static void		 bands_write(struct fb_buf *, const int64_t *);
static void		 list_split(struct tally *, const char *, size_t,
			    int64_t);
static const char	*list_atom(const char *, const char *);
static int		 grade_rank(const struct tally_ent *);
static struct tally_ent	*tally_slot(struct tally_ent *, size_t,
			    const char *, size_t, uint64_t);
static struct tally_ent	*tally_add(struct tally *, const char *, size_t,
			    int64_t);
static void		 tally_grow(struct tally *);
static void		 tally_sort(struct tally *, int);
static void		 tally_cleanup(struct tally *);
static int		 cmp_count(const void *, const void *);
static int		 cmp_year(const void *, const void *);

int
fb_facets_run(struct fb_db *db, const struct fb_query *qr, struct fb_buf *out,
    struct fb_err *err)
{
	struct fb_sql	 sql;
	struct facets	 f;
	sqlite3_stmt	*st;
	int		 rc = FB_ERR, i;

	memset(&f, 0, sizeof(f));
	fb_query_sql(qr, &sql);
	if ((st = facets_prepare(db, qr, &sql, err)) != NULL &&
	    facets_scan(db, st, &f, err) == FB_OK) {
		facets_write(out, &f);
		rc = FB_OK;
	}
	sqlite3_finalize(st);
	for (i = 0; i < N_FACETS; i++)
		tally_cleanup(&f.t[i]);
	fb_sql_cleanup(&sql);
	return (rc);
}

/* New statement "SELECT <facet columns> FROM ... WHERE ...", bound. */
static sqlite3_stmt *
facets_prepare(struct fb_db *db, const struct fb_query *qr,
    const struct fb_sql *sql, struct fb_err *err)
{
	struct fb_buf	 text;
	sqlite3_stmt	*st;
	size_t		 skip = 0;

	fb_buf_init(&text, 1024);
	fb_buf_appends(&text, facets_select);
	if (facets_no_index(qr, sql)) {
		fb_buf_appends(&text, FROM_L " NOT INDEXED");
		skip = FROM_L_LEN;
	}
	fb_buf_append(&text, sql->text.data + skip, sql->text.len - skip);
	st = fb_db_prepare(db, fb_buf_cstr(&text), err);
	fb_buf_cleanup(&text);
	if (st == NULL || fb_sql_bind(sql, st, 1) != FB_OK) {
		fb_err_set(err, "facets: %s", sqlite3_errmsg(db->h));
		sqlite3_finalize(st);
		return (NULL);
	}
	return (st);
}

/*
 * Whether to read listings NOT INDEXED: yes, unless an exact artist,
 * label or year without q picks few rows.  Rowid lookups from q and the
 * substring filters stay, but is_active = 1 no longer makes SQLite visit
 * nearly every row through an index in random order (3.5x a plain scan
 * at 100k rows), nor loop the FTS match over every active row.
 */
static int
facets_no_index(const struct fb_query *qr, const struct fb_sql *sql)
{
	if (sql->text.len < FROM_L_LEN ||
	    memcmp(sql->text.data, FROM_L, FROM_L_LEN) != 0 ||
	    (sql->text.len > FROM_L_LEN && sql->text.data[FROM_L_LEN] != ' '))
		return (0);
	if (sql->has_fts)
		return (1);
	if (qr->has_year || (qr->mode == FB_QUERY_FILTER &&
	    ((qr->artist != NULL && *qr->artist != '\0') ||
	    (qr->label != NULL && *qr->label != '\0'))))
		return (0);
	return (1);
}

static int
facets_scan(struct fb_db *db, sqlite3_stmt *st, struct facets *f,
    struct fb_err *err)
{
	int	step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		facets_row(f, st);
	if (step != SQLITE_DONE) {
		fb_err_set(err, "facets: %s", sqlite3_errmsg(db->h));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* Counts one matching row in every facet; NULL and "" count nowhere. */
static void
facets_row(struct facets *f, sqlite3_stmt *st)
{
	const char	*s;
	size_t		 n;
	int		 i;

	f->total++;
	for (i = 0; i < N_FACETS; i++) {
		if (facets[i].kind == KIND_YEAR) {
			facets_year(&f->t[i], st, i, f->total);
			continue;
		}
		if ((s = (const char *)sqlite3_column_text(st, i)) == NULL)
			continue;
		n = (size_t)sqlite3_column_bytes(st, i);
		if (facets[i].kind == KIND_LIST)
			list_split(&f->t[i], s, n, f->total);
		else if (n > 0)
			(void)tally_add(&f->t[i], s, n, f->total);
	}
	if (sqlite3_column_type(st, COL_PRICE) == SQLITE_INTEGER)
		facets_band(f, sqlite3_column_int64(st, COL_PRICE));
}

/* A year is an INTEGER above 0; Discogs writes 0 for "unknown". */
static void
facets_year(struct tally *t, sqlite3_stmt *st, int col, int64_t row)
{
	struct tally_ent	*e;
	int64_t			 year;

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER ||
	    (year = sqlite3_column_int64(st, col)) <= 0)
		return;
	e = tally_add(t, (const char *)&year, sizeof(year), row);
	e->num = year;
}

static void
facets_band(struct facets *f, int64_t price)
{
	int	i;

	for (i = 0; i < N_BANDS; i++) {
		if (price >= bands[i].lo &&
		    (bands[i].hi < 0 || price < bands[i].hi)) {
			f->bands[i]++;
			return;
		}
	}
}

static void
facets_write(struct fb_buf *out, struct facets *f)
{
	int	i;

	fb_buf_appendc(out, '{');
	for (i = 0; i < N_FACETS; i++) {
		tally_sort(&f->t[i], facets[i].kind);
		fb_json_key(out, facets[i].key);
		facet_write(out, &f->t[i], facets[i].kind, facets[i].top);
		fb_buf_appendc(out, ',');
	}
	fb_json_key(out, "price_bands");
	bands_write(out, f->bands);
	fb_buf_appendc(out, ',');
	fb_json_key(out, "total");
	fb_buf_append_int(out, f->total);
	fb_buf_appendc(out, '}');
}

/* [{"value":...,"count":N},...]: the first top entries of sorted t. */
static void
facet_write(struct fb_buf *out, const struct tally *t, int kind, size_t top)
{
	const struct tally_ent	*e;
	size_t			 i;

	fb_buf_appendc(out, '[');
	for (i = 0; i < t->n && i < top; i++) {
		e = &t->ents[i];
		if (i > 0)
			fb_buf_appendc(out, ',');
		fb_buf_appends(out, "{\"value\":");
		if (kind == KIND_YEAR)
			fb_buf_append_int(out, e->num);
		else
			fb_json_str(out, e->s, e->len);
		fb_buf_appends(out, ",\"count\":");
		fb_buf_append_int(out, e->count);
		fb_buf_appendc(out, '}');
	}
	fb_buf_appendc(out, ']');
}

/* Every band, empty ones too, so a UI can show the whole range. */
static void
bands_write(struct fb_buf *out, const int64_t *counts)
{
	int	i;

	fb_buf_appendc(out, '[');
	for (i = 0; i < N_BANDS; i++) {
		if (i > 0)
			fb_buf_appendc(out, ',');
		fb_buf_appends(out, "{\"value\":");
		fb_json_cstr(out, bands[i].name);
		fb_buf_appends(out, ",\"min\":");
		fb_json_money(out, bands[i].lo);
		fb_buf_appends(out, ",\"max\":");
		if (bands[i].hi < 0)
			fb_buf_appends(out, "null");
		else
			fb_json_money(out, bands[i].hi);
		fb_buf_appends(out, ",\"count\":");
		fb_buf_append_int(out, counts[i]);
		fb_buf_appendc(out, '}');
	}
	fb_buf_appendc(out, ']');
}

/* Counts each space-trimmed item of "a, b, c" once for this row. */
static void
list_split(struct tally *t, const char *s, size_t n, int64_t row)
{
	const char	*end = s + n, *item, *stop;

	while (s < end) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		item = s;
		if ((stop = list_atom(s, end)) == NULL)
			for (stop = s; stop < end && *stop != ','; stop++)
				;
		s = stop < end ? stop + 1 : end;
		while (stop > item && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if (stop > item)
			(void)tally_add(t, item, (size_t)(stop - item), row);
	}
}

/* The end of a list atom starting at s (at a ',' or end), or NULL. */
static const char *
list_atom(const char *s, const char *end)
{
	const char	*p;
	size_t		 i, len;

	for (i = 0; i < NELEM(list_atoms); i++) {
		if (*s != list_atoms[i][0])
			continue;
		len = strlen(list_atoms[i]);
		if ((size_t)(end - s) < len ||
		    memcmp(s, list_atoms[i], len) != 0)
			continue;
		for (p = s + len; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		if (p == end || *p == ',')
			return (p);
	}
	return (NULL);
}

static int
grade_rank(const struct tally_ent *e)
{
	size_t	i;

	for (i = 0; i < NELEM(grades); i++) {
		if (strlen(grades[i]) == e->len &&
		    memcmp(grades[i], e->s, e->len) == 0)
			return ((int)i);
	}
	return ((int)NELEM(grades));
}


/* The slot holding key s, or the free slot where it belongs. */
static struct tally_ent *
tally_slot(struct tally_ent *ents, size_t cap, const char *s, size_t n,
    uint64_t hash)
{
	size_t	i = (size_t)hash & (cap - 1);

	while (ents[i].s != NULL && (ents[i].hash != hash ||
	    ents[i].len != n || memcmp(ents[i].s, s, n) != 0))
		i = (i + 1) & (cap - 1);
	return (&ents[i]);
}

/* Borrowed: the entry for key s (n > 0), counted once per row. */
static struct tally_ent *
tally_add(struct tally *t, const char *s, size_t n, int64_t row)
{
	struct tally_ent	*e;
	uint64_t		 hash = fb_hash(s, n, FB_HASH_INIT);

	if (2 * (t->n + 1) > t->cap)
		tally_grow(t);
	e = tally_slot(t->ents, t->cap, s, n, hash);
	if (e->s == NULL) {
		if ((e->s = malloc(n + 1)) == NULL)
			abort();
		memcpy(e->s, s, n);
		e->s[n] = '\0';
		e->len = n;
		e->hash = hash;
		t->n++;
	}
	if (e->last_row != row) {
		e->last_row = row;
		e->count++;
	}
	return (e);
}

static void
tally_grow(struct tally *t)
{
	struct tally_ent	*old = t->ents;
	size_t			 i, cap = t->cap > 0 ? t->cap * 2 : TALLY_MIN;

	if ((t->ents = calloc(cap, sizeof(*t->ents))) == NULL)
		abort();
	for (i = 0; i < t->cap; i++) {
		if (old[i].s != NULL)
			*tally_slot(t->ents, cap, old[i].s, old[i].len,
			    old[i].hash) = old[i];
	}
	free(old);
	t->cap = cap;
}

/* Packs the entries to the front, in output order; no lookups after. */
static void
tally_sort(struct tally *t, int kind)
{
	struct tally_ent	e;
	size_t			i, n = 0;

	for (i = 0; i < t->cap; i++) {
		if (t->ents[i].s == NULL)
			continue;
		e = t->ents[i];
		t->ents[i].s = NULL;
		if (kind == KIND_GRADE)
			e.rank = grade_rank(&e);
		t->ents[n++] = e;
	}
	t->n = n;
	if (n > 1)
		qsort(t->ents, n, sizeof(*t->ents),
		    kind == KIND_YEAR ? cmp_year : cmp_count);
}

static void
tally_cleanup(struct tally *t)
{
	size_t	i;

	for (i = 0; i < t->cap; i++)
		free(t->ents[i].s);
	free(t->ents);
	memset(t, 0, sizeof(*t));
}

/* Grade rank first, then count descending, then value (bytes) ascending. */
static int
cmp_count(const void *a, const void *b)
{
	const struct tally_ent	*x = a, *y = b;
	int			 c;

	if (x->rank != y->rank)
		return (x->rank < y->rank ? -1 : 1);
	if (x->count != y->count)
		return (x->count > y->count ? -1 : 1);
	c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c != 0)
		return (c);
	return (x->len < y->len ? -1 : x->len > y->len);
}

static int
cmp_year(const void *a, const void *b)
{
	const struct tally_ent	*x = a, *y = b;

	return (x->num > y->num ? -1 : x->num < y->num);
}
