/*
 * The storefront: the HTML pages /, /detail/{listing_id}, /cart and
 * /admin, and the static files under /static/.
 *
 * The parent reads everything once at start-up, before the fork:
 * conf/shop.json (the shop's name, intro and checkout), the page
 * templates (src/web/shop.html and the others) and every file of
 * src/web/static/.  Templates are filled in then ({{name}}, {{intro}},
 * {{attrs}}, {{v}}), so a request only picks a prepared answer.  A static
 * file is found by its exact name in that in-memory table: no request
 * path ever reaches the file system, so there is nothing to traverse.
 * {{v}} is a hash of all static files; pages link /static/{v}/name, which
 * is cached for a year (immutable), and any other version or none is
 * revalidated (ETag).  Every answer here carries the security headers: a
 * CSP without inline script, nosniff, Referrer-Policy and
 * frame-ancestors 'none'.  Missing web files are logged and answered 503;
 * a bad conf/shop.json stops start-up.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "server.h"

#define WEB_DIR		"src/web"
#define STATIC_DIR	WEB_DIR "/static"
#define SHOP_CONF	"conf/shop.json"
#define STATIC_MAX	64
#define STATIC_FILE_MAX	(1024 * 1024)
#define NAME_MAX_LEN	63

#define CSP		"default-src 'none'; script-src 'self'; " \
			"style-src 'self'; img-src 'self' data: https:; " \
			"connect-src 'self'; manifest-src 'self'; " \
			"form-action 'self'; base-uri 'none'; " \
			"frame-ancestors 'none'"
#define CACHE_FOREVER	"public, max-age=31536000, immutable"
#define CACHE_CHECK	"no-cache"

int	fb_pages_shop(struct http_request *);
int	fb_pages_detail(struct http_request *);
int	fb_pages_cart(struct http_request *);
int	fb_pages_admin(struct http_request *);
int	fb_pages_static(struct http_request *);

enum page { PAGE_SHOP, PAGE_DETAIL, PAGE_CART, PAGE_ADMIN, PAGE_N };

static const char *const	page_files[PAGE_N] = {
	WEB_DIR "/shop.html", WEB_DIR "/detail.html", WEB_DIR "/cart.html",
	WEB_DIR "/admin.html",
};

struct web_file {
	char		 name[NAME_MAX_LEN + 1];
	const char	*type;
	char		*data;
	size_t		 len;
	char		 etag[24];
};

/* conf/shop.json, with these defaults when the file is absent. */
static struct {
	char	name[128];
	char	intro[1024];
	char	checkout[16];		/* discogs | email */
	char	order_email[256];
} shop = {
	"Freakinbeats",
	"Second-hand records, graded by hand. Everything here is also for "
	    "sale on Discogs.",
	"discogs", ""
};

static struct web_file	pages[PAGE_N];
static struct web_file	statics[STATIC_MAX];
static int		n_statics;
static char		version[17] = "0";

static int	shop_load(struct fb_err *);
static int	shop_string(json_t *, const char *, char *, size_t, int,
		    struct fb_err *);
static int	email_ok(const char *);
static int	statics_load(void);
static int	file_read(const char *, char **, size_t *);
static int	name_ok(const char *, size_t);
static int	file_cmp(const void *, const void *);
static const char *type_of(const char *);
static void	etag_of(struct web_file *);
static void	page_render(enum page, const char *, size_t);
static void	html_escape(struct fb_buf *, const char *);
static int	page_reply(struct http_request *, enum page, enum fb_route);
static void	security_headers(struct fb_ctx *);
static int	detail_status(const char *);

int
fb_pages_load(struct fb_err *err)
{
	char		*text;
	size_t		 len;
	int		 i;

	if (shop_load(err) != FB_OK)
		return (FB_ERR);
	if (statics_load() != FB_OK)
		fb_log(FB_LOG_WARN, "storefront: %s missing or unreadable; "
		    "pages will have no scripts or styles", STATIC_DIR);
	for (i = 0; i < PAGE_N; i++) {
		if (file_read(page_files[i], &text, &len) != FB_OK) {
			fb_log(FB_LOG_WARN, "storefront: cannot read %s: %s; "
			    "that page answers 503", page_files[i],
			    strerror(errno));
			continue;
		}
		page_render(i, text, len);
		free(text);
	}
	return (FB_OK);
}

int
fb_pages_shop(struct http_request *req)
{
	return (page_reply(req, PAGE_SHOP, FB_R_PAGE_SHOP));
}

int
fb_pages_detail(struct http_request *req)
{
	return (page_reply(req, PAGE_DETAIL, FB_R_PAGE_DETAIL));
}

int
fb_pages_cart(struct http_request *req)
{
	return (page_reply(req, PAGE_CART, FB_R_PAGE_CART));
}

int
fb_pages_admin(struct http_request *req)
{
	return (page_reply(req, PAGE_ADMIN, FB_R_PAGE_ADMIN));
}

/* /static/{version}/name or /static/name, by exact name only. */
int
fb_pages_static(struct http_request *req)
{
	struct fb_ctx		 ctx;
	const struct web_file	*f = NULL;
	const char		*p = req->path + sizeof("/static/") - 1;
	const char		*slash = strchr(p, '/'), *cache = CACHE_CHECK;
	int			 i;

	if (fb_ctx_begin(&ctx, req, FB_R_STATIC, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	if (slash != NULL) {
		if ((size_t)(slash - p) == strlen(version) &&
		    strncmp(p, version, strlen(version)) == 0)
			cache = CACHE_FOREVER;
		p = slash + 1;
	}
	for (i = 0; name_ok(p, strlen(p)) && i < n_statics; i++) {
		if (strcmp(statics[i].name, p) == 0)
			f = &statics[i];
	}
	security_headers(&ctx);
	if (f == NULL) {
		fb_reply_error(&ctx, 404, "no such file");
		goto done;
	}
	(void)snprintf(ctx.etag, sizeof(ctx.etag), "%s", f->etag);
	fb_reply_header(&ctx, "cache-control", cache);
	if (!fb_reply_not_modified(&ctx))
		fb_reply(&ctx, 200, f->type, f->data, f->len);
done:
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

static int
page_reply(struct http_request *req, enum page pg, enum fb_route route)
{
	struct fb_ctx		 ctx;
	const struct web_file	*f = &pages[pg];
	int			 status = 200;

	if (fb_ctx_begin(&ctx, req, route, FB_ALLOW_GET, 0) != FB_OK)
		return (KORE_RESULT_OK);
	security_headers(&ctx);
	if (f->data == NULL) {
		fb_reply_error(&ctx, 503, "storefront files missing: %s",
		    page_files[pg]);
		goto done;
	}
	if (pg == PAGE_DETAIL)
		status = detail_status(req->path +
		    sizeof("/detail/") - 1);
	fb_reply_header(&ctx, "cache-control", CACHE_CHECK);
	if (status == 200) {
		(void)snprintf(ctx.etag, sizeof(ctx.etag), "%s", f->etag);
		if (fb_reply_not_modified(&ctx))
			goto done;
	}
	fb_reply(&ctx, status, f->type, f->data, f->len);
done:
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/*
 * 404 for an id that is not digits or names no listing; the page still
 * shows (its script says so).  A listing that left the shop is a 200.
 */
static int
detail_status(const char *id_text)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 status = 404;

	if (fb_parse_id(id_text, &id) != FB_OK)
		return (404);
	if (!fb_w.db_ok)
		return (200);
	st = fb_db_prepare(&fb_w.db, "SELECT 1 FROM listings WHERE "
	    "listing_id = ?", NULL);
	if (st == NULL)
		return (200);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		status = 200;
	sqlite3_finalize(st);
	return (status);
}

static void
security_headers(struct fb_ctx *ctx)
{
	fb_reply_header(ctx, "content-security-policy", CSP);
	fb_reply_header(ctx, "referrer-policy", "same-origin");
	fb_reply_header(ctx, "x-frame-options", "DENY");
	fb_reply_header(ctx, "cross-origin-opener-policy", "same-origin");
	fb_reply_header(ctx, "permissions-policy", "camera=(), "
	    "microphone=(), geolocation=(), payment=()");
}

/* conf/shop.json: {"name", "intro", "checkout", "order_email"}. */
static int
shop_load(struct fb_err *err)
{
	static const char *const	 keys[] = {
		"name", "intro", "checkout", "order_email", NULL
	};
	json_error_t			 je;
	json_t				*doc, *v;
	const char			*key;
	int				 i, rc = FB_ERR;

	if (access(SHOP_CONF, F_OK) != 0)
		return (FB_OK);
	if ((doc = json_load_file(SHOP_CONF, JSON_REJECT_DUPLICATES,
	    &je)) == NULL || !json_is_object(doc)) {
		fb_err_set(err, "%s:%d: %s", SHOP_CONF, doc ? 1 : je.line,
		    doc ? "must be a JSON object" : je.text);
		json_decref(doc);
		return (FB_ERR);
	}
	json_object_foreach(doc, key, v) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
			;
		if (keys[i] == NULL) {
			fb_err_set(err, "%s: unknown key '%.40s' (known: name, "
			    "intro, checkout, order_email)", SHOP_CONF, key);
			goto done;
		}
	}
	if (shop_string(doc, "name", shop.name, sizeof(shop.name), 1,
	    err) != FB_OK || shop_string(doc, "intro", shop.intro,
	    sizeof(shop.intro), 0, err) != FB_OK ||
	    shop_string(doc, "checkout", shop.checkout,
	    sizeof(shop.checkout), 1, err) != FB_OK ||
	    shop_string(doc, "order_email", shop.order_email,
	    sizeof(shop.order_email), 0, err) != FB_OK)
		goto done;
	if (strcmp(shop.checkout, "discogs") != 0 &&
	    strcmp(shop.checkout, "email") != 0)
		fb_err_set(err, "%s: checkout: '%s' is not discogs or email",
		    SHOP_CONF, shop.checkout);
	else if (shop.order_email[0] != '\0' && !email_ok(shop.order_email))
		fb_err_set(err, "%s: order_email: '%s' is not an e-mail "
		    "address", SHOP_CONF, shop.order_email);
	else if (strcmp(shop.checkout, "email") == 0 &&
	    shop.order_email[0] == '\0')
		fb_err_set(err, "%s: checkout is email but order_email is "
		    "not set", SHOP_CONF);
	else
		rc = FB_OK;
done:
	json_decref(doc);
	return (rc);
}

/* An optional string member that fits, without control characters. */
static int
shop_string(json_t *doc, const char *key, char *out, size_t len,
    int non_empty, struct fb_err *err)
{
	json_t		*v = json_object_get(doc, key);
	const char	*s;
	size_t		 i;

	if (v == NULL)
		return (FB_OK);
	if (!json_is_string(v) || json_string_length(v) >= len ||
	    (non_empty && json_string_length(v) == 0)) {
		fb_err_set(err, "%s: %s: must be a%s string of at most %zu "
		    "bytes", SHOP_CONF, key, non_empty ? " non-empty" : "",
		    len - 1);
		return (FB_ERR);
	}
	s = json_string_value(v);
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			fb_err_set(err, "%s: %s: control characters are not "
			    "allowed", SHOP_CONF, key);
			return (FB_ERR);
		}
	}
	if (i != json_string_length(v)) {
		fb_err_set(err, "%s: %s: NUL is not allowed", SHOP_CONF, key);
		return (FB_ERR);
	}
	(void)snprintf(out, len, "%s", s);
	return (FB_OK);
}

/* local@domain.tld with nothing a mailto: URL would need to escape. */
static int
email_ok(const char *s)
{
	const char	*at = strchr(s, '@'), *p;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    strchr(at, '.') == NULL || at[1] == '.' ||
	    s[strlen(s) - 1] == '.')
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr(".-_+@", *p) == NULL)
			return (0);
	}
	return (1);
}

/* Every plain file of src/web/static/ with a safe name, and the version. */
static int
statics_load(void)
{
	DIR		*d;
	struct dirent	*de;
	struct web_file	*f;
	struct fb_buf	 all;
	char		 path[512];
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	int		 i;

	if ((d = opendir(STATIC_DIR)) == NULL)
		return (FB_ERR);
	while ((de = readdir(d)) != NULL && n_statics < STATIC_MAX) {
		if (!name_ok(de->d_name, strlen(de->d_name)))
			continue;
		f = &statics[n_statics];
		(void)snprintf(f->name, sizeof(f->name), "%s", de->d_name);
		(void)snprintf(path, sizeof(path), "%s/%s", STATIC_DIR,
		    f->name);
		if (file_read(path, &f->data, &f->len) != FB_OK) {
			fb_log(FB_LOG_WARN, "storefront: skipped %s: %s", path,
			    strerror(errno));
			continue;
		}
		f->type = type_of(f->name);
		etag_of(f);
		n_statics++;
	}
	closedir(d);
	qsort(statics, (size_t)n_statics, sizeof(statics[0]), file_cmp);
	fb_buf_init(&all, 1024);
	for (i = 0; i < n_statics; i++)
		fb_buf_appendf(&all, "%s %s\n", statics[i].name,
		    statics[i].etag);
	SHA256((const unsigned char *)all.data, all.len, md);
	for (i = 0; i < 8; i++)
		(void)snprintf(version + i * 2, 3, "%02x", md[i]);
	fb_buf_cleanup(&all);
	return (FB_OK);
}

/* A regular file of at most STATIC_FILE_MAX bytes, NUL-terminated. */
static int
file_read(const char *path, char **out, size_t *len)
{
	struct stat	 st;
	FILE		*fp;
	char		*buf;

	*out = NULL;
	if ((fp = fopen(path, "rb")) == NULL)
		return (FB_ERR);
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATIC_FILE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(fp);
		errno = EFBIG;
		return (FB_ERR);
	}
	*len = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	if (*len != (size_t)st.st_size) {
		free(buf);
		errno = EIO;
		return (FB_ERR);
	}
	buf[*len] = '\0';
	*out = buf;
	return (FB_OK);
}

/* Letters, digits, '.', '-', '_'; not starting with a dot. */
static int
name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > NAME_MAX_LEN || s[0] == '.')
		return (0);
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return (0);
	}
	return (1);
}

static int
file_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct web_file *)a)->name,
	    ((const struct web_file *)b)->name));
}

static const char *
type_of(const char *name)
{
	static const struct {
		const char	*ext, *type;
	} types[] = {
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json; charset=utf-8" },
		{ ".webmanifest", "application/manifest+json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".html", "text/html; charset=utf-8" },
	};
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(dot, types[i].ext) == 0)
			return (types[i].type);
	}
	return ("application/octet-stream");
}

/* A strong ETag: 16 hex digits of the content's SHA-256, quoted. */
static void
etag_of(struct web_file *f)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];
	int		i;

	SHA256((const unsigned char *)f->data, f->len, md);
	f->etag[0] = '"';
	for (i = 0; i < 8; i++)
		(void)snprintf(f->etag + 1 + i * 2, 3, "%02x", md[i]);
	(void)snprintf(f->etag + 17, sizeof(f->etag) - 17, "\"");
}

/* The template with {{name}}, {{intro}}, {{attrs}} and {{v}} filled in. */
static void
page_render(enum page pg, const char *tpl, size_t len)
{
	struct web_file	*f = &pages[pg];
	struct fb_buf	 b;
	const char	*p = tpl, *end = tpl + len, *open, *close;

	fb_buf_init(&b, len + 1024);
	while ((open = strstr(p, "{{")) != NULL &&
	    (close = strstr(open, "}}")) != NULL) {
		fb_buf_append(&b, p, (size_t)(open - p));
		if (strncmp(open, "{{name}}", 8) == 0)
			html_escape(&b, shop.name);
		else if (strncmp(open, "{{intro}}", 9) == 0)
			html_escape(&b, shop.intro);
		else if (strncmp(open, "{{v}}", 5) == 0)
			fb_buf_appends(&b, version);
		else if (strncmp(open, "{{attrs}}", 9) == 0) {
			fb_buf_appends(&b, "data-shop-name=\"");
			html_escape(&b, shop.name);
			fb_buf_appends(&b, "\" data-checkout=\"");
			html_escape(&b, shop.checkout);
			fb_buf_appends(&b, "\" data-order-email=\"");
			html_escape(&b, shop.order_email);
			fb_buf_appendc(&b, '"');
		} else
			fb_buf_append(&b, open, (size_t)(close + 2 - open));
		p = close + 2;
	}
	fb_buf_append(&b, p, (size_t)(end - p));
	(void)snprintf(f->name, sizeof(f->name), "%s", page_files[pg]);
	f->type = "text/html; charset=utf-8";
	f->len = b.len;
	f->data = b.data;		/* kept for the life of the process */
	etag_of(f);
}

static void
html_escape(struct fb_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fb_buf_appends(b, "&amp;");
			break;
		case '<':
			fb_buf_appends(b, "&lt;");
			break;
		case '>':
			fb_buf_appends(b, "&gt;");
			break;
		case '"':
			fb_buf_appends(b, "&quot;");
			break;
		case '\'':
			fb_buf_appends(b, "&#39;");
			break;
		default:
			fb_buf_appendc(b, *s);
		}
	}
}
