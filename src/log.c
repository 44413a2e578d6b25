/*
 * Logging: one line per event on stderr, filtered by LOG_LEVEL.
 *
 * Used by the CLI, the parent and the workers alike.  A line is written
 * with a single write() so lines from several workers do not interleave.
 * Callers must never pass the Discogs token or the admin passphrase.
 */
#include <stdio.h>
#include <unistd.h>

#include "app.h"

static const char	*level_names[] = { "error", "warn", "info", "debug" };
static void		(*before_line)(void *);	/* e.g. end a progress bar */
static void		*before_arg;

/* Called before each line is written (NULL: nothing); the CLI's bar. */
void
fb_log_set_before(void (*fn)(void *), void *arg)
{
	before_line = fn;
	before_arg = arg;
}

void
fb_log(int level, const char *fmt, ...)
{
	va_list		ap;
	char		line[1024];
	int		n, m;

	if (level > fb_cfg.log_level)
		return;
	n = snprintf(line, sizeof(line), "freakinbeats[%d] %s: ",
	    (int)getpid(), level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (before_line != NULL)
		before_line(before_arg);
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
