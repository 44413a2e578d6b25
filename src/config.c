/*
 * Configuration: exactly the environment variables of DESIGN.md.
 *
 * Each variable has one row in the table below: its name, its default and
 * the parser that checks it.  A bad value fails with one line that names
 * the variable and says what was expected.  The process environment wins
 * over .env.  The token and the passphrase are never echoed back in an
 * error message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"

struct fb_config	fb_cfg = { .log_level = FB_LOG_INFO };

struct config_var {
	const char	*name;
	const char	*def;
	int		(*parse)(struct fb_config *, const char *,
			    const char *, struct fb_err *);
};

static int	parse_port(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_host(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_path(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_secret(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_seller(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_url(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_agent(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_interval(struct fb_config *, const char *,
		    const char *, struct fb_err *);
static int	parse_hours(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_bool(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_fraction(struct fb_config *, const char *,
		    const char *, struct fb_err *);
static int	parse_level(struct fb_config *, const char *, const char *,
		    struct fb_err *);
static int	parse_database(struct fb_config *, const char *,
		    const char *, struct fb_err *);
static int	copy_value(char *, size_t, const char *, const char *,
		    struct fb_err *);
static const char *lookup(const struct fb_env *, const char *);

static const struct config_var	vars[] = {
	{ "PORT",			"3000",		parse_port },
	{ "HOST",			"127.0.0.1",	parse_host },
	{ "TLS_PORT",			"3443",		parse_port },
	{ "TLS_CERT",		"conf/cert/server.pem",	parse_path },
	{ "TLS_KEY",		"conf/cert/key.pem",	parse_path },
	{ "DATABASE_URL",	"sqlite:///freakinbeats.db", parse_database },
	{ "DISCOGS_TOKEN",		"",		parse_secret },
	{ "DISCOGS_SELLER_USERNAME",	"",		parse_seller },
	{ "DISCOGS_API_URL",	"https://api.discogs.com", parse_url },
	{ "DISCOGS_USER_AGENT",	"Freakinbeats/" FB_VERSION, parse_agent },
	{ "DISCOGS_MIN_INTERVAL_MS",	"1000",		parse_interval },
	{ "SYNC_INTERVAL_HOURS",	"1",		parse_hours },
	{ "ENABLE_AUTO_SYNC",		"true",		parse_bool },
	{ "SYNC_MAX_REMOVE_FRACTION",	"0.5",		parse_fraction },
	{ "ADMIN_PASSPHRASE",		"",		parse_secret },
	{ "SCRIPTS_DIR",		"scripts",	parse_path },
	{ "LOG_LEVEL",			"info",		parse_level },
};

/* The server and the CLI: read ./.env, then the environment. */
int
fb_config_load(struct fb_config *cfg, struct fb_err *err)
{
	struct fb_env	env;
	int		rc;

	if (fb_env_read(&env, ".env", err) != FB_OK)
		return (FB_ERR);
	rc = fb_config_parse(cfg, &env, err);
	fb_env_cleanup(&env);
	return (rc);
}

int
fb_config_parse(struct fb_config *cfg, const struct fb_env *env,
    struct fb_err *err)
{
	const char	*value;
	size_t		 i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if ((value = lookup(env, vars[i].name)) == NULL)
			value = vars[i].def;
		if (vars[i].parse(cfg, vars[i].name, value, err) != FB_OK)
			return (FB_ERR);
	}
	if (cfg->tls_port != 0 && cfg->tls_port == cfg->port) {
		fb_err_set(err, "TLS_PORT: %u is also PORT; use another port "
		    "or 0 to disable TLS", cfg->tls_port);
		return (FB_ERR);
	}
	return (FB_OK);
}

static const char *
lookup(const struct fb_env *env, const char *name)
{
	const char	*v;
	int		 i;

	if ((v = getenv(name)) != NULL)
		return (v);
	for (i = 0; env != NULL && i < env->n_vars; i++) {
		if (strcmp(env->names[i], name) == 0)
			return (env->values[i]);
	}
	return (NULL);
}

static int
parse_port(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	char		*end;
	unsigned long	 n;
	int		 is_tls = strcmp(name, "TLS_PORT") == 0;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    n > 65535 || (n == 0 && !is_tls)) {
		fb_err_set(err, "%s: '%.32s' is not a port number (%s-65535)",
		    name, v, is_tls ? "0" : "1");
		return (FB_ERR);
	}
	if (is_tls)
		cfg->tls_port = (uint16_t)n;
	else
		cfg->port = (uint16_t)n;
	return (FB_OK);
}

static int
parse_host(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	unsigned char	addr[16];
	size_t		i;

	if (inet_pton(AF_INET, v, addr) == 1 ||
	    inet_pton(AF_INET6, v, addr) == 1)
		return (copy_value(cfg->host, sizeof(cfg->host), name, v, err));
	for (i = 0; v[i] != '\0'; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != '.')
			break;
	}
	if (i == 0 || v[i] != '\0') {
		fb_err_set(err, "%s: '%.64s' is not an IP address or host "
		    "name", name, v);
		return (FB_ERR);
	}
	return (copy_value(cfg->host, sizeof(cfg->host), name, v, err));
}

static int
parse_path(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	char	*dst;

	if (*v == '\0') {
		fb_err_set(err, "%s: must not be empty", name);
		return (FB_ERR);
	}
	if (strcmp(name, "TLS_CERT") == 0)
		dst = cfg->tls_cert;
	else if (strcmp(name, "TLS_KEY") == 0)
		dst = cfg->tls_key;
	else
		dst = cfg->scripts_dir;
	return (copy_value(dst, sizeof(cfg->scripts_dir), name, v, err));
}

/* Both secrets: any printable text; the value never appears in errors. */
static int
parse_secret(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	size_t	i;
	char	*dst;

	dst = strcmp(name, "DISCOGS_TOKEN") == 0 ?
	    cfg->discogs_token : cfg->admin_passphrase;
	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			fb_err_set(err, "%s: contains a control character "
			    "at position %zu", name, i + 1);
			return (FB_ERR);
		}
	}
	if (i >= sizeof(cfg->discogs_token)) {
		fb_err_set(err, "%s: longer than %zu characters", name,
		    sizeof(cfg->discogs_token) - 1);
		return (FB_ERR);
	}
	memcpy(dst, v, i + 1);
	return (FB_OK);
}

static int
parse_seller(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	size_t	i;

	for (i = 0; v[i] != '\0'; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != '_' && v[i] != '.') {
			fb_err_set(err, "%s: '%.64s' is not a Discogs user "
			    "name (letters, digits, - _ .)", name, v);
			return (FB_ERR);
		}
	}
	return (copy_value(cfg->discogs_seller, sizeof(cfg->discogs_seller),
	    name, v, err));
}

static int
parse_url(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	size_t	n;

	if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
	    || strpbrk(v, " \t\r\n") != NULL || strlen(v) < 10) {
		fb_err_set(err, "%s: '%.64s' is not an http:// or https:// "
		    "URL", name, v);
		return (FB_ERR);
	}
	if (copy_value(cfg->discogs_api_url, sizeof(cfg->discogs_api_url),
	    name, v, err) != FB_OK)
		return (FB_ERR);
	n = strlen(cfg->discogs_api_url);
	while (n > 0 && cfg->discogs_api_url[n - 1] == '/')
		cfg->discogs_api_url[--n] = '\0';
	return (FB_OK);
}

static int
parse_agent(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	size_t	i;

	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			fb_err_set(err, "%s: contains a control character",
			    name);
			return (FB_ERR);
		}
	}
	if (i == 0) {
		fb_err_set(err, "%s: must not be empty", name);
		return (FB_ERR);
	}
	return (copy_value(cfg->discogs_user_agent,
	    sizeof(cfg->discogs_user_agent), name, v, err));
}

static int
parse_interval(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	char		*end;
	unsigned long	 n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    n > 600000) {
		fb_err_set(err, "%s: '%.32s' is not a whole number of "
		    "milliseconds (0-600000)", name, v);
		return (FB_ERR);
	}
	cfg->discogs_min_interval_ms = (uint32_t)n;
	return (FB_OK);
}

static int
parse_hours(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	char	*end;
	double	 h;

	errno = 0;
	h = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno != 0 || !isfinite(h) ||
	    h <= 0 || h > 8760) {
		fb_err_set(err, "%s: '%.32s' is not a number of hours above "
		    "0 and at most 8760", name, v);
		return (FB_ERR);
	}
	cfg->sync_interval_hours = h;
	return (FB_OK);
}

static int
parse_bool(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	static const char	*yes[] = { "1", "true", "yes", "on" };
	static const char	*no[] = { "0", "false", "no", "off" };
	size_t			 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			cfg->enable_auto_sync = 1;
			return (FB_OK);
		}
		if (strcasecmp(v, no[i]) == 0) {
			cfg->enable_auto_sync = 0;
			return (FB_OK);
		}
	}
	fb_err_set(err, "%s: '%.32s' is not true or false", name, v);
	return (FB_ERR);
}

static int
parse_fraction(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	char	*end;
	double	 f;

	errno = 0;
	f = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno != 0 || !isfinite(f) ||
	    f < 0 || f > 1) {
		fb_err_set(err, "%s: '%.32s' is not a fraction between 0 "
		    "and 1", name, v);
		return (FB_ERR);
	}
	cfg->sync_max_remove_fraction = f;
	return (FB_OK);
}

static int
parse_level(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	static const struct { const char *s; int level; } levels[] = {
		{ "critical", FB_LOG_ERROR }, { "error", FB_LOG_ERROR },
		{ "warning", FB_LOG_WARN }, { "warn", FB_LOG_WARN },
		{ "info", FB_LOG_INFO }, { "debug", FB_LOG_DEBUG },
	};
	size_t	i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcasecmp(v, levels[i].s) == 0) {
			cfg->log_level = levels[i].level;
			return (FB_OK);
		}
	}
	fb_err_set(err, "%s: '%.32s' is not one of debug, info, warning, "
	    "error", name, v);
	return (FB_ERR);
}

/* sqlite:///relative.db, sqlite:////absolute.db, or a plain path. */
static int
parse_database(struct fb_config *cfg, const char *name, const char *v,
    struct fb_err *err)
{
	const char	*path = v;

	if (strncmp(v, "sqlite:///", 10) == 0)
		path = v + 10;
	else if (strstr(v, "://") != NULL) {
		fb_err_set(err, "%s: '%.64s' is not sqlite:///PATH or a file "
		    "path", name, v);
		return (FB_ERR);
	}
	if (*path == '\0') {
		fb_err_set(err, "%s: names no database file", name);
		return (FB_ERR);
	}
	return (copy_value(cfg->db_path, sizeof(cfg->db_path), name, path,
	    err));
}

static int
copy_value(char *dst, size_t len, const char *name, const char *v,
    struct fb_err *err)
{
	if (strlen(v) >= len) {
		fb_err_set(err, "%s: longer than %zu characters", name,
		    len - 1);
		return (FB_ERR);
	}
	memcpy(dst, v, strlen(v) + 1);
	return (FB_OK);
}
