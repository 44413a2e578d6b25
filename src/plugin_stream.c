/*
 * Streamed plugin answers (api->reply_stream), with chunked encoding.
 *
 * The plugin's fill callback writes one part of the body into the sink;
 * the host sends it as one chunk and calls fill again only once Kore has
 * sent it, so a worker holds one part per stream, never the whole body,
 * and a slow client only slows itself.  The first part is made before
 * the headers go out, so a plugin that fails at once still gets a clean
 * JSON 500.  The plugin's done callback runs exactly once, on success,
 * on failure or when the client goes away; then any statement the
 * stream left running is reset.  Same connection handling as stream.c.
 */
#include "plugin.h"

#define HEAD_ROOM	12		/* "%zx\r\n" of a chunk size */
#define EMPTY_FILLS	1000		/* fills in a row that wrote nothing */

struct fb_sink {
	struct connection	*c;
	struct fb_plugin_ctx	*pc;
	uint64_t		 serial;
	fb_fill			 fill;
	fb_done			 done;
	void			*arg;
	struct fb_buf		 buf;
	int			 is_chunked;
	int			 is_gone;
	int			 is_last;
	int			 is_over;	/* a write past the cap */
};

static struct fb_sink *stream_new(struct fb_req *, fb_fill, fb_done, void *);
static int	stream_fill(struct fb_sink *);
static void	stream_send(struct fb_sink *);
static int	stream_sent(struct netbuf *);
static void	stream_disconnect(struct connection *);
static void	stream_finish(struct fb_sink *);
static void	stream_abort(struct fb_sink *);
static void	stream_free(struct fb_sink *);

int
fb_plugin_stream(struct fb_req *r, int status, const char *type,
    fb_fill fill, fb_done done, void *arg)
{
	struct http_request	*req = r->ctx.req;
	struct fb_sink		*s;

	if (r->has_replied || fill == NULL || type == NULL ||
	    strpbrk(type, "\r\n") != NULL || status < 200 || status > 599) {
		if (done != NULL)
			done(arg);
		return (r->has_replied ? FB_ERR :
		    fb_plugin_api.reply_error(r, 500, "bad stream"));
	}
	r->has_replied = 1;
	s = stream_new(r, fill, done, arg);
	if (req->method == HTTP_METHOD_HEAD) {
		fb_reply(&r->ctx, status, type, NULL, 0);
		stream_free(s);
		return (FB_OK);
	}
	s->buf.len = HEAD_ROOM;
	if (stream_fill(s) != FB_OK) {
		stream_free(s);
		fb_reply_error(&r->ctx, 500, "plugin %s failed",
		    r->route->pc->rec->name);
		return (FB_ERR);
	}
	r->is_streaming = 1;
	s->c->flags |= CONN_IS_BUSY;
	s->c->hdlr_extra = s;
	s->c->disconnect = stream_disconnect;
	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	if (s->is_chunked)
		http_response_header(req, "transfer-encoding", "chunked");
	fb_reply(&r->ctx, status, type, NULL, 0);
	stream_send(s);
	return (FB_OK);
}

static struct fb_sink *
stream_new(struct fb_req *r, fb_fill fill, fb_done done, void *arg)
{
	struct fb_sink	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->c = r->ctx.req->owner;
	s->pc = r->route->pc;
	s->serial = r->serial;
	s->fill = fill;
	s->done = done;
	s->arg = arg;
	s->is_chunked = !(r->ctx.req->flags & HTTP_VERSION_1_0);
	fb_buf_init(&s->buf, FB_STREAM_CHUNK + 4096);
	return (s);
}

/* The plugin's api->sink_write: append to the current part. */
int
fb_plugin_sink_write(struct fb_sink *s, const void *data, size_t len)
{
	if (s == NULL || (data == NULL && len > 0))
		return (FB_ERR);
	if (s->buf.len - HEAD_ROOM + len > FB_STREAM_CHUNK_MAX) {
		if (!s->is_over)
			fb_plugin_log(s->pc, FB_LOG_ERROR, "sink_write: a part "
			    "may hold at most %d bytes", FB_STREAM_CHUNK_MAX);
		s->is_over = 1;
		return (FB_ERR);
	}
	fb_buf_append(&s->buf, data, len);
	return (FB_OK);
}

/*
 * Calls fill until it wrote something or said it is done: an empty
 * chunk would end the body early.  FB_OK, or FB_ERR when it failed.
 */
static int
stream_fill(struct fb_sink *s)
{
	int	rc = 1, n;

	for (n = 0; rc == 1 && s->buf.len == HEAD_ROOM; n++) {
		if (n == EMPTY_FILLS) {
			fb_plugin_log(s->pc, FB_LOG_ERROR, "stream: fill wrote "
			    "nothing %d times in a row", EMPTY_FILLS);
			return (FB_ERR);
		}
		fb_plugin_enter(s->pc, s->serial);
		rc = s->fill(s, s->arg);
		fb_plugin_leave();
		if (s->is_over || (rc != 0 && rc != 1))
			return (FB_ERR);
	}
	s->is_last = rc == 0;
	return (FB_OK);
}

/* Queues the current part; the last one carries the terminator. */
static void
stream_send(struct fb_sink *s)
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
	struct fb_sink	*s = nb->extra;

	if (s->is_gone) {
		stream_free(s);
		return (KORE_RESULT_ERROR);
	}
	if (s->is_last) {
		stream_finish(s);
		return (KORE_RESULT_OK);
	}
	s->buf.len = HEAD_ROOM;
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
	struct fb_sink	*s = c->hdlr_extra;

	s->is_gone = 1;
	c->hdlr_extra = NULL;
	c->disconnect = NULL;
}

/* All sent: hand the connection back to HTTP for the next request. */
static void
stream_finish(struct fb_sink *s)
{
	struct connection	*c = s->c;

	c->hdlr_extra = NULL;
	c->disconnect = NULL;
	c->flags &= ~CONN_IS_BUSY;
	stream_free(s);
	if (!(c->flags & CONN_CLOSE_EMPTY))
		http_start_recv(c);
}

/* A failure mid-body: cutting the connection is the only honest signal. */
static void
stream_abort(struct fb_sink *s)
{
	struct connection	*c = s->c;

	c->hdlr_extra = NULL;
	c->disconnect = NULL;
	stream_free(s);
	kore_connection_disconnect(c);
}

static void
stream_free(struct fb_sink *s)
{
	if (s->done != NULL) {
		fb_plugin_enter(s->pc, s->serial);
		s->done(s->arg);
		fb_plugin_leave();
	}
	fb_plugin_stmts_reset(s->serial);
	fb_buf_cleanup(&s->buf);
	free(s);
}
