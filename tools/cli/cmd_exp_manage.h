/*
 * What `live exp apply/branch/gc/list/remove` share: the experiment refs
 * (reference/dvc-checkpoints.md 1.1), finding the experiment a revision
 * belongs to, and the repository lock that `live exp run` holds.
 */
#ifndef LIVE_CMD_EXP_MANAGE_H
#define LIVE_CMD_EXP_MANAGE_H

#include <stddef.h>

#include "tracker.h"

#define EXP_EXEC "refs/exps/exec/"

/* One experiment: refs/exps/<B[:2]>/<B[2:]>/<name> -> tip. */
typedef struct exp_ref {
	char *ref;
	const char *name; /* the last part of ref */
	char baseline[41];
	char tip[41];
} exp_ref;

typedef struct exp_refs {
	exp_ref *v; /* sorted by ref name, as git for-each-ref lists them */
	size_t n;
} exp_refs;

/* Every experiment ref (none under refs/exps/exec/, not refs/exps/stash). */
int exp_refs_load(tr_git *g, exp_refs *out);
/* The experiment refs a git remote has (cmd_exp_sync.c), for `live exp list <remote>`. */
int exp_refs_load_remote(tr_git *g, const char *git_remote, exp_refs *out);
/* The experiment refs among names[i] -> shas[i] (a ref listing), sorted; frees both arrays. */
int exp_refs_from(char **names, char **shas, size_t n, exp_refs *out);
void exp_refs_free(exp_refs *r);

/*
 * 1 if `sha` is one of the experiment's commits: its tip or an ancestor of
 * it that is not the baseline or in the baseline's history. 0 if not, <0 on
 * error.
 */
int exp_ref_contains(tr_git *g, const exp_ref *r, const char *sha);

/*
 * What the user typed, as experiments: a full experiment ref, an experiment
 * name, or any revision (sha, short sha, branch, ...) that lies on
 * experiments. Sets `sha` (for a name or a ref: the tip) and marks in
 * `hit[i]` (an array of all->n, zeroed by the caller) the refs it names or
 * that contain it; returns their count. LIVE_ENOTFOUND "unknown revision 'x'".
 */
int exp_lookup(tr_git *g, const exp_refs *all, const char *rev, char sha[41], unsigned char *hit);

/*
 * Parse the bytes of a commit's dvc.yaml (into p) or dvc.lock (into l): the
 * parsers read paths, so through .dvc/tmp/live-<tag> (removed after; `tag`
 * names the commit and the file, and appears in parse errors).
 */
int exp_parse_dvc_bytes(const live__buf *b, const char *tag, tr_pipeline *p, tr_lock *l);

/*
 * Paths that are results of the pipeline, not changes a user made: dvc.lock,
 * .gitignore files, the outs of every stage (and a live out's summary and
 * report). `p` may be NULL.
 */
int exp_is_result_path(const tr_pipeline *p, const char *path);

/*
 * Take the lock that `live exp run` holds (.dvc/tmp/live-exp-run.lock) so
 * that no run commits while refs or the workspace change under it. Prints
 * the error and returns 1 if a run holds it; *fd is closed by the caller.
 */
int exp_lock_repo(const char *root, int *fd);

/*
 * Delete EXEC_APPLY and EXEC_CHECKPOINT when they point into experiments that
 * `removed` marks and into none that remain, and a dangling EXEC_BRANCH.
 */
int exp_clear_exec_refs(tr_git *g, const exp_refs *all, const unsigned char *removed);

#endif
