/*
 * The .env file: NAME=value lines read from the working directory.
 *
 * Accepts `export NAME=value`, blank lines, `#` comments and values in
 * single or double quotes.  A malformed line is an error naming .env:line;
 * the file never overrides a variable already set in the environment
 * (config.c asks the environment first).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static int	env_line(struct fb_env *, char *, const char *, int,
		    struct fb_err *);
static char	*env_trim(char *);
static int	env_unquote(char **, const char *, int, struct fb_err *);

/* A missing file is fine: it means "no .env". */
int
fb_env_read(struct fb_env *env, const char *path, struct fb_err *err)
{
	FILE	*fp;
	char	*text;
	long	 size;

	memset(env, 0, sizeof(*env));
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return (FB_OK);
		fb_err_set(err, "%s: %s", path, strerror(errno));
		return (FB_ERR);
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    size > 1 << 20 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		fb_err_set(err, "%s: unreadable or larger than 1 MB", path);
		return (FB_ERR);
	}
	if ((text = calloc(1, (size_t)size + 1)) == NULL ||
	    fread(text, 1, (size_t)size, fp) != (size_t)size) {
		free(text);
		fclose(fp);
		fb_err_set(err, "%s: read failed", path);
		return (FB_ERR);
	}
	fclose(fp);
	return (fb_env_parse(env, text, path, err));
}

/* Takes ownership of text. */
int
fb_env_parse(struct fb_env *env, char *text, const char *fname,
    struct fb_err *err)
{
	char	*line, *next;
	int	 lineno = 0;

	env->text = text;
	env->n_vars = 0;
	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (env_line(env, line, fname, lineno, err) != FB_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

void
fb_env_cleanup(struct fb_env *env)
{
	free(env->text);
	memset(env, 0, sizeof(*env));
}

static int
env_line(struct fb_env *env, char *line, const char *fname, int lineno,
    struct fb_err *err)
{
	char	*eq, *name, *value;
	size_t	 i;

	line = env_trim(line);
	if (*line == '\0' || *line == '#')
		return (FB_OK);
	if (strncmp(line, "export ", 7) == 0)
		line = env_trim(line + 7);
	if ((eq = strchr(line, '=')) == NULL) {
		fb_err_set(err, "%s:%d: expected NAME=value", fname, lineno);
		return (FB_ERR);
	}
	*eq = '\0';
	name = env_trim(line);
	value = env_trim(eq + 1);
	for (i = 0; name[i] != '\0'; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			break;
	}
	if (i == 0 || name[i] != '\0') {
		fb_err_set(err, "%s:%d: bad variable name '%.40s'",
		    fname, lineno, name);
		return (FB_ERR);
	}
	if (env_unquote(&value, fname, lineno, err) != FB_OK)
		return (FB_ERR);
	if (env->n_vars == FB_ENV_MAX) {
		fb_err_set(err, "%s:%d: more than %d variables",
		    fname, lineno, FB_ENV_MAX);
		return (FB_ERR);
	}
	env->names[env->n_vars] = name;
	env->values[env->n_vars] = value;
	env->lines[env->n_vars++] = lineno;
	return (FB_OK);
}

static char *
env_trim(char *s)
{
	char	*end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	return (s);
}

/* 'x' and "x" lose their quotes; an unquoted value loses a # comment. */
static int
env_unquote(char **value, const char *fname, int lineno, struct fb_err *err)
{
	char	*v = *value, *end, *hash;

	if (*v == '"' || *v == '\'') {
		if ((end = strchr(v + 1, *v)) == NULL) {
			fb_err_set(err, "%s:%d: unterminated quote",
			    fname, lineno);
			return (FB_ERR);
		}
		*end = '\0';
		*value = v + 1;
		return (FB_OK);
	}
	if ((hash = strstr(v, " #")) != NULL) {
		*hash = '\0';
		*value = env_trim(v);
	}
	return (FB_OK);
}
