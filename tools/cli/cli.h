/*
 * The `live` command line: thin commands over liblive and libtracker.
 */
#ifndef LIVE_CLI_H
#define LIVE_CLI_H

#include <stddef.h>

/* Print "ERROR: <live_errmsg()>" (or the given text) and return exit code 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with live_errmsg() appended after ": ". */
int cli_error_live(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Repository root (git work tree) found from the current directory: must hold .dvc/. */
int cli_find_root(char *root, size_t size, int need_dvc);

int cmd_init(int argc, char **argv);
int cmd_stage_add(int argc, char **argv);
int cmd_exp_run(int argc, char **argv);
int cmd_exp_show(int argc, char **argv);
int cmd_exp_apply(int argc, char **argv);
int cmd_exp_branch(int argc, char **argv);
int cmd_exp_gc(int argc, char **argv);
int cmd_exp_list(int argc, char **argv);
int cmd_exp_remove(int argc, char **argv);
int cmd_metrics_show(int argc, char **argv);
int cmd_metrics_diff(int argc, char **argv);
int cmd_params_diff(int argc, char **argv);
int cmd_plots_show(int argc, char **argv);
int cmd_plots_diff(int argc, char **argv);
int cmd_exp_push(int argc, char **argv);
int cmd_exp_pull(int argc, char **argv);
int cmd_remote_add(int argc, char **argv);
int cmd_remote_list(int argc, char **argv);

/* -S [file:]key=value edits, applied to the params files under root. */
int set_params(const char *root, char **assign, int n);

#endif
