/*
 * pacer.c: the minimum interval, slowing down as the budget runs low,
 * Retry-After, the 2-4-8...60 s backoff without it, and retries of
 * server errors.  Pure arithmetic on milliseconds.
 */
#include "app.h"
#include "test.h"

static void
test_interval(void)
{
	struct fb_pacer	p;

	fb_pacer_init(&p, 1000);
	EQ_INT(fb_pacer_wait(&p, 5000), 0, "the first request goes at once");
	EQ_INT(fb_pacer_result(&p, 5000, 200, -1, 55, 0), 1000,
	    "then DISCOGS_MIN_INTERVAL_MS");
	EQ_INT(fb_pacer_wait(&p, 5400), 600, "600 ms left after 400 ms");
	EQ_INT(fb_pacer_wait(&p, 7000), 0, "nothing left later");
	EQ_INT(fb_pacer_result(&p, 7000, 200, -1, 3, 0), 1000 + 7 * 1000,
	    "slows down as the remaining budget runs low");
	EQ_INT(fb_pacer_result(&p, 9000, 200, -1, -1, 0), 1000,
	    "no header: the plain interval");
}

static void
test_429(void)
{
	struct fb_pacer	p;

	fb_pacer_init(&p, 0);
	EQ_INT(fb_pacer_result(&p, 0, 429, 7, 0, 0), 7000,
	    "429 waits Retry-After");
	fb_pacer_init(&p, 0);
	EQ_INT(fb_pacer_result(&p, 0, 429, -1, -1, 0), 2000, "then 2 s");
	EQ_INT(fb_pacer_result(&p, 0, 429, -1, -1, 0), 4000, "then 4 s");
	EQ_INT(fb_pacer_result(&p, 0, 429, -1, -1, 0), 8000, "then 8 s");
	EQ_INT(fb_pacer_backoff(10), 60000, "capped at 60 s");
	EQ_INT(fb_pacer_result(&p, 0, 200, -1, 50, 0), 0,
	    "a success resets the backoff");
	EQ_INT(fb_pacer_result(&p, 0, 429, -1, -1, 0), 2000,
	    "so the next 429 starts at 2 s again");
}

static void
test_errors(void)
{
	struct fb_pacer	p;
	uint64_t	first, second;

	fb_pacer_init(&p, 100);
	first = fb_pacer_result(&p, 0, 503, -1, -1, 250);
	second = fb_pacer_result(&p, 0, 0, -1, -1, 250);
	EQ_INT(first, 1000 + 250, "a 5xx waits 1 s plus jitter");
	EQ_INT(second, 2000 + 250, "a transport error after it waits longer");
}

static void
test_shared(void)
{
	struct fb_pacer	a, b;
	uint64_t	last = 0;

	fb_pacer_init(&a, 500);
	fb_pacer_init(&b, 500);
	a.shared_last = b.shared_last = &last;
	EQ_INT(fb_pacer_claim(&a, 10000), 0, "the first sender goes");
	OK(fb_pacer_claim(&b, 10100) > 0,
	    "a second pacer waits while the first request is in flight");
	(void)fb_pacer_result(&a, 10200, 200, -1, -1, 0);
	EQ_INT(fb_pacer_claim(&b, 10650), 50,
	    "then the interval from the first one's answer");
	EQ_INT(fb_pacer_claim(&b, 10700), 0, "then goes");
	OK(last > 10700, "and holds the slot while in flight");
}

int
main(void)
{
	test_interval();
	test_429();
	test_errors();
	test_shared();
	return (TEST_DONE());
}
