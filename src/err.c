/*
 * Error details for the caller: a code and one message line.
 *
 * Every failing function fills a caller-owned struct fb_err.  The message
 * names the thing at fault (a variable, a parameter, file:line).  Nothing
 * here allocates, so error paths stay safe when memory is short.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"

void
fb_err_set(struct fb_err *err, const char *fmt, ...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (err->code == 0)
		err->code = FB_ERR;
}

void
fb_err_clear(struct fb_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}
