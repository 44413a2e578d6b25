/*
 * The admin login: POST /api/admin/login, POST /api/admin/logout, GET
 * /api/admin/session, and the session cookie that fb_auth_admin() accepts
 * besides the Bearer passphrase.
 *
 * A login that gives ADMIN_PASSPHRASE gets a random 256-bit token in the
 * cookie fb_session (HttpOnly, SameSite=Strict, Secure over TLS, 12
 * hours).  Only the token's SHA-256 is stored, in admin_sessions, so
 * every worker knows the session, a restart keeps it, and logout ends it
 * for good.  Wrong passphrases are counted and slowed per client address:
 * after the n-th failure in a row that address must wait 2^(n-1) s (at
 * most 5 minutes) before its next try, and gets 429 with Retry-After until
 * then.  The failure table and the counters live in one MAP_SHARED region
 * the parent maps before the fork.  Never log a passphrase or a token.
 */
#include <sys/mman.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "server.h"

#define COOKIE_NAME	"fb_session"
#define SESSION_SECS	(12 * 3600)
#define TOKEN_BYTES	32
#define TOKEN_HEX	(TOKEN_BYTES * 2)
#define THROTTLE_SLOTS	256
#define THROTTLE_MAX_US	(300ULL * 1000000)
#define THROTTLE_FORGET	(3600ULL * 1000000)	/* an hour's quiet */
#define BODY_MAX	4096

int	fb_admin_login(struct http_request *);
int	fb_admin_logout(struct http_request *);
int	fb_admin_session(struct http_request *);

/* One client address and its run of wrong passphrases. */
struct throttle_slot {
	uint8_t		addr[16];
	uint32_t	failures;
	uint64_t	last_us;
	uint64_t	until_us;
};

/* Counters, in the order of counter_names. */
#define C_LOGINS	0
#define C_FAILURES	1
#define C_THROTTLED	2
#define C_LOGOUTS	3
#define C_N		4

struct admin_shared {
	unsigned char		lock;
	uint64_t		counters[C_N];
	struct throttle_slot	slots[THROTTLE_SLOTS];
};

static struct admin_shared	*sh;

static const char *const	no_params[] = { NULL };

static void	shared_lock(void);
static void	shared_unlock(void);
static void	client_addr(struct http_request *, uint8_t *);
static const char *client_text(struct http_request *, char *, size_t);
static struct throttle_slot *throttle_find(const uint8_t *, int);
static uint64_t	throttle_wait(struct http_request *);
static void	throttle_fail(struct http_request *);
static void	throttle_reset(struct http_request *);
static int	login_body(struct http_request *, char *, size_t,
		    struct fb_err *);
static int	cookie_token(struct http_request *, char *);
static void	token_hash(const char *, char *);
static void	pass_tag(char *);
static int	session_create(char *, int64_t *, struct fb_err *);
static int64_t	session_lookup(struct http_request *);
static void	session_delete(const char *);
static void	cookie_set(struct fb_ctx *, const char *, int64_t);
static int	origin_matches(struct http_request *, const char *);
static void	hex(const unsigned char *, size_t, char *);
static void	count(int);

/* The parent, before the fork: the shared counters and failure table. */
int
fb_admin_init(struct fb_err *err)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		sh = NULL;
		fb_err_set(err, "admin: mmap: %s", strerror(errno));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* Prometheus lines for /metrics. */
void
fb_admin_metrics(struct fb_buf *b)
{
	static const char *const	names[C_N][2] = {
		{ "fb_admin_logins_total", "Admin logins that succeeded." },
		{ "fb_admin_login_failures_total", "Admin logins refused for "
		    "a wrong passphrase." },
		{ "fb_admin_login_throttled_total", "Admin logins refused "
		    "(429) because the address must wait after a failure." },
		{ "fb_admin_logouts_total", "Admin logouts." },
	};
	int				i;

	for (i = 0; sh != NULL && i < C_N; i++)
		fb_buf_appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    names[i][0], names[i][1], names[i][0], names[i][0],
		    (unsigned long long)__atomic_load_n(&sh->counters[i],
		    __ATOMIC_RELAXED));
}

/* 1 when req carries a live session cookie, else 0. */
int
fb_admin_session_ok(struct http_request *req)
{
	return (session_lookup(req) > 0);
}

/*
 * 1 when req comes from our own pages: Sec-Fetch-Site, when sent, is
 * same-origin (or none: typed by the user), and Origin, when sent, is
 * this scheme and Host.  A request that changes state must carry one of
 * them; browsers always do, and scripts use the Bearer passphrase.
 */
int
fb_admin_same_origin(struct http_request *req)
{
	const char	*site, *origin;
	int		 has = 0;

	if (http_request_header(req, "sec-fetch-site", &site)) {
		has = 1;
		if (strcmp(site, "same-origin") != 0 &&
		    strcmp(site, "none") != 0)
			return (0);
	}
	if (http_request_header(req, "origin", &origin)) {
		has = 1;
		if (!origin_matches(req, origin))
			return (0);
	}
	return (has || req->method == HTTP_METHOD_GET ||
	    req->method == HTTP_METHOD_HEAD);
}

int
fb_admin_login(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_err	err = { 0, "" };
	struct fb_buf	b;
	char		given[512], token[TOKEN_HEX + 1], iso[32], secs[24];
	char		addr[INET6_ADDRSTRLEN];
	int64_t		expires;
	uint64_t	wait;

	if (fb_ctx_begin(&ctx, req, FB_R_ADMIN_LOGIN, "POST", 0) != FB_OK)
		return (KORE_RESULT_OK);
	fb_reply_header(&ctx, "cache-control", "no-store");
	if (fb_cfg.admin_passphrase[0] == '\0')
		fb_reply_error(&ctx, 403, "admin access is disabled: "
		    "ADMIN_PASSPHRASE is not set");
	else if (!fb_admin_same_origin(req))
		fb_reply_error(&ctx, 403, "cross-site request refused: log "
		    "in from this server's /admin page");
	else if ((wait = throttle_wait(req)) > 0) {
		count(C_THROTTLED);
		(void)snprintf(secs, sizeof(secs), "%llu",
		    (unsigned long long)((wait + 999999) / 1000000));
		fb_reply_header(&ctx, "retry-after", secs);
		fb_reply_error(&ctx, 429, "too many wrong passphrases: try "
		    "again in %s s", secs);
	} else if (login_body(req, given, sizeof(given), &err) != FB_OK)
		fb_reply_error(&ctx, 400, "%s", err.msg);
	else if (!fb_auth_passphrase_ok(given)) {
		throttle_fail(req);
		count(C_FAILURES);
		fb_log(FB_LOG_WARN, "admin login refused: wrong passphrase "
		    "from %s", client_text(req, addr, sizeof(addr)));
		fb_reply_error(&ctx, 401, "wrong passphrase");
	} else if (session_create(token, &expires, &err) != FB_OK)
		fb_reply_error(&ctx, 503, "%s", err.msg);
	else {
		throttle_reset(req);
		count(C_LOGINS);
		cookie_set(&ctx, token, SESSION_SECS);
		fb_time_iso(iso, sizeof(iso), expires);
		fb_buf_init(&b, 96);
		fb_buf_appends(&b, "{\"admin\":true,\"expires_at\":");
		fb_json_cstr(&b, iso);
		fb_buf_appendc(&b, '}');
		fb_reply_json(&ctx, 200, &b);
		fb_buf_cleanup(&b);
	}
	explicit_bzero(given, sizeof(given));
	explicit_bzero(token, sizeof(token));
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

int
fb_admin_logout(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_buf	b;
	char		token[TOKEN_HEX + 1];

	if (fb_ctx_begin(&ctx, req, FB_R_ADMIN_LOGOUT, "POST", 0) != FB_OK)
		return (KORE_RESULT_OK);
	fb_reply_header(&ctx, "cache-control", "no-store");
	if (!fb_admin_same_origin(req)) {
		fb_reply_error(&ctx, 403, "cross-site request refused");
		goto done;
	}
	if (cookie_token(req, token) == FB_OK) {
		session_delete(token);
		count(C_LOGOUTS);
	}
	cookie_set(&ctx, "", 0);
	fb_buf_init(&b, 32);
	fb_buf_appends(&b, "{\"admin\":false}");
	fb_reply_json(&ctx, 200, &b);
	fb_buf_cleanup(&b);
done:
	explicit_bzero(token, sizeof(token));
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* Whether admin access is on, and whether this caller has it. */
int
fb_admin_session(struct http_request *req)
{
	struct fb_ctx	ctx;
	struct fb_err	err = { 0, "" };
	struct fb_buf	b;
	const char	*via = NULL;
	int64_t		expires = 0;
	char		iso[32];

	if (fb_ctx_begin(&ctx, req, FB_R_ADMIN_SESSION, FB_ALLOW_GET, 0) !=
	    FB_OK)
		return (KORE_RESULT_OK);
	if (fb_params_allow(&ctx.params, no_params, &err) != FB_OK) {
		fb_reply_error(&ctx, 400, "%s", err.msg);
		goto done;
	}
	if (fb_auth_admin(req)) {
		if ((expires = session_lookup(req)) > 0)
			via = "cookie";
		else
			via = "bearer";
	}
	fb_buf_init(&b, 128);
	fb_buf_appendf(&b, "{\"enabled\":%s,\"admin\":%s,\"via\":",
	    fb_cfg.admin_passphrase[0] != '\0' ? "true" : "false",
	    via != NULL ? "true" : "false");
	fb_json_cstr(&b, via);
	fb_buf_appends(&b, ",\"expires_at\":");
	fb_time_iso(iso, sizeof(iso), expires);
	fb_json_cstr(&b, expires > 0 ? iso : NULL);
	fb_buf_appendc(&b, '}');
	fb_reply_header(&ctx, "cache-control", "no-store");
	fb_reply_json(&ctx, 200, &b);
	fb_buf_cleanup(&b);
done:
	fb_ctx_end(&ctx);
	return (KORE_RESULT_OK);
}

/* A spin lock: the critical sections are a few hundred compares. */
static void
shared_lock(void)
{
	while (__atomic_test_and_set(&sh->lock, __ATOMIC_ACQUIRE))
		;
}

static void
shared_unlock(void)
{
	__atomic_clear(&sh->lock, __ATOMIC_RELEASE);
}

/* The peer as 16 bytes: IPv6, or IPv4 mapped into ::ffff:0:0/96. */
static void
client_addr(struct http_request *req, uint8_t *out)
{
	struct connection	*c = req->owner;

	memset(out, 0, 16);
	if (c == NULL)
		return;
	if (c->family == AF_INET) {
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &c->addr.ipv4.sin_addr, 4);
	} else if (c->family == AF_INET6)
		memcpy(out, &c->addr.ipv6.sin6_addr, 16);
}

/* The peer as text, for the log. */
static const char *
client_text(struct http_request *req, char *buf, size_t len)
{
	struct connection	*c = req->owner;
	const void		*a = NULL;

	if (c != NULL && c->family == AF_INET)
		a = &c->addr.ipv4.sin_addr;
	else if (c != NULL && c->family == AF_INET6)
		a = &c->addr.ipv6.sin6_addr;
	if (a == NULL || inet_ntop(c->family, a, buf, (socklen_t)len) == NULL)
		(void)snprintf(buf, len, "?");
	return (buf);
}

/*
 * The slot of addr (locked by the caller); with make, a free, forgotten
 * or else the stalest slot is taken over.  NULL when absent and !make.
 */
static struct throttle_slot *
throttle_find(const uint8_t *addr, int make)
{
	struct throttle_slot	*s, *free_slot = NULL, *oldest = NULL;
	uint64_t		 now = fb_time_mono_us();
	int			 i, is_stale;

	for (i = 0; i < THROTTLE_SLOTS; i++) {
		s = &sh->slots[i];
		is_stale = s->failures == 0 ||
		    now - s->last_us >= THROTTLE_FORGET;
		if (s->failures > 0 && memcmp(s->addr, addr, 16) == 0) {
			if (!is_stale)
				return (s);
			memset(s, 0, sizeof(*s));
		}
		if (is_stale && free_slot == NULL)
			free_slot = s;
		else if (!is_stale && (oldest == NULL ||
		    s->last_us < oldest->last_us))
			oldest = s;
	}
	if (!make)
		return (NULL);
	s = free_slot != NULL ? free_slot : oldest;
	memset(s, 0, sizeof(*s));
	memcpy(s->addr, addr, 16);
	return (s);
}

/* Microseconds this client must still wait before a try; 0: go ahead. */
static uint64_t
throttle_wait(struct http_request *req)
{
	struct throttle_slot	*s;
	uint8_t			 addr[16];
	uint64_t		 now = fb_time_mono_us(), wait = 0;

	client_addr(req, addr);
	shared_lock();
	if ((s = throttle_find(addr, 0)) != NULL && s->until_us > now)
		wait = s->until_us - now;
	shared_unlock();
	return (wait);
}

static void
throttle_fail(struct http_request *req)
{
	struct throttle_slot	*s;
	uint8_t			 addr[16];
	uint64_t		 now = fb_time_mono_us(), delay;

	client_addr(req, addr);
	shared_lock();
	s = throttle_find(addr, 1);
	s->failures++;
	delay = s->failures > 9 ? THROTTLE_MAX_US :
	    (1000000ULL << (s->failures - 1));
	if (delay > THROTTLE_MAX_US)
		delay = THROTTLE_MAX_US;
	s->last_us = now;
	s->until_us = now + delay;
	shared_unlock();
}

static void
throttle_reset(struct http_request *req)
{
	struct throttle_slot	*s;
	uint8_t			 addr[16];

	client_addr(req, addr);
	shared_lock();
	if ((s = throttle_find(addr, 0)) != NULL)
		memset(s, 0, sizeof(*s));
	shared_unlock();
}

/* The body {"passphrase": "..."} into out. */
static int
login_body(struct http_request *req, char *out, size_t len,
    struct fb_err *err)
{
	json_error_t	 je;
	json_t		*doc, *p;
	struct fb_buf	 body;
	char		 chunk[1024];
	ssize_t		 n;
	int		 rc = FB_ERR;

	fb_buf_init(&body, 256);
	while ((n = http_body_read(req, chunk, sizeof(chunk))) > 0 &&
	    body.len < BODY_MAX)
		fb_buf_append(&body, chunk, (size_t)n);
	doc = n < 0 || body.len >= BODY_MAX ? NULL :
	    json_loadb(body.data, body.len, 0, &je);
	explicit_bzero(body.data, body.cap);
	fb_buf_cleanup(&body);
	explicit_bzero(chunk, sizeof(chunk));
	p = json_object_get(doc, "passphrase");
	if (!json_is_object(doc))
		fb_err_set(err, "body: send a JSON object {\"passphrase\": "
		    "\"...\"}");
	else if (!json_is_string(p) || json_string_length(p) == 0 ||
	    json_string_length(p) >= len)
		fb_err_set(err, "passphrase: must be a non-empty string");
	else {
		(void)snprintf(out, len, "%s", json_string_value(p));
		rc = FB_OK;
	}
	json_decref(doc);
	return (rc);
}

/* The 64 hex digits of our cookie, or FB_ERR when absent or malformed. */
static int
cookie_token(struct http_request *req, char *out)
{
	const char	*h, *p, *v;
	size_t		 n = sizeof(COOKIE_NAME) - 1, i;

	if (!http_request_header(req, "cookie", &h))
		return (FB_ERR);
	for (p = h; (p = strstr(p, COOKIE_NAME "=")) != NULL; p += n) {
		if (p != h && p[-1] != ' ' && p[-1] != ';')
			continue;
		v = p + n + 1;
		for (i = 0; i < TOKEN_HEX; i++) {
			if (!((v[i] >= '0' && v[i] <= '9') ||
			    (v[i] >= 'a' && v[i] <= 'f')))
				break;
		}
		if (i != TOKEN_HEX || (v[i] != '\0' && v[i] != ';' &&
		    v[i] != ' '))
			continue;
		memcpy(out, v, TOKEN_HEX);
		out[TOKEN_HEX] = '\0';
		return (FB_OK);
	}
	return (FB_ERR);
}

static void
token_hash(const char *token, char *out)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)token, strlen(token), md);
	hex(md, sizeof(md), out);
}

/* 16 hex digits that change with ADMIN_PASSPHRASE. */
static void
pass_tag(char *out)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];
	char		text[sizeof(fb_cfg.admin_passphrase) + 32];
	int		n;

	n = snprintf(text, sizeof(text), "freakinbeats admin session\n%s",
	    fb_cfg.admin_passphrase);
	SHA256((const unsigned char *)text, (size_t)n, md);
	hex(md, 8, out);
	explicit_bzero(text, sizeof(text));
	explicit_bzero(md, sizeof(md));
}

/* A new session: token (hex) for the cookie; its row in admin_sessions. */
static int
session_create(char *token, int64_t *expires, struct fb_err *err)
{
	unsigned char	 raw[TOKEN_BYTES];
	char		 hash[SHA256_DIGEST_LENGTH * 2 + 1], tag[17];
	sqlite3_stmt	*st;
	int64_t		 now = fb_time_now();
	int		 rc;

	if (!fb_w.db_ok || RAND_bytes(raw, sizeof(raw)) != 1) {
		fb_err_set(err, "sessions unavailable");
		return (FB_ERR);
	}
	hex(raw, sizeof(raw), token);
	explicit_bzero(raw, sizeof(raw));
	token_hash(token, hash);
	pass_tag(tag);
	*expires = now + SESSION_SECS;
	st = fb_db_prepare(&fb_w.db, "DELETE FROM admin_sessions WHERE "
	    "expires_at <= ?", NULL);
	sqlite3_bind_int64(st, 1, now);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	st = fb_db_prepare(&fb_w.db, "INSERT INTO admin_sessions (token_hash,"
	    " pass_tag, created_at, expires_at) VALUES (?, ?, ?, ?)", err);
	if (st == NULL)
		return (FB_ERR);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, *expires);
	rc = sqlite3_step(st) == SQLITE_DONE ? FB_OK : FB_ERR;
	if (rc != FB_OK)
		fb_err_set(err, "sessions: %s", sqlite3_errmsg(fb_w.db.h));
	sqlite3_finalize(st);
	return (rc);
}

/* When req's session expires (unix time), or 0 when it has none. */
static int64_t
session_lookup(struct http_request *req)
{
	char		 token[TOKEN_HEX + 1];
	char		 hash[SHA256_DIGEST_LENGTH * 2 + 1], tag[17];
	sqlite3_stmt	*st;
	int64_t		 expires = 0;

	if (fb_cfg.admin_passphrase[0] == '\0' || !fb_w.db_ok ||
	    cookie_token(req, token) != FB_OK)
		return (0);
	token_hash(token, hash);
	explicit_bzero(token, sizeof(token));
	pass_tag(tag);
	st = fb_db_prepare(&fb_w.db, "SELECT expires_at FROM admin_sessions "
	    "WHERE token_hash = ? AND pass_tag = ? AND expires_at > ?", NULL);
	if (st == NULL)
		return (0);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, fb_time_now());
	if (sqlite3_step(st) == SQLITE_ROW)
		expires = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (expires);
}

static void
session_delete(const char *token)
{
	char		 hash[SHA256_DIGEST_LENGTH * 2 + 1];
	sqlite3_stmt	*st;

	if (!fb_w.db_ok)
		return;
	token_hash(token, hash);
	st = fb_db_prepare(&fb_w.db, "DELETE FROM admin_sessions WHERE "
	    "token_hash = ?", NULL);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

/*
 * Set-Cookie, written here because Kore's cookies know no SameSite and
 * add a Domain.  maxage 0 deletes the cookie.
 */
static void
cookie_set(struct fb_ctx *ctx, const char *value, int64_t maxage)
{
	struct fb_buf	b;
	struct tm	tm;
	time_t		t;
	char		date[64];

	t = (time_t)(maxage > 0 ? fb_time_now() + maxage : 0);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		(void)snprintf(date, sizeof(date), "Thu, 01 Jan 1970 "
		    "00:00:00 GMT");
	fb_buf_init(&b, 256);
	fb_buf_appendf(&b, "%s=%s; Path=/; Max-Age=%lld; Expires=%s; "
	    "HttpOnly; SameSite=Strict", COOKIE_NAME, value,
	    (long long)maxage, date);
	if (fb_req_is_tls(ctx->req))
		fb_buf_appends(&b, "; Secure");
	fb_reply_header(ctx, "set-cookie", fb_buf_cstr(&b));
	explicit_bzero(b.data, b.cap);
	fb_buf_cleanup(&b);
}

/* Origin is "scheme://host[:port]": our scheme and the Host header. */
static int
origin_matches(struct http_request *req, const char *origin)
{
	const char	*scheme = fb_req_is_tls(req) ? "https://" : "http://";
	size_t		 n = strlen(scheme);

	if (req->host == NULL || strncasecmp(origin, scheme, n) != 0)
		return (0);
	return (strcasecmp(origin + n, req->host) == 0);
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[i * 2] = digits[p[i] >> 4];
		out[i * 2 + 1] = digits[p[i] & 0x0f];
	}
	out[n * 2] = '\0';
}

static void
count(int which)
{
	if (sh != NULL)
		__atomic_add_fetch(&sh->counters[which], 1, __ATOMIC_RELAXED);
}
