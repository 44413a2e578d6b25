/*
 * Time helpers: wall-clock ISO-8601 stamps for stored rows and a
 * monotonic microsecond clock for latency measurements.
 */
#include <stdio.h>
#include <time.h>

#include "app.h"

int64_t
fb_time_now(void)
{
	return ((int64_t)time(NULL));
}

void
fb_time_iso(char *out, size_t len, int64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, len, "1970-01-01T00:00:00Z");
}

uint64_t
fb_time_mono_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}
