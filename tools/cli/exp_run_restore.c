/*
 * live exp run, before the trainer runs: resume or start anew (DVC 2.x's
 * rules), and the workspace put in the state the run starts from (the
 * resumed commit's files, the checkpoint outs from the cache). Nothing is
 * written, restored or removed through a link among an out's folders.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "exp_run.h"

/* The experiment ref (under this baseline) whose tip is `sha`, if any. */
static int ref_with_tip(exp *e, const char *sha, char *ref, size_t size)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "refs/exps/%.2s/%s/", e->baseline, e->baseline + 2);
	char **names, **shas;
	size_t n;
	if (tr_git_refs_under(e->g, prefix, &names, &shas, &n) != 0)
		return 0;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		if (!found && !strcmp(shas[i], sha)) {
			snprintf(ref, size, "%s", names[i]);
			found = 1;
		}
	tr_strv_free(names, n);
	tr_strv_free(shas, n);
	return found;
}

/* An experiment ref (under this baseline) whose history holds `sha`. */
static int ref_containing(exp *e, const char *sha, char *ref, size_t size)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "refs/exps/%.2s/%s/", e->baseline, e->baseline + 2);
	char **names, **shas;
	size_t n;
	if (tr_git_refs_under(e->g, prefix, &names, &shas, &n) != 0)
		return 0;
	int found = 0;
	for (size_t i = 0; i < n && !found; i++)
		if (tr_git_descends(e->g, shas[i], sha) == 1) {
			snprintf(ref, size, "%s", names[i]);
			found = 1;
		}
	tr_strv_free(names, n);
	tr_strv_free(shas, n);
	return found;
}

/* Which checkpoint to continue from (SPEC 3; reference 3.1). */
int exprun_plan_resume(exp *e, int *resume)
{
	char apply[41];
	*resume = 0;
	memcpy(e->parent, e->baseline, 41);
	/* A symbolic EXEC_BRANCH left by a killed run is stale: we hold the lock. */
	tr_git_ref_delete(e->g, EXEC "EXEC_BRANCH");
	if (e->reset) {
		printf("Any existing checkpoints will be reset and re-run.\n");
		tr_git_ref_delete(e->g, EXEC "EXEC_CHECKPOINT");
		tr_git_ref_delete(e->g, EXEC "EXEC_APPLY");
		return 0;
	}
	/* EXEC_APPLY alone decides: exp gc/remove may have dropped EXEC_CHECKPOINT. */
	if (tr_git_ref_get(e->g, EXEC "EXEC_APPLY", apply) != 0)
		return 0;
	if (tr_git_descends(e->g, apply, e->baseline) != 1 || !strcmp(apply, e->baseline))
		return 0; /* made from another baseline: start afresh */

	char **changed = NULL;
	size_t n = 0;
	int rc = tr_git_changed_paths(e->g, apply, &changed, &n);
	if (rc)
		return rc;
	int dirty = 0;
	for (size_t i = 0; i < n; i++)
		dirty |= !exprun_is_result_path(e, changed[i]);
	tr_strv_free(changed, n);

	char ref[512];
	int tip = ref_with_tip(e, apply, ref, sizeof(ref));
	if (!tip) {
		char ck[41], par[41], containing[512];
		int same_ck = tr_git_ref_get(e->g, EXEC "EXEC_CHECKPOINT", ck) == 0 && !strcmp(ck, apply);
		if (!ref_containing(e, apply, containing, sizeof(containing)) &&
		    tr_git_parent(e->g, apply, par) == 0 && ref_with_tip(e, par, ref, sizeof(ref))) {
			/* Killed after EXEC_APPLY moved and before the experiment ref did
			 * (they move in that order): complete the move. */
			if (tr_git_ref_set(e->g, ref, apply, par, "live: recover"))
				return LIVE_EGIT;
			tip = 1;
		} else if (same_ck) {
			/* The older order (ref first, then EXEC_*): the ref is one complete
			 * checkpoint past EXEC_CHECKPOINT = EXEC_APPLY. Take that checkpoint.
			 * (An `exp apply` leaves EXEC_CHECKPOINT on the last checkpoint made.) */
			char prefix[128];
			snprintf(prefix, sizeof(prefix), "refs/exps/%.2s/%s/", e->baseline, e->baseline + 2);
			char **names, **shas;
			size_t nr;
			if (tr_git_refs_under(e->g, prefix, &names, &shas, &nr) == 0) {
				for (size_t i = 0; i < nr && !tip; i++) {
					if (tr_git_parent(e->g, shas[i], par) == 0 && !strcmp(par, apply)) {
						snprintf(ref, sizeof(ref), "%s", names[i]);
						memcpy(apply, shas[i], 41);
						tip = 1;
					}
				}
				tr_strv_free(names, nr);
				tr_strv_free(shas, nr);
			}
			if (tip && (tr_git_ref_set(e->g, EXEC "EXEC_CHECKPOINT", apply, NULL, "live: recover") ||
				    tr_git_ref_set(e->g, EXEC "EXEC_APPLY", apply, NULL, "live: recover")))
				return LIVE_EGIT;
		}
	}
	const char *name = tip ? strrchr(ref, '/') + 1 : NULL;
	if (dirty) {
		/* DVC names the experiment holding the checkpoint; a sha only when none does. */
		char containing[512];
		if (tip || ref_containing(e, apply, containing, sizeof(containing)))
			printf("Modified checkpoint experiment based on '%s' will be created\n",
			       strrchr(tip ? ref : containing, '/') + 1);
		else
			printf("Modified checkpoint experiment based on '%.7s' will be created\n", apply);
	} else if (tip) {
		printf("Existing checkpoint experiment '%s' will be resumed\n", name);
		snprintf(e->ref, sizeof(e->ref), "%s", ref);
		snprintf(e->name, sizeof(e->name), "%s", name);
		rc = tr_git_ref_set_symbolic(e->g, EXEC "EXEC_BRANCH", e->ref, "live: exp run");
		if (rc)
			return rc;
	} else {
		return live__fail(LIVE_EINVALID,
				  "Nothing to do for unchanged checkpoint '%.7s'. To resume from the head of its "
				  "experiment, use `live exp apply <exp>`; to start over, `live exp run --reset`",
				  apply);
	}
	memcpy(e->parent, apply, 41);
	*resume = 1;
	return 0;
}

/* Restore `path` from the cache as `h` records it, unless the work tree already holds it. */
static int checkout_if_changed(exp *e, const char *path, const tr_hashinfo *h)
{
	tr_hashinfo now;
	if (tr_hash_path(e->st, path, &now, NULL) == 0 && !strcmp(now.md5, h->md5))
		return 0;
	return tr_cache_checkout(e->root, path, h);
}

/*
 * Replace the file `path` (from the root) with these bytes: a temp file
 * beside it, then a rename, never through a link among its folders (the
 * rule of restoring from the cache: tr_open_parent); a link at `path` is
 * replaced, not followed.
 */
static int write_file(exp *e, const char *path, const void *data, size_t len)
{
	int dirfd;
	const char *base;
	int rc = tr_open_parent(e->root, path, "restoring", &dirfd, &base);
	if (rc)
		return rc;
	char tmp[NAME_MAX + 1], show[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), ".%.200s.live-tmp", base);
	snprintf(show, sizeof(show), "restore %s", path);
	rc = live__write_atomic(dirfd, base, tmp, show, data, len);
	close(dirfd);
	return rc;
}

/*
 * On resume, the checkpoint stage's results as the resumed commit has them:
 * dvc.lock, the uncached outs and the live summary from its tree, the cached
 * outs (model.pt, the dvclive folder) from the cache. A killed run may have
 * left the work tree ahead of its last commit (histories with rows of steps
 * that were never committed); the trainer then continues from the commit.
 */
int exprun_restore_resumed(exp *e)
{
	live__buf b = { 0 };
	int rc = 0;
	char summary[600];
	for (size_t i = 0; !rc && i <= e->ck->nouts; i++) {
		const char *path = "dvc.lock";
		if (i < e->ck->nouts) {
			const tr_out *o = &e->ck->outs[i];
			if (o->kind == TR_LIVE && o->summary) {
				snprintf(summary, sizeof(summary), "%s.json", o->path);
				path = summary;
			} else if (!o->cache) {
				path = o->path;
			} else {
				continue;
			}
		}
		b.len = 0;
		if (tr_git_read_blob(e->g, e->parent, path, &b) == 0)
			rc = write_file(e, path, b.data, b.len);
	}
	live__buf_free(&b);
	if (!rc) {
		tr_lock_free(&e->lock);
		rc = tr_lock_load("dvc.lock", &e->lock);
	}
	const tr_lock_stage *ls = rc ? NULL : tr_lock_find(&e->lock, e->ck->name);
	for (size_t i = 0; ls && !rc && i < e->ck->nouts; i++) {
		const tr_out *o = &e->ck->outs[i];
		for (size_t k = 0; o->cache && !rc && k < ls->nouts; k++) {
			if (!strcmp(ls->outs[k].path, o->path) && ls->outs[k].h.md5[0])
				rc = checkout_if_changed(e, o->path, &ls->outs[k].h);
		}
	}
	return rc;
}

/*
 * Remove the checkpoint out `path` (a folder is left alone), never through a
 * link: a link among the folders leading to it is refused, one at `path` is
 * removed itself, its target untouched.
 */
static int remove_out(exp *e, const char *path)
{
	int dirfd;
	const char *base;
	int rc = tr_open_parent(e->root, path, "removing", &dirfd, &base);
	if (rc == LIVE_ENOTFOUND)
		return 0; /* nothing there to remove */
	if (rc)
		return rc;
	int err = unlinkat(dirfd, base, 0) != 0 ? errno : 0;
	close(dirfd);
	if (err && err != ENOENT && err != EISDIR)
		return live__fail_errno(LIVE_EIO, err, "remove %s", path);
	return 0;
}

/*
 * Every out's folders must be real folders of the repository: live restores
 * and removes outs, and never through a link (tr_open_parent); refused before
 * anything runs, as a one-line error naming the out and the link.
 */
int exprun_check_out_folders(exp *e)
{
	for (size_t i = 0; i < e->p.n; i++)
		for (size_t k = 0; k < e->p.stages[i].nouts; k++) {
			int dirfd;
			const char *base;
			int rc = tr_open_parent(e->root, e->p.stages[i].outs[k].path, "writing", &dirfd, &base);
			if (rc == 0)
				close(dirfd);
			else if (rc != LIVE_ENOTFOUND)
				return cli_error("%s", live_errmsg());
		}
	return 0;
}

/* Put the checkpoint outs back as the workspace's dvc.lock records them. */
int exprun_restore_checkpoint_outs(exp *e, int reset)
{
	const tr_lock_stage *ls = tr_lock_find(&e->lock, e->ck->name);
	for (size_t i = 0; i < e->ck->nouts; i++) {
		const tr_out *o = &e->ck->outs[i];
		if (!o->checkpoint)
			continue;
		if (reset) {
			int rc = remove_out(e, o->path);
			if (rc)
				return rc;
			continue;
		}
		int recorded = 0;
		for (size_t k = 0; ls && k < ls->nouts; k++) {
			if (strcmp(ls->outs[k].path, o->path) || !ls->outs[k].h.md5[0])
				continue;
			recorded = 1;
			int rc = checkout_if_changed(e, o->path, &ls->outs[k].h);
			if (rc)
				return rc;
		}
		/* As DVC: a checkpoint out that dvc.lock does not record is removed, so a
		 * new experiment never continues from weights no checkpoint holds. */
		int rc = recorded ? 0 : remove_out(e, o->path);
		if (rc)
			return rc;
	}
	return 0;
}

