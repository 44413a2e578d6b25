/*
 * score()'s row: a read-through view of one search candidate.
 *
 * A search asks score() about its best matches, and a ranking reads a
 * few fields of each (price, genres) or, as shipped, none.  Building each
 * row as a full table was half the time of an uncached search: a random
 * read of the listing, then every field pushed and the JSON ones parsed.
 * The view is an empty table whose __index reads the listing's row the
 * first time any field is asked for, and keeps each field it reads in
 * the table; pairs(row) fills in every field first.  A row kept past its
 * score() call reads nothing more (its missing fields stay nil), even
 * during a later call: only that call's row reads the listing.
 *
 * One view userdata per Lua state says which statement the current call
 * reads; fb_hook_view_push() binds it and fb_hook_view_end() unbinds it.
 */
#include <lauxlib.h>
#include <lua.h>

#include "app.h"

enum view_state { VIEW_UNREAD, VIEW_READ, VIEW_GONE };

struct view {
	sqlite3_stmt	*st;		/* bound to the candidate; NULL: none */
	const void	*row;		/* the current call's row table */
	enum view_state	 state;
	int64_t		 id;
};

static const char	view_key = 'v';		/* the metatable */
static const char	view_ud_key = 'u';	/* the view */

static struct view	*view_get(lua_State *);
static struct view	*view_meta(lua_State *);
static int		 view_row(lua_State *, struct view *);
static int		 view_index(lua_State *);
static int		 view_pairs(lua_State *);
static int		 view_next(lua_State *);

/* may longjmp: pushes an empty row reading from st (bound, not stepped). */
void
fb_hook_view_push(lua_State *L, sqlite3_stmt *st, int64_t id)
{
	struct view	*v;

	v = view_meta(L);				/* mt */
	v->st = st;
	v->state = VIEW_UNREAD;
	v->id = id;
	lua_newtable(L);				/* mt row */
	v->row = lua_topointer(L, -1);
	lua_rotate(L, -2, 1);				/* row mt */
	lua_setmetatable(L, -2);			/* row */
}

/* Rows pushed so far read nothing more (their statement moves on). */
void
fb_hook_view_end(lua_State *L)
{
	struct view	*v;

	if ((v = view_get(L)) != NULL)
		v->st = NULL;
}

/* The state's view, or NULL before the first push; never allocates. */
static struct view *
view_get(lua_State *L)
{
	struct view	*v;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &view_ud_key);
	v = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return (v);
}

/* may longjmp: pushes the state's view metatable, made on first use. */
static struct view *
view_meta(lua_State *L)
{
	struct view	*v;

	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &view_key) == LUA_TTABLE)
		return (view_get(L));			/* mt */
	lua_pop(L, 1);
	lua_createtable(L, 0, 3);			/* mt */
	v = lua_newuserdatauv(L, sizeof(*v), 0);	/* mt v */
	v->st = NULL;
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &view_ud_key);
	lua_pushvalue(L, -1);				/* mt v v */
	lua_pushcclosure(L, view_index, 1);		/* mt v index */
	lua_setfield(L, -3, "__index");			/* mt v */
	lua_pushcclosure(L, view_pairs, 1);		/* mt pairs */
	lua_setfield(L, -2, "__pairs");			/* mt */
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");		/* a locked metatable */
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &view_key);	/* mt */
	return (v);
}

/*
 * may longjmp: 1 when row (at index 1) is the current call's and v's
 * statement is on its listing.  A row from an earlier call is not: the
 * statement has moved on to another listing.
 */
static int
view_row(lua_State *L, struct view *v)
{
	int	rc;

	if (v->st == NULL || v->row != lua_topointer(L, 1) ||
	    v->state == VIEW_GONE)
		return (0);
	if (v->state == VIEW_READ)
		return (1);
	if ((rc = sqlite3_step(v->st)) != SQLITE_ROW) {
		v->state = VIEW_GONE;
		if (rc == SQLITE_DONE)
			return (luaL_error(L, "listing %I is no longer in the "
			    "shop", (lua_Integer)v->id));
		return (luaL_error(L, "listing %I: sqlite: %s",
		    (lua_Integer)v->id,
		    sqlite3_errmsg(sqlite3_db_handle(v->st))));
	}
	v->state = VIEW_READ;
	return (1);
}

/* __index(row, name): the field from the listing, kept in the row. */
static int
view_index(lua_State *L)
{
	struct view	*v = lua_touserdata(L, lua_upvalueindex(1));
	int		 col;

	if (lua_type(L, 2) != LUA_TSTRING ||
	    (col = fb_row_column(lua_tostring(L, 2))) < 0 ||
	    !view_row(L, v) || sqlite3_column_type(v->st, col) == SQLITE_NULL)
		return (0);
	fb_hook_push_stmt_column(L, v->st, col);	/* row k value */
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);				/* row k value k value */
	lua_rawset(L, 1);				/* row k value */
	return (1);
}

/* __pairs(row): every field filled in, then next, row, nil. */
static int
view_pairs(lua_State *L)
{
	struct view	*v = lua_touserdata(L, lua_upvalueindex(1));
	int		 col;

	if (view_row(L, v)) {
		for (col = 0; col < fb_listing_ncolumns; col++) {
			if (sqlite3_column_type(v->st, col) == SQLITE_NULL)
				continue;
			lua_pushstring(L, fb_listing_columns[col].name);
			if (lua_rawget(L, 1) != LUA_TNIL) {
				lua_pop(L, 1);		/* read or set already */
				continue;
			}
			lua_pop(L, 1);
			lua_pushstring(L, fb_listing_columns[col].name);
			fb_hook_push_stmt_column(L, v->st, col);
			lua_rawset(L, 1);
		}
	}
	lua_pushcfunction(L, view_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return (3);
}

/* The raw next(row, k) for pairs(). */
static int
view_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return (2);
	lua_pushnil(L);
	return (1);
}
