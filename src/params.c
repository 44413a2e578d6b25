/*
 * Query strings, parsed strictly and by ourselves.
 *
 * Kore keeps only the first 19 pairs and silently drops what its
 * validators refuse, so a client could never learn what was wrong.  Here
 * every pair is URL-decoded and checked, and each error names the
 * parameter: a bad encoding, a NUL or control byte, a duplicate, an
 * unknown name, too many pairs, or a value out of range.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static int	params_add(struct fb_params *, char *, struct fb_err *);
static int	params_int(const struct fb_params *, const char *, int64_t,
		    int64_t *, int *, struct fb_err *);
static int	hexval(int);

int
fb_params_parse(struct fb_params *p, const char *qs, struct fb_err *err)
{
	char	*pair, *next;

	memset(p, 0, sizeof(*p));
	if (qs == NULL || *qs == '\0')
		return (FB_OK);
	if ((p->copy = strdup(qs)) == NULL) {
		fb_err_set(err, "out of memory");
		return (FB_ERR);
	}
	for (pair = p->copy; pair != NULL; pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if (*pair == '\0')
			continue;
		if (params_add(p, pair, err) != FB_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

void
fb_params_cleanup(struct fb_params *p)
{
	free(p->copy);
	p->copy = NULL;
	p->n_params = 0;
}

/* Borrowed: valid until fb_params_cleanup(). */
const char *
fb_params_get(const struct fb_params *p, const char *name)
{
	int	i;

	for (i = 0; i < p->n_params; i++) {
		if (strcmp(p->list[i].name, name) == 0)
			return (p->list[i].value);
	}
	return (NULL);
}

/* Every parameter must be in the NULL-terminated list of names. */
int
fb_params_allow(const struct fb_params *p, const char *const *names,
    struct fb_err *err)
{
	int	i, j;

	for (i = 0; i < p->n_params; i++) {
		for (j = 0; names[j] != NULL; j++) {
			if (strcmp(p->list[i].name, names[j]) == 0)
				break;
		}
		if (names[j] == NULL) {
			fb_err_set(err, "%.64s: unknown parameter",
			    p->list[i].name);
			return (FB_ERR);
		}
	}
	return (FB_OK);
}

/* limit: 0..FB_PAGE_MAX (larger values are capped); offset: 0..2^62. */
int
fb_params_page(const struct fb_params *p, struct fb_page *page,
    struct fb_err *err)
{
	memset(page, 0, sizeof(*page));
	if (params_int(p, "limit", INT64_MAX, &page->limit,
	    &page->has_limit, err) != FB_OK)
		return (FB_ERR);
	if (params_int(p, "offset", (int64_t)1 << 62, &page->offset,
	    &page->has_offset, err) != FB_OK)
		return (FB_ERR);
	if (page->limit > FB_PAGE_MAX)
		page->limit = FB_PAGE_MAX;
	if (page->has_offset && !page->has_limit) {
		page->has_limit = 1;
		page->limit = FB_PAGE_MAX;
	}
	return (FB_OK);
}

/* 1/true/yes or 0/false/no; absent means 0. */
int
fb_params_bool(const struct fb_params *p, const char *name, int *out,
    struct fb_err *err)
{
	const char	*v;

	*out = 0;
	if ((v = fb_params_get(p, name)) == NULL)
		return (FB_OK);
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "yes") == 0) {
		*out = 1;
		return (FB_OK);
	}
	if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "no") == 0 || *v == '\0')
		return (FB_OK);
	fb_err_set(err, "%s: expected 1 or 0", name);
	return (FB_ERR);
}

/*
 * Decode %XX and '+' in place.  Fails on a bad escape or on a byte below
 * 0x20 (NUL included), so no decoded string can hide a control character.
 */
int
fb_url_decode(char *s, size_t *len)
{
	char	*in = s, *out = s;
	int	 hi, lo, c;

	while (*in != '\0') {
		c = (unsigned char)*in;
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if ((hi = hexval(in[1])) < 0 || (lo = hexval(in[2])) < 0)
				return (FB_ERR);
			c = hi << 4 | lo;
			in += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return (FB_ERR);
		*out++ = (char)c;
		in++;
	}
	*out = '\0';
	if (len != NULL)
		*len = (size_t)(out - s);
	return (FB_OK);
}

/* A listing or release id: 1 to 19 decimal digits, no sign, no spaces. */
int
fb_parse_id(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (FB_ERR);
	}
	if (i == 0 || i > 19)
		return (FB_ERR);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return (FB_ERR);
	*out = v;
	return (FB_OK);
}

static int
params_add(struct fb_params *p, char *pair, struct fb_err *err)
{
	char	*eq, *value;

	if ((eq = strchr(pair, '=')) != NULL) {
		*eq = '\0';
		value = eq + 1;
	} else
		value = pair + strlen(pair);	/* "?x": x is empty */
	if (fb_url_decode(pair, NULL) != FB_OK || *pair == '\0') {
		fb_err_set(err, "query: a parameter name is badly encoded");
		return (FB_ERR);
	}
	if (fb_url_decode(value, NULL) != FB_OK) {
		fb_err_set(err, "%.64s: badly encoded value or control "
		    "character", pair);
		return (FB_ERR);
	}
	if (fb_params_get(p, pair) != NULL) {
		fb_err_set(err, "%.64s: given more than once", pair);
		return (FB_ERR);
	}
	if (p->n_params == FB_PARAMS_MAX) {
		fb_err_set(err, "query: more than %d parameters",
		    FB_PARAMS_MAX);
		return (FB_ERR);
	}
	p->list[p->n_params].name = pair;
	p->list[p->n_params++].value = value;
	return (FB_OK);
}

static int
params_int(const struct fb_params *p, const char *name, int64_t max,
    int64_t *out, int *has, struct fb_err *err)
{
	const char	*v;
	char		*end;
	long long	 n;

	if ((v = fb_params_get(p, name)) == NULL || *v == '\0')
		return (FB_OK);		/* limit= from a form: not given */
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0') {
		fb_err_set(err, "%s: '%.32s' is not a whole number of 0 or more",
		    name, v);
		return (FB_ERR);
	}
	if (errno == ERANGE || n > max)
		n = max;
	*out = n;
	*has = 1;
	return (FB_OK);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}
