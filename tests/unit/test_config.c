/*
 * config.c and env.c: defaults, every variable's checks, the .env file,
 * and the rule that a message names the variable but never a secret.
 */
#include <stdlib.h>

#include "app.h"
#include "test.h"

static const char	*all_vars[] = {
	"PORT", "HOST", "TLS_PORT", "TLS_CERT", "TLS_KEY", "DATABASE_URL",
	"DISCOGS_TOKEN", "DISCOGS_SELLER_USERNAME", "DISCOGS_API_URL",
	"DISCOGS_USER_AGENT", "DISCOGS_MIN_INTERVAL_MS", "SYNC_INTERVAL_HOURS",
	"ENABLE_AUTO_SYNC", "SYNC_MAX_REMOVE_FRACTION", "ADMIN_PASSPHRASE",
	"SCRIPTS_DIR", "LOG_LEVEL", NULL
};

static void
clear_env(void)
{
	int	i;

	for (i = 0; all_vars[i] != NULL; i++)
		unsetenv(all_vars[i]);
}

/* Parses with one variable set; returns the result, message in err. */
static int
parse_with(const char *name, const char *value, struct fb_config *cfg,
    struct fb_err *err)
{
	clear_env();
	fb_err_clear(err);
	setenv(name, value, 1);
	return (fb_config_parse(cfg, NULL, err));
}

static void
test_defaults(void)
{
	struct fb_config	cfg;
	struct fb_err		err = { 0, "" };

	clear_env();
	EQ_INT(fb_config_parse(&cfg, NULL, &err), FB_OK, "defaults parse");
	EQ_INT(cfg.port, 3000, "PORT defaults to 3000");
	EQ_STR(cfg.host, "127.0.0.1", "HOST defaults to 127.0.0.1");
	EQ_INT(cfg.tls_port, 3443, "TLS_PORT defaults to 3443");
	EQ_STR(cfg.tls_cert, "conf/cert/server.pem", "TLS_CERT default");
	EQ_STR(cfg.db_path, "freakinbeats.db", "sqlite:/// prefix removed");
	EQ_STR(cfg.discogs_api_url, "https://api.discogs.com", "API URL");
	EQ_STR(cfg.discogs_user_agent, "Freakinbeats/" FB_VERSION,
	    "user agent default");
	EQ_INT(cfg.discogs_min_interval_ms, 1000, "min interval default");
	OK(cfg.sync_interval_hours == 1.0, "sync interval default 1 h");
	EQ_INT(cfg.enable_auto_sync, 1, "auto sync on by default");
	OK(cfg.sync_max_remove_fraction == 0.5, "remove fraction 0.5");
	EQ_STR(cfg.scripts_dir, "scripts", "SCRIPTS_DIR default");
	EQ_INT(cfg.log_level, FB_LOG_INFO, "LOG_LEVEL default info");
}

static void
test_good_values(void)
{
	struct fb_config	cfg;
	struct fb_err		err = { 0, "" };

	EQ_INT(parse_with("SYNC_INTERVAL_HOURS", "0.001", &cfg, &err), FB_OK,
	    "fractional hours accepted");
	OK(cfg.sync_interval_hours == 0.001, "0.001 hours kept");
	EQ_INT(parse_with("DATABASE_URL", "sqlite:////var/x.db", &cfg, &err),
	    FB_OK, "absolute sqlite URL");
	EQ_STR(cfg.db_path, "/var/x.db", "absolute path kept");
	EQ_INT(parse_with("DATABASE_URL", "data/shop.db", &cfg, &err), FB_OK,
	    "plain path accepted");
	EQ_STR(cfg.db_path, "data/shop.db", "plain path kept");
	EQ_INT(parse_with("TLS_PORT", "0", &cfg, &err), FB_OK,
	    "TLS_PORT=0 disables TLS");
	EQ_INT(parse_with("ENABLE_AUTO_SYNC", "FALSE", &cfg, &err), FB_OK,
	    "booleans ignore case");
	EQ_INT(cfg.enable_auto_sync, 0, "FALSE is false");
	EQ_INT(parse_with("DISCOGS_API_URL", "http://127.0.0.1:9/", &cfg,
	    &err), FB_OK, "http URL for the fake");
	EQ_STR(cfg.discogs_api_url, "http://127.0.0.1:9", "trailing / cut");
	EQ_INT(parse_with("LOG_LEVEL", "WARNING", &cfg, &err), FB_OK,
	    "Python-style level names");
	EQ_INT(cfg.log_level, FB_LOG_WARN, "WARNING is warn");
}

static void
test_bad_values(void)
{
	static const struct { const char *name, *value; } bad[] = {
		{ "PORT", "abc" }, { "PORT", "0" }, { "PORT", "70000" },
		{ "PORT", "-1" }, { "PORT", "80x" }, { "TLS_PORT", "abc" },
		{ "HOST", "bad host" }, { "DATABASE_URL", "postgres://x/y" },
		{ "DATABASE_URL", "sqlite:///" }, { "DISCOGS_API_URL", "ftp://x" },
		{ "DISCOGS_SELLER_USERNAME", "a b" },
		{ "DISCOGS_MIN_INTERVAL_MS", "-5" },
		{ "SYNC_INTERVAL_HOURS", "-1" }, { "SYNC_INTERVAL_HOURS", "0" },
		{ "SYNC_INTERVAL_HOURS", "nan" }, { "ENABLE_AUTO_SYNC", "maybe" },
		{ "SYNC_MAX_REMOVE_FRACTION", "2" }, { "LOG_LEVEL", "loud" },
		{ "SCRIPTS_DIR", "" },
	};
	struct fb_config	cfg;
	struct fb_err		err = { 0, "" };
	char			what[128];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(what, sizeof(what), "%s=%s is refused, named",
		    bad[i].name, bad[i].value);
		OK(parse_with(bad[i].name, bad[i].value, &cfg, &err) ==
		    FB_ERR && strncmp(err.msg, bad[i].name,
		    strlen(bad[i].name)) == 0, what);
	}
	clear_env();
	setenv("PORT", "4000", 1);
	setenv("TLS_PORT", "4000", 1);
	fb_err_clear(&err);
	OK(fb_config_parse(&cfg, NULL, &err) == FB_ERR &&
	    strncmp(err.msg, "TLS_PORT", 8) == 0, "TLS_PORT equal to PORT");
}

static void
test_secrets_not_echoed(void)
{
	struct fb_config	cfg;
	struct fb_err		err = { 0, "" };

	OK(parse_with("DISCOGS_TOKEN", "sekrit\001tok", &cfg, &err) == FB_ERR,
	    "control character in the token refused");
	OK(strstr(err.msg, "sekrit") == NULL, "the token is not echoed");
	OK(strncmp(err.msg, "DISCOGS_TOKEN", 13) == 0, "message names it");
}

static void
test_dotenv(void)
{
	struct fb_env		env;
	struct fb_config	cfg;
	struct fb_err		err = { 0, "" };
	char			text[] = "# shop settings\n"
			    "export PORT=4100\r\n"
			    "HOST = 0.0.0.0\n"
			    "DISCOGS_SELLER_USERNAME='colin_house'\n"
			    "LOG_LEVEL=debug # chatty\n"
			    "\n";
	char			bad[] = "PORT=1\nthis is not a pair\n";
	char			badq[] = "X=\"open\n";

	clear_env();
	EQ_INT(fb_env_parse(&env, strdup(text), ".env", &err), FB_OK,
	    ".env parses");
	EQ_INT(fb_config_parse(&cfg, &env, &err), FB_OK, ".env applies");
	EQ_INT(cfg.port, 4100, "export NAME=value with CRLF");
	EQ_STR(cfg.host, "0.0.0.0", "spaces around = trimmed");
	EQ_STR(cfg.discogs_seller, "colin_house", "single quotes removed");
	EQ_INT(cfg.log_level, FB_LOG_DEBUG, "trailing comment removed");
	setenv("PORT", "4200", 1);
	EQ_INT(fb_config_parse(&cfg, &env, &err), FB_OK, "env + .env");
	EQ_INT(cfg.port, 4200, "the environment wins over .env");
	fb_env_cleanup(&env);
	fb_err_clear(&err);
	EQ_INT(fb_env_parse(&env, strdup(bad), ".env", &err), FB_ERR,
	    "a line without = is refused");
	EQ_STR(err.msg, ".env:2: expected NAME=value", "named as .env:2");
	fb_env_cleanup(&env);
	fb_err_clear(&err);
	EQ_INT(fb_env_parse(&env, strdup(badq), ".env", &err), FB_ERR,
	    "an unterminated quote is refused");
	fb_env_cleanup(&env);
	EQ_INT(fb_env_read(&env, "/nonexistent/.env", &err), FB_OK,
	    "a missing .env is fine");
	fb_env_cleanup(&env);
}

int
main(void)
{
	test_defaults();
	test_good_values();
	test_bad_values();
	test_secrets_not_echoed();
	test_dotenv();
	return (TEST_DONE());
}
