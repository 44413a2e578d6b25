/*
 * json_arena.c: a page parsed into the arena reads the same as with
 * plain jansson; values added to it later are malloc'd and freed for
 * real (ASan's leak check sees them); the arena is reused after a reset;
 * a document larger than a chunk; invalid JSON; another thread's
 * jansson calls never land in this thread's arena.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "test.h"

static const char	page[] =
	"{\"pagination\": {\"page\": 1, \"pages\": 3, \"items\": 250},"
	" \"listings\": [{\"id\": 3639550236, \"price\": {\"value\": 12.5},"
	" \"comments\": \"caf\\u00e9, mint\"}, {\"id\": 2, \"price\": null}]}";

static void
test_load(void)
{
	json_error_t	 je;
	json_t		*doc, *l;

	doc = fb_json_arena_load(page, strlen(page), &je);
	OK(doc != NULL, "a page parses in the arena");
	l = json_array_get(json_object_get(doc, "listings"), 0);
	EQ_INT(json_integer_value(json_object_get(l, "id")), 3639550236LL,
	    "a 64-bit id");
	OK(json_real_value(json_object_get(json_object_get(l, "price"),
	    "value")) == 12.5, "a price");
	EQ_STR(json_string_value(json_object_get(l, "comments")),
	    "caf\xc3\xa9, mint", "an escaped string");
	OK(json_object_set_new(l, "added", json_string("later")) == 0,
	    "a value added after the parse (malloc'd)");
	EQ_STR(json_string_value(json_object_get(l, "added")), "later",
	    "reads back");
	json_decref(doc);
	fb_json_arena_reset();
	doc = fb_json_arena_load("{\"listings\": [7, 8]}", 20, &je);
	EQ_INT(json_integer_value(json_array_get(json_object_get(doc,
	    "listings"), 1)), 8, "a second page after the reset");
	json_decref(doc);
	fb_json_arena_reset();
	doc = fb_json_arena_load("{\"listings\": [", 14, &je);
	OK(doc == NULL && strstr(je.text, "end of file") != NULL,
	    "invalid JSON: NULL and jansson's reason");
	fb_json_arena_reset();
}

/* An array of n strings of 100 bytes: well over one 1 MB chunk. */
static void
test_big(void)
{
	json_error_t	 je;
	json_t		*doc;
	char		*text;
	size_t		 i, n = 30000, len = 0;

	if ((text = malloc(n * 104 + 8)) == NULL)
		abort();
	text[len++] = '[';
	for (i = 0; i < n; i++) {
		len += (size_t)sprintf(text + len, "%s\"%0100zu\"", i ? "," : "",
		    i);
	}
	text[len++] = ']';
	doc = fb_json_arena_load(text, len, &je);
	EQ_INT(json_array_size(doc), n, "a 3 MB document: every element");
	OK(doc != NULL && strtoul(json_string_value(json_array_get(doc,
	    n - 1)), NULL, 10) == n - 1, "the last one intact");
	json_decref(doc);
	fb_json_arena_reset();
	free(text);
}

static void *
other_thread(void *arg)
{
	json_t	*j = json_loads(page, 0, NULL);

	(void)arg;
	json_decref(j);		/* its memory came from malloc: freed */
	return (j != NULL ? (void *)1 : NULL);
}

static void
test_thread(void)
{
	pthread_t	 th;
	void		*ok = NULL;

	OK(pthread_create(&th, NULL, other_thread, NULL) == 0 &&
	    pthread_join(th, &ok) == 0 && ok != NULL,
	    "another thread parses with plain malloc meanwhile");
}

int
main(void)
{
	test_load();
	test_big();
	test_thread();
	fb_json_arena_release();
	return (TEST_DONE());
}
