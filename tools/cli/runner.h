/*
 * Running a stage's command and serving its checkpoint requests (SPEC 3).
 */
#ifndef LIVE_RUNNER_H
#define LIVE_RUNNER_H

#include <stddef.h>

/*
 * Called for each checkpoint request while the trainer waits. Returns 0 and
 * fills `reply` (e.g. the commit's sha7) or non-zero with `reply` holding
 * the reason; either way the trainer is released.
 */
typedef int (*runner_checkpoint_fn)(void *ctx, long long step, char *reply, size_t size);

typedef struct runner_opts {
	const char *cmd;  /* run with /bin/sh -c */
	const char *wdir; /* working directory of the command */
	const char *dvc_tmp; /* <root>/.dvc/tmp, watched for DVC's DVC_CHECKPOINT file */
	char **env;       /* extra "NAME=value" entries, NULL-terminated */
	runner_checkpoint_fn checkpoint; /* NULL: a stage without checkpoints */
	void *ctx;
} runner_opts;

typedef struct runner_result {
	int exit_code;   /* the command's exit status, or 128 + signal */
	int signal;      /* the signal that ended it, or 0 */
	int interrupted; /* the user pressed Ctrl+C (or sent SIGINT/SIGTERM) during the run */
	long long checkpoints; /* requests served */
	int failed_checkpoints;
} runner_result;

/* Spawn, serve, wait. Returns 0 once the command has ended, or 1 (message printed) if it could not run. */
int runner_run(const runner_opts *o, runner_result *res);

#endif
