/*
 * Streamed plugin answers (api->reply_stream) on top of stream.c.
 *
 * The plugin's fill callback writes one part of the body into its sink
 * with api->sink_write (at most FB_STREAM_CHUNK_MAX bytes a part); the
 * host sends each part as one chunk and asks for the next once Kore has
 * sent it.  A fill that writes nothing is asked again, a bounded number
 * of times, since an empty chunk would end the body early.  The plugin's
 * done callback runs exactly once, on success, on failure or when the
 * client goes away; then any statement the stream left running is reset.
 */
#include "plugin.h"

#define EMPTY_FILLS	1000		/* fills in a row that wrote nothing */

struct fb_sink {
	struct fb_plugin_ctx	*pc;
	uint64_t		 serial;
	fb_fill			 fill;
	fb_done			 done;
	void			*arg;
	struct fb_buf		*part;		/* during fill only */
	size_t			 part_len;
	int			 is_over;	/* a write past the cap */
};

static int	sink_fill(struct fb_stream *, struct fb_buf *, void *);
static void	sink_free(void *);

int
fb_plugin_stream(struct fb_req *r, int status, const char *type,
    fb_fill fill, fb_done done, void *arg)
{
	struct fb_sink	*s;

	if (r->has_replied || fill == NULL || type == NULL ||
	    strpbrk(type, "\r\n") != NULL || status < 200 || status > 599) {
		if (done != NULL)
			done(arg);
		return (r->has_replied ? FB_ERR :
		    fb_plugin_api.reply_error(r, 500, "bad stream"));
	}
	r->has_replied = 1;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->pc = r->route->pc;
	s->serial = r->serial;
	s->fill = fill;
	s->done = done;
	s->arg = arg;
	if (fb_stream_start(&r->ctx, status, type, sink_fill, sink_free,
	    s) != FB_OK) {
		fb_reply_error(&r->ctx, 500, "plugin %s failed",
		    r->route->pc->rec->name);
		return (FB_ERR);
	}
	r->is_streaming = 1;
	return (FB_OK);
}

/* The plugin's api->sink_write: append to the current part. */
int
fb_plugin_sink_write(struct fb_sink *s, const void *data, size_t len)
{
	if (s == NULL || s->part == NULL || (data == NULL && len > 0))
		return (FB_ERR);
	if (s->part_len + len > FB_STREAM_CHUNK_MAX) {
		if (!s->is_over)
			fb_plugin_log(s->pc, FB_LOG_ERROR, "sink_write: a part "
			    "may hold at most %d bytes", FB_STREAM_CHUNK_MAX);
		s->is_over = 1;
		return (FB_ERR);
	}
	fb_buf_append(s->part, data, len);
	s->part_len += len;
	return (FB_OK);
}

/* Calls the plugin's fill until it wrote something or said it is done. */
static int
sink_fill(struct fb_stream *st, struct fb_buf *b, void *arg)
{
	struct fb_sink	*s = arg;
	int		 rc = 1, n;

	(void)st;
	s->part = b;
	s->part_len = 0;
	for (n = 0; rc == 1 && s->part_len == 0; n++) {
		if (n == EMPTY_FILLS) {
			fb_plugin_log(s->pc, FB_LOG_ERROR, "stream: fill wrote "
			    "nothing %d times in a row", EMPTY_FILLS);
			rc = -1;
			break;
		}
		fb_plugin_enter(s->pc, s->serial);
		rc = s->fill(s, s->arg);
		fb_plugin_leave();
		if (s->is_over || (rc != 0 && rc != 1))
			rc = -1;
	}
	s->part = NULL;
	return (rc);
}

static void
sink_free(void *arg)
{
	struct fb_sink	*s = arg;

	if (s->done != NULL) {
		fb_plugin_enter(s->pc, s->serial);
		s->done(s->arg);
		fb_plugin_leave();
	}
	fb_plugin_stmts_reset(s->serial);
	free(s);
}
