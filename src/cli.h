/*
 * The command-line tool's subcommands: one file each, sharing the
 * database opening and the exit codes defined here.
 */
#ifndef FB_CLI_H
#define FB_CLI_H

#define FB_EXIT_WORK	1
#define FB_EXIT_USAGE	2

struct fb_cli_progress {
	int		is_tty;
	int		last;			/* percent shown, -1: none */
	const char	*what;			/* "import", "sync" */
};

int	fb_cli_open_db(struct fb_db *, struct fb_err *);
void	fb_cli_progress_init(struct fb_cli_progress *, const char *);
void	fb_cli_progress_show(struct fb_cli_progress *, int64_t, int64_t,
	    const char *);
void	fb_cli_progress_break(struct fb_cli_progress *);
int	fb_cli_import(int, char **);
int	fb_cli_sync(int, char **);
int	fb_cli_rules(int, char **);

#endif
