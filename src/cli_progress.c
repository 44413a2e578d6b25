/*
 * Progress of a long CLI command, on stderr: a bar redrawn in place on a
 * terminal, a plain line every 10% otherwise (logs, CI, pipes).  Used by
 * import (rows) and sync (pages).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"

void
fb_cli_progress_init(struct fb_cli_progress *pr, const char *what)
{
	pr->is_tty = isatty(STDERR_FILENO);
	pr->last = -1;
	pr->what = what;
}

/* done of total, and a word on where it is ("1200 rows", "page 3 of 9"). */
void
fb_cli_progress_show(struct fb_cli_progress *pr, int64_t done, int64_t total,
    const char *at)
{
	int	pct = total > 0 ? (int)(done * 100 / total) : 100;
	char	bar[41];

	if (pct == pr->last || (!pr->is_tty && pct / 10 == pr->last / 10 &&
	    pr->last >= 0))
		return;
	pr->last = pct;
	if (!pr->is_tty) {
		fprintf(stderr, "%s: %d%% (%s)\n", pr->what, pct, at);
		return;
	}
	memset(bar, ' ', 40);
	memset(bar, '#', (size_t)(pct * 40 / 100));
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3d%% %s%s", bar, pct, at,
	    pct == 100 ? "\n" : "");
}

/* Before another line on stderr: end a bar drawn in place. */
void
fb_cli_progress_break(struct fb_cli_progress *pr)
{
	if (pr->is_tty && pr->last >= 0 && pr->last < 100)
		fputc('\n', stderr);
	pr->last = -1;
}
