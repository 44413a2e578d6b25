/*
 * plugin_load.c: conf/plugins.conf lines and the loader's verdict on each
 * fixture plugin (tests/fixtures/plugins, built into build/tests/plugins).
 * Every refusal must name the plugin, and an ABI refusal both versions.
 * Run from the repository root, as tests/run.sh does.
 */
#include <stdlib.h>

#include "app.h"
#include "test.h"
#include "public/freakinbeats-plugin.h"

#define FIXTURES	"build/tests/plugins/"

static void
parse(struct fb_plugin_set *set, const char *text)
{
	char	*copy = strdup(text);

	memset(set, 0, sizeof(*set));
	fb_plugin_conf_parse(set, copy, "conf/plugins.conf");
	free(copy);
}

static void
test_conf(void)
{
	struct fb_plugin_set	set;

	parse(&set, "# comment\n\nplugin stats build/plugins/stats.so\n"
	    "stats.cache_size 10\n  plugin hello   hello.so  \r\n"
	    "hello.greeting Hi there, you \n");
	EQ_INT(set.n, 2, "two plugins, in order");
	EQ_INT(set.n_errors, 0, "no errors");
	EQ_STR(set.list[0].name, "stats", "first name");
	EQ_STR(set.list[0].path, "build/plugins/stats.so", "first path");
	EQ_INT(set.list[0].line, 3, "line of the plugin");
	EQ_STR(fb_plugin_setting_get(&set.list[0], "cache_size"), "10",
	    "a setting");
	EQ_STR(fb_plugin_setting_get(&set.list[1], "greeting"), "Hi there, you",
	    "a value is the rest of the line, trimmed");
	OK(fb_plugin_setting_get(&set.list[1], "cache_size") == NULL,
	    "settings are per plugin");
	fb_plugin_set_cleanup(&set);
}

static void
test_conf_errors(void)
{
	struct fb_plugin_set	set;

	parse(&set, "plugin a a.so\nplugn b b.so\n");
	EQ_STR(set.first_error, "conf/plugins.conf:2: unknown line 'plugn': "
	    "expected 'plugin NAME PATH' or 'NAME.key value'", "unknown line");
	EQ_INT(set.n, 1, "the good line still counts");
	fb_plugin_set_cleanup(&set);
	parse(&set, "x.key 1\nplugin x x.so\n");
	EQ_STR(set.first_error, "conf/plugins.conf:1: setting for 'x': no such "
	    "plugin listed above this line", "setting before its plugin");
	fb_plugin_set_cleanup(&set);
	parse(&set, "plugin a a.so\nplugin a b.so\n");
	EQ_STR(set.first_error, "conf/plugins.conf:2: plugin a is already "
	    "listed on line 1", "a name listed twice");
	fb_plugin_set_cleanup(&set);
	parse(&set, "plugin Bad x.so\nplugin a\nplugin b b.so extra\n");
	EQ_INT(set.n_errors, 3, "bad name, missing path, extra word");
	EQ_INT(set.n, 0, "none listed");
	fb_plugin_set_cleanup(&set);
	parse(&set, "plugin a a.so\na.k 1\na.k 2\na.B 3\n");
	EQ_STR(set.first_error, "conf/plugins.conf:3: a.k is set twice",
	    "a setting set twice");
	EQ_INT(set.n_errors, 2, "and a bad key");
	fb_plugin_set_cleanup(&set);
}

/* Opens one fixture under name; returns the verdict. */
static int
open_fixture(struct fb_plugin_set *set, const char *name, const char *file)
{
	char	text[256];

	(void)snprintf(text, sizeof(text), "plugin %s " FIXTURES "%s\n", name,
	    file);
	parse(set, text);
	if (set->n != 1)
		return (-1);
	fb_plugin_open(&set->list[0]);
	return (set->list[0].state);
}

static void
test_open(void)
{
	struct fb_plugin_set	set;

	EQ_INT(open_fixture(&set, "ok", "ok.so"), FB_PLUGIN_OPENED, "ok opens");
	OK(set.list[0].entry != NULL && set.list[0].handle != NULL,
	    "descriptor found");
	EQ_INT(set.list[0].abi_major, FB_PLUGIN_ABI_MAJOR, "its ABI major");
	fb_plugin_set_cleanup(&set);
	EQ_INT(open_fixture(&set, "abi_major", "abi_major.so"),
	    FB_PLUGIN_REFUSED, "another major is refused");
	EQ_STR(set.list[0].reason, "plugin abi_major: ABI 2.0, host 1.0 "
	    "(rebuild it against this freakinbeats-plugin.h)",
	    "the message gives both versions");
	OK(set.list[0].handle == NULL, "and the file is closed again");
	fb_plugin_set_cleanup(&set);
	EQ_INT(open_fixture(&set, "abi_minor", "abi_minor.so"),
	    FB_PLUGIN_REFUSED, "a newer minor is refused");
	OK(strstr(set.list[0].reason, "plugin abi_minor: ABI 1.1, host 1.0") ==
	    set.list[0].reason, "the message gives both versions");
	fb_plugin_set_cleanup(&set);
}

static void
test_open_refused(void)
{
	struct fb_plugin_set	set;

	EQ_INT(open_fixture(&set, "gone", "gone.so"), FB_PLUGIN_REFUSED,
	    "a missing file is refused");
	EQ_STR(set.list[0].reason, "plugin gone: " FIXTURES "gone.so: No such "
	    "file or directory", "naming the file");
	fb_plugin_set_cleanup(&set);
	EQ_INT(open_fixture(&set, "no_entry", "no_entry.so"),
	    FB_PLUGIN_REFUSED, "no exported descriptor is refused");
	OK(strstr(set.list[0].reason, "exports no fb_plugin_entry") != NULL,
	    "saying so");
	fb_plugin_set_cleanup(&set);
	EQ_INT(open_fixture(&set, "wrong_name", "wrong_name.so"),
	    FB_PLUGIN_REFUSED, "a name that is not the conf's is refused");
	OK(strstr(set.list[0].reason, "calls itself 'somebody_else'") !=
	    NULL, "naming both");
	fb_plugin_set_cleanup(&set);
	EQ_INT(open_fixture(&set, "notelf", "../../../conf/plugins.conf"),
	    FB_PLUGIN_REFUSED, "a file that is not a library is refused");
	fb_plugin_set_cleanup(&set);
}

static void
test_read(void)
{
	struct fb_plugin_set	set;

	EQ_INT(fb_plugin_conf_read(&set, "no/such/plugins.conf"), FB_OK,
	    "no conf file: no plugins, no error");
	EQ_INT(set.has_conf, 0, "has_conf is 0");
	EQ_INT(set.n, 0, "nothing listed");
	EQ_INT(fb_plugin_conf_read(&set, "conf/plugins.conf"), FB_OK,
	    "the shipped conf reads");
	EQ_INT(set.n_errors, 0, "without errors");
	OK(set.n >= 3 && strcmp(set.list[0].name, "stats") == 0,
	    "and lists stats first");
	fb_plugin_set_cleanup(&set);
}

int
main(void)
{
	test_conf();
	test_conf_errors();
	test_open();
	test_open_refused();
	test_read();
	return (TEST_DONE());
}
