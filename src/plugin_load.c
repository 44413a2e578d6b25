/*
 * Plugins, before they run: conf/plugins.conf and the loader's checks.
 *
 * The conf lists the plugins that load, in order, and their settings.
 * A bad line is reported as `conf/plugins.conf:N: ...` and skipped; the
 * server starts anyway.  Each listed file is opened with dlopen(RTLD_NOW
 * | RTLD_LOCAL), so its symbols never mix with the core's or another
 * plugin's, and only its descriptor `fb_plugin_entry` is looked up.  A
 * plugin built for another ABI major or a newer minor is refused with
 * both versions in the message.  Nothing here calls plugin code except
 * the file's own constructors, which dlopen runs; init runs in plugin.c.
 * Kore-free, so the unit tests drive it with the fixture plugins.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "public/freakinbeats-plugin.h"

#define CONF_MAX_BYTES		(256 * 1024)
#define KEY_MAX			64

static void	conf_line(struct fb_plugin_set *, char *, const char *, int);
static void	conf_plugin(struct fb_plugin_set *, char *, const char *, int);
static void	conf_setting(struct fb_plugin_set *, char *, char *, char *,
		    const char *, int);
static void	conf_error(struct fb_plugin_set *, const char *, int,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static char	*conf_word(char **);
static int	name_ok(const char *, int);
static struct fb_plugin_rec *set_find(struct fb_plugin_set *, const char *);
static int	open_check(struct fb_plugin_rec *,
		    const struct fb_plugin *);

/*
 * Reads and parses path.  A missing file means no plugins (FB_OK, with
 * has_conf 0); an unreadable one is FB_ERR, logged.
 */
int
fb_plugin_conf_read(struct fb_plugin_set *set, const char *path)
{
	FILE	*f;
	char	*text;
	size_t	 n;

	memset(set, 0, sizeof(*set));
	(void)snprintf(set->conf, sizeof(set->conf), "%s", path);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return (FB_OK);
		fb_log(FB_LOG_ERROR, "%s: %s: no plugins loaded", path,
		    strerror(errno));
		return (FB_ERR);
	}
	if ((text = malloc(CONF_MAX_BYTES + 1)) == NULL)
		abort();
	n = fread(text, 1, CONF_MAX_BYTES + 1, f);
	fclose(f);
	if (n > CONF_MAX_BYTES) {
		fb_log(FB_LOG_ERROR, "%s: larger than %d bytes: no plugins "
		    "loaded", path, CONF_MAX_BYTES);
		free(text);
		return (FB_ERR);
	}
	text[n] = '\0';
	fb_plugin_conf_parse(set, text, path);
	set->has_conf = 1;
	free(text);
	return (FB_OK);
}

/* Parses text (modified in place) into set; name is for messages. */
void
fb_plugin_conf_parse(struct fb_plugin_set *set, char *text, const char *name)
{
	char	*line, *next;
	int	 n = 0;

	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		conf_line(set, line, name, ++n);
	}
}

/*
 * Opens rec->path and checks its descriptor.  On success the state is
 * FB_PLUGIN_OPENED; otherwise FB_PLUGIN_REFUSED with the reason, and the
 * file is closed again.  The caller logs the reason.
 */
void
fb_plugin_open(struct fb_plugin_rec *rec)
{
	char	 path[sizeof(rec->path) + 2];
	void	*sym;

	(void)snprintf(path, sizeof(path), "%s%s",
	    strchr(rec->path, '/') == NULL ? "./" : "", rec->path);
	if (access(path, R_OK) == -1) {
		fb_plugin_refuse(rec, "plugin %s: %s: %s", rec->name,
		    rec->path, strerror(errno));
		return;
	}
	(void)dlerror();
	if ((rec->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fb_plugin_refuse(rec, "plugin %s: %s", rec->name, dlerror());
		return;
	}
	if ((sym = dlsym(rec->handle, FB_PLUGIN_SYMBOL)) == NULL)
		fb_plugin_refuse(rec, "plugin %s: %s exports no %s (declare "
		    "it with FB_PLUGIN())", rec->name, rec->path,
		    FB_PLUGIN_SYMBOL);
	else if (open_check(rec, sym) == FB_OK) {
		rec->entry = sym;
		rec->state = FB_PLUGIN_OPENED;
		return;
	}
	dlclose(rec->handle);
	rec->handle = NULL;
}

void
fb_plugin_refuse(struct fb_plugin_rec *rec, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(rec->reason, sizeof(rec->reason), fmt, ap);
	va_end(ap);
	rec->state = FB_PLUGIN_REFUSED;
}

/* Borrowed: the value of `NAME.key value`, or NULL. */
const char *
fb_plugin_setting_get(const struct fb_plugin_rec *rec, const char *key)
{
	int	i;

	for (i = 0; key != NULL && i < rec->n_settings; i++) {
		if (strcmp(rec->settings[i].key, key) == 0)
			return (rec->settings[i].value);
	}
	return (NULL);
}

void
fb_plugin_set_cleanup(struct fb_plugin_set *set)
{
	struct fb_plugin_rec	*rec;
	int			 i, j;

	for (i = 0; i < set->n; i++) {
		rec = &set->list[i];
		for (j = 0; j < rec->n_settings; j++) {
			free(rec->settings[j].key);
			free(rec->settings[j].value);
		}
		if (rec->handle != NULL)
			dlclose(rec->handle);
	}
	memset(set, 0, sizeof(*set));
}

/*
 * The two version fields lead the descriptor in every ABI, so they are
 * safe to read before anything else is trusted.
 */
static int
open_check(struct fb_plugin_rec *rec, const struct fb_plugin *d)
{
	rec->abi_major = d->abi_major;
	rec->abi_minor = d->abi_minor;
	if (d->abi_major != FB_PLUGIN_ABI_MAJOR ||
	    d->abi_minor > FB_PLUGIN_ABI_MINOR) {
		fb_plugin_refuse(rec, "plugin %s: ABI %u.%u, host %u.%u "
		    "(rebuild it against this freakinbeats-plugin.h)",
		    rec->name, (unsigned)d->abi_major, (unsigned)d->abi_minor,
		    (unsigned)FB_PLUGIN_ABI_MAJOR,
		    (unsigned)FB_PLUGIN_ABI_MINOR);
		return (FB_ERR);
	}
	if (d->name == NULL || strcmp(d->name, rec->name) != 0) {
		fb_plugin_refuse(rec, "plugin %s: %s calls itself '%.32s'; "
		    "the names must match", rec->name, rec->path,
		    d->name != NULL ? d->name : "(null)");
		return (FB_ERR);
	}
	if (d->init == NULL) {
		fb_plugin_refuse(rec, "plugin %s: no init function",
		    rec->name);
		return (FB_ERR);
	}
	return (FB_OK);
}

static void
conf_line(struct fb_plugin_set *set, char *line, const char *name, int n)
{
	char	*p = line, *word, *dot;
	size_t	 len = strlen(line);

	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return;
	word = conf_word(&p);
	if (strcmp(word, "plugin") == 0)
		conf_plugin(set, p, name, n);
	else if ((dot = strchr(word, '.')) != NULL) {
		*dot = '\0';
		conf_setting(set, word, dot + 1, p, name, n);
	} else
		conf_error(set, name, n, "unknown line '%.40s': expected "
		    "'plugin NAME PATH' or 'NAME.key value'", word);
}

/* plugin NAME PATH */
static void
conf_plugin(struct fb_plugin_set *set, char *rest, const char *name, int n)
{
	struct fb_plugin_rec	*rec, *prev;
	char			*pname = conf_word(&rest);
	char			*path = conf_word(&rest);

	if (*pname == '\0' || *path == '\0' || *rest != '\0') {
		conf_error(set, name, n, "expected 'plugin NAME PATH'");
		return;
	}
	if (!name_ok(pname, 0)) {
		conf_error(set, name, n, "plugin name '%.40s': use 1 to %d "
		    "of a-z, 0-9, _ and -, starting with a letter", pname,
		    FB_PLUGIN_NAME_MAX);
		return;
	}
	if ((prev = set_find(set, pname)) != NULL) {
		conf_error(set, name, n, "plugin %s is already listed on "
		    "line %d", pname, prev->line);
		return;
	}
	if (set->n == FB_PLUGINS_MAX || strlen(path) >= sizeof(rec->path)) {
		conf_error(set, name, n, set->n == FB_PLUGINS_MAX ?
		    "more than %d plugins" : "path longer than %d bytes",
		    set->n == FB_PLUGINS_MAX ? FB_PLUGINS_MAX :
		    (int)sizeof(rec->path) - 1);
		return;
	}
	rec = &set->list[set->n++];
	(void)snprintf(rec->name, sizeof(rec->name), "%s", pname);
	(void)snprintf(rec->path, sizeof(rec->path), "%s", path);
	rec->line = n;
	rec->state = FB_PLUGIN_LISTED;
}

/* NAME.key value: the value is the rest of the line, maybe empty. */
static void
conf_setting(struct fb_plugin_set *set, char *pname, char *key,
    char *value, const char *name, int n)
{
	struct fb_plugin_rec	*rec;
	struct fb_plugin_setting *s;

	if ((rec = set_find(set, pname)) == NULL) {
		conf_error(set, name, n, "setting for '%.40s': no such "
		    "plugin listed above this line", pname);
		return;
	}
	if (!name_ok(key, 1)) {
		conf_error(set, name, n, "setting key '%.40s': use a-z, 0-9, "
		    "_, - and .", key);
		return;
	}
	if (fb_plugin_setting_get(rec, key) != NULL) {
		conf_error(set, name, n, "%s.%s is set twice", pname, key);
		return;
	}
	if (rec->n_settings == FB_PLUGIN_SETTINGS_MAX) {
		conf_error(set, name, n, "%s: more than %d settings", pname,
		    FB_PLUGIN_SETTINGS_MAX);
		return;
	}
	s = &rec->settings[rec->n_settings++];
	if ((s->key = strdup(key)) == NULL ||
	    (s->value = strdup(value)) == NULL)
		abort();
}

static void
conf_error(struct fb_plugin_set *set, const char *name, int n,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[200];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fb_log(FB_LOG_ERROR, "%s:%d: %s; line skipped", name, n, msg);
	if (set->n_errors++ == 0)
		(void)snprintf(set->first_error, sizeof(set->first_error),
		    "%s:%d: %s", name, n, msg);
}

/* The next blank-separated word of *p (NUL-terminated); *p skips on. */
static char *
conf_word(char **p)
{
	char	*w = *p, *e;

	for (e = w; *e != '\0' && !isspace((unsigned char)*e); e++)
		;
	if (*e != '\0')
		*e++ = '\0';
	while (isspace((unsigned char)*e))
		e++;
	*p = e;
	return (w);
}

static int
name_ok(const char *s, int is_key)
{
	size_t	i;

	if (!islower((unsigned char)s[0]))
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && !(is_key && s[i] == '.'))
			return (0);
	}
	return (i <= (is_key ? KEY_MAX : FB_PLUGIN_NAME_MAX));
}

static struct fb_plugin_rec *
set_find(struct fb_plugin_set *set, const char *name)
{
	int	i;

	for (i = 0; i < set->n; i++) {
		if (strcmp(set->list[i].name, name) == 0)
			return (&set->list[i]);
	}
	return (NULL);
}
