/*
 * What a rule script can reach: its own environment and the sandbox's
 * versions of the few functions that could leak or escape.
 *
 * Each script runs with a fresh _ENV holding copies of the allowed base
 * functions and of the string, table, math and utf8 tables, plus os.time,
 * os.date and os.clock.  Reading a global that is not there is an error
 * naming it, so `io.open` fails as "'io' is not available in the rules".
 * load() compiles text only, print() goes to the log, tostring() and
 * string.format() never show an address, setmetatable() refuses __gc (a
 * finalizer runs with hooks off, out of the budget's reach), and the
 * string metatable is locked.  Nothing here hands a C pointer to Lua.
 */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "app.h"

#define PRINTS_MAX	100	/* print() lines logged per state */
#define PRINT_LEN	400

static const char *const	base_allowed[] = {
	"assert", "error", "getmetatable", "ipairs", "next", "pairs",
	"pcall", "rawequal", "rawget", "rawlen", "rawset", "select",
	"tonumber", "type", "xpcall", "_VERSION", NULL
};
static const char *const	libs_copied[] = {
	"string", "table", "math", "utf8", NULL
};
static const char *const	os_allowed[] = {
	"time", "date", "clock", NULL
};

static void	api_copy(lua_State *, int, const char *const *);
static void	api_strict(lua_State *, const char *);
static int	api_missing(lua_State *);
static int	api_tostring(lua_State *);
static int	api_format(lua_State *);
static int	api_print(lua_State *);
static int	api_load(lua_State *);
static int	api_setmetatable(lua_State *);
static void	api_text(lua_State *, int, luaL_Buffer *);

/*
 * Called once per state, protected: take string.dump out of the real
 * string table (methods on strings reach it), wrap string.format, lock
 * the string metatable, and keep os.time/date/clock in the registry.
 */
void
fb_script_api_open(lua_State *L)
{
	lua_getglobal(L, "string");			/* string */
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_getfield(L, -1, "format");			/* string format */
	lua_pushcclosure(L, api_format, 1);		/* string wrapped */
	lua_setfield(L, -2, "format");			/* string */
	lua_pop(L, 1);
	lua_pushliteral(L, "");				/* "" */
	if (lua_getmetatable(L, -1)) {			/* "" mt */
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, luaopen_os);
	lua_call(L, 0, 1);				/* os */
	lua_newtable(L);				/* os allowed */
	api_copy(L, -2, os_allowed);
	lua_setfield(L, LUA_REGISTRYINDEX, "fb_os");	/* os */
	lua_pop(L, 1);
}

/* Protected: pushes a new environment for the script called name. */
void
fb_script_env_new(lua_State *L, const char *name)
{
	int	i;

	lua_pushglobaltable(L);				/* G */
	lua_newtable(L);				/* G env */
	api_copy(L, -2, base_allowed);
	lua_remove(L, -2);				/* env */
	for (i = 0; libs_copied[i] != NULL; i++) {
		lua_getglobal(L, libs_copied[i]);	/* env lib */
		lua_newtable(L);			/* env lib copy */
		api_copy(L, -2, NULL);
		api_strict(L, libs_copied[i]);
		lua_setfield(L, -3, libs_copied[i]);	/* env lib */
		lua_pop(L, 1);
	}
	lua_getfield(L, LUA_REGISTRYINDEX, "fb_os");	/* env os */
	lua_newtable(L);				/* env os copy */
	api_copy(L, -2, NULL);
	api_strict(L, "os");
	lua_setfield(L, -3, "os");
	lua_pop(L, 1);					/* env */
	lua_pushcfunction(L, api_tostring);
	lua_setfield(L, -2, "tostring");
	lua_pushstring(L, name);
	lua_pushcclosure(L, api_print, 1);
	lua_setfield(L, -2, "print");
	lua_pushvalue(L, -1);				/* env env */
	lua_pushcclosure(L, api_load, 1);		/* env load */
	lua_setfield(L, -2, "load");
	lua_getglobal(L, "setmetatable");
	lua_pushcclosure(L, api_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
	api_strict(L, NULL);				/* env */
}

/*
 * Copies fields of the table at src into the table on top: the names in
 * list, or every field when list is NULL.
 */
static void
api_copy(lua_State *L, int src, const char *const *list)
{
	int	i;

	src = lua_absindex(L, src);
	if (list != NULL) {
		for (i = 0; list[i] != NULL; i++) {
			lua_getfield(L, src, list[i]);	/* dst v */
			lua_setfield(L, -2, list[i]);
		}
		return;
	}
	lua_pushnil(L);					/* dst k */
	while (lua_next(L, src) != 0) {			/* dst k v */
		lua_pushvalue(L, -2);			/* dst k v k */
		lua_insert(L, -2);			/* dst k k v */
		lua_rawset(L, -4);			/* dst k */
	}
}

/* Gives the table on top a metatable whose __index names what is missing. */
static void
api_strict(lua_State *L, const char *lib)
{
	lua_newtable(L);				/* t mt */
	if (lib != NULL)
		lua_pushstring(L, lib);
	else
		lua_pushnil(L);				/* t mt lib */
	lua_pushcclosure(L, api_missing, 1);		/* t mt f */
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);			/* t */
}

/* may longjmp: __index of an environment or library copy. */
static int
api_missing(lua_State *L)
{
	const char	*lib = lua_tostring(L, lua_upvalueindex(1));
	const char	*key = lua_tostring(L, 2);

	if (lua_type(L, 2) != LUA_TSTRING)
		key = luaL_typename(L, 2);
	if (lib != NULL)
		return (luaL_error(L, "%s.%s is not available in the rules",
		    lib, key));
	return (luaL_error(L, "'%s' is not available in the rules (a typo, "
	    "or a library the rules cannot use)", key));
}

/* may longjmp: tostring without addresses ("table", "function"). */
static int
api_tostring(lua_State *L)
{
	int	t = lua_type(L, 1);

	luaL_checkany(L, 1);
	if (luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL ||
	    t == LUA_TNIL || t == LUA_TBOOLEAN || t == LUA_TNUMBER ||
	    t == LUA_TSTRING) {
		lua_settop(L, 1);
		luaL_tolstring(L, 1, NULL);
		return (1);
	}
	lua_pushstring(L, luaL_typename(L, 1));
	return (1);
}

/*
 * may longjmp: string.format, refusing %p (an address); a table or
 * function given for %s shows as its type name, as tostring() does.
 */
static int
api_format(lua_State *L)
{
	const char	*f = luaL_checkstring(L, 1);
	int		 i, t;

	for (i = 2; i <= lua_gettop(L); i++) {
		t = lua_type(L, i);
		if ((t == LUA_TTABLE || t == LUA_TFUNCTION ||
		    t == LUA_TUSERDATA || t == LUA_TTHREAD ||
		    t == LUA_TLIGHTUSERDATA) &&
		    luaL_getmetafield(L, i, "__tostring") == LUA_TNIL) {
			lua_pushstring(L, luaL_typename(L, i));
			lua_replace(L, i);
		} else if (t == LUA_TTABLE || t == LUA_TUSERDATA)
			lua_pop(L, 1);			/* the metafield */
	}

	while ((f = strchr(f, '%')) != NULL) {
		f++;
		if (*f == '%') {
			f++;
			continue;
		}
		f += strspn(f, "-+ #0123456789.");
		if (*f == 'p')
			return (luaL_error(L, "string.format: %%p is not "
			    "available in the rules"));
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return (lua_gettop(L));
}

/* may longjmp: print() writes one log line, up to PRINTS_MAX per state. */
static int
api_print(lua_State *L)
{
	struct fb_lua	*s = *(struct fb_lua **)lua_getextraspace(L);
	luaL_Buffer	 b;
	int		 i, n = lua_gettop(L);

	if (s->n_prints > PRINTS_MAX)
		return (0);
	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		api_text(L, i, &b);
	}
	luaL_pushresult(&b);
	if (++s->n_prints > PRINTS_MAX)
		fb_log(FB_LOG_INFO, "%s: print: (more output is not logged)",
		    lua_tostring(L, lua_upvalueindex(1)));
	else
		fb_log(FB_LOG_INFO, "%s: print: %.*s",
		    lua_tostring(L, lua_upvalueindex(1)), PRINT_LEN,
		    lua_tostring(L, -1));
	return (0);
}

/* may longjmp: load(text [, name [, mode [, env]]]), text only. */
static int
api_load(lua_State *L)
{
	size_t		 len;
	const char	*text, *name;
	int		 has_env = lua_gettop(L) >= 4;

	if (lua_type(L, 1) != LUA_TSTRING)
		return (luaL_error(L, "load: only text chunks are available "
		    "in the rules"));
	text = lua_tolstring(L, 1, &len);
	name = luaL_optstring(L, 2, "=(load)");
	if (luaL_loadbufferx(L, text, len, name, "t") != LUA_OK) {
		lua_pushnil(L);				/* ... msg nil */
		lua_insert(L, -2);			/* ... nil msg */
		return (2);
	}
	if (has_env)
		lua_pushvalue(L, 4);
	else
		lua_pushvalue(L, lua_upvalueindex(1));	/* ... f env */
	if (lua_setupvalue(L, -2, 1) == NULL)
		lua_pop(L, 1);
	return (1);
}

/* may longjmp: setmetatable, refusing finalizers. */
static int
api_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return (luaL_error(L, "setmetatable: __gc is not "
			    "available in the rules"));
		lua_pop(L, 1);
	}
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return (1);
}

/* Appends value i as print() shows it: no addresses. */
static void
api_text(lua_State *L, int i, luaL_Buffer *b)
{
	lua_pushcfunction(L, api_tostring);
	lua_pushvalue(L, i);
	lua_call(L, 1, 1);
	luaL_addvalue(b);
}
