/*
 * A growable byte buffer and the JSON text writer built on it.
 *
 * All JSON this server sends is written here, by hand, for speed: strings
 * are escaped per RFC 8259 and invalid UTF-8 becomes U+FFFD, so a response
 * is always valid JSON whatever the database holds.  Money is printed from
 * integer hundredths, so no binary float ever touches a price.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static void	buf_grow(struct fb_buf *, size_t);
static size_t	utf8_seq_len(const unsigned char *, size_t);
static void	json_escape(struct fb_buf *, unsigned char);

void
fb_buf_init(struct fb_buf *b, size_t cap)
{
	b->len = 0;
	b->cap = cap > 0 ? cap : 64;
	if ((b->data = malloc(b->cap)) == NULL)
		abort();
}

void
fb_buf_cleanup(struct fb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
fb_buf_reset(struct fb_buf *b)
{
	b->len = 0;
}

void
fb_buf_append(struct fb_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap)
		buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
fb_buf_appendc(struct fb_buf *b, char c)
{
	if (b->len + 1 > b->cap)
		buf_grow(b, 1);
	b->data[b->len++] = c;
}

void
fb_buf_appends(struct fb_buf *b, const char *s)
{
	fb_buf_append(b, s, strlen(s));
}

void
fb_buf_appendf(struct fb_buf *b, const char *fmt, ...)
{
	va_list		ap;
	int		n;

	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n + 1);
		va_start(ap, fmt);
		(void)vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Borrowed: NUL-terminated view, valid until the next append. */
char *
fb_buf_cstr(struct fb_buf *b)
{
	if (b->len + 1 > b->cap)
		buf_grow(b, 1);
	b->data[b->len] = '\0';
	return (b->data);
}

void
fb_json_str(struct fb_buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, run, seq;

	fb_buf_appendc(b, '"');
	while (i < n) {
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		fb_buf_append(b, p + i, run - i);
		if ((i = run) >= n)
			break;
		if (p[i] >= 0x80) {
			if ((seq = utf8_seq_len(p + i, n - i)) == 0) {
				fb_buf_append(b, "\xef\xbf\xbd", 3);
				seq = 1;
			} else
				fb_buf_append(b, p + i, seq);
			i += seq;
			continue;
		}
		json_escape(b, p[i++]);
	}
	fb_buf_appendc(b, '"');
}

void
fb_json_cstr(struct fb_buf *b, const char *s)
{
	if (s == NULL)
		fb_buf_append(b, "null", 4);
	else
		fb_json_str(b, s, strlen(s));
}

void
fb_json_key(struct fb_buf *b, const char *key)
{
	fb_json_cstr(b, key);
	fb_buf_appendc(b, ':');
}

/* Hundredths to the shortest decimal: 1250 -> 12.5, 6000 -> 60.0. */
void
fb_json_money(struct fb_buf *b, int64_t minor)
{
	uint64_t	a;
	const char	*sign = "";

	if (minor < 0) {
		sign = "-";
		a = (uint64_t)0 - (uint64_t)minor;
	} else
		a = (uint64_t)minor;
	if (a % 10 == 0)
		fb_buf_appendf(b, "%s%llu.%llu", sign,
		    (unsigned long long)(a / 100),
		    (unsigned long long)(a % 100 / 10));
	else
		fb_buf_appendf(b, "%s%llu.%02llu", sign,
		    (unsigned long long)(a / 100),
		    (unsigned long long)(a % 100));
}

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int
fb_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, seq;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((seq = utf8_seq_len(p + i, n - i)) == 0)
			return (0);
		i += seq;
	}
	return (1);
}

void
fb_buf_append_int(struct fb_buf *b, int64_t v)
{
	char		 tmp[24], *p = tmp + sizeof(tmp);
	uint64_t	 a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + a % 10);
		a /= 10;
	} while (a != 0);
	if (v < 0)
		*--p = '-';
	fb_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void
buf_grow(struct fb_buf *b, size_t need)
{
	size_t	cap = b->cap;

	while (cap < b->len + need)
		cap *= 2;
	if ((b->data = realloc(b->data, cap)) == NULL)
		abort();
	b->cap = cap;
}

/* One ASCII byte that JSON wants escaped. */
static void
json_escape(struct fb_buf *b, unsigned char c)
{
	static const char	hex[] = "0123456789abcdef";
	char			esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	switch (c) {
	case '"':
	case '\\':
		esc[1] = (char)c;
		break;
	case '\n':
		esc[1] = 'n';
		break;
	case '\r':
		esc[1] = 'r';
		break;
	case '\t':
		esc[1] = 't';
		break;
	default:
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 0xf];
		fb_buf_append(b, esc, 6);
		return;
	}
	fb_buf_append(b, esc, 2);
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is invalid. */
static size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
	size_t		len, i;
	uint32_t	cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return (0);
	if (n < len)
		return (0);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return (0);
	return (len);
}

/* FNV-1a (64 bits) of n bytes, going on from h (FB_HASH_INIT to start). */
uint64_t
fb_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char	*c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 1099511628211ULL;
	return (h);
}
