/*
 * Chunked responses made part by part: the full /api/data dump and the
 * streamed answers of plugins.
 *
 * The producer's fill() appends the next part of the body; the part is
 * sent as one chunk, and fill() runs again only once Kore has sent it.
 * So one part is ever in memory, whatever the body's size, and a slow
 * client only slows itself.  The first part is made before the headers
 * go out, so a producer that fails at once still gets a clean JSON
 * error.  free() runs exactly once: after the last part, on a failure
 * mid-body (the connection is then cut, the only honest signal left), or
 * when the client goes away (the disconnect hook marks the stream and
 * the queued netbuf's callback frees it).
 */
#include "server.h"

#define HEAD_ROOM	12		/* "%zx\r\n" of a chunk size */
#define DUMP_PART	(128 * 1024)

struct fb_stream {
	struct connection	*c;
	struct fb_buf		 buf;
	fb_stream_fill		 fill;
	fb_stream_free		 free;
	void			*arg;
	int			 is_chunked;
	int			 is_gone;
	int			 is_last;
};

struct dump {
	struct fb_cursor	cursor;
	int			is_open;
};

static int	stream_fill(struct fb_stream *);
static void	stream_send(struct fb_stream *);
static int	stream_sent(struct netbuf *);
static void	stream_disconnect(struct connection *);
static void	stream_finish(struct fb_stream *);
static void	stream_abort(struct fb_stream *);
static void	stream_free(struct fb_stream *);
static int	dump_fill(struct fb_stream *, struct fb_buf *, void *);
static void	dump_free(void *);

/*
 * Starts a chunked answer.  FB_ERR when the first fill failed: nothing
 * was sent, free(arg) has run, and the caller answers the error.
 */
int
fb_stream_start(struct fb_ctx *ctx, int status, const char *type,
    fb_stream_fill fill, fb_stream_free freefn, void *arg)
{
	struct http_request	*req = ctx->req;
	struct fb_stream	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->c = req->owner;
	s->fill = fill;
	s->free = freefn;
	s->arg = arg;
	s->is_chunked = !(req->flags & HTTP_VERSION_1_0);
	fb_buf_init(&s->buf, DUMP_PART + 4096);
	if (req->method == HTTP_METHOD_HEAD) {
		fb_reply(ctx, status, type, NULL, 0);
		stream_free(s);
		return (FB_OK);
	}
	if (stream_fill(s) != FB_OK) {
		stream_free(s);
		return (FB_ERR);
	}
	s->c->flags |= CONN_IS_BUSY;
	s->c->hdlr_extra = s;
	s->c->disconnect = stream_disconnect;
	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	if (s->is_chunked)
		http_response_header(req, "transfer-encoding", "chunked");
	fb_reply(ctx, status, type, NULL, 0);
	stream_send(s);
	return (FB_OK);
}

/* The whole listing set, "[...]", from one snapshot read. */
void
fb_stream_listings(struct fb_ctx *ctx, int include_inactive)
{
	struct dump	*d;
	struct fb_err	 err = { 0, "" };

	if ((d = calloc(1, sizeof(*d))) == NULL)
		abort();
	if (fb_cursor_open(&d->cursor, &fb_w.db, include_inactive,
	    &err) != FB_OK) {
		free(d);
		fb_reply_error(ctx, 500, "%s", err.msg);
		return;
	}
	if (fb_stream_start(ctx, 200, "application/json; charset=utf-8",
	    dump_fill, dump_free, d) != FB_OK)
		fb_reply_error(ctx, 500, "database error");
}

static int
dump_fill(struct fb_stream *s, struct fb_buf *b, void *arg)
{
	struct dump	*d = arg;

	(void)s;
	if (!d->is_open) {
		fb_buf_appendc(b, '[');
		d->is_open = 1;
	}
	if (fb_cursor_fill(&d->cursor, b, b->len + DUMP_PART) != FB_OK) {
		fb_log(FB_LOG_ERROR, "/api/data stream: %s",
		    sqlite3_errmsg(fb_w.db.h));
		return (-1);
	}
	if (!d->cursor.done)
		return (1);
	fb_buf_appendc(b, ']');
	return (0);
}

static void
dump_free(void *arg)
{
	struct dump	*d = arg;

	fb_cursor_close(&d->cursor);
	free(d);
}

/* The next part: 1 more to come, 0 the last one; FB_ERR on failure. */
static int
stream_fill(struct fb_stream *s)
{
	int	rc;

	s->buf.len = HEAD_ROOM;
	if ((rc = s->fill(s, &s->buf, s->arg)) < 0)
		return (FB_ERR);
	s->is_last = rc == 0;
	return (FB_OK);
}

/* Queues the current part; the last one carries the terminator. */
static void
stream_send(struct fb_stream *s)
{
	struct netbuf	*nb;
	char		 line[HEAD_ROOM + 1];
	size_t		 start = HEAD_ROOM, n = s->buf.len - HEAD_ROOM;
	int		 w;

	if (s->is_chunked) {
		if (n > 0) {
			w = snprintf(line, sizeof(line), "%zx\r\n", n);
			start = HEAD_ROOM - (size_t)w;
			memcpy(s->buf.data + start, line, (size_t)w);
			fb_buf_append(&s->buf, "\r\n", 2);
		}
		if (s->is_last)
			fb_buf_append(&s->buf, "0\r\n\r\n", 5);
	}
	net_send_stream(s->c, s->buf.data + start, s->buf.len - start,
	    stream_sent, &nb);
	nb->extra = s;
}

/* Kore sent (or dropped) the queued part. */
static int
stream_sent(struct netbuf *nb)
{
	struct fb_stream	*s = nb->extra;

	if (s->is_gone) {
		stream_free(s);
		return (KORE_RESULT_ERROR);
	}
	if (s->is_last) {
		stream_finish(s);
		return (KORE_RESULT_OK);
	}
	if (stream_fill(s) != FB_OK) {
		stream_abort(s);
		return (KORE_RESULT_ERROR);
	}
	stream_send(s);
	return (KORE_RESULT_OK);
}

/* The client went away: the queued part's callback will free s. */
static void
stream_disconnect(struct connection *c)
{
	struct fb_stream	*s = c->hdlr_extra;

	s->is_gone = 1;
	c->hdlr_extra = NULL;
	c->disconnect = NULL;
}

/* All sent: hand the connection back to HTTP for the next request. */
static void
stream_finish(struct fb_stream *s)
{
	struct connection	*c = s->c;

	c->hdlr_extra = NULL;
	c->disconnect = NULL;
	c->flags &= ~CONN_IS_BUSY;
	stream_free(s);
	if (!(c->flags & CONN_CLOSE_EMPTY))
		http_start_recv(c);
}

static void
stream_abort(struct fb_stream *s)
{
	struct connection	*c = s->c;

	c->hdlr_extra = NULL;
	c->disconnect = NULL;
	stream_free(s);
	kore_connection_disconnect(c);
}

static void
stream_free(struct fb_stream *s)
{
	if (s->free != NULL)
		s->free(s->arg);
	fb_buf_cleanup(&s->buf);
	free(s);
}
