/*
 * The rules in SCRIPTS_DIR: mapping.lua, filter.lua and ranking.lua in
 * one Lua state, and what /api/rules and `rules check` say about them.
 *
 * fb_rules_poll() looks at the three files (stat, then the content's
 * hash when the stat changed or the file is under 2 s old, so two saves
 * in the same clock tick are told apart) and tries a new version once it
 * has read the same content twice in a row.  A new state is built from
 * scratch: each file compiles, defines its function, and the three pass
 * a self-check on a sample listing; only then does it replace the old
 * one.  A refused file keeps its last good version (or the built-in one)
 * and its error; the other files' new versions still go live.  Nothing
 * here ever stops the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"

#define SCRIPT_MAX	(256 * 1024)	/* bytes per script file */
#define RECENT_S	2		/* re-hash files younger than this */

struct candidate {
	char		*text;			/* owned; NULL: none */
	size_t		 len;
	uint64_t	 hash;
	uint64_t	 key;			/* hash and stat: one change */
};

struct build {
	int		 failed;		/* mask of scripts */
	char		 err[FB_SCRIPT_N][256];
	char		 tb[FB_SCRIPT_N][1024];
};

static int	rules_reload(struct fb_rules *, struct candidate *);
static struct fb_lua *rules_build(struct fb_rules *, struct candidate *,
		    struct build *);
static void	rules_check(struct fb_lua *, struct build *);
static void	rules_commit(struct fb_rules *, struct candidate *,
		    struct fb_lua *);
static void	rules_refuse(struct fb_rules *, struct candidate *,
		    struct build *);
static int	rules_look(struct fb_rules *, int, int, struct candidate *);
static void	rules_gone(struct fb_rules *, int);
static int	rules_read(const char *, struct candidate *, struct fb_err *);
static void	rules_report(struct fb_rules *, int, int, uint64_t);
static void	rules_script_json(const struct fb_rules *, int,
		    struct fb_buf *);
static void	json_time(struct fb_buf *, int64_t);
static void	msg_missing(struct fb_rules_script *);
static void	text_set(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static uint64_t	hash_bytes(const void *, size_t, uint64_t);

/*
 * Loads dir's scripts; a missing or broken one is replaced by the
 * built-in default and its error kept.  FB_ERR only when not even the
 * defaults load (out of memory).  r->report and r->report_arg, if the
 * caller set them, are kept and hear about the first load too.
 */
int
fb_rules_init(struct fb_rules *r, const char *dir, struct fb_err *err)
{
	struct candidate	cand[FB_SCRIPT_N];
	void			(*report)(void *, const struct fb_rules *,
				    int, int, uint64_t) = r->report;
	void			*arg = r->report_arg;
	int			i;
	size_t			n = strlen(dir);

	memset(r, 0, sizeof(*r));
	memset(cand, 0, sizeof(cand));
	r->report = report;
	r->report_arg = arg;
	(void)snprintf(r->dir, sizeof(r->dir), "%s", dir);
	while (n > 1 && r->dir[n - 1] == '/')
		r->dir[--n] = '\0';
	for (i = 0; i < FB_SCRIPT_N; i++) {
		(void)snprintf(r->s[i].path, sizeof(r->s[i].path), "%s/%s",
		    r->dir, fb_script_files[i]);
		r->s[i].is_default = 1;
		(void)rules_look(r, i, 0, &cand[i]);
	}
	if (rules_reload(r, cand) != FB_OK) {
		fb_err_set(err, "rules: the built-in rules do not load: %s",
		    r->s[0].error);
		return (FB_ERR);
	}
	return (FB_OK);
}

void
fb_rules_cleanup(struct fb_rules *r)
{
	int	i;

	fb_lua_free(r->lua);
	for (i = 0; i < FB_SCRIPT_N; i++)
		free(r->s[i].good_text);
	memset(r, 0, sizeof(*r));
}

/*
 * Call every few hundred ms.  Returns 1 when a new state went live: a
 * new version of a file, or a fresh state after a script filled the
 * memory cap (whatever it kept is gone, the same good versions run).
 */
int
fb_rules_poll(struct fb_rules *r)
{
	struct candidate	cand[FB_SCRIPT_N];
	uint64_t		gen = r->generation;
	int			i, n = 0;

	memset(cand, 0, sizeof(cand));
	for (i = 0; i < FB_SCRIPT_N; i++)
		n += rules_look(r, i, 1, &cand[i]);
	if (n == 0 && r->lua != NULL && r->lua->is_exhausted)
		fb_log(FB_LOG_WARN, "rules: a script reached the memory cap; "
		    "starting the rules afresh");
	if (n > 0 || (r->lua != NULL && r->lua->is_exhausted))
		(void)rules_reload(r, cand);
	return (r->generation != gen);
}

/* Whether any script is refused, broken or missing. */
int
fb_rules_has_errors(const struct fb_rules *r)
{
	int	i;

	for (i = 0; i < FB_SCRIPT_N; i++) {
		if (r->s[i].error[0] != '\0')
			return (1);
	}
	return (0);
}

/* A hook call failed at run time: keep it for /api/rules, log sparingly. */
void
fb_rules_call_failed(struct fb_rules *r, int script, const struct fb_err *err)
{
	struct fb_rules_script	*s = &r->s[script];
	int64_t			 now = fb_time_now();

	if (r->is_probe)
		return;
	s->n_call_errors++;
	(void)snprintf(s->call_error, sizeof(s->call_error), "%s", err->msg);
	s->call_error_at = now;
	if (r->report != NULL)
		r->report(r->report_arg, r, script, FB_RULES_CALL_FAILED, 0);
	if (s->call_logged_at != 0 && now - s->call_logged_at < 60)
		return;
	s->call_logged_at = now;
	fb_log(FB_LOG_WARN, "rules: %s failed (%llu so far): %s",
	    fb_script_funcs[script], (unsigned long long)s->n_call_errors,
	    r->lua != NULL ? r->lua->traceback : err->msg);
}

/*
 * One number for the versions in force, the same in every worker that
 * loaded the same files: fit for an ETag of answers ranking.lua orders.
 */
uint64_t
fb_rules_fingerprint(const struct fb_rules *r)
{
	uint64_t	h[FB_SCRIPT_N];
	int		i;

	for (i = 0; i < FB_SCRIPT_N; i++)
		h[i] = r->s[i].is_default ? (uint64_t)i + 1 : r->s[i].good_hash;
	return (hash_bytes(h, sizeof(h), 0));
}

/* The body of GET /api/rules. */
void
fb_rules_json(const struct fb_rules *r, struct fb_buf *b)
{
	int	i, has_default = 0;

	for (i = 0; i < FB_SCRIPT_N; i++)
		has_default |= r->s[i].is_default;
	fb_buf_appendc(b, '{');
	fb_json_key(b, "scripts_dir");
	fb_json_cstr(b, r->dir);
	fb_buf_appendf(b, ",\"generation\":%llu,\"fingerprint\":\"%016llx\","
	    "\"defaults_in_force\":%s,\"has_errors\":%s,\"scripts\":{",
	    (unsigned long long)r->generation,
	    (unsigned long long)fb_rules_fingerprint(r),
	    has_default ? "true" : "false",
	    fb_rules_has_errors(r) ? "true" : "false");
	for (i = 0; i < FB_SCRIPT_N; i++) {
		if (i > 0)
			fb_buf_appendc(b, ',');
		rules_script_json(r, i, b);
	}
	fb_buf_appendf(b, "},\"lua\":{\"memory_bytes\":%zu,\"memory_max\":%zu,"
	    "\"stack_top\":%d}}", r->lua ? r->lua->mem_used : 0,
	    r->lua ? r->lua->mem_max : 0, r->lua ? fb_lua_top(r->lua) : 0);
}

/*
 * Builds a state from the candidates (new versions) and the last good
 * versions of the others.  A candidate that fails is refused and the
 * build retried without it, so good news in other files still goes live.
 */
static int
rules_reload(struct fb_rules *r, struct candidate *cand)
{
	struct build	 b;
	struct fb_lua	*lua;
	int		 i, n;

	for (;;) {
		if ((lua = rules_build(r, cand, &b)) != NULL) {
			rules_commit(r, cand, lua);
			return (FB_OK);
		}
		rules_refuse(r, cand, &b);
		for (n = 0, i = 0; i < FB_SCRIPT_N; i++)
			n += cand[i].text != NULL;
		if (n == 0)
			break;
	}
	if (r->lua == NULL) {
		for (i = 0; i < FB_SCRIPT_N; i++) {
			if (b.failed & (1 << i))
				(void)snprintf(r->s[0].error,
				    sizeof(r->s[0].error), "%s", b.err[i]);
		}
	}
	return (r->lua != NULL ? FB_OK : FB_ERR);
}

/* New: a state with every script loaded and checked, or NULL and b. */
static struct fb_lua *
rules_build(struct fb_rules *r, struct candidate *cand, struct build *b)
{
	struct fb_lua	*lua;
	struct fb_err	 err = { 0, "" };
	const char	*text;
	size_t		 len;
	char		 name[300];
	int		 i;

	memset(b, 0, sizeof(*b));
	if ((lua = fb_lua_new(FB_LUA_MEM_MAX, &err)) == NULL) {
		b->failed = 1;
		(void)snprintf(b->err[0], sizeof(b->err[0]), "%s", err.msg);
		return (NULL);
	}
	for (i = 0; i < FB_SCRIPT_N; i++) {
		text = cand[i].text ? cand[i].text : r->s[i].good_text;
		len = cand[i].text ? cand[i].len : r->s[i].good_len;
		if (text == NULL) {
			text = fb_rules_defaults[i];
			len = strlen(text);
			(void)snprintf(name, sizeof(name), "built-in %s",
			    fb_script_files[i]);
		} else
			(void)snprintf(name, sizeof(name), "%s",
			    r->s[i].path);
		fb_err_clear(&err);
		if (fb_lua_load(lua, i, name, text, len, &err) != FB_OK) {
			b->failed |= 1 << i;
			(void)snprintf(b->err[i], sizeof(b->err[i]), "%s",
			    err.msg);
			(void)snprintf(b->tb[i], sizeof(b->tb[i]), "%s",
			    lua->traceback);
		}
	}
	if (b->failed == 0)
		rules_check(lua, b);
	if (b->failed != 0) {
		fb_lua_free(lua);
		return (NULL);
	}
	return (lua);
}

/* The self-check: map, keep and score on the sample listing. */
static void
rules_check(struct fb_lua *lua, struct build *b)
{
	struct fb_rules	 probe;
	struct fb_row	 row;
	struct fb_err	 err = { 0, "" };
	json_t		*sample;
	double		 score;
	char		 reason[128];
	int		 kept, i = FB_SCRIPT_MAP, rc;

	memset(&probe, 0, sizeof(probe));
	probe.lua = lua;
	probe.is_probe = 1;
	fb_row_init(&row);
	if ((sample = json_loads(fb_rules_sample_listing, 0, NULL)) == NULL)
		abort();
	rc = fb_hook_map(&probe, sample, &row, &err);
	if (rc == FB_OK) {
		i = FB_SCRIPT_KEEP;
		rc = fb_hook_keep(&probe, &row, sample, &kept, reason,
		    sizeof(reason), &err);
	}
	if (rc == FB_OK) {
		i = FB_SCRIPT_SCORE;
		rc = fb_hook_score_row(&probe, &row, "sample", 1.0, &score,
		    &err);
	}
	if (rc != FB_OK) {
		b->failed |= 1 << i;
		(void)snprintf(b->err[i], sizeof(b->err[i]), "%s (self-check "
		    "on a sample listing)", err.msg);
		(void)snprintf(b->tb[i], sizeof(b->tb[i]), "%s",
		    lua->traceback);
	}
	fb_row_cleanup(&row);
	json_decref(sample);
}

/* The new state goes live; candidates become the good versions. */
static void
rules_commit(struct fb_rules *r, struct candidate *cand, struct fb_lua *lua)
{
	struct fb_rules_script	*s;
	int			 i;

	fb_lua_free(r->lua);
	r->lua = lua;
	r->generation++;
	for (i = 0; i < FB_SCRIPT_N; i++) {
		if (cand[i].text == NULL)
			continue;
		s = &r->s[i];
		free(s->good_text);
		s->good_text = cand[i].text;
		s->good_len = cand[i].len;
		s->good_hash = s->tried_hash = cand[i].hash;
		s->loaded_at = fb_time_now();
		s->is_default = 0;
		s->error[0] = s->traceback[0] = '\0';
		s->error_at = 0;
		s->n_call_errors = 0;
		s->call_error[0] = '\0';
		s->call_logged_at = 0;
		cand[i].text = NULL;
		rules_report(r, i, FB_RULES_LOADED, cand[i].key);
	}
}

/* Refuses the candidates the build blames (all of them if none is). */
static void
rules_refuse(struct fb_rules *r, struct candidate *cand, struct build *b)
{
	struct fb_rules_script	*s;
	int			 i, first = -1, blame = 0;

	for (i = 0; i < FB_SCRIPT_N; i++) {
		if (first < 0 && (b->failed & (1 << i)))
			first = i;
		if (cand[i].text != NULL && (b->failed & (1 << i)))
			blame |= 1 << i;
	}
	for (i = 0; blame == 0 && i < FB_SCRIPT_N; i++) {
		if (cand[i].text != NULL)
			blame |= 1 << i;
	}
	for (i = 0; i < FB_SCRIPT_N; i++) {
		if (!(blame & (1 << i)))
			continue;
		s = &r->s[i];
		(void)snprintf(s->error, sizeof(s->error), "%s",
		    b->err[b->failed & (1 << i) ? i : first]);
		(void)snprintf(s->traceback, sizeof(s->traceback), "%s",
		    b->tb[b->failed & (1 << i) ? i : first]);
		s->error_at = fb_time_now();
		s->tried_hash = cand[i].hash;
		free(cand[i].text);
		cand[i].text = NULL;
		rules_report(r, i, FB_RULES_FAILED, cand[i].key);
	}
}

/*
 * Looks at script i's file.  Returns 1 with cand filled when there is a
 * version to try.  With settle, a new content must be read twice in a
 * row (a save in progress is not tried).
 */
static int
rules_look(struct fb_rules *r, int i, int settle, struct candidate *cand)
{
	struct fb_rules_script	*s = &r->s[i];
	struct stat		 st;
	struct fb_err		 err = { 0, "" };
	uint64_t		 sig[4];

	if (stat(s->path, &st) == -1) {
		rules_gone(r, i);
		return (0);
	}
	sig[0] = (uint64_t)st.st_ino;
	sig[1] = (uint64_t)st.st_size;
	sig[2] = (uint64_t)st.st_mtim.tv_sec;
	sig[3] = (uint64_t)st.st_mtim.tv_nsec;
	if (settle && !s->is_missing && !s->is_settling &&
	    fb_time_now() - (int64_t)st.st_mtim.tv_sec > RECENT_S &&
	    memcmp(sig, s->sig, sizeof(sig)) == 0)
		return (0);
	memcpy(s->sig, sig, sizeof(sig));
	if (rules_read(s->path, cand, &err) != FB_OK) {
		if (strncmp(s->error, err.msg, strlen(err.msg)) != 0) {
			text_set(s->error, sizeof(s->error), "%s; the version "
			    "in force stays", err.msg);
			s->traceback[0] = '\0';
			s->error_at = fb_time_now();
			s->tried_hash = 0;
			rules_report(r, i, FB_RULES_FAILED,
			    hash_bytes(sig, sizeof(sig), 0x72656164));
		}
		s->is_settling = 1;
		return (0);
	}
	s->is_missing = 0;
	if (settle && cand->hash != s->seen_hash) {
		s->seen_hash = cand->hash;
		s->is_settling = 1;
		free(cand->text);
		cand->text = NULL;
		return (0);
	}
	s->seen_hash = cand->hash;
	s->is_settling = 0;
	cand->key = hash_bytes(sig, sizeof(sig), cand->hash);
	if (!s->is_default && cand->hash == s->good_hash) {
		if (s->error[0] != '\0') {
			s->error[0] = s->traceback[0] = '\0';
			s->tried_hash = cand->hash;
			rules_report(r, i, FB_RULES_LOADED, cand->key);
		}
	} else if (cand->hash != s->tried_hash)
		return (1);
	free(cand->text);
	cand->text = NULL;
	return (0);
}

/* The file is gone: the version in force stays, and that is reported. */
static void
rules_gone(struct fb_rules *r, int i)
{
	struct fb_rules_script	*s = &r->s[i];

	if (s->is_missing)
		return;
	s->is_missing = 1;
	s->is_settling = 0;
	s->seen_hash = s->tried_hash = 0;
	msg_missing(s);
	s->traceback[0] = '\0';
	s->error_at = fb_time_now();
	rules_report(r, i, FB_RULES_MISSING,
	    hash_bytes(s->sig, sizeof(s->sig), 0x6d697373));
	memset(s->sig, 0, sizeof(s->sig));
}

/* New: the file's bytes in cand, with their hash. */
static int
rules_read(const char *path, struct candidate *cand, struct fb_err *err)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		fb_err_set(err, "%s: %s", path, strerror(errno));
		return (FB_ERR);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fb_err_set(err, "%s: not a readable file", path);
		close(fd);
		return (FB_ERR);
	}
	if (st.st_size > SCRIPT_MAX) {
		st.st_size = SCRIPT_MAX + 1;		/* refused below */
	}
	if ((cand->text = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	while (got < (size_t)st.st_size &&
	    (n = read(fd, cand->text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	cand->text[got] = '\0';
	cand->len = got;
	cand->hash = hash_bytes(cand->text, got, 0);
	if (got > SCRIPT_MAX) {
		/* Refused with a clear message by the compile step. */
		(void)snprintf(cand->text, got + 1, "error('%s is larger "
		    "than %d KB')", path, SCRIPT_MAX / 1024);
		cand->len = strlen(cand->text);
	}
	return (FB_OK);
}

static void
rules_report(struct fb_rules *r, int i, int kind, uint64_t key)
{
	if (r->report != NULL)
		r->report(r->report_arg, r, i, kind, key);
	else
		fb_rules_log(r, i, kind);
}

/* One log line for a rules event of script i (FB_RULES_*). */
void
fb_rules_log(const struct fb_rules *r, int i, int kind)
{
	const struct fb_rules_script	*s = &r->s[i];

	if (kind == FB_RULES_LOADED)
		fb_log(FB_LOG_INFO, "rules: %s is live (version %016llx)",
		    s->path, (unsigned long long)s->good_hash);
	else if (kind == FB_RULES_MISSING)
		fb_log(FB_LOG_WARN, "rules: %s", s->error);
	else if (kind != FB_RULES_CALL_FAILED)
		fb_log(FB_LOG_ERROR, "rules: %s; the previous version stays%s",
		    s->error, strchr(s->traceback, '\n') ?
		    strchr(s->traceback, '\n') : "");
}

static void
rules_script_json(const struct fb_rules *r, int i, struct fb_buf *b)
{
	const struct fb_rules_script	*s = &r->s[i];
	const char			*state = "ok";

	if (s->is_missing)
		state = "missing";
	else if (s->error[0] != '\0')
		state = "error";
	else if (s->is_default)
		state = "default";
	fb_json_key(b, fb_script_files[i]);
	fb_buf_appendc(b, '{');
	fb_json_key(b, "file");
	fb_json_cstr(b, s->path);
	fb_buf_appendf(b, ",\"function\":\"%s\",\"state\":\"%s\","
	    "\"defaults\":%s,\"version\":", fb_script_funcs[i], state,
	    s->is_default ? "true" : "false");
	if (s->is_default)
		fb_buf_appends(b, "\"built-in\"");
	else
		fb_buf_appendf(b, "\"%016llx\"",
		    (unsigned long long)s->good_hash);
	fb_buf_appends(b, ",\"loaded_at\":");
	json_time(b, s->loaded_at);
	fb_buf_appends(b, ",\"error\":");
	fb_json_cstr(b, s->error[0] ? s->error : NULL);
	fb_buf_appends(b, ",\"traceback\":");
	fb_json_cstr(b, s->traceback[0] ? s->traceback : NULL);
	fb_buf_appends(b, ",\"error_at\":");
	json_time(b, s->error_at);
	fb_buf_appendf(b, ",\"call_errors\":%llu,\"last_call_error\":",
	    (unsigned long long)s->n_call_errors);
	fb_json_cstr(b, s->call_error[0] ? s->call_error : NULL);
	fb_buf_appends(b, ",\"last_call_error_at\":");
	json_time(b, s->call_error_at);
	fb_buf_appendc(b, '}');
}

static void
json_time(struct fb_buf *b, int64_t t)
{
	char	iso[32];

	if (t == 0) {
		fb_buf_appends(b, "null");
		return;
	}
	fb_time_iso(iso, sizeof(iso), t);
	fb_json_cstr(b, iso);
}

static void
msg_missing(struct fb_rules_script *s)
{
	char	path[sizeof(s->path)];

	memcpy(path, s->path, sizeof(path));
	text_set(s->error, sizeof(s->error), "%s: missing (deleted or not "
	    "created yet); %s stays in force", path, s->is_default ?
	    "the built-in version" : "the last good version");
}

/* snprintf that may cut, without the compiler's truncation warnings. */
static void
text_set(char *dst, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

static uint64_t
hash_bytes(const void *p, size_t n, uint64_t seed)
{
	return (fb_hash(p, n, FB_HASH_INIT ^ seed));
}
