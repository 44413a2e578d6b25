/*
 * The request pacer: when may the next Discogs request go out?
 *
 * Pure arithmetic on milliseconds, so the unit tests can drive it.  It
 * keeps at least DISCOGS_MIN_INTERVAL_MS between requests, slows down as
 * X-Discogs-Ratelimit-Remaining runs low, honours Retry-After on a 429
 * and otherwise backs off 2, 4, 8 ... 60 s, and spaces retries of
 * transient errors with growing waits and a little jitter.  Pacers of
 * one server share the time of the last request (fb_pacer_shared).
 */
#include "app.h"

#define BACKOFF_MAX_MS		60000
#define LOW_REMAINING		10	/* slow down below this many */
#define LOW_STEP_MS		1000	/* per missing request */
#define HOLD_MS			35000	/* longest a request can take */

/*
 * When several pacers share one budget (the sync and the release job, in
 * any worker), this points at the time of the last request any of them
 * sent, in shared memory; NULL in the CLI.  Clocks are CLOCK_MONOTONIC,
 * the same in every process.
 */
uint64_t	*fb_pacer_shared;

void
fb_pacer_init(struct fb_pacer *p, uint32_t min_interval_ms)
{
	p->min_interval_ms = min_interval_ms;
	p->next_at_ms = 0;
	p->backoff_step = 0;
	p->remaining = -1;
	p->shared_last = fb_pacer_shared;
}

/* Milliseconds this pacer wants before its next request. */
uint64_t
fb_pacer_wait(const struct fb_pacer *p, uint64_t now_ms)
{
	return (p->next_at_ms > now_ms ? p->next_at_ms - now_ms : 0);
}

/*
 * 0 when a request may go now, and then the shared slot is taken (so two
 * threads or workers cannot both send); otherwise the ms to wait before
 * asking again (at most 100 ms while another request is in flight).
 */
uint64_t
fb_pacer_claim(struct fb_pacer *p, uint64_t now_ms)
{
	uint64_t	wait = fb_pacer_wait(p, now_ms), last;

	if (wait > 0 || p->shared_last == NULL)
		return (wait);
	last = __atomic_load_n(p->shared_last, __ATOMIC_RELAXED);
	if (last + p->min_interval_ms > now_ms)
		return (last + p->min_interval_ms - now_ms > 100 ? 100 :
		    last + p->min_interval_ms - now_ms);
	/* Hold the slot while the request is in flight (a lease, in case
	 * the sender dies); fb_pacer_result() gives it back. */
	if (!__atomic_compare_exchange_n(p->shared_last, &last,
	    now_ms + HOLD_MS, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return (1);			/* another sender won */
	return (0);
}

/*
 * Called with each answer: status (0 for a transport error), the
 * Retry-After seconds (-1 if absent) and the remaining budget (-1 if
 * the header was absent).  Returns the wait it imposed, in ms.
 */
uint64_t
fb_pacer_result(struct fb_pacer *p, uint64_t now_ms, int status,
    int retry_after_s, int remaining, uint32_t jitter_ms)
{
	uint64_t	wait = p->min_interval_ms;

	p->remaining = remaining;
	if (p->shared_last != NULL)		/* the interval runs from here */
		__atomic_store_n(p->shared_last, now_ms, __ATOMIC_RELAXED);
	if (status == 429) {
		if (retry_after_s >= 0)
			wait = (uint64_t)retry_after_s * 1000;
		else
			wait = fb_pacer_backoff(p->backoff_step);
		p->backoff_step++;
	} else if (status == 0 || status >= 500) {
		wait = fb_pacer_backoff(p->backoff_step) / 2 + jitter_ms;
		p->backoff_step++;
	} else {
		p->backoff_step = 0;
		if (remaining >= 0 && remaining < LOW_REMAINING)
			wait += (uint64_t)(LOW_REMAINING - remaining) *
			    LOW_STEP_MS;
	}
	if (wait < p->min_interval_ms)
		wait = p->min_interval_ms;
	p->next_at_ms = now_ms + wait;
	return (wait);
}

/* 2 s, 4 s, 8 s ... capped at 60 s. */
uint64_t
fb_pacer_backoff(int step)
{
	uint64_t	ms = 2000;

	while (step-- > 0 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return (ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms);
}
