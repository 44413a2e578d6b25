/*
 * The three hooks as typed C calls: map, keep and score.
 *
 * Data crosses as plain tables built per call: a Discogs listing from
 * its JSON (nulls left out), a row in the shape of the listing object
 * (ids as strings, prices as numbers, custom_metadata as a table); a
 * search's row for score() is filled as it is read (hook_view.c).  The
 * arguments are built inside the protected call, so running out of Lua
 * memory is an error, never a panic.  Results are checked here, in C,
 * for type and range, without allocating Lua memory.  Every hook leaves
 * the Lua stack as it found it.  The failure policy: a map error skips
 * the listing, a keep error keeps it, a score error leaves text order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "app.h"

#define JSON_DEPTH_MAX	32
#define TEXT_MAX	65536

static const char	mapped_key = 'm';	/* map()'s listing table */

struct hook_args {
	int			 ref;
	json_t			*listing;
	const struct fb_row	*row;
	sqlite3_stmt		*st;
	int64_t			 id;
	int			 is_mapped;	/* keep: reuse map's table */
	const char		*query;
	double			 relevance;
};

static int	hook_map_call(lua_State *);
static int	hook_keep_call(lua_State *);
static int	hook_score_call(lua_State *);
static int	hook_score(struct fb_rules *, struct hook_args *, double *,
		    struct fb_err *);
static int	hook_ready(struct fb_rules *, int, struct fb_err *);
static void	hook_push_column(lua_State *, int, int64_t, double,
		    const char *, size_t);
static int	hook_column(struct fb_lua *, int, struct fb_row *,
		    struct fb_err *);
static int	hook_id(lua_State *, int, int64_t *);
static int	hook_integer(lua_State *, int, int64_t *);
static int	hook_money(lua_State *, int, int64_t *);
static json_t	*hook_json(lua_State *, int, int, const char **);
static json_t	*hook_json_table(lua_State *, int, int, const char **);
static int	hook_field(struct fb_lua *, struct fb_row *, json_t *,
		    json_t **, struct fb_err *);
static int	hook_metadata(struct fb_lua *, struct fb_row *, json_t *,
		    json_t *, struct fb_err *);
static void	hook_pending(lua_State *, json_t *);
static void	hook_forget_mapped(struct fb_lua *);
static int	hook_names(lua_State *);
static void	hook_checked(struct fb_lua *, const struct fb_err *);

/* Skip the listing on FB_ERR (the sync counts and reports it). */
int
fb_hook_map(struct fb_rules *r, json_t *listing, struct fb_row *out,
    struct fb_err *err)
{
	struct hook_args	 a;
	lua_State		*L;
	int			 base, rc;

	fb_row_cleanup(out);
	if (hook_ready(r, FB_SCRIPT_MAP, err) != FB_OK)
		return (FB_ERR);
	L = r->lua->L;
	base = lua_gettop(L);
	memset(&a, 0, sizeof(a));
	a.ref = r->lua->ref[FB_SCRIPT_MAP];
	a.listing = listing;
	rc = fb_lua_call(r->lua, FB_SCRIPT_MAP, hook_map_call, &a, 1,
	    FB_LUA_INSTR_CALL, err);
	if (rc == FB_OK && (rc = fb_hook_to_row(r->lua, base + 1, out, err)) !=
	    FB_OK)
		hook_checked(r->lua, err);
	lua_settop(L, base);
	if (rc != FB_OK) {
		hook_forget_mapped(r->lua);
		fb_row_cleanup(out);
		fb_rules_call_failed(r, FB_SCRIPT_MAP, err);
	} else if (listing != NULL)
		r->lua->mapped = listing;	/* keep() reuses its table */
	return (rc);
}

/* On FB_ERR the listing is kept (*is_kept = 1) and err says why. */
int
fb_hook_keep(struct fb_rules *r, const struct fb_row *row, json_t *listing,
    int *is_kept, char *reason, size_t reason_len, struct fb_err *err)
{
	struct hook_args	 a;
	lua_State		*L;
	int			 base, rc;

	*is_kept = 1;
	if (reason_len > 0)
		reason[0] = '\0';
	if (hook_ready(r, FB_SCRIPT_KEEP, err) != FB_OK)
		return (FB_ERR);
	L = r->lua->L;
	base = lua_gettop(L);
	memset(&a, 0, sizeof(a));
	a.ref = r->lua->ref[FB_SCRIPT_KEEP];
	a.row = row;
	a.listing = listing;
	a.is_mapped = listing != NULL && listing == r->lua->mapped;
	rc = fb_lua_call(r->lua, FB_SCRIPT_KEEP, hook_keep_call, &a, 2,
	    FB_LUA_INSTR_CALL, err);
	hook_forget_mapped(r->lua);
	if (rc == FB_OK && lua_type(L, base + 1) != LUA_TBOOLEAN) {
		fb_err_set(err, "%s: keep must return true or false, not %s",
		    r->lua->names[FB_SCRIPT_KEEP], luaL_typename(L, base + 1));
		hook_checked(r->lua, err);
		rc = FB_ERR;
	} else if (rc == FB_OK && !lua_toboolean(L, base + 1)) {
		*is_kept = 0;
		(void)snprintf(reason, reason_len, "%s",
		    lua_type(L, base + 2) == LUA_TSTRING ?
		    lua_tostring(L, base + 2) : "left out by filter.lua");
	}
	lua_settop(L, base);
	if (rc != FB_OK)
		fb_rules_call_failed(r, FB_SCRIPT_KEEP, err);
	return (rc);
}

/*
 * Listing id's row: st selects fb_listing_select_list() for it, bound
 * and not yet stepped; score()'s row reads it when asked (hook_view.c).
 * The caller resets st.
 */
int
fb_hook_score(struct fb_rules *r, sqlite3_stmt *st, int64_t id,
    const char *query, double relevance, double *score, struct fb_err *err)
{
	struct hook_args	 a;

	memset(&a, 0, sizeof(a));
	a.st = st;
	a.id = id;
	a.query = query;
	a.relevance = relevance;
	return (hook_score(r, &a, score, err));
}

/* The same for a row in C (the self-check, rules check). */
int
fb_hook_score_row(struct fb_rules *r, const struct fb_row *row,
    const char *query, double relevance, double *score, struct fb_err *err)
{
	struct hook_args	 a;

	memset(&a, 0, sizeof(a));
	a.row = row;
	a.query = query;
	a.relevance = relevance;
	return (hook_score(r, &a, score, err));
}

/* A shared instruction budget for the score calls of one search. */
void
fb_hook_batch(struct fb_rules *r, int64_t max_instr)
{
	if (r != NULL && r->lua != NULL)
		fb_lua_batch(r->lua, max_instr);
}

/* may longjmp: pushes j as Lua values; JSON null is left out (nil). */
int
fb_hook_push_json(lua_State *L, json_t *j, int depth)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	luaL_checkstack(L, 4, "listing nested too deeply");
	if (depth > JSON_DEPTH_MAX)
		return (luaL_error(L, "listing nested too deeply"));
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach(j, key, v) {
			if (json_is_null(v))
				continue;
			lua_pushstring(L, key);		/* t k */
			fb_hook_push_json(L, v, depth + 1);
			lua_rawset(L, -3);		/* t */
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(j), 0);
		json_array_foreach(j, i, v) {
			if (json_is_null(v))
				continue;
			fb_hook_push_json(L, v, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(j));
		break;
	default:
		lua_pushnil(L);
		break;
	}
	return (1);
}

/* may longjmp: column col of st's current row, as the listing types it. */
void
fb_hook_push_stmt_column(lua_State *L, sqlite3_stmt *st, int col)
{
	int	type = fb_listing_columns[col].type;

	if (type == FB_COL_TEXT || type == FB_COL_JSON)
		hook_push_column(L, type, 0, 0,
		    (const char *)sqlite3_column_text(st, col),
		    (size_t)sqlite3_column_bytes(st, col));
	else if (type == FB_COL_REAL)
		hook_push_column(L, type, 0, sqlite3_column_double(st, col),
		    NULL, 0);
	else
		hook_push_column(L, type, sqlite3_column_int64(st, col), 0,
		    NULL, 0);
}

/* may longjmp: a row in C as the same table; UNSET and NULL left out. */
int
fb_hook_push_row(lua_State *L, const struct fb_row *row)
{
	const struct fb_value	*v;
	int			 i, names;

	names = hook_names(L);				/* names */
	lua_createtable(L, 0, fb_listing_ncolumns);	/* names row */
	for (i = 0; i < fb_listing_ncolumns; i++) {
		v = &row->v[i];
		if (v->type == FB_VAL_UNSET || v->type == FB_VAL_NULL)
			continue;
		lua_rawgeti(L, names, i + 1);		/* names row k */
		hook_push_column(L, fb_listing_columns[i].type, v->i,
		    v->type == FB_VAL_REAL ? v->d : (double)v->i, v->s,
		    v->len);
		lua_rawset(L, -3);			/* names row */
	}
	lua_remove(L, names);				/* row */
	return (1);
}

/*
 * The table at idx (what map returned) into out: listing columns by
 * name, typed; every other key into custom_metadata.  Unprotected: only
 * reads Lua values.  err names the column at fault.
 */
int
fb_hook_to_row(struct fb_lua *s, int idx, struct fb_row *out,
    struct fb_err *err)
{
	lua_State	*L = s->L;
	const char	*name = s->names[FB_SCRIPT_MAP];
	json_t		*extra, *meta = NULL;
	int		 rc = FB_ERR;

	if (lua_type(L, idx) != LUA_TTABLE) {
		fb_err_set(err, "%s: map must return a table of fields, not "
		    "%s", name, luaL_typename(L, idx));
		return (FB_ERR);
	}
	if (!lua_checkstack(L, 8) || (extra = json_object()) == NULL) {
		fb_err_set(err, "%s: out of memory", name);
		return (FB_ERR);
	}
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {			/* k v */
		if (hook_field(s, out, extra, &meta, err) != FB_OK)
			goto cleanup;
		lua_pop(L, 1);				/* k */
	}
	if (out->v[fb_row_column("listing_id")].type != FB_VAL_INT)
		fb_err_set(err, "%s: map must return listing_id", name);
	else
		rc = hook_metadata(s, out, extra, meta, err);
cleanup:
	json_decref(extra);
	json_decref(meta);
	return (rc);
}

/* The pair k v on top of the stack: a column, or custom metadata. */
static int
hook_field(struct fb_lua *s, struct fb_row *out, json_t *extra,
    json_t **meta, struct fb_err *err)
{
	lua_State	*L = s->L;
	const char	*name = s->names[FB_SCRIPT_MAP], *key, *why = NULL;
	json_t		*v;
	int		 col;

	if (lua_type(L, -2) != LUA_TSTRING) {
		fb_err_set(err, "%s: map returned a %s key; field names are "
		    "text", name, luaL_typename(L, -2));
		return (FB_ERR);
	}
	key = lua_tostring(L, -2);
	if ((col = fb_row_column(key)) >= 0 && fb_listing_is_state(col)) {
		fb_err_set(err, "%s: map must not set %s (the sync keeps it)",
		    name, key);
		return (FB_ERR);
	}
	if (col >= 0 && fb_listing_columns[col].type != FB_COL_JSON)
		return (hook_column(s, col, out, err));
	if (col >= 0) {
		json_decref(*meta);
		if (lua_type(L, -1) != LUA_TTABLE ||
		    (*meta = hook_json(L, -1, 0, &why)) == NULL ||
		    !json_is_object(*meta)) {
			fb_err_set(err, "%s: map: custom_metadata must be a "
			    "table with named keys%s%s", name, why ? ": " : "",
			    why ? why : "");
			return (FB_ERR);
		}
		return (FB_OK);
	}
	if ((v = hook_json(L, -1, 0, &why)) == NULL ||
	    json_object_set_new(extra, key, v) != 0) {
		fb_err_set(err, "%s: map: %s: %s", name, key,
		    why ? why : "names must be UTF-8");
		return (FB_ERR);
	}
	return (FB_OK);
}

/* custom_metadata: meta's keys and the extra keys (which win), sorted. */
static int
hook_metadata(struct fb_lua *s, struct fb_row *out, json_t *extra,
    json_t *meta, struct fb_err *err)
{
	json_t	*all = meta != NULL ? meta : extra;
	int	 col = fb_row_column("custom_metadata");
	char	*text;

	if (meta != NULL)
		json_object_update(meta, extra);
	if (json_object_size(all) == 0) {
		fb_row_set_null(out, col);
		return (FB_OK);
	}
	if ((text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		fb_err_set(err, "%s: custom_metadata: out of memory",
		    s->names[FB_SCRIPT_MAP]);
		return (FB_ERR);
	}
	fb_row_set_text(out, col, text, strlen(text));
	free(text);
	return (FB_OK);
}

/* Protected: map(listing). */
static int
hook_map_call(lua_State *L)
{
	struct hook_args	*a = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);	/* a fn */
	if (a->listing != NULL)
		fb_hook_push_json(L, a->listing, 0);	/* a fn listing */
	else
		lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &mapped_key);
	lua_call(L, 1, 1);				/* a row */
	return (1);
}

/*
 * keep() is called right after map() on the same listing: it gets the
 * table map() got instead of a second conversion of the JSON (15% of a
 * sync that changes nothing).  Never allocates.
 */
static void
hook_forget_mapped(struct fb_lua *s)
{
	s->mapped = NULL;
	lua_pushnil(s->L);
	lua_rawsetp(s->L, LUA_REGISTRYINDEX, &mapped_key);
}

/* Protected: keep(row, listing). */
static int
hook_keep_call(lua_State *L)
{
	struct hook_args	*a = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);	/* a fn */
	fb_hook_push_row(L, a->row);			/* a fn row */
	if (a->is_mapped)
		lua_rawgetp(L, LUA_REGISTRYINDEX, &mapped_key);
	else if (a->listing != NULL)
		fb_hook_push_json(L, a->listing, 0);	/* a fn row listing */
	else
		lua_newtable(L);
	lua_call(L, 2, 2);				/* a ok reason */
	return (2);
}

/* Protected: score(row, query, relevance). */
static int
hook_score_call(lua_State *L)
{
	struct hook_args	*a = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);	/* a fn */
	if (a->st != NULL)
		fb_hook_view_push(L, a->st, a->id);	/* a fn row */
	else
		fb_hook_push_row(L, a->row);
	lua_pushstring(L, a->query != NULL ? a->query : "");
	lua_pushnumber(L, a->relevance);		/* a fn row q rel */
	lua_call(L, 3, 1);				/* a score */
	return (1);
}

/* score(): the call, a finite number, the failure recorded. */
static int
hook_score(struct fb_rules *r, struct hook_args *a, double *score,
    struct fb_err *err)
{
	lua_State	*L;
	int		 base, rc;

	if (hook_ready(r, FB_SCRIPT_SCORE, err) != FB_OK)
		return (FB_ERR);
	a->ref = r->lua->ref[FB_SCRIPT_SCORE];
	L = r->lua->L;
	base = lua_gettop(L);
	rc = fb_lua_call(r->lua, FB_SCRIPT_SCORE, hook_score_call, a, 1,
	    FB_LUA_INSTR_SCORE, err);
	if (a->st != NULL)
		fb_hook_view_end(L);
	if (rc == FB_OK && (lua_type(L, base + 1) != LUA_TNUMBER ||
	    !isfinite(lua_tonumber(L, base + 1)))) {
		fb_err_set(err, "%s: score must return a number, not %s",
		    r->lua->names[FB_SCRIPT_SCORE],
		    lua_type(L, base + 1) == LUA_TNUMBER ? "nan or inf" :
		    luaL_typename(L, base + 1));
		hook_checked(r->lua, err);
		rc = FB_ERR;
	} else if (rc == FB_OK)
		*score = lua_tonumber(L, base + 1);
	lua_settop(L, base);
	if (rc != FB_OK)
		fb_rules_call_failed(r, FB_SCRIPT_SCORE, err);
	return (rc);
}

static int
hook_ready(struct fb_rules *r, int script, struct fb_err *err)
{
	if (r == NULL || r->lua == NULL ||
	    r->lua->ref[script] == LUA_NOREF) {
		fb_err_set(err, "rules: %s is not loaded",
		    fb_script_files[script]);
		return (FB_ERR);
	}
	return (FB_OK);
}

/* may longjmp: one column value, as the listing object types it. */
static void
hook_push_column(lua_State *L, int type, int64_t i, double d, const char *s,
    size_t len)
{
	json_t		*j;
	json_error_t	 jerr;

	switch (type) {
	case FB_COL_ID:
		lua_pushfstring(L, "%I", (lua_Integer)i);
		break;
	case FB_COL_INT:
		lua_pushinteger(L, (lua_Integer)i);
		break;
	case FB_COL_REAL:
		lua_pushnumber(L, d);
		break;
	case FB_COL_MONEY:
		lua_pushnumber(L, (double)i / 100.0);
		break;
	case FB_COL_BOOL:
		lua_pushboolean(L, i != 0);
		break;
	case FB_COL_JSON:
		if (s == NULL || (j = json_loadb(s, len, 0, &jerr)) == NULL) {
			lua_pushnil(L);
			break;
		}
		/* A memory error longjmps: fb_lua_call() frees j then. */
		hook_pending(L, j);
		fb_hook_push_json(L, j, 0);
		hook_pending(L, NULL);
		json_decref(j);
		break;
	default:
		if (s != NULL)
			lua_pushlstring(L, s, len);
		else
			lua_pushnil(L);
		break;
	}
}

/* The value on top of the stack into column col of out. */
static int
hook_column(struct fb_lua *s, int col, struct fb_row *out,
    struct fb_err *err)
{
	lua_State	*L = s->L;
	const char	*name = s->names[FB_SCRIPT_MAP], *text;
	const char	*cname = fb_listing_columns[col].name, *want;
	int		 type = fb_listing_columns[col].type;
	int64_t		 i;
	size_t		 len;

	switch (type) {
	case FB_COL_ID:
		want = "a positive whole number or digits";
		if (hook_id(L, -1, &i) != FB_OK)
			break;
		fb_row_set_int(out, col, i);
		return (FB_OK);
	case FB_COL_INT:
		want = "a whole number";
		if (hook_integer(L, -1, &i) != FB_OK)
			break;
		fb_row_set_int(out, col, i);
		return (FB_OK);
	case FB_COL_REAL:
		want = "a number";
		if (lua_type(L, -1) != LUA_TNUMBER ||
		    !isfinite(lua_tonumber(L, -1)))
			break;
		fb_row_set_real(out, col, lua_tonumber(L, -1));
		return (FB_OK);
	case FB_COL_MONEY:
		want = "a price such as 12.5 or \"12.50\", not negative";
		if (hook_money(L, -1, &i) != FB_OK)
			break;
		fb_row_set_int(out, col, i);
		return (FB_OK);
	case FB_COL_BOOL:
		want = "true or false";
		if (lua_type(L, -1) != LUA_TBOOLEAN)
			break;
		fb_row_set_int(out, col, lua_toboolean(L, -1));
		return (FB_OK);
	default:
		want = "text (use tostring() for a number)";
		if (lua_type(L, -1) != LUA_TSTRING)
			break;
		text = lua_tolstring(L, -1, &len);
		if (len > TEXT_MAX || !fb_utf8_valid(text, len)) {
			fb_err_set(err, "%s: map: %s must be UTF-8 text of at "
			    "most 64 KB", name, cname);
			return (FB_ERR);
		}
		fb_row_set_text(out, col, text, len);
		return (FB_OK);
	}
	fb_err_set(err, "%s: map: %s must be %s (got a %s)", name, cname,
	    want, luaL_typename(L, -1));
	return (FB_ERR);
}

static int
hook_id(lua_State *L, int idx, int64_t *out)
{
	if (lua_type(L, idx) == LUA_TSTRING)
		return (fb_parse_id(lua_tostring(L, idx), out));
	if (lua_type(L, idx) != LUA_TNUMBER ||
	    hook_integer(L, idx, out) != FB_OK || *out <= 0)
		return (FB_ERR);
	return (FB_OK);
}

/* A Lua integer, or a float with an integral value in range. */
static int
hook_integer(lua_State *L, int idx, int64_t *out)
{
	lua_Number	d;

	if (lua_type(L, idx) != LUA_TNUMBER)
		return (FB_ERR);
	if (lua_isinteger(L, idx)) {
		*out = (int64_t)lua_tointeger(L, idx);
		return (FB_OK);
	}
	d = lua_tonumber(L, idx);
	if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
		return (FB_ERR);
	*out = (int64_t)d;
	return (FB_OK);
}

/* A number or decimal text, not negative, as exact hundredths. */
static int
hook_money(lua_State *L, int idx, int64_t *out)
{
	int64_t	i;

	if (lua_type(L, idx) == LUA_TSTRING) {
		if (fb_money_from_text(lua_tostring(L, idx), out) != FB_OK)
			return (FB_ERR);
	} else if (lua_type(L, idx) != LUA_TNUMBER)
		return (FB_ERR);
	else if (lua_isinteger(L, idx)) {
		i = (int64_t)lua_tointeger(L, idx);
		if (i > INT64_MAX / 1000 || i < -INT64_MAX / 1000)
			return (FB_ERR);
		*out = i * 100;
	} else if (fb_money_from_double(lua_tonumber(L, idx), out) != FB_OK)
		return (FB_ERR);
	return (*out < 0 ? FB_ERR : FB_OK);
}

/*
 * New: a Lua value as JSON (custom_metadata).  A table whose keys are
 * exactly 1..n is an array, any other an object with text keys; an empty
 * table is an object.  *why explains a NULL.
 */
static json_t *
hook_json(lua_State *L, int idx, int depth, const char **why)
{
	size_t		 len;
	const char	*s;
	lua_Number	 d;
	json_t		*j;

	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		return (json_boolean(lua_toboolean(L, idx)));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return (json_integer(lua_tointeger(L, idx)));
		if (!isfinite(d = lua_tonumber(L, idx))) {
			*why = "nan and inf cannot be stored";
			return (NULL);
		}
		return (json_real(d));
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if ((j = json_stringn(s, len)) == NULL)
			*why = "text must be UTF-8";
		return (j);
	case LUA_TTABLE:
		return (hook_json_table(L, idx, depth, why));
	default:
		*why = lua_type(L, idx) == LUA_TFUNCTION ?
		    "a function cannot be stored" :
		    "this value cannot be stored";
		return (NULL);
	}
}

static json_t *
hook_json_table(lua_State *L, int idx, int depth, const char **why)
{
	json_t		*j, *v;
	lua_Unsigned	 n = lua_rawlen(L, idx), count = 0, i;

	if (depth >= 16 || !lua_checkstack(L, 4)) {
		*why = "nested too deeply (16 levels at most)";
		return (NULL);
	}
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		count++;
		lua_pop(L, 1);
	}
	if (n > 0 && count == n) {
		j = json_array();
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i);
			v = hook_json(L, -1, depth + 1, why);
			lua_pop(L, 1);
			if (v == NULL || json_array_append_new(j, v) != 0) {
				if (*why == NULL)
					*why = "out of memory";
				json_decref(j);
				return (NULL);
			}
		}
		return (j);
	}
	j = json_object();
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {			/* k v */
		if (lua_type(L, -2) != LUA_TSTRING) {
			*why = "keys must be text (or 1..n for a list)";
			v = NULL;
		} else
			v = hook_json(L, -1, depth + 1, why);
		if (v == NULL || json_object_set_new(j, lua_tostring(L, -2),
		    v) != 0) {
			if (*why == NULL)
				*why = "keys must be UTF-8 text";
			lua_pop(L, 2);
			json_decref(j);
			return (NULL);
		}
		lua_pop(L, 1);				/* k */
	}
	return (j);
}

/*
 * may longjmp: pushes the column names as a Lua array (kept in the
 * registry, made once per state) and returns its index: rows reuse the
 * interned names instead of hashing 45 strings each.
 */
static int
hook_names(lua_State *L)
{
	static const char	key = 'n';
	int			i;

	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_createtable(L, fb_listing_ncolumns, 0);
		for (i = 0; i < fb_listing_ncolumns; i++) {
			lua_pushstring(L, fb_listing_columns[i].name);
			lua_rawseti(L, -2, i + 1);
		}
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &key);
	}
	return (lua_gettop(L));
}

/* j is freed by fb_lua_call() if a Lua error skips our own decref. */
static void
hook_pending(lua_State *L, json_t *j)
{
	struct fb_lua	*s = *(struct fb_lua **)lua_getextraspace(L);

	/* One left by an error the script caught itself (score's row reads
	 * JSON inside the script's own pcall): freed, not overwritten. */
	if (s->pending != NULL && j != NULL)
		json_decref(s->pending);
	s->pending = j;
}

/* A result refused in C has no Lua traceback: the message stands in. */
static void
hook_checked(struct fb_lua *s, const struct fb_err *err)
{
	(void)snprintf(s->traceback, sizeof(s->traceback), "%s", err->msg);
}
