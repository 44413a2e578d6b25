/*
 * The Discogs client: one blocking GET, for the sync thread and the CLI.
 *
 * Every request has a connect timeout, a total timeout and a cap on the
 * body size, and sends the token and the User-Agent.  It returns the
 * status, the body and the two headers the pacer needs.  The token only
 * ever goes into the Authorization header: never into a URL, a log line
 * or an error message.  Never call this on Kore's event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "app.h"

#define CONNECT_TIMEOUT_S	10
#define TOTAL_TIMEOUT_S		30
#define BODY_MAX		(16 * 1024 * 1024)

static size_t	discogs_body(char *, size_t, size_t, void *);
static size_t	discogs_header(char *, size_t, size_t, void *);
static CURL	*discogs_handle(const char *, struct fb_http *,
		    struct curl_slist **);

int
fb_discogs_global_init(void)
{
	return (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ?
	    FB_OK : FB_ERR);
}

/* FB_OK when an HTTP answer came (any status); FB_ERR on transport errors. */
int
fb_discogs_get(const char *url, struct fb_http *h)
{
	struct curl_slist	*hdrs = NULL;
	CURL			*c;
	CURLcode		 rc;
	long			 status = 0;

	memset(h, 0, sizeof(*h));
	h->retry_after = h->remaining = -1;
	fb_buf_init(&h->body, 64 * 1024);
	if ((c = discogs_handle(url, h, &hdrs)) == NULL) {
		(void)snprintf(h->error, sizeof(h->error), "curl: no handle");
		return (FB_ERR);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else if (rc == CURLE_WRITE_ERROR && h->body.len > BODY_MAX)
		(void)snprintf(h->error, sizeof(h->error), "answer larger "
		    "than %d MB", BODY_MAX / (1024 * 1024));
	else
		(void)snprintf(h->error, sizeof(h->error), "%s",
		    curl_easy_strerror(rc));
	h->status = (int)status;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return (rc == CURLE_OK ? FB_OK : FB_ERR);
}

void
fb_http_cleanup(struct fb_http *h)
{
	fb_buf_cleanup(&h->body);
}

static CURL *
discogs_handle(const char *url, struct fb_http *h, struct curl_slist **hdrs)
{
	CURL	*c;
	char	 auth[320], agent[160];

	if ((c = curl_easy_init()) == NULL)
		return (NULL);
	(void)snprintf(auth, sizeof(auth), "Authorization: Discogs token=%s",
	    fb_cfg.discogs_token);
	(void)snprintf(agent, sizeof(agent), "User-Agent: %s",
	    fb_cfg.discogs_user_agent);
	*hdrs = curl_slist_append(*hdrs, auth);
	*hdrs = curl_slist_append(*hdrs, agent);
	*hdrs = curl_slist_append(*hdrs, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TOTAL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discogs_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, discogs_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	return (c);
}

static size_t
discogs_body(char *p, size_t size, size_t n, void *arg)
{
	struct fb_http	*h = arg;

	if (h->body.len + n > BODY_MAX) {
		h->body.len = BODY_MAX + 1;
		return (0);
	}
	fb_buf_append(&h->body, p, n);
	return (size * n);
}

/* Retry-After (seconds) and X-Discogs-Ratelimit-Remaining. */
static size_t
discogs_header(char *p, size_t size, size_t n, void *arg)
{
	struct fb_http	*h = arg;
	char		 line[256];
	size_t		 len = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

	memcpy(line, p, len);
	line[len] = '\0';
	if (strncasecmp(line, "retry-after:", 12) == 0)
		h->retry_after = atoi(line + 12);
	else if (strncasecmp(line, "x-discogs-ratelimit-remaining:", 30) == 0)
		h->remaining = atoi(line + 30);
	if (strncmp(line, "HTTP/", 5) == 0)
		h->retry_after = h->remaining = -1;
	return (size * n);
}

#if defined(FB_KORE_MODULE)
#include <kore/kore.h>
#include <kore/seccomp.h>

/* libcurl in a task thread: sockets, polling, the resolver's thread. */
struct sock_filter	fb_discogs_seccomp[] = {
	KORE_SYSCALL_ALLOW(socket),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(setsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(poll),
	KORE_SYSCALL_ALLOW(ppoll),
	KORE_SYSCALL_ALLOW(sendto),
	KORE_SYSCALL_ALLOW(recvfrom),
	KORE_SYSCALL_ALLOW(sendmsg),
	KORE_SYSCALL_ALLOW(recvmsg),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(bind),
	KORE_SYSCALL_ALLOW(pipe2),
	KORE_SYSCALL_ALLOW(eventfd2),
	KORE_SYSCALL_ALLOW(socketpair),
	KORE_SYSCALL_ALLOW(sysinfo),
	KORE_SYSCALL_ALLOW(clock_nanosleep),
	KORE_SYSCALL_ALLOW(nanosleep),
};
size_t	fb_discogs_seccomp_len = KORE_FILTER_LEN(fb_discogs_seccomp);
#endif
