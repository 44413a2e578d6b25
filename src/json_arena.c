/*
 * A bump allocator under jansson for one parsed document at a time: an
 * inventory page of the sync.
 *
 * jansson allocates every object, string and hash bucket of a page on
 * its own and frees them one by one: in a sync that changes nothing,
 * malloc and free were a fifth of the run.  fb_json_arena_load() parses
 * with this thread's arena switched on, so the tree lives in a few large
 * chunks; its frees cost nothing, and fb_json_arena_reset() takes the
 * chunks back for the next page once the caller has dropped the tree.
 * Everything else (other threads, other documents, values added to the
 * tree later) still goes through malloc and free: the free hook tells
 * the two apart by address.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "app.h"

#define ARENA_CHUNK	(1024 * 1024)
#define ARENA_ALIGN	16

struct chunk {
	struct chunk	*next;
	size_t		 used, cap;
	size_t		 pad;		/* data at 32 bytes: 16-aligned */
	char		 data[];
};

struct arena {
	struct chunk	*chunks;	/* the one in use first */
	int		 is_on;
};

static __thread struct arena	arena;
static pthread_once_t		arena_once = PTHREAD_ONCE_INIT;

static void	 arena_install(void);
static void	*arena_malloc(size_t);
static void	 arena_free(void *);
static int	 arena_owns(const void *);

/* Parses buf as jansson would, with the tree in this thread's arena. */
json_t *
fb_json_arena_load(const char *buf, size_t len, json_error_t *je)
{
	json_t	*doc;

	(void)pthread_once(&arena_once, arena_install);
	arena.is_on = 1;
	doc = json_loadb(buf, len, 0, je);
	arena.is_on = 0;
	return (doc);
}

/* After the last json_decref() of the tree: its memory is reused. */
void
fb_json_arena_reset(void)
{
	struct chunk	*c;

	for (c = arena.chunks; c != NULL; c = c->next)
		c->used = 0;
}

/* The chunks back to the system (end of a run). */
void
fb_json_arena_release(void)
{
	struct chunk	*c, *next;

	for (c = arena.chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	arena.chunks = NULL;
}

static void
arena_install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

static void *
arena_malloc(size_t n)
{
	struct chunk	*c;
	size_t		 cap;

	if (!arena.is_on)
		return (malloc(n));
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	for (c = arena.chunks; c != NULL; c = c->next) {
		if (c->cap - c->used >= n) {
			c->used += n;
			return (c->data + c->used - n);
		}
	}
	cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
	if ((c = malloc(sizeof(*c) + cap)) == NULL)
		return (NULL);
	c->cap = cap;
	c->used = n;
	c->next = arena.chunks;
	arena.chunks = c;
	return (c->data);
}

static void
arena_free(void *p)
{
	if (p != NULL && !arena_owns(p))
		free(p);
}

/* Whether p lies in one of this thread's chunks. */
static int
arena_owns(const void *p)
{
	const struct chunk	*c;
	uintptr_t		 a = (uintptr_t)p;

	for (c = arena.chunks; c != NULL; c = c->next) {
		if (a >= (uintptr_t)c->data && a < (uintptr_t)c->data + c->cap)
			return (1);
	}
	return (0);
}
