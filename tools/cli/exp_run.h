/*
 * What the two halves of `live exp run` share: the run's state (cmd_exp_run.c
 * runs the stages and commits the checkpoints; exp_run_restore.c decides
 * whether to resume and puts the workspace in order before the trainer runs).
 */
#ifndef LIVE_EXP_RUN_H
#define LIVE_EXP_RUN_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#include "tracker.h"

#define EXEC "refs/exps/exec/"

typedef struct exp {
	char root[PATH_MAX];
	tr_git *g;
	tr_state *st;
	tr_pipeline p;
	tr_lock lock;
	const tr_stage *ck; /* the checkpoint stage */
	char baseline[41];
	char parent[41];     /* parent of the next commit */
	char ref[512];       /* the experiment's ref, "" until its first commit */
	char name[64];       /* exp-xxxxx */
	long long commits;
	int lock_created;
	int reset;

	/* The checkpoint in flight: captured while the trainer waited, committed by a worker. */
	tr_capture cap;
	pthread_t worker;
	int worker_running;
	int worker_rc;
	char worker_err[1024];

	/* The steps this run committed, and what the summary says of divergence (SPEC 5). */
	struct ckstep {
		long long step;
		char sha[41];
	} *steps;
	size_t nsteps;
	char divergence[2048]; /* the warning lines, once a metric diverged */
	long long best_step;   /* the best step of the first diverging metric, or -1 */
	int stop_on_divergence;
	int summary_warned;    /* a bad summary value was reported (once a run) */
	/* The dvc.lock bytes of the checkpoint being committed: the work tree gets them only after. */
	const char *lock_data;
	size_t lock_len;
} exp;

/* Outs, dvc.lock and .gitignore files are results, not changes a user made (cmd_exp_run.c). */
int exprun_is_result_path(const exp *e, const char *path);

/* ---- exp_run_restore.c -------------------------------------------------------- */

/*
 * Resume or not (DVC 2.x's rules, reference/dvc-checkpoints.md 3): sets
 * *resume, e->parent, e->ref and e->name; completes a ref move a killed run
 * left half done.
 */
int exprun_plan_resume(exp *e, int *resume);
/* On resume: dvc.lock, the uncached outs and the summary from the resumed commit, cached outs from the cache. */
int exprun_restore_resumed(exp *e);
/* A new experiment: checkpoint outs as dvc.lock records them (removed with reset, or when unrecorded). */
int exprun_restore_checkpoint_outs(exp *e, int reset);
/* Every out's folders are real folders (no link): else a one-line error printed, 1. */
int exprun_check_out_folders(exp *e);

#endif
