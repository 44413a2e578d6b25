/*
 * The command-line tool's subcommands: one file each, sharing the
 * database opening and the exit codes defined here.
 */
#ifndef FB_CLI_H
#define FB_CLI_H

#define FB_EXIT_WORK	1
#define FB_EXIT_USAGE	2

int	fb_cli_open_db(struct fb_db *, struct fb_err *);
int	fb_cli_import(int, char **);
int	fb_cli_sync(int, char **);
int	fb_cli_rules(int, char **);

#endif
