/*
 * The Lua state of the rules: one per worker, per sync thread, per CLI.
 *
 * It owns the capped allocator (over FB_LUA_MEM_MAX Lua gets a memory
 * error and the process lives), the instruction budget (a count hook that
 * re-arms itself with a count of 1 once it trips, so no pcall inside the
 * script can swallow it), text-only loading with the `@path` chunk name
 * that makes errors read `scripts/ranking.lua:12: ...`, and the traceback
 * on every error.  It never opens io, os, package, debug or coroutine,
 * and it never raises outside a protected call: a Lua error here must
 * never reach the panic handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "app.h"


const char *const	fb_script_files[FB_SCRIPT_N] = {
	"mapping.lua", "filter.lua", "ranking.lua"
};
const char *const	fb_script_funcs[FB_SCRIPT_N] = {
	"map", "keep", "score"
};

struct chunk {
	const char	*text;
	size_t		 len;
	const char	*name;
	int		 script;
};

static void	*script_alloc(void *, void *, size_t, size_t);
static int	 script_panic(lua_State *);
static int	 script_msgh(lua_State *);
static void	 script_tick(lua_State *, lua_Debug *);
static void	 script_trip(lua_State *, lua_Debug *);
static int	 script_open(lua_State *);
static int	 script_run_chunk(lua_State *);
static void	 script_error(struct fb_lua *, int, int, struct fb_err *);
static void	 script_trim(char *);

/* New: a state with the sandbox's libraries, or NULL (err says why). */
struct fb_lua *
fb_lua_new(size_t mem_max, struct fb_err *err)
{
	struct fb_lua	*s;
	int		 i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		fb_err_set(err, "rules: out of memory");
		return (NULL);
	}
	s->mem_max = mem_max;
	s->batch_ticks = -1;
	for (i = 0; i < FB_SCRIPT_N; i++)
		s->ref[i] = LUA_NOREF;
	if ((s->L = lua_newstate(script_alloc, s)) == NULL) {
		fb_err_set(err, "rules: cannot create a Lua state");
		free(s);
		return (NULL);
	}
	*(struct fb_lua **)lua_getextraspace(s->L) = s;
	lua_atpanic(s->L, script_panic);
	lua_pushcfunction(s->L, script_open);
	if (lua_pcall(s->L, 0, 0, 0) != LUA_OK) {
		fb_err_set(err, "rules: cannot open the Lua libraries: %s",
		    lua_tostring(s->L, -1));
		fb_lua_free(s);
		return (NULL);
	}
	return (s);
}

void
fb_lua_free(struct fb_lua *s)
{
	if (s == NULL)
		return;
	if (s->L != NULL)
		lua_close(s->L);
	free(s);
}

/*
 * Compiles text as script (text only), runs it in a fresh environment
 * under the load budget and keeps its hook function.  name is the chunk
 * name without the '@' ("scripts/mapping.lua").
 */
int
fb_lua_load(struct fb_lua *s, int script, const char *name, const char *text,
    size_t len, struct fb_err *err)
{
	struct chunk	c = { text, len, name, script };
	lua_State	*L = s->L;
	int		 base = lua_gettop(L);

	(void)snprintf(s->names[script], sizeof(s->names[script]), "%s", name);
	if (fb_lua_call(s, script, script_run_chunk, &c, 1, FB_LUA_INSTR_LOAD,
	    err) != FB_OK) {
		lua_settop(L, base);
		return (FB_ERR);
	}
	/* fn */
	if (lua_type(L, -1) != LUA_TFUNCTION) {
		fb_err_set(err, "%s: must define function %s", name,
		    fb_script_funcs[script]);
		(void)snprintf(s->traceback, sizeof(s->traceback), "%s",
		    err->msg);
		lua_settop(L, base);
		return (FB_ERR);
	}
	luaL_unref(L, LUA_REGISTRYINDEX, s->ref[script]);
	s->ref[script] = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, base);
	return (FB_OK);
}

/*
 * Runs fn(arg) in protected mode with the traceback handler and a budget
 * of max_instr instructions (less if a batch has less left).  fn is a C
 * function that pushes the arguments and calls the Lua function; its nres
 * results are left on the stack, above where it was.  On an error err gets
 * the first line and s->traceback the whole message; the stack is then
 * as it was.
 */
int
fb_lua_call(struct fb_lua *s, int script, int (*fn)(lua_State *), void *arg,
    int nres, int64_t max_instr, struct fb_err *err)
{
	lua_State	*L = s->L;
	int		 base = lua_gettop(L), rc;
	int64_t		 ticks = (max_instr + FB_LUA_TICK - 1) / FB_LUA_TICK;

	if (!lua_checkstack(L, 8)) {
		fb_err_set(err, "%s: Lua stack exhausted", s->names[script]);
		return (FB_ERR);
	}
	if (s->batch_ticks >= 0 && s->batch_ticks < ticks)
		ticks = s->batch_ticks;
	lua_pushcfunction(L, script_msgh);		/* msgh */
	lua_pushcfunction(L, fn);			/* msgh fn */
	lua_pushlightuserdata(L, arg);			/* msgh fn arg */
	s->is_tripped = 0;
	s->ticks_left = ticks;
	lua_sethook(L, ticks > 0 ? script_tick : script_trip, LUA_MASKCOUNT,
	    ticks > 0 ? FB_LUA_TICK : 1);
	rc = lua_pcall(L, 1, nres, base + 1);		/* msgh results */
	lua_sethook(L, NULL, 0, 0);
	json_decref(s->pending);
	s->pending = NULL;
	if (s->batch_ticks >= 0)
		s->batch_ticks -= ticks - s->ticks_left;
	if (rc != LUA_OK) {
		script_error(s, script, rc, err);
		lua_settop(L, base);
		return (FB_ERR);
	}
	lua_remove(L, base + 1);			/* results */
	return (FB_OK);
}

/* A shared budget for the calls that follow; -1 ends the batch. */
void
fb_lua_batch(struct fb_lua *s, int64_t max_instr)
{
	s->batch_ticks = max_instr < 0 ? -1 :
	    (max_instr + FB_LUA_TICK - 1) / FB_LUA_TICK;
}

int
fb_lua_top(const struct fb_lua *s)
{
	return (lua_gettop(s->L));
}

/*
 * malloc with a byte cap.  Frees and shrinks always succeed; a grow over
 * the cap returns NULL, which Lua turns into a memory error after one
 * emergency collection.
 */
static void *
script_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct fb_lua	*s = ud;
	void		*p;

	if (ptr == NULL)
		osize = 0;
	if (nsize == 0) {
		free(ptr);
		s->mem_used -= osize;
		return (NULL);
	}
	if (nsize > osize && s->mem_used + (nsize - osize) > s->mem_max)
		return (NULL);
	if ((p = realloc(ptr, nsize)) == NULL)
		return (NULL);
	s->mem_used = s->mem_used - osize + nsize;
	return (p);
}

/* Only reached by a bug (an unprotected call): say so and stop. */
static int
script_panic(lua_State *L)
{
	fb_log(FB_LOG_ERROR, "rules: unprotected Lua error: %s",
	    lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
	abort();
	return (0);
}

/* The message handler: a string message plus a traceback. */
static int
script_msgh(lua_State *L)
{
	const char	*msg = lua_tostring(L, 1);

	if (msg == NULL)
		msg = lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return (1);
}

/* Every FB_LUA_TICK instructions: trip when this call's budget is gone. */
static void
script_tick(lua_State *L, lua_Debug *ar)
{
	struct fb_lua	*s = *(struct fb_lua **)lua_getextraspace(L);

	if (--s->ticks_left > 0)
		return;
	script_trip(L, ar);
}

/* Re-armed with a count of 1: every later instruction raises again. */
static void
script_trip(lua_State *L, lua_Debug *ar)
{
	struct fb_lua	*s = *(struct fb_lua **)lua_getextraspace(L);

	(void)ar;
	s->is_tripped = 1;
	s->ticks_left = 0;
	lua_sethook(L, script_trip, LUA_MASKCOUNT, 1);
	luaL_where(L, 0);
	lua_pushliteral(L, "instruction budget exhausted (an endless loop?)");
	lua_concat(L, 2);
	lua_error(L);
}

/* Protected: the allowed libraries, then the sandbox's own functions. */
static int
script_open(lua_State *L)
{
	static const luaL_Reg	libs[] = {
		{ LUA_GNAME, luaopen_base },
		{ LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table },
		{ LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },
		{ NULL, NULL }
	};
	const luaL_Reg		*l;

	for (l = libs; l->name != NULL; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	fb_script_api_open(L);
	return (0);
}

/* Protected: compile text only, run in its own _ENV, return the hook. */
static int
script_run_chunk(lua_State *L)
{
	struct chunk	*c = lua_touserdata(L, 1);
	char		 chunkname[310];

	(void)snprintf(chunkname, sizeof(chunkname), "@%s", c->name);
	if (luaL_loadbufferx(L, c->text, c->len, chunkname, "t") != LUA_OK)
		return (lua_error(L));			/* arg msg */
	fb_script_env_new(L, c->name);			/* arg chunk env */
	lua_pushvalue(L, -1);				/* arg chunk env env */
	if (lua_setupvalue(L, -3, 1) == NULL)		/* arg chunk env */
		lua_pop(L, 1);
	lua_insert(L, -2);				/* arg env chunk */
	lua_call(L, 0, 0);				/* arg env */
	lua_pushstring(L, fb_script_funcs[c->script]);	/* arg env name */
	lua_rawget(L, -2);				/* arg env fn */
	return (1);
}

/*
 * err: the first line; s->traceback: the whole message.  A memory error
 * skips the message handler, and a budget error may have been rethrown
 * as something else by the script: both get a message of their own.
 */
static void
script_error(struct fb_lua *s, int script, int rc, struct fb_err *err)
{
	const char	*msg = lua_tostring(s->L, -1);
	char		 own[sizeof(s->traceback)];
	size_t		 n;

	if (rc == LUA_ERRMEM)
		s->is_exhausted = 1;
	if (rc == LUA_ERRMEM || (s->is_tripped && (msg == NULL ||
	    strstr(msg, "budget exhausted") == NULL))) {
		if (rc == LUA_ERRMEM)
			(void)snprintf(own, sizeof(own), "%s: not enough "
			    "memory (the rules may use at most %zu KB)",
			    s->names[script], s->mem_max / 1024);
		else
			(void)snprintf(own, sizeof(own), "%s: instruction "
			    "budget exhausted (an endless loop?)",
			    s->names[script]);
		msg = own;
	} else if (msg == NULL)
		msg = "unknown error";
	(void)snprintf(s->traceback, sizeof(s->traceback), "%s", msg);
	script_trim(s->traceback);
	n = strcspn(msg, "\n");
	fb_err_set(err, "%.*s", (int)n, msg);
}

/* Drops the traceback lines of our own C trampolines ("[C]: in ?"). */
static void
script_trim(char *tb)
{
	static const char	 line[] = "\n\t[C]: in ?";
	char			*p = tb;
	size_t			 n = sizeof(line) - 1;

	while ((p = strstr(p, line)) != NULL) {
		if (p[n] == '\n' || p[n] == '\0')
			memmove(p, p + n, strlen(p + n) + 1);
		else
			p += n;
	}
}
