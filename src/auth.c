/*
 * Admin authentication: `Authorization: Bearer <ADMIN_PASSPHRASE>`, or
 * the session cookie of the admin login (src/admin.c).
 *
 * The passphrase is compared in constant time: both sides are hashed
 * with SHA-256 first, so neither the content nor the length of the
 * secret shows in the timing.  An unset ADMIN_PASSPHRASE refuses
 * everyone.  Never log the header or the passphrase.  A request that
 * rides on the session cookie must also come from our own pages (Origin
 * and Sec-Fetch-Site); the Bearer passphrase needs no such check, since
 * a browser never adds it by itself.
 */
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "server.h"

#define BEARER		"bearer "

#define AUTH_OK		0
#define AUTH_NONE	1
#define AUTH_CROSS_SITE	2

static int	auth_check(struct http_request *);

/* 1 when req carries the admin's passphrase or session, else 0. */
int
fb_auth_admin(struct http_request *req)
{
	return (auth_check(req) == AUTH_OK);
}

/* 1 when given is ADMIN_PASSPHRASE (set), in constant time, else 0. */
int
fb_auth_passphrase_ok(const char *given)
{
	const char	*pass = fb_cfg.admin_passphrase;
	unsigned char	 got[SHA256_DIGEST_LENGTH], want[SHA256_DIGEST_LENGTH];

	if (pass[0] == '\0')
		return (0);
	SHA256((const unsigned char *)given, strlen(given), got);
	SHA256((const unsigned char *)pass, strlen(pass), want);
	return (CRYPTO_memcmp(got, want, sizeof(got)) == 0);
}

/*
 * A Bearer header decides alone; without one, a live session cookie
 * counts when the request comes from our own pages.
 */
static int
auth_check(struct http_request *req)
{
	const char	*h;

	if (fb_cfg.admin_passphrase[0] == '\0')
		return (AUTH_NONE);
	if (http_request_header(req, "authorization", &h) &&
	    strncasecmp(h, BEARER, sizeof(BEARER) - 1) == 0) {
		h += sizeof(BEARER) - 1;
		while (*h == ' ')
			h++;
		return (fb_auth_passphrase_ok(h) ? AUTH_OK : AUTH_NONE);
	}
	if (!fb_admin_session_ok(req))
		return (AUTH_NONE);
	return (fb_admin_same_origin(req) ? AUTH_OK : AUTH_CROSS_SITE);
}

/*
 * For admin-only handlers: FB_OK when the caller is the admin; else the
 * answer (403 when no passphrase is set, 401 otherwise) is sent and
 * FB_ERR returned.
 */
int
fb_auth_require_admin(struct fb_ctx *ctx)
{
	int	rc = auth_check(ctx->req);

	if (rc == AUTH_OK)
		return (FB_OK);
	fb_reply_header(ctx, "cache-control", "no-store");
	if (rc == AUTH_CROSS_SITE) {
		fb_reply_error(ctx, 403, "cross-site request refused: the "
		    "admin session works only from this server's own pages");
		return (FB_ERR);
	}
	if (fb_cfg.admin_passphrase[0] == '\0') {
		fb_reply_error(ctx, 403, "admin access is disabled: "
		    "ADMIN_PASSPHRASE is not set");
		return (FB_ERR);
	}
	fb_reply_header(ctx, "www-authenticate",
	    "Bearer realm=\"freakinbeats admin\"");
	fb_reply_error(ctx, 401, "admin only: log in at /admin or send "
	    "Authorization: Bearer <ADMIN_PASSPHRASE>");
	return (FB_ERR);
}
