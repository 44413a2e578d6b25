/*
 * A few TAP assertions; no framework.  Each check prints `ok N - what` or
 * `not ok N - what` plus a `#` line saying what was seen.  tests/run.sh
 * counts the lines.  TEST_DONE() returns non-zero when a check failed.
 */
#ifndef FB_TEST_H
#define FB_TEST_H

#include <stdio.h>
#include <string.h>

static int	t_count, t_failed;

#define OK(cond, what) do {						\
	t_count++;							\
	if (cond)							\
		printf("ok %d - %s\n", t_count, (what));		\
	else {								\
		t_failed++;						\
		printf("not ok %d - %s\n# %s:%d: %s\n", t_count,	\
		    (what), __FILE__, __LINE__, #cond);			\
	}								\
} while (0)

#define EQ_INT(got, want, what) do {					\
	long long _g = (long long)(got), _w = (long long)(want);	\
	OK(_g == _w, (what));						\
	if (_g != _w)							\
		printf("# got %lld, want %lld\n", _g, _w);		\
} while (0)

#define EQ_STR(got, want, what) do {					\
	const char *_g = (got), *_w = (want);				\
	int _same = _g != NULL && _w != NULL && strcmp(_g, _w) == 0;	\
	OK(_same, (what));						\
	if (!_same)							\
		printf("# got '%s', want '%s'\n", _g ? _g : "(null)",	\
		    _w ? _w : "(null)");				\
} while (0)

#define TEST_DONE()	(printf("1..%d\n", t_count), t_failed != 0)

#endif
