/*
 * The response cache: whole answers of data routes, per worker.
 *
 * Data changes only on a sync or an import, and every change moves the
 * data version, so an answer keyed by (version, URI) stays right until
 * the version moves; then the slot is simply stale and gets replaced.
 * Slots are direct-mapped by a hash of the URI; the total size is capped
 * so a crawl over every page cannot grow a worker without bound: past the
 * cap, older entries make room in clock order.
 */
#include <stdlib.h>

#include "server.h"

#define CACHE_SLOTS		1024
#define CACHE_ENTRY_MAX		(1024 * 1024)
#define CACHE_TOTAL_MAX		(16 * 1024 * 1024)
#define CACHE_HEADERS		2

struct cache_entry {
	int64_t		version;
	char		*uri;
	int		status;
	char		*headers[CACHE_HEADERS][2];
	struct fb_buf	body;
};

static struct cache_entry	slots[CACHE_SLOTS];
static size_t			total_bytes;

static const char	*cached_headers[CACHE_HEADERS] = {
	"x-total-count", "link"
};

static struct cache_entry *cache_slot(struct fb_ctx *, char *, size_t);
static void	cache_entry_free(struct cache_entry *);
static void	cache_make_room(size_t);

/* Answers from the cache and returns 1, or returns 0 on a miss. */
int
fb_cache_reply(struct fb_ctx *ctx)
{
	struct cache_entry	*e;
	char			 uri[2048];
	int			 i;

	if ((e = cache_slot(ctx, uri, sizeof(uri))) == NULL ||
	    e->uri == NULL || e->version != fb_w.db.version ||
	    strcmp(e->uri, uri) != 0)
		return (0);
	for (i = 0; i < CACHE_HEADERS; i++) {
		if (e->headers[i][0] != NULL)
			fb_reply_header(ctx, e->headers[i][0],
			    e->headers[i][1]);
	}
	fb_reply_json(ctx, e->status, &e->body);
	fb_metrics_cache(FB_CACHE_HIT);
	return (1);
}

/* Keeps a copy of the answer just built for ctx. */
void
fb_cache_store(struct fb_ctx *ctx, int status, struct fb_buf *body)
{
	struct cache_entry	*e;
	struct http_header	*hdr;
	char			 uri[2048];
	int			 i;

	if (!ctx->is_cacheable || body->len > CACHE_ENTRY_MAX ||
	    (e = cache_slot(ctx, uri, sizeof(uri))) == NULL)
		return;
	cache_entry_free(e);
	cache_make_room(body->len);
	e->version = fb_w.db.version;
	e->status = status;
	e->uri = strdup(uri);
	fb_buf_init(&e->body, body->len + 1);
	fb_buf_append(&e->body, body->data, body->len);
	total_bytes += body->len;
	fb_metrics_cache(FB_CACHE_STORE);
	TAILQ_FOREACH(hdr, &ctx->req->resp_headers, list) {
		for (i = 0; i < CACHE_HEADERS; i++) {
			if (strcmp(hdr->header, cached_headers[i]) == 0) {
				e->headers[i][0] = strdup(hdr->header);
				e->headers[i][1] = strdup(hdr->value);
			}
		}
	}
}

void
fb_cache_clear(void)
{
	int	i;

	for (i = 0; i < CACHE_SLOTS; i++)
		cache_entry_free(&slots[i]);
}

/* The slot for the request's URI, written into uri; NULL if too long. */
static struct cache_entry *
cache_slot(struct fb_ctx *ctx, char *uri, size_t len)
{
	const char	*qs = ctx->req->query_string;
	uint32_t	 h = 2166136261u;
	int		 n;
	const char	*p;

	n = snprintf(uri, len, "%s?%s", ctx->req->path, qs ? qs : "");
	if (n < 0 || (size_t)n >= len)
		return (NULL);
	for (p = uri; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return (&slots[h % CACHE_SLOTS]);
}

/* Frees entries in clock order until len more bytes fit the budget. */
static void
cache_make_room(size_t len)
{
	static int	hand;
	int		n;

	for (n = 0; total_bytes + len > CACHE_TOTAL_MAX && n < CACHE_SLOTS;
	    n++) {
		if (slots[hand].uri != NULL)
			fb_metrics_cache(FB_CACHE_EVICT);
		cache_entry_free(&slots[hand]);
		hand = (hand + 1) % CACHE_SLOTS;
	}
}

static void
cache_entry_free(struct cache_entry *e)
{
	int	i;

	if (e->uri == NULL)
		return;
	total_bytes -= e->body.len;
	fb_buf_cleanup(&e->body);
	free(e->uri);
	for (i = 0; i < CACHE_HEADERS; i++) {
		free(e->headers[i][0]);
		free(e->headers[i][1]);
	}
	memset(e, 0, sizeof(*e));
}
