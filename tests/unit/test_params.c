/*
 * params.c: query strings as clients send them, and as attackers do.
 * Every refusal must name the parameter at fault.
 */
#include <stdlib.h>

#include "app.h"
#include "test.h"

static const char *const	allowed[] = { "limit", "offset", "q", NULL };

static int
parse(struct fb_params *p, const char *qs, struct fb_err *err)
{
	fb_err_clear(err);
	return (fb_params_parse(p, qs, err));
}

static void
test_decoding(void)
{
	struct fb_params	p;
	struct fb_err		err;

	EQ_INT(parse(&p, "q=bj%C3%B6rk+live&limit=5", &err), FB_OK, "parses");
	EQ_STR(fb_params_get(&p, "q"), "bj\xc3\xb6rk live", "%XX and + decoded");
	EQ_STR(fb_params_get(&p, "limit"), "5", "second pair");
	OK(fb_params_get(&p, "offset") == NULL, "absent is NULL");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "q=&&limit=1&", &err), FB_OK, "empty pairs skipped");
	EQ_STR(fb_params_get(&p, "q"), "", "empty value kept");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, NULL, &err), FB_OK, "no query string");
	EQ_INT(p.n_params, 0, "no parameters");
	fb_params_cleanup(&p);
}

static void
test_hostile(void)
{
	struct fb_params	p;
	struct fb_err		err;
	char			many[1024];
	int			i, n = 0;

	EQ_INT(parse(&p, "q=a%00b", &err), FB_ERR, "%00 refused");
	EQ_STR(err.msg, "q: badly encoded value or control character",
	    "names q");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "q=%zz", &err), FB_ERR, "bad escape refused");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "q=%4", &err), FB_ERR, "truncated escape refused");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "limit=1&limit=2", &err), FB_ERR, "duplicate refused");
	EQ_STR(err.msg, "limit: given more than once", "names limit");
	fb_params_cleanup(&p);
	for (i = 0; i < 40; i++)
		n += snprintf(many + n, sizeof(many) - n, "p%d=1&", i);
	EQ_INT(parse(&p, many, &err), FB_ERR, "40 parameters refused");
	OK(strstr(err.msg, "more than 32") != NULL, "says the limit");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "q=' OR 1=1 --", &err), FB_OK,
	    "SQL-looking text is only text");
	fb_params_cleanup(&p);
}

static void
test_allow_and_page(void)
{
	struct fb_params	p;
	struct fb_page		page;
	struct fb_err		err;

	EQ_INT(parse(&p, "limt=5", &err), FB_OK, "typo parses");
	EQ_INT(fb_params_allow(&p, allowed, &err), FB_ERR, "unknown refused");
	EQ_STR(err.msg, "limt: unknown parameter", "names the typo");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "limit=1000000000&offset=20", &err), FB_OK, "big");
	EQ_INT(fb_params_page(&p, &page, &err), FB_OK, "big limit accepted");
	EQ_INT(page.limit, FB_PAGE_MAX, "big limit capped");
	EQ_INT(page.offset, 20, "offset read");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "limit=99999999999999999999999", &err), FB_OK, "huge");
	EQ_INT(fb_params_page(&p, &page, &err), FB_OK, "overflow is capped");
	EQ_INT(page.limit, FB_PAGE_MAX, "overflow capped to the page max");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "limit=-1", &err), FB_OK, "negative parses");
	EQ_INT(fb_params_page(&p, &page, &err), FB_ERR, "negative refused");
	OK(strncmp(err.msg, "limit:", 6) == 0, "names limit");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "offset=abc", &err), FB_OK, "abc parses");
	EQ_INT(fb_params_page(&p, &page, &err), FB_ERR, "abc refused");
	OK(strncmp(err.msg, "offset:", 7) == 0, "names offset");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "offset=10", &err), FB_OK, "offset alone");
	EQ_INT(fb_params_page(&p, &page, &err), FB_OK, "offset alone ok");
	OK(page.has_limit && page.limit == FB_PAGE_MAX, "implies a page");
	fb_params_cleanup(&p);
}

static void
test_ids_and_bools(void)
{
	struct fb_params	p;
	struct fb_err		err;
	int64_t			id;
	int			b;

	EQ_INT(fb_parse_id("3639550236", &id), FB_OK, "64-bit id");
	EQ_INT(id, 3639550236LL, "value kept");
	EQ_INT(fb_parse_id("9223372036854775807", &id), FB_OK, "max id");
	EQ_INT(fb_parse_id("9223372036854775808", &id), FB_ERR, "overflow");
	EQ_INT(fb_parse_id("0", &id), FB_ERR, "zero refused");
	EQ_INT(fb_parse_id("-5", &id), FB_ERR, "sign refused");
	EQ_INT(fb_parse_id("12a", &id), FB_ERR, "letters refused");
	EQ_INT(fb_parse_id("", &id), FB_ERR, "empty refused");
	EQ_INT(parse(&p, "include_inactive=1", &err), FB_OK, "bool parses");
	EQ_INT(fb_params_bool(&p, "include_inactive", &b, &err), FB_OK, "1");
	EQ_INT(b, 1, "1 is true");
	fb_params_cleanup(&p);
	EQ_INT(parse(&p, "include_inactive=maybe", &err), FB_OK, "maybe");
	EQ_INT(fb_params_bool(&p, "include_inactive", &b, &err), FB_ERR,
	    "maybe refused");
	fb_params_cleanup(&p);
}

int
main(void)
{
	test_decoding();
	test_hostile();
	test_allow_and_page();
	test_ids_and_bools();
	return (TEST_DONE());
}
