/*
 * An RFC 4180 CSV reader over a buffer in memory.
 *
 * Quoted fields may hold commas, doubled quotes and line breaks; records
 * end with LF or CRLF; a UTF-8 byte-order mark is skipped.  Each record
 * reports the line it starts on, so errors read `line N: ...`.  A bad
 * record is reported and skipped: the reader resumes at the next line.
 * Bytes are not interpreted here; the importer checks UTF-8 per field.
 */
#include <string.h>

#include "app.h"

static int	csv_field(struct fb_csv *, struct fb_err *);
static int	csv_quoted(struct fb_csv *, struct fb_err *);
static void	csv_take(struct fb_csv *, const char *, const char *);
static void	csv_skip_line(struct fb_csv *);
static int	csv_at_eol(struct fb_csv *);

void
fb_csv_init(struct fb_csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = data;
	c->end = data + len;
	c->line = 1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		c->p += 3;
	fb_buf_init(&c->buf, 4096);
}

void
fb_csv_cleanup(struct fb_csv *c)
{
	fb_buf_cleanup(&c->buf);
}

/* 1: a record is ready; 0: end of input; -1: a bad record (see err). */
int
fb_csv_next(struct fb_csv *c, struct fb_err *err)
{
	while (c->p < c->end && csv_at_eol(c))
		;				/* blank lines */
	if (c->p >= c->end)
		return (0);
	fb_buf_reset(&c->buf);
	c->n_fields = 0;
	c->row_line = c->line;
	for (;;) {
		if (csv_field(c, err) != FB_OK) {
			csv_skip_line(c);
			return (-1);
		}
		if (c->p >= c->end || csv_at_eol(c))
			return (1);
		if (*c->p++ != ',')		/* a lone CR after a quote */
			return (1);
	}
}

/* Borrowed: field i of the current record, NUL-terminated. */
const char *
fb_csv_field(const struct fb_csv *c, int i, size_t *len)
{
	if (len != NULL)
		*len = c->lens[i];
	return (c->buf.data + c->offs[i]);
}

static int
csv_field(struct fb_csv *c, struct fb_err *err)
{
	const char	*start = c->p;

	if (c->n_fields == FB_CSV_FIELDS_MAX) {
		fb_err_set(err, "line %d: more than %d fields", c->row_line,
		    FB_CSV_FIELDS_MAX);
		return (FB_ERR);
	}
	c->offs[c->n_fields] = c->buf.len;
	if (c->p < c->end && *c->p == '"') {
		if (csv_quoted(c, err) != FB_OK)
			return (FB_ERR);
	} else {
		while (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
		    !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'))
			c->p++;
		fb_buf_append(&c->buf, start, (size_t)(c->p - start));
	}
	c->lens[c->n_fields] = c->buf.len - c->offs[c->n_fields];
	fb_buf_appendc(&c->buf, '\0');
	c->n_fields++;
	return (FB_OK);
}

/* Copies [from, to) of a quoted field, counting the line breaks in it. */
static void
csv_take(struct fb_csv *c, const char *from, const char *to)
{
	const char	*nl;

	fb_buf_append(&c->buf, from, (size_t)(to - from));
	while ((nl = memchr(from, '\n', (size_t)(to - from))) != NULL) {
		c->line++;
		from = nl + 1;
	}
}

static int
csv_quoted(struct fb_csv *c, struct fb_err *err)
{
	const char	*q;
	int		 column = c->n_fields + 1;

	for (c->p++; (q = memchr(c->p, '"', (size_t)(c->end - c->p))) !=
	    NULL; c->p = q + 2) {
		csv_take(c, c->p, q);
		if (q + 1 < c->end && q[1] == '"') {
			fb_buf_appendc(&c->buf, '"');	/* "" is one quote */
			continue;
		}
		c->p = q + 1;
		if (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
		    *c->p != '\r') {
			fb_err_set(err, "line %d: field %d: text after a "
			    "closing quote", c->row_line, column);
			return (FB_ERR);
		}
		return (FB_OK);
	}
	csv_take(c, c->p, c->end);
	c->p = c->end;
	fb_err_set(err, "line %d: field %d: quoted field never closed",
	    c->row_line, column);
	return (FB_ERR);
}

static void
csv_skip_line(struct fb_csv *c)
{
	while (c->p < c->end && !csv_at_eol(c))
		c->p++;
}

/* Consumes a line end (LF or CRLF) and returns 1, or returns 0. */
static int
csv_at_eol(struct fb_csv *c)
{
	if (*c->p == '\n') {
		c->p++;
		c->line++;
		return (1);
	}
	if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') {
		c->p += 2;
		c->line++;
		return (1);
	}
	if (*c->p == '\r' && c->p + 1 == c->end) {
		c->p++;
		return (1);
	}
	return (0);
}
