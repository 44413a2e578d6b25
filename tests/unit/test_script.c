/*
 * script.c and script_api.c: the sandbox.  Text-only loading with
 * file:line errors and a traceback; the instruction budget, also against
 * pcall, xpcall and a looping error handler; the memory cap (the process
 * lives, the state stays usable); every escape route refused (os, io,
 * require, bytecode, string.dump, __gc, addresses); one _ENV per script;
 * and the Lua stack left as it was after every call.  The runaway and
 * escape fixtures live in tests/fixtures/scripts/.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "test.h"

#define FIXTURES	"tests/fixtures/scripts/"

static char	dir[64];

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 n;

	if (f == NULL)
		return (NULL);
	(void)fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	*len = (size_t)n;
	return (buf);
}

static void
put(const char *name, const char *text)
{
	char	path[128];
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* SCRIPTS_DIR with the shipped mapping and filter and this ranking. */
static int
load_ranking(struct fb_rules *r, const char *fixture)
{
	struct fb_err	 err = { 0, "" };
	char		 path[128], *text;
	size_t		 len;

	(void)snprintf(path, sizeof(path), FIXTURES "%s", fixture);
	if ((text = slurp(path, &len)) == NULL)
		return (FB_ERR);
	put("ranking.lua", text);
	free(text);
	memset(r, 0, sizeof(*r));
	return (fb_rules_init(r, dir, &err));
}

/* score(sample row, query) on the ranking that is live. */
static int
score(struct fb_rules *r, const char *query, double *out, struct fb_err *err)
{
	struct fb_row	 row;
	json_t		*sample = json_loads(fb_rules_sample_listing, 0, NULL);
	struct fb_err	 merr = { 0, "" };
	int		 rc;

	fb_row_init(&row);
	fb_err_clear(err);
	if (fb_hook_map(r, sample, &row, &merr) != FB_OK)
		printf("# map failed: %s\n", merr.msg);
	rc = fb_hook_score_row(r, &row, query, 1.0, out, err);
	fb_row_cleanup(&row);
	json_decref(sample);
	return (rc);
}

static void
test_load(void)
{
	struct fb_err	 err = { 0, "" };
	struct fb_lua	*s = fb_lua_new(FB_LUA_MEM_MAX, &err);
	char		*text;
	size_t		 len;
	static const char bytecode[] = "\x1bLuaT\0\x19\x93\r\n\x1a\n\4\x08";

	OK(s != NULL, "a state opens");
	text = slurp(FIXTURES "syntax.lua", &len);
	EQ_INT(fb_lua_load(s, FB_SCRIPT_SCORE, "scripts/ranking.lua", text,
	    len, &err), FB_ERR, "syntax error: refused");
	OK(strncmp(err.msg, "scripts/ranking.lua:6:", 22) == 0,
	    "syntax error: message starts with file:line");
	printf("# %s\n", err.msg);
	free(text);
	fb_err_clear(&err);
	EQ_INT(fb_lua_load(s, FB_SCRIPT_SCORE, "scripts/ranking.lua",
	    bytecode, sizeof(bytecode) - 1, &err), FB_ERR,
	    "a precompiled chunk is refused");
	OK(strstr(err.msg, "binary chunk") != NULL, "bytecode: says binary");
	fb_err_clear(&err);
	text = slurp(FIXTURES "no_function.lua", &len);
	EQ_INT(fb_lua_load(s, FB_SCRIPT_SCORE, "scripts/ranking.lua", text,
	    len, &err), FB_ERR, "no global score: refused");
	EQ_STR(err.msg, "scripts/ranking.lua: must define function score",
	    "no function: the message says which");
	free(text);
	fb_err_clear(&err);
	EQ_INT(fb_lua_load(s, FB_SCRIPT_KEEP, "scripts/filter.lua",
	    "function keep() return true end", 31, &err), FB_OK,
	    "a good chunk loads");
	EQ_INT(fb_lua_top(s), 0, "stack empty after loads");
	fb_lua_free(s);
}

static void
test_top_loop(void)
{
	struct fb_err	 err = { 0, "" };
	struct fb_lua	*s = fb_lua_new(FB_LUA_MEM_MAX, &err);
	char		*text;
	size_t		 len;
	uint64_t	 t0 = fb_time_mono_us();

	text = slurp(FIXTURES "top_loop.lua", &len);
	EQ_INT(fb_lua_load(s, FB_SCRIPT_SCORE, "scripts/ranking.lua", text,
	    len, &err), FB_ERR, "endless loop at load: refused");
	OK(strncmp(err.msg, "scripts/ranking.lua:", 20) == 0 &&
	    strstr(err.msg, ": instruction budget exhausted") != NULL,
	    "endless loop at load: file:line and budget");
	printf("# %s\n", err.msg);
	OK(fb_time_mono_us() - t0 < 2000000, "endless loop at load: < 2 s");
	OK(strstr(s->traceback, "stack traceback:") != NULL,
	    "a traceback is kept");
	free(text);
	EQ_INT(fb_lua_top(s), 0, "stack empty after a tripped load");
	fb_lua_free(s);
}

static void
test_runaway(void)
{
	static const char *const	fixtures[] = {
		"loop.lua", "loop_pcall.lua", NULL
	};
	struct fb_rules	 r;
	struct fb_err	 err = { 0, "" };
	double		 v = 0;
	uint64_t	 t0;
	int		 i;
	char		 what[96];

	for (i = 0; fixtures[i] != NULL; i++) {
		EQ_INT(load_ranking(&r, fixtures[i]), FB_OK, fixtures[i]);
		EQ_STR(r.s[FB_SCRIPT_SCORE].error, "",
		    "the self-check passes (no loop for other queries)");
		t0 = fb_time_mono_us();
		EQ_INT(score(&r, "loop", &v, &err), FB_ERR,
		    "an endless loop fails the call");
		(void)snprintf(what, sizeof(what), "%s: budget error, not "
		    "swallowed by pcall", fixtures[i]);
		OK(strstr(err.msg, "instruction budget exhausted") != NULL,
		    what);
		printf("# %s\n", err.msg);
		OK(fb_time_mono_us() - t0 < 2000000, "stopped in under 2 s");
		EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after a trip");
		EQ_INT(score(&r, "other", &v, &err), FB_OK,
		    "the next call works");
		OK(v == 1.0, "and returns the relevance");
		EQ_INT(fb_lua_top(r.lua), 0, "stack balanced");
		fb_rules_cleanup(&r);
	}
}

static void
test_memory(void)
{
	static const char *const	fixtures[] = {
		"mem_rep.lua", "mem_bomb.lua", NULL
	};
	struct fb_rules	 r;
	struct fb_err	 err = { 0, "" };
	double		 v;
	int		 i;

	for (i = 0; fixtures[i] != NULL; i++) {
		EQ_INT(load_ranking(&r, fixtures[i]), FB_OK, fixtures[i]);
		EQ_INT(score(&r, "mem", &v, &err), FB_ERR,
		    "a memory bomb fails the call");
		OK(strstr(err.msg, "not enough memory") != NULL,
		    "memory: the message says so");
		printf("# %s\n", err.msg);
		OK(r.lua->mem_used <= r.lua->mem_max, "memory stayed under "
		    "the cap");
		EQ_INT(fb_lua_top(r.lua), 0, "stack balanced after ERRMEM");
		fb_rules_cleanup(&r);
	}
}

static void
test_escapes(void)
{
	static const struct {
		const char	*fixture, *query, *msg;
	} cases[] = {
		{ "uses_os.lua", "escape", "os.execute is not available" },
		{ "uses_io.lua", "escape", "'io' is not available" },
		{ "uses_require.lua", "escape", "'require' is not available" },
		{ "load_bytecode.lua", "escape", "attempt to load a binary" },
		{ "string_dump.lua", "escape", "string.dump is not available" },
		{ "string_dump.lua", "escape2", "attempt to call a nil value" },
		{ "nil_index.lua", "boom", "attempt to index a nil value" },
		{ "wrong_type.lua", "boom", "score must return a number" },
	};
	struct fb_rules	 r;
	struct fb_err	 err = { 0, "" };
	double		 v;
	size_t		 i;
	char		 what[128];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(what, sizeof(what), "%s (q=%s): %s",
		    cases[i].fixture, cases[i].query, cases[i].msg);
		if (load_ranking(&r, cases[i].fixture) != FB_OK) {
			OK(0, what);
			continue;
		}
		OK(score(&r, cases[i].query, &v, &err) == FB_ERR &&
		    strstr(err.msg, cases[i].msg) != NULL, what);
		printf("# %s\n", err.msg);
		OK(strncmp(err.msg, dir, strlen(dir)) == 0,
		    "the message starts with the script's path");
		EQ_INT(fb_lua_top(r.lua), 0, "stack balanced");
		fb_rules_cleanup(&r);
	}
	OK(access("/tmp/freakinbeats-escaped-os", F_OK) != 0 &&
	    access("/tmp/freakinbeats-escaped-io", F_OK) != 0 &&
	    access("/tmp/freakinbeats-escaped-require", F_OK) != 0,
	    "no escape left a file behind");
}

/* Small scripts run as ranking.lua; each returns a number or fails. */
static void
test_sandbox(void)
{
	static const struct {
		const char	*body;
		int		 rc;
		const char	*what;
	} cases[] = {
		{ "return tostring({}) == 'table' and 1 or 0", FB_OK,
		    "tostring shows no address" },
		{ "return string.format('%p', {})", FB_ERR,
		    "string.format %p refused" },
		{ "return ('%s'):format({}) == 'table' and 1 or 0", FB_OK,
		    "format %s of a table shows no address" },
		{ "return string.format('%s', print) == 'function' and 1 or 0",
		    FB_OK, "format %s of a function shows no address" },
		{ "return getmetatable('').__index", FB_ERR,
		    "the string metatable is locked" },
		{ "return collectgarbage('count')", FB_ERR,
		    "collectgarbage is not there" },
		{ "return dofile('/etc/passwd')", FB_ERR,
		    "dofile is not there" },
		{ "return loadfile('/etc/passwd')", FB_ERR,
		    "loadfile is not there" },
		{ "return load('return 2')()", FB_OK, "load of text works" },
		{ "return load('return string')() == string and 1 or 0", FB_OK,
		    "load's chunk sees the script's own environment" },
		{ "return _G.io", FB_ERR, "_G is the environment, without io" },
		{ "return debug.getinfo(1)", FB_ERR, "no debug library" },
		{ "return coroutine.create(print)", FB_ERR, "no coroutines" },
		{ "return os.time() > 0 and os.clock() >= 0 and 1 or 0", FB_OK,
		    "os.time and os.clock work" },
		{ "return #os.date('%Y')", FB_OK, "os.date works" },
		{ "return os.getenv('HOME')", FB_ERR, "os.getenv refused" },
		{ "print('hello from a rule'); return 1", FB_OK,
		    "print goes to the log" },
		{ "return math.floor(utf8.len('\xc3\xa9') + "
		    "#table.concat({'a'}))", FB_OK, "math, utf8, table work" },
	};
	struct fb_rules	 r;
	struct fb_err	 err = { 0, "" };
	double		 v;
	size_t		 i;
	char		 text[512];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text), "function score(row, query, "
		    "relevance)\n\tif query ~= 'sample' then\n\t\t%s\n\tend\n"
		    "\treturn 1\nend\n", cases[i].body);
		put("ranking.lua", text);
		memset(&r, 0, sizeof(r));
		if (fb_rules_init(&r, dir, &err) != FB_OK) {
			OK(0, cases[i].what);
			continue;
		}
		v = 0;
		EQ_INT(score(&r, "x", &v, &err), cases[i].rc, cases[i].what);
		if (cases[i].rc == FB_OK)
			OK(v != 0, "and the check inside holds");
		if (err.msg[0] != '\0')
			printf("# %s\n", err.msg);
		EQ_INT(fb_lua_top(r.lua), 0, "stack balanced");
		fb_rules_cleanup(&r);
	}
}

/* A global of one script is not visible to another; __gc is refused. */
static void
test_env(void)
{
	struct fb_rules	 r;
	struct fb_err	 err = { 0, "" };
	double		 v;
	char		*text;
	size_t		 len;

	put("filter.lua", "shared = 41\nfunction keep() return true end\n");
	put("ranking.lua", "function score(row, q, rel)\n\tif q == 'x' then "
	    "return shared + 1 end\n\treturn 1\nend\n");
	memset(&r, 0, sizeof(r));
	EQ_INT(fb_rules_init(&r, dir, &err), FB_OK, "two scripts load");
	EQ_INT(score(&r, "x", &v, &err), FB_ERR,
	    "ranking.lua cannot see filter.lua's global");
	OK(strstr(err.msg, "'shared' is not available") != NULL,
	    "the unknown global is named");
	fb_rules_cleanup(&r);
	put("filter.lua", "function keep() return true end\n");
	text = slurp(FIXTURES "gc.lua", &len);
	put("ranking.lua", text);
	free(text);
	memset(&r, 0, sizeof(r));
	EQ_INT(fb_rules_init(&r, dir, &err), FB_OK, "state with gc.lua");
	OK(strstr(r.s[FB_SCRIPT_SCORE].error, "__gc is not available") !=
	    NULL, "a finalizer is refused at load");
	OK(r.s[FB_SCRIPT_SCORE].is_default, "the built-in ranking is used");
	fb_rules_cleanup(&r);
}

int
main(void)
{
	char	*text, cmd[96];
	size_t	 len;

	fb_cfg.log_level = FB_LOG_ERROR;
	(void)snprintf(dir, sizeof(dir), "/tmp/fb-test-script-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return (1);
	text = slurp("scripts/mapping.lua", &len);
	put("mapping.lua", text ? text : "");
	free(text);
	put("filter.lua", "function keep() return true end\n");
	test_load();
	test_top_loop();
	test_runaway();
	test_memory();
	test_escapes();
	test_sandbox();
	test_env();
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return (TEST_DONE());
}
