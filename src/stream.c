/*
 * Streaming the full /api/data dump with chunked transfer encoding.
 *
 * The headers go out first; then one chunk of about CHUNK_BYTES is built
 * from an open SQLite statement each time Kore has sent the previous one.
 * Only one chunk is ever in memory, so a 100k-listing shop costs the same
 * RAM as a small one, and a slow client only slows itself.  If the client
 * goes away, the connection's disconnect hook marks the stream and the
 * netbuf callback frees it when Kore drops the queued chunk.
 */
#include "server.h"

#define CHUNK_BYTES	(128 * 1024)
#define HEAD_ROOM	12		/* "%zx\r\n" of a chunk size */

struct stream {
	struct connection	*c;
	struct fb_cursor	 cursor;
	struct fb_buf		 buf;
	int			 is_chunked;
	int			 is_gone;
	int			 is_last;
};

static int	stream_next(struct stream *);
static int	stream_sent(struct netbuf *);
static void	stream_disconnect(struct connection *);
static void	stream_finish(struct stream *);
static void	stream_abort(struct stream *);
static void	stream_free(struct stream *);

void
fb_stream_listings(struct fb_ctx *ctx, int include_inactive)
{
	struct http_request	*req = ctx->req;
	struct connection	*c = req->owner;
	struct stream		*s;
	struct fb_err		 err = { 0, "" };

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	if (fb_cursor_open(&s->cursor, &fb_w.db, include_inactive,
	    &err) != FB_OK) {
		free(s);
		fb_reply_error(ctx, 500, "%s", err.msg);
		return;
	}
	s->c = c;
	s->is_chunked = !(req->flags & HTTP_VERSION_1_0);
	fb_buf_init(&s->buf, CHUNK_BYTES + 4096);
	if (req->method == HTTP_METHOD_HEAD) {
		fb_reply(ctx, 200, "application/json; charset=utf-8", NULL, 0);
		stream_free(s);
		return;
	}
	c->flags |= CONN_IS_BUSY;
	c->hdlr_extra = s;
	c->disconnect = stream_disconnect;
	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	if (s->is_chunked)
		http_response_header(req, "transfer-encoding", "chunked");
	fb_reply(ctx, 200, "application/json; charset=utf-8", NULL, 0);
	s->buf.len = HEAD_ROOM;
	fb_buf_appendc(&s->buf, '[');
	if (stream_next(s) != KORE_RESULT_OK)
		stream_abort(s);
}

/*
 * Builds and queues the next chunk; the last one carries the "]" and the
 * chunked terminator.  The chunk-size line is written into room kept at
 * the front of the buffer, so each chunk is one send.
 */
static int
stream_next(struct stream *s)
{
	struct netbuf	*nb;
	char		 line[HEAD_ROOM + 1];
	size_t		 start = 0;
	int		 n;

	if (fb_cursor_fill(&s->cursor, &s->buf, CHUNK_BYTES) != FB_OK) {
		fb_log(FB_LOG_ERROR, "/api/data stream: %s",
		    sqlite3_errmsg(fb_w.db.h));
		return (KORE_RESULT_ERROR);
	}
	if (s->cursor.done) {
		fb_buf_appendc(&s->buf, ']');
		s->is_last = 1;
	}
	if (s->is_chunked) {
		n = snprintf(line, sizeof(line), "%zx\r\n",
		    s->buf.len - HEAD_ROOM);
		start = HEAD_ROOM - (size_t)n;
		memcpy(s->buf.data + start, line, (size_t)n);
		fb_buf_append(&s->buf, s->is_last ? "\r\n0\r\n\r\n" : "\r\n",
		    s->is_last ? 7 : 2);
	} else
		start = HEAD_ROOM;
	net_send_stream(s->c, s->buf.data + start, s->buf.len - start,
	    stream_sent, &nb);
	nb->extra = s;
	return (KORE_RESULT_OK);
}

/* Kore sent (or dropped) the queued chunk. */
static int
stream_sent(struct netbuf *nb)
{
	struct stream	*s = nb->extra;

	if (s->is_gone) {
		stream_free(s);
		return (KORE_RESULT_ERROR);
	}
	if (s->is_last) {
		stream_finish(s);
		return (KORE_RESULT_OK);
	}
	s->buf.len = HEAD_ROOM;
	if (stream_next(s) != KORE_RESULT_OK) {
		stream_abort(s);
		return (KORE_RESULT_ERROR);
	}
	return (KORE_RESULT_OK);
}

/* The client went away: the queued chunk's callback will free s. */
static void
stream_disconnect(struct connection *c)
{
	struct stream	*s = c->hdlr_extra;

	s->is_gone = 1;
	c->hdlr_extra = NULL;
	c->disconnect = NULL;
}

/* All sent: hand the connection back to HTTP for the next request. */
static void
stream_finish(struct stream *s)
{
	struct connection	*c = s->c;

	c->hdlr_extra = NULL;
	c->disconnect = NULL;
	c->flags &= ~CONN_IS_BUSY;
	stream_free(s);
	if (!(c->flags & CONN_CLOSE_EMPTY))
		http_start_recv(c);
}

/* A database error mid-stream: the only honest signal left is to cut
 * the connection, so the client sees a truncated body, not a short one. */
static void
stream_abort(struct stream *s)
{
	struct connection	*c = s->c;

	c->hdlr_extra = NULL;
	c->disconnect = NULL;
	stream_free(s);
	kore_connection_disconnect(c);
}

static void
stream_free(struct stream *s)
{
	fb_cursor_close(&s->cursor);
	fb_buf_cleanup(&s->buf);
	free(s);
}
