/*
 * Kore's callbacks: the life of the parent and of each worker.
 *
 * The parent (root, before the fork) reads the configuration, binds the
 * listeners from PORT, HOST and TLS_PORT, makes a self-signed pair on a
 * first run, migrates the database and maps the shared metrics.  Any
 * failure there stops start-up with one line naming what is wrong.  Each
 * worker then opens its own SQLite connection.  The seccomp hook collects
 * the allowances each file declares next to the code that needs them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "server.h"

#define DEMO_CSV	"conf/demo/inventory.csv"

void	kore_parent_configure(int, char **);
void	kore_worker_configure(void);
void	kore_worker_teardown(void);
void	kore_seccomp_hook(void);

static void	app_fail(const char *, ...) __attribute__((format(printf, 1, 2)))
		    __attribute__((noreturn));
static void	app_bind(void);
static void	app_tls(struct kore_server *);
static void	app_migrate(void);
static void	app_demo(struct fb_db *);

/* Threads (Kore tasks), the resolver and glibc 2.36's newer calls. */
struct sock_filter	fb_app_seccomp[] = {
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(set_robust_list),
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(faccessat),
	KORE_SYSCALL_ALLOW(faccessat2),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(madvise),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(getrandom),
};
size_t	fb_app_seccomp_len = KORE_FILTER_LEN(fb_app_seccomp);

void
kore_parent_configure(int argc, char **argv)
{
	struct fb_err	err = { 0, "" };

	(void)argc;
	(void)argv;
	fflush(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fb_config_load(&fb_cfg, &err) != FB_OK)
		app_fail("%s", err.msg);
	app_bind();
	fb_db_global_init();
	app_migrate();
	if (fb_metrics_init(&err) != FB_OK)
		app_fail("%s", err.msg);
	if (fb_admin_init(&err) != FB_OK || fb_pages_load(&err) != FB_OK)
		app_fail("%s", err.msg);
	if (fb_discogs_global_init() != FB_OK)
		app_fail("libcurl: cannot initialise");
	fb_plugins_open();
	if (fb_cfg.discogs_token[0] == '\0')
		fb_log(FB_LOG_WARN, "DISCOGS_TOKEN is not set: no sync will "
		    "run");
}

void
kore_worker_configure(void)
{
	struct fb_err	err = { 0, "" };

	fb_plugins_init();
	fb_rules_worker_init();
	if (fb_db_open(&fb_w.db, fb_cfg.db_path, &err) != FB_OK ||
	    fb_db_prepare_version(&fb_w.db, &err) != FB_OK) {
		fb_log(FB_LOG_ERROR, "worker %u: %s", worker->id, err.msg);
		return;
	}
	fb_w.db_ok = 1;
	fb_sync_worker_init();
}

void
kore_worker_teardown(void)
{
	fb_sync_worker_stop();
	fb_plugins_fini();
	fb_cache_clear();
	fb_rules_worker_cleanup();
	fb_db_close(&fb_w.db);
	fb_w.db_ok = 0;
}

void
kore_seccomp_hook(void)
{
	kore_seccomp_filter("freakinbeats", fb_app_seccomp,
	    fb_app_seccomp_len);
	kore_seccomp_filter("sqlite", fb_db_seccomp, fb_db_seccomp_len);
	kore_seccomp_filter("discogs", fb_discogs_seccomp,
	    fb_discogs_seccomp_len);
}

static void
app_fail(const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "freakinbeats: %s\n", msg);
	exit(1);
}

/* Listeners come from the environment, not from kore.conf. */
static void
app_bind(void)
{
	struct kore_server	*plain, *tls;
	char			 port[8];

	if ((plain = kore_server_lookup("plain")) == NULL ||
	    (tls = kore_server_lookup("tls")) == NULL)
		app_fail("kore.conf: needs the servers 'plain' and 'tls'");
	(void)snprintf(port, sizeof(port), "%u", fb_cfg.port);
	if (!kore_server_bind(plain, fb_cfg.host, port, NULL))
		app_fail("PORT: cannot listen on %s:%s", fb_cfg.host, port);
	fb_log(FB_LOG_INFO, "serving http://%s:%u", fb_cfg.host,
	    fb_cfg.port);
	if (fb_cfg.tls_port == 0) {
		tls->tls = 0;
		return;
	}
	app_tls(tls);
	(void)snprintf(port, sizeof(port), "%u", fb_cfg.tls_port);
	if (!kore_server_bind(tls, fb_cfg.host, port, NULL))
		app_fail("TLS_PORT: cannot listen on %s:%s", fb_cfg.host, port);
	fb_log(FB_LOG_INFO, "serving https://%s:%u", fb_cfg.host,
	    fb_cfg.tls_port);
}

/* Point every TLS domain at TLS_CERT/TLS_KEY, made first if missing. */
static void
app_tls(struct kore_server *srv)
{
	struct kore_domain	*dom;
	struct fb_err		 err = { 0, "" };

	if (fb_tls_ensure_pair(fb_cfg.tls_cert, fb_cfg.tls_key, &err) != FB_OK)
		app_fail("%s", err.msg);
	TAILQ_FOREACH(dom, &srv->domains, list) {
		kore_free(dom->certfile);
		kore_free(dom->certkey);
		dom->certfile = kore_strdup(fb_cfg.tls_cert);
		dom->certkey = kore_strdup(fb_cfg.tls_key);
	}
}

/* Migrate once, in the parent, and close before the workers fork. */
static void
app_migrate(void)
{
	struct fb_db	db;
	struct fb_err	err = { 0, "" };

	if (fb_db_open(&db, fb_cfg.db_path, &err) != FB_OK)
		app_fail("%s", err.msg);
	if (fb_db_migrate(&db, &err) != FB_OK) {
		fb_db_close(&db);
		app_fail("%s", err.msg);
	}
	if (fb_sync_recover_at_start(&db, &err) != FB_OK)
		fb_log(FB_LOG_WARN, "sync runs not recovered: %s", err.msg);
	app_demo(&db);
	fb_db_close(&db);
}

/*
 * A first run without a token still gets a usable shop: the bundled demo
 * inventory, flagged in meta so /healthz says so and the first real sync
 * replaces it.  A failure here is logged, never fatal.
 */
static void
app_demo(struct fb_db *db)
{
	struct fb_import_stats	stats;
	struct fb_err		err = { 0, "" };

	if (fb_cfg.discogs_token[0] != '\0' || fb_listing_total(db, 1) != 0)
		return;
	if (fb_import_file(db, DEMO_CSV, 0, NULL, &stats, &err) != FB_OK ||
	    fb_db_meta_set(db, "demo_inventory", 1, &err) != FB_OK) {
		fb_log(FB_LOG_WARN, "demo inventory not loaded: %s", err.msg);
		return;
	}
	fb_log(FB_LOG_INFO, "empty shop and no DISCOGS_TOKEN: loaded %lld "
	    "demo listings from %s (the first real sync replaces them)",
	    (long long)stats.added, DEMO_CSV);
}
