/*
 * The Lua rules' own costs, for make bench.
 *
 *   build/tests/bench_rules [SCRIPTS_DIR [DB]]
 *
 * 1. map + keep per listing, as the sync calls them: 10,000 calls each on
 *    Discogs' sample listing (already decoded JSON) with the shipped
 *    scripts.  Target: at most 20 us per listing.
 * 2. With DB (a generated shop such as build/bench/bench.db): each bench
 *    search word, limit 50, timed without rules and with ranking.lua
 *    (score() on the best 200 text matches).  Target: ranking adds at
 *    most 25% to the cost of a search.
 * Times are this thread's CPU time (user + system), so other processes
 * on the machine disturb them less than wall-clock time would.
 * Prints one line per measure; exits 0 unless it could not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"

#define N_CALLS		10000
#define ROUNDS		20

static const char *const	words[] = {
	"silent", "electric", "gardens", "machines", "echoes", "neon",
	"bjork", "sigur", "motorhead", "heroes", "blue", "love", "shoegaze",
	"ambient", "krautrock", "warp", "vinyl", "mint", "sleeve", "promo",
	NULL
};

static uint64_t
cpu_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* map alone, then map + keep, each over N_CALLS listings in one go. */
static int
bench_calls(struct fb_rules *r)
{
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	json_t		*l = json_loads(fb_rules_sample_listing, 0, NULL);
	uint64_t	 t0, t_map, t_both;
	char		 reason[128];
	int		 i, kept, n_err = 0;

	fb_row_init(&row);
	t0 = cpu_us();
	for (i = 0; i < N_CALLS; i++)
		n_err += fb_hook_map(r, l, &row, &err) != FB_OK;
	t_map = cpu_us() - t0;
	t0 = cpu_us();
	for (i = 0; i < N_CALLS; i++) {
		n_err += fb_hook_map(r, l, &row, &err) != FB_OK;
		n_err += fb_hook_keep(r, &row, l, &kept, reason,
		    sizeof(reason), &err) != FB_OK;
	}
	t_both = cpu_us() - t0;
	fb_row_cleanup(&row);
	json_decref(l);
	printf("map:       %6.2f us per listing\n", (double)t_map / N_CALLS);
	printf("map+keep:  %6.2f us per listing (%d listings, target <= 20 "
	    "us)%s\n", (double)t_both / N_CALLS, N_CALLS,
	    (double)t_both / N_CALLS <= 20 ? "" : "  OVER TARGET");
	printf("lua memory: %zu KB after %d listings, stack %d\n",
	    r->lua->mem_used / 1024, N_CALLS, fb_lua_top(r->lua));
	return (n_err == 0 ? FB_OK : FB_ERR);
}

/* Microseconds for one search of word, limit 50, with rules r. */
static uint64_t
bench_search(struct fb_db *db, struct fb_rules *r, const char *word,
    struct fb_buf *b)
{
	struct fb_query	qr;
	struct fb_err	err = { 0, "" };
	int64_t		total;
	uint64_t	t0 = cpu_us();

	memset(&qr, 0, sizeof(qr));
	qr.mode = FB_QUERY_SEARCH;
	qr.q = word;
	qr.sort = FB_SORT_RELEVANCE;
	qr.page.has_limit = 1;
	qr.page.limit = 50;
	fb_search_set_rules(r);
	fb_buf_reset(b);
	if (fb_search_run(db, &qr, &total, b, &err) != FB_OK)
		printf("search %s: %s\n", word, err.msg);
	fb_search_set_rules(NULL);
	return (cpu_us() - t0);
}

/* Plain and ranked searches alternate, so drift hits both alike. */
static int
bench_ranking(struct fb_rules *r, const char *path)
{
	struct fb_db	db;
	struct fb_buf	b;
	struct fb_err	err = { 0, "" };
	uint64_t	plain = 0, ranked = 0, p, q;
	int		i, k;

	if (fb_db_open(&db, path, &err) != FB_OK) {
		fprintf(stderr, "bench_rules: %s\n", err.msg);
		return (FB_ERR);
	}
	fb_buf_init(&b, 1 << 17);
	for (i = 0; words[i] != NULL; i++) {
		(void)bench_search(&db, NULL, words[i], &b);
		(void)bench_search(&db, r, words[i], &b);
		for (p = q = 0, k = 0; k < ROUNDS; k++) {
			p += bench_search(&db, NULL, words[i], &b);
			q += bench_search(&db, r, words[i], &b);
		}
		plain += p;
		ranked += q;
		printf("  q=%-10s %8.2f ms plain %8.2f ms ranked  x%.2f\n",
		    words[i], p / 1000.0 / ROUNDS, q / 1000.0 / ROUNDS,
		    p ? (double)q / (double)p : 0);
	}
	printf("search+ranking: x%.2f the cost of a plain search (limit 50, "
	    "%d candidates, target <= x1.25)%s\n", (double)ranked /
	    (double)plain, FB_RANK_CANDIDATES,
	    (double)ranked / (double)plain <= 1.25 ? "" : "  OVER TARGET");
	printf("score() failures during the bench: %llu\n",
	    (unsigned long long)r->s[FB_SCRIPT_SCORE].n_call_errors);
	fb_buf_cleanup(&b);
	fb_db_close(&db);
	return (FB_OK);
}

int
main(int argc, char **argv)
{
	struct fb_rules	rules;
	struct fb_err	err = { 0, "" };
	int		rc;

	fb_cfg.log_level = FB_LOG_WARN;
	memset(&rules, 0, sizeof(rules));
	if (fb_rules_init(&rules, argc > 1 ? argv[1] : "scripts", &err) !=
	    FB_OK || fb_rules_has_errors(&rules)) {
		fprintf(stderr, "bench_rules: the rules do not load: %s\n",
		    err.msg[0] ? err.msg : rules.s[0].error);
		return (1);
	}
	rc = bench_calls(&rules);
	if (rc == FB_OK && argc > 2)
		rc = bench_ranking(&rules, argv[2]);
	fb_rules_cleanup(&rules);
	return (rc == FB_OK ? 0 : 1);
}
