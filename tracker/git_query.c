/*
 * Reading history and the work tree: what changed since a commit, which
 * experiment refs exist, how commits relate. Nothing here writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git_internal.h"

static int fail_git(int gerr, const char *what)
{
	const git_error *e = git_error_last();
	return live__fail(LIVE_EGIT, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
	(void)gerr;
}

static int lookup_commit(tr_git *g, const char *sha, git_commit **out)
{
	git_oid id;
	if (strlen(sha) != 40 || git_oid_fromstr(&id, sha) != 0)
		return live__fail(LIVE_EINVALID, "'%.48s' is not a commit id", sha);
	int gerr = git_commit_lookup(out, g->repo, &id);
	return gerr ? fail_git(gerr, sha) : 0;
}

void tr_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int tr__strv_push(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		char **p = realloc(*v, *cap * sizeof(*p));
		if (!p)
			return live__fail(LIVE_ENOMEM, "out of memory");
		*v = p;
	}
	if (!((*v)[*n] = strdup(s)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	(*n)++;
	return 0;
}

int tr_git_changed_paths(tr_git *g, const char *commit, char ***paths, size_t *n)
{
	*paths = NULL;
	*n = 0;
	git_commit *c;
	int rc = lookup_commit(g, commit, &c);
	if (rc)
		return rc;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	/* Names only: no content comparison beyond what deciding "changed" needs. */
	opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_SKIP_BINARY_CHECK;
	int gerr = git_commit_tree(&tree, c);
	if (!gerr)
		gerr = git_diff_tree_to_workdir_with_index(&diff, g->repo, tree, &opts);
	if (gerr)
		rc = fail_git(gerr, "diff against the work tree");
	size_t cap = 0;
	for (size_t i = 0; !rc && diff && i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status == GIT_DELTA_UNTRACKED || d->status == GIT_DELTA_IGNORED)
			continue;
		/* Blending tree->index with index->workdir can report a file whose work-tree
		 * content equals the tree's (changed in both steps, back to the same): the
		 * index keeps this cheap, and the few reported paths are checked by content. */
		if (d->status == GIT_DELTA_MODIFIED && (d->old_file.flags & GIT_DIFF_FLAG_VALID_ID)) {
			git_oid now;
			if (git_repository_hashfile(&now, g->repo, d->new_file.path, GIT_OBJECT_BLOB, NULL) == 0 &&
			    git_oid_equal(&now, &d->old_file.id))
				continue;
		}
		const char *path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
		rc = tr__strv_push(paths, n, &cap, path);
	}
	git_diff_free(diff);
	git_tree_free(tree);
	git_commit_free(c);
	if (rc) {
		tr_strv_free(*paths, *n);
		*paths = NULL;
		*n = 0;
	}
	return rc;
}

int tr_git_refs_under(tr_git *g, const char *prefix, char ***names, char ***shas, size_t *n)
{
	*names = *shas = NULL;
	*n = 0;
	char glob[600];
	snprintf(glob, sizeof(glob), "%s*", prefix);
	git_reference_iterator *it;
	int gerr = git_reference_iterator_glob_new(&it, g->repo, glob);
	if (gerr)
		return fail_git(gerr, prefix);
	size_t cap = 0, cap2 = 0, n2 = 0;
	int rc = 0;
	git_reference *ref;
	while (!rc && git_reference_next(&ref, it) == 0) {
		git_reference *resolved = NULL;
		if (git_reference_resolve(&resolved, ref) == 0) {
			char hex[41];
			git_oid_tostr(hex, sizeof(hex), git_reference_target(resolved));
			rc = tr__strv_push(names, n, &cap, git_reference_name(ref));
			if (!rc)
				rc = tr__strv_push(shas, &n2, &cap2, hex);
			git_reference_free(resolved);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (rc) {
		tr_strv_free(*names, *n);
		tr_strv_free(*shas, n2);
		*names = *shas = NULL;
		*n = 0;
	}
	return rc;
}

int tr_git_descends(tr_git *g, const char *descendant, const char *ancestor)
{
	git_oid a, b;
	if (git_oid_fromstr(&a, descendant) || git_oid_fromstr(&b, ancestor))
		return live__fail(LIVE_EINVALID, "not commit ids: '%.48s', '%.48s'", descendant, ancestor);
	if (git_oid_equal(&a, &b))
		return 1;
	int r = git_graph_descendant_of(g->repo, &a, &b);
	return r < 0 ? fail_git(r, "graph") : r;
}

int tr_git_same_tree(tr_git *g, const char *a, const char *b)
{
	git_commit *ca, *cb;
	int rc = lookup_commit(g, a, &ca);
	if (rc)
		return rc;
	if ((rc = lookup_commit(g, b, &cb))) {
		git_commit_free(ca);
		return rc;
	}
	int same = git_oid_equal(git_commit_tree_id(ca), git_commit_tree_id(cb));
	git_commit_free(ca);
	git_commit_free(cb);
	return same;
}

int tr_git_parent(tr_git *g, const char *commit, char sha_out[41])
{
	git_commit *c;
	int rc = lookup_commit(g, commit, &c);
	if (rc)
		return rc;
	if (git_commit_parentcount(c) == 0)
		rc = live__fail(LIVE_ENOTFOUND, "%.7s has no parent", commit);
	else
		git_oid_tostr(sha_out, 41, git_commit_parent_id(c, 0));
	git_commit_free(c);
	return rc;
}

/*
 * The tip of the experiment named `rev` (the last part of a ref under
 * refs/exps/, not exec/): 1 and sha_out set if one leads to a commit; else 0,
 * with *bad the message of the first such ref that leads elsewhere, if any
 * (malloc'd). <0 on error. Only the refs so named are peeled.
 */
static int exp_tip(tr_git *g, const char *rev, char sha_out[41], char **bad)
{
	git_reference_iterator *it;
	git_reference *ref;
	int found = 0, rc = 0;

	*bad = NULL;
	if (git_reference_iterator_glob_new(&it, g->repo, "refs/exps/*") != 0)
		return 0; /* as if there were none: the revision is tried as git reads it */
	while (!found && !rc && git_reference_next(&ref, it) == 0) {
		const char *name = git_reference_name(ref);
		const char *last = strrchr(name, '/');
		git_object *commit = NULL;
		if (strncmp(name, "refs/exps/exec/", 15) && last && !strcmp(last + 1, rev)) {
			if (git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) == 0) {
				git_oid_tostr(sha_out, 41, git_object_id(commit));
				found = 1;
				git_object_free(commit);
			} else if (!*bad) {
				tr_badref b = {0};
				rc = tr__git_badref_describe(g, ref, &b);
				*bad = b.msg;
				b.msg = NULL;
				free(b.name);
			}
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	git_error_clear();
	if (rc) {
		free(*bad);
		*bad = NULL;
	}
	return rc ? rc : found;
}

/*
 * A revision as a user types it: a full or short sha, an experiment name
 * (exp-4de2a, found under refs/exps/), a branch, a tag, HEAD, HEAD~1, ...
 * Tags are peeled; what leads to no commit is an error naming it.
 */
int tr_git_resolve(tr_git *g, const char *rev, char sha_out[41])
{
	char shown[200], *bad = NULL;

	if (!rev || !*rev)
		return live__fail(LIVE_EINVALID, "empty revision");
	tr_name_shown(rev, shown, sizeof(shown));
	if (!strchr(rev, '/') && !strchr(rev, '~') && !strchr(rev, '^')) {
		int found = exp_tip(g, rev, sha_out, &bad);
		if (found)
			return found < 0 ? found : 0;
	}
	git_object *obj = NULL, *commit = NULL;
	int gerr = git_revparse_single(&obj, g->repo, rev);
	if (!gerr)
		gerr = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	int rc = 0;
	if (!gerr) {
		git_oid_tostr(sha_out, 41, git_object_id(commit));
	} else if (bad) {
		rc = live__fail(LIVE_EINVALID, "experiment '%s': %s", shown, bad);
	} else if (obj) {
		git_object *end = NULL;
		int tagged = git_object_type(obj) == GIT_OBJECT_TAG;
		if (tagged && git_tag_peel(&end, (git_tag *)obj) != 0)
			end = NULL;
		rc = live__fail(LIVE_EINVALID, "revision '%s' is a %s%s, not a commit", shown,
		                tagged ? "tag of a " : "",
		                git_object_type2string(git_object_type(end ? end : obj)));
		git_object_free(end);
	} else {
		rc = live__fail(LIVE_ENOTFOUND, "unknown revision '%s'", shown);
	}
	git_error_clear();
	free(bad);
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

int tr_git_read_blob(tr_git *g, const char *commit, const char *path, live__buf *out)
{
	git_commit *c;
	int rc = lookup_commit(g, commit, &c);
	if (rc)
		return rc;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int gerr = git_commit_tree(&tree, c);
	if (!gerr && git_tree_entry_bypath(&e, tree, path) != 0)
		rc = live__fail(LIVE_ENOTFOUND, "%s: not in %.7s", path, commit);
	else if (!gerr && git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		rc = live__fail(LIVE_ENOTFOUND, "%s: not a file in %.7s", path, commit);
	else if (!gerr)
		gerr = git_blob_lookup(&blob, g->repo, git_tree_entry_id(e));
	if (gerr)
		rc = fail_git(gerr, path);
	if (!rc && blob) {
		out->len = 0;
		rc = live__buf_append(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	}
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

int tr_git_commit_info(tr_git *g, const char *commit, long long *time_out, char parent_out[41], int *nparents)
{
	git_commit *c;
	int rc = lookup_commit(g, commit, &c);
	if (rc)
		return rc;
	if (time_out)
		*time_out = (long long)git_commit_time(c);
	if (nparents)
		*nparents = (int)git_commit_parentcount(c);
	if (parent_out) {
		parent_out[0] = 0;
		if (git_commit_parentcount(c) > 0)
			git_oid_tostr(parent_out, 41, git_commit_parent_id(c, 0));
	}
	git_commit_free(c);
	return 0;
}
