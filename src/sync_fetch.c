/*
 * Fetching the whole inventory, page by page, into a staging table.
 *
 * Nothing here touches the listings: each page's listings go through
 * the rules into the staging area (sync_stage.c).  Every page is checked:
 * valid JSON, pagination consistent with page 1, ids present and unique
 * within the page.  The fetch is complete only when every page arrived
 * and the unique listings add up to pagination.items.  If listings move
 * meanwhile (new ones posted push the rest down a page), it re-reads
 * from page 1; if the shop will not hold still, the run fails: never a
 * guess, never a partial apply.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <jansson.h>

#include "app.h"

#define PER_PAGE		100
#define READS_MAX		3	/* whole re-reads after a shift */
#define RETRIES_5XX		4
#define RETRIES_429		8

#define FETCH_OK		0
#define FETCH_FAILED		(-1)
#define FETCH_SHIFTED		1

static int	fetch_all(struct fb_sync *);
static int	fetch_page(struct fb_sync *, int64_t, int64_t *, int64_t *);
static int	fetch_check_ids(struct fb_sync *, json_t *, const char *);
static int	fetch_json(struct fb_sync *, const char *, const char *,
		    json_t **);
static int	fetch_verdict(struct fb_sync *, struct fb_http *, const char *,
		    int, json_t **);
static void	sync_fail(struct fb_sync *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

int
fb_sync_fetch(struct fb_sync *s)
{
	int	read, rc;

	if (fb_sync_stage_open(s) != FB_OK)
		return (FB_ERR);
	for (read = 1; read <= READS_MAX; read++) {
		if ((rc = fetch_all(s)) != FETCH_SHIFTED)
			break;
		fb_log(FB_LOG_INFO, "sync: the inventory moved during read %d;"
		    " reading again from page 1", read);
	}
	fb_json_arena_release();
	if (rc == FETCH_SHIFTED)
		sync_fail(s, "the inventory kept changing during the run (%d "
		    "reads); nothing applied", READS_MAX);
	return (rc == FETCH_OK ? FB_OK : FB_ERR);
}

/* One read of every page; FETCH_SHIFTED when pages moved under us. */
static int
fetch_all(struct fb_sync *s)
{
	int64_t		pages = 0, items = 0, page_pages, page_items, unique;
	int64_t		p;
	char		msg[128];

	if (fb_sync_stage_clear(s) != FB_OK)
		return (FETCH_FAILED);
	for (p = 1; p == 1 || p <= pages; p++) {
		if (fetch_page(s, p, &page_pages, &page_items) != FB_OK)
			return (FETCH_FAILED);
		if (p == 1) {
			pages = page_pages;
			items = page_items;
		} else if (page_pages != pages || page_items != items)
			return (FETCH_SHIFTED);
		(void)snprintf(msg, sizeof(msg), "page %lld of %lld",
		    (long long)p, (long long)pages);
		fb_sync_progress(s, msg);
		if (s->on_page != NULL)
			s->on_page(s->on_page_arg, p, pages);
	}
	unique = fb_db_count(s->db, "SELECT count(*) FROM stage.sync_stage");
	if (unique != items) {
		fb_log(FB_LOG_INFO, "sync: %lld unique listings, pagination "
		    "says %lld", (long long)unique, (long long)items);
		return (FETCH_SHIFTED);
	}
	s->items = items;
	return (FETCH_OK);
}

static int
fetch_page(struct fb_sync *s, int64_t page, int64_t *pages, int64_t *items)
{
	json_t	*doc = NULL, *pg;
	char	 url[512], what[32];
	int	 rc = FB_ERR;

	(void)snprintf(url, sizeof(url), "%s/users/%s/inventory?status=For%%20"
	    "Sale&page=%lld&per_page=%d&sort=listed&sort_order=desc",
	    fb_cfg.discogs_api_url, fb_cfg.discogs_seller, (long long)page,
	    PER_PAGE);
	(void)snprintf(what, sizeof(what), "page %lld", (long long)page);
	if (fetch_json(s, url, what, &doc) != FB_OK)
		return (FB_ERR);
	pg = json_object_get(doc, "pagination");
	if (!json_is_integer(json_object_get(pg, "pages")) ||
	    !json_is_integer(json_object_get(pg, "items")) ||
	    json_integer_value(json_object_get(pg, "page")) != page ||
	    !json_is_array(json_object_get(doc, "listings")))
		sync_fail(s, "%s: no valid pagination or listings", what);
	else {
		*pages = json_integer_value(json_object_get(pg, "pages"));
		*items = json_integer_value(json_object_get(pg, "items"));
		rc = fetch_check_ids(s, json_object_get(doc, "listings"),
		    what);
		if (rc == FB_OK)
			rc = fb_sync_stage_page(s,
			    json_object_get(doc, "listings"));
		s->pages++;
	}
	json_decref(doc);
	fb_json_arena_reset();
	return (rc);
}

/* Every listing has a positive integer id, none twice in the page. */
static int
fetch_check_ids(struct fb_sync *s, json_t *listings, const char *what)
{
	json_t	*id;
	size_t	 i, j;

	for (i = 0; i < json_array_size(listings); i++) {
		id = json_object_get(json_array_get(listings, i), "id");
		if (!json_is_integer(id) || json_integer_value(id) <= 0) {
			sync_fail(s, "%s: listing %zu has no valid id", what,
			    i + 1);
			return (FB_ERR);
		}
		for (j = 0; j < i; j++) {
			if (json_integer_value(json_object_get(json_array_get(
			    listings, j), "id")) == json_integer_value(id)) {
				sync_fail(s, "%s: listing %lld appears twice",
				    what, (long long)json_integer_value(id));
				return (FB_ERR);
			}
		}
	}
	return (FB_OK);
}

/* GET url and parse it, waiting and retrying as the pacer says. */
static int
fetch_json(struct fb_sync *s, const char *url, const char *what,
    json_t **doc)
{
	struct fb_http	h;
	int		attempt, verdict;

	for (attempt = 0;; attempt++) {
		if (fb_sync_pace(s) != FB_OK)
			return (FB_ERR);
		s->requests++;
		(void)fb_discogs_get(url, &h);
		(void)fb_pacer_result(&s->pacer, fb_time_mono_us() / 1000,
		    h.status, h.retry_after, h.remaining,
		    (uint32_t)(random() % 500));
		verdict = fetch_verdict(s, &h, what, attempt, doc);
		fb_http_cleanup(&h);
		if (verdict != 1)
			return (verdict);
		s->retries++;
	}
}

/* FB_OK with *doc, FB_ERR (run fails, error set), or 1: try again. */
static int
fetch_verdict(struct fb_sync *s, struct fb_http *h, const char *what,
    int attempt, json_t **doc)
{
	json_error_t	je;

	if (h->status == 200) {
		*doc = fb_json_arena_load(h->body.data, h->body.len, &je);
		if (*doc != NULL && json_is_object(*doc))
			return (FB_OK);
		json_decref(*doc);
		fb_json_arena_reset();
		if (attempt < RETRIES_5XX)
			return (1);
		sync_fail(s, "%s: invalid JSON (%s at byte %d), %d attempts",
		    what, je.text, je.position, attempt + 1);
		return (FB_ERR);
	}
	if (h->status == 401 || h->status == 403) {
		sync_fail(s, "Discogs refused the token (%d): check "
		    "DISCOGS_TOKEN", h->status);
		return (FB_ERR);
	}
	if (h->status == 404) {
		sync_fail(s, "%s: not found (404): check DISCOGS_SELLER_USERNAME"
		    " ('%s')", what, fb_cfg.discogs_seller);
		return (FB_ERR);
	}
	if (h->status == 429) {
		s->rate_limited++;
		if (attempt < RETRIES_429)
			return (1);
		sync_fail(s, "%s: still rate limited (429) after %d attempts",
		    what, attempt + 1);
		return (FB_ERR);
	}
	if ((h->status == 0 || h->status >= 500) && attempt < RETRIES_5XX)
		return (1);
	if (h->status == 0)
		sync_fail(s, "%s: no answer from Discogs (%s), %d attempts",
		    what, h->error, attempt + 1);
	else
		sync_fail(s, "%s: Discogs answered %d%s", what, h->status,
		    h->status >= 500 ? " after every retry" : "");
	return (FB_ERR);
}

static void
sync_fail(struct fb_sync *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
}
