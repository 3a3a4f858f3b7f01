/*
 * live exp apply <exp|sha>: put an experiment commit back into the workspace
 * (reference/dvc-checkpoints.md 3.3). Its tracked files become working-tree
 * changes (HEAD, the index and the branches never move) and its cached outs
 * (model.pt, dvclive/) come back from .dvc/cache as its dvc.lock records
 * them. EXEC_APPLY then names it, so that `live exp run` continues from it:
 * a changed workspace starts a new experiment whose first parent is this
 * commit (3.1).
 *
 * Unlike DVC, which merges the experiment into the workspace and keeps the
 * user's edits that do not conflict, the workspace is made to equal the
 * commit; a tracked file the user changed that this would overwrite is an
 * error unless --force. Everything that can be refused (the revision, the
 * user's changes, a missing cache object) is refused before a file is written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_exp_manage.h"

/* A cached out to restore: where, and what dvc.lock says it holds. */
typedef struct restore {
	const char *rel;
	const tr_hashinfo *h;
} restore;

typedef struct apply {
	char root[PATH_MAX];
	const char *rev;
	int force;
	tr_git *g;
	tr_state *st;
	char head[41];
	char sha[41];
	tr_pipeline now;    /* the workspace's dvc.yaml, before */
	tr_pipeline target; /* the commit's dvc.yaml */
	tr_lock lock;       /* the commit's dvc.lock */
	tr_wt_change *changes;
	size_t nchanges;
	restore *outs;
	size_t nouts;
} apply;

/* Parse a file of the commit (dvc.yaml, dvc.lock); none: no stages, no outs. */
static int load_from_commit(apply *a, const char *path, tr_pipeline *p, tr_lock *l)
{
	live__buf b = {0};
	int rc = tr_git_read_blob(a->g, a->sha, path, &b);
	if (rc == LIVE_ENOTFOUND) {
		live__buf_free(&b);
		return 0;
	}
	char tag[64];
	snprintf(tag, sizeof(tag), "apply-%.7s-%s", a->sha, path);
	if (!rc)
		rc = exp_parse_dvc_bytes(&b, tag, p, l);
	live__buf_free(&b);
	return rc;
}

/* The experiment commit `rev` names, made from HEAD; else the errors DVC gives. */
static int find_commit(apply *a)
{
	exp_refs refs = {0};
	unsigned char *hit = NULL;
	int rc = exp_refs_load(a->g, &refs);
	if (!rc && !(hit = calloc(refs.n + 1, 1)))
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	if (!rc) {
		int n = exp_lookup(a->g, &refs, a->rev, a->sha, hit);
		rc = n < 0 ? n : 0;
		int ok = 0;
		for (size_t i = 0; !rc && !ok && i < refs.n; i++)
			ok = hit[i] && !strcmp(refs.v[i].baseline, a->head) &&
			     exp_ref_contains(a->g, &refs.v[i], a->sha) == 1;
		if (!rc && !ok)
			rc = live__fail(LIVE_EINVALID, "'%s' does not appear to be an experiment commit.",
			                a->rev);
	}
	free(hit);
	exp_refs_free(&refs);
	return rc;
}

/* Refuse to overwrite what the user changed, naming every such file on one line. */
static int check_user_changes(apply *a)
{
	live__buf list = {0};
	int rc = 0;
	for (size_t i = 0; !rc && i < a->nchanges; i++) {
		const char *rel = a->changes[i].rel;
		if (!a->changes[i].user_change || exp_is_result_path(&a->now, rel) ||
		    exp_is_result_path(&a->target, rel))
			continue;
		if (list.len)
			rc = live__buf_append(&list, ", ", 2);
		if (!rc)
			rc = live__buf_append(&list, rel, strlen(rel));
	}
	if (!rc && list.len)
		rc = live__fail(LIVE_EINVALID,
		                "cannot apply '%s': it would overwrite your uncommitted changes to %.*s "
		                "(commit or stash them, or use --force)",
		                a->rev, (int)list.len, list.data);
	live__buf_free(&list);
	return rc;
}

/* Every cache object that restoring `rel` as `h` records needs is present. */
static int check_objects(const char *root, const char *rel, const tr_hashinfo *h)
{
	/* Present and intact, each of them, before anything in the work tree changes. */
	if (!strstr(h->md5, ".dir"))
		return tr_cache_verify(root, h->md5, rel);
	tr_manifest m;
	int rc = tr_cache_read_manifest(root, rel, h->md5, &m);
	if (rc)
		return rc;
	for (size_t f = 0; !rc && f < m.n; f++) {
		char show[4300];
		snprintf(show, sizeof(show), "%s/%s", rel, m.entries[f].relpath);
		rc = tr_cache_verify(root, m.entries[f].md5, show);
	}
	tr_manifest_free(&m);
	return rc;
}

/* The dvc.lock entry of a cached out of `s`, if the lock records one. */
static const tr_lock_entry *cached_entry(const tr_lock_stage *ls, const tr_out *o)
{
	for (size_t j = 0; ls && o->cache && j < ls->nouts; j++)
		if (!strcmp(ls->outs[j].path, o->path) && ls->outs[j].h.md5[0])
			return &ls->outs[j];
	return NULL; /* in git (cache: false), or never recorded */
}

/* The cached outs that differ from the commit's dvc.lock, each with every object it needs present. */
static int plan_outs(apply *a)
{
	size_t cap = 0;
	for (size_t i = 0; i < a->target.n; i++) {
		const tr_stage *s = &a->target.stages[i];
		const tr_lock_stage *ls = tr_lock_find(&a->lock, s->name);
		for (size_t k = 0; k < s->nouts; k++) {
			const tr_lock_entry *e = cached_entry(ls, &s->outs[k]);
			tr_hashinfo now;
			if (!e ||
			    (tr_hash_path(a->st, e->path, &now, NULL) == 0 && !strcmp(now.md5, e->h.md5)))
				continue;
			int rc = check_objects(a->root, e->path, &e->h);
			if (rc)
				return rc;
			if (a->nouts == cap) {
				cap = cap ? cap * 2 : 8;
				restore *v = realloc(a->outs, cap * sizeof(*v));
				if (!v)
					return live__fail(LIVE_ENOMEM, "out of memory");
				a->outs = v;
			}
			a->outs[a->nouts++] = (restore){e->path, &e->h};
		}
	}
	return 0;
}

static int do_apply(apply *a)
{
	char applied[41] = "";
	int rc = tr_git_open(a->root, &a->g);
	if (!rc)
		rc = tr_git_head(a->g, a->head);
	if (!rc)
		rc = find_commit(a);
	if (!rc)
		rc = tr_state_open(a->root, &a->st);
	if (!rc && access("dvc.yaml", F_OK) == 0)
		rc = tr_dvcyaml_load("dvc.yaml", &a->now);
	if (!rc)
		rc = load_from_commit(a, "dvc.yaml", &a->target, NULL);
	if (!rc)
		rc = load_from_commit(a, "dvc.lock", NULL, &a->lock);
	if (!rc && tr_git_ref_get(a->g, EXP_EXEC "EXEC_APPLY", applied) != 0)
		applied[0] = 0;
	if (!rc)
		rc = tr_git_worktree_diff(a->g, a->sha, applied, &a->changes, &a->nchanges);
	if (!rc && !a->force)
		rc = check_user_changes(a);
	if (!rc)
		rc = plan_outs(a);
	if (rc)
		return rc;

	/* From here on the workspace changes. */
	rc = tr_git_worktree_write(a->g, a->sha, a->changes, a->nchanges);
	for (size_t i = 0; !rc && i < a->nouts; i++)
		rc = tr_cache_checkout(a->root, a->outs[i].rel, a->outs[i].h);
	if (!rc)
		rc = tr_git_ref_set(a->g, EXP_EXEC "EXEC_APPLY", a->sha, NULL, "live: exp apply");
	return rc;
}

int cmd_exp_apply(int argc, char **argv)
{
	apply a;
	memset(&a, 0, sizeof(a));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			a.force = 1;
		else if (argv[i][0] == '-' || a.rev)
			return cli_error(
			        "live exp apply: unexpected '%s' (usage: live exp apply [--force] <exp>)",
			        argv[i]);
		else
			a.rev = argv[i];
	}
	if (!a.rev)
		return cli_error("live exp apply: name the experiment or checkpoint to apply");
	if (cli_find_root(a.root, sizeof(a.root), 1))
		return 1;
	if (chdir(a.root) != 0)
		return cli_error("cannot enter %s: %s", a.root, strerror(errno));
	int lockfd = -1;
	if (exp_lock_repo(a.root, &lockfd))
		return 1;
	int rc = do_apply(&a);
	if (rc)
		cli_error("%s", live_errmsg());
	else
		printf("Changes for experiment '%s' have been applied to your current workspace.\n", a.rev);
	if (a.st)
		tr_state_save(a.st);
	tr_state_free(a.st);
	free(a.outs);
	tr_wt_changes_free(a.changes, a.nchanges);
	tr_lock_free(&a.lock);
	tr_pipeline_free(&a.target);
	tr_pipeline_free(&a.now);
	tr_git_free(a.g);
	close(lockfd);
	return rc ? 1 : 0;
}
