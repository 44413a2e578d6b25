/*
 * Admin authentication: `Authorization: Bearer <ADMIN_PASSPHRASE>`.
 *
 * The passphrase is compared in constant time: both sides are hashed
 * with SHA-256 first, so neither the content nor the length of the
 * secret shows in the timing.  An unset ADMIN_PASSPHRASE refuses
 * everyone.  Never log the header or the passphrase.  The admin login's
 * session cookie, when it exists, belongs in fb_auth_admin() too.
 */
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "server.h"

#define BEARER		"bearer "

/* 1 when req carries the admin's passphrase, else 0. */
int
fb_auth_admin(struct http_request *req)
{
	const char	*h, *pass = fb_cfg.admin_passphrase;
	unsigned char	 got[SHA256_DIGEST_LENGTH], want[SHA256_DIGEST_LENGTH];

	if (pass[0] == '\0' ||
	    !http_request_header(req, "authorization", &h) ||
	    strncasecmp(h, BEARER, sizeof(BEARER) - 1) != 0)
		return (0);
	h += sizeof(BEARER) - 1;
	while (*h == ' ')
		h++;
	SHA256((const unsigned char *)h, strlen(h), got);
	SHA256((const unsigned char *)pass, strlen(pass), want);
	return (CRYPTO_memcmp(got, want, sizeof(got)) == 0);
}

/*
 * For admin-only handlers: FB_OK when the caller is the admin; else the
 * answer (403 when no passphrase is set, 401 otherwise) is sent and
 * FB_ERR returned.
 */
int
fb_auth_require_admin(struct fb_ctx *ctx)
{
	if (fb_auth_admin(ctx->req))
		return (FB_OK);
	if (fb_cfg.admin_passphrase[0] == '\0') {
		fb_reply_error(ctx, 403, "admin access is disabled: "
		    "ADMIN_PASSPHRASE is not set");
		return (FB_ERR);
	}
	fb_reply_header(ctx, "www-authenticate",
	    "Bearer realm=\"freakinbeats admin\"");
	fb_reply_error(ctx, 401, "admin only: send Authorization: Bearer "
	    "<ADMIN_PASSPHRASE>");
	return (FB_ERR);
}
