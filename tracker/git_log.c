/*
 * Reading experiments back for `exp show` and `metrics diff`: the ids of a
 * few small blobs in a commit's tree (so that a blob shared by many commits,
 * such as an unchanged params.yaml, is read and parsed once), blobs by id,
 * and refs peeled to the commits they name. Nothing here walks a whole tree
 * or writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git_internal.h"

static int fail_git(const char *what)
{
	const git_error *e = git_error_last();
	return live__fail(LIVE_EGIT, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

static int parse_id(const char *hex, git_oid *id)
{
	if (!hex || strlen(hex) != 40 || git_oid_fromstr(id, hex) != 0)
		return live__fail(LIVE_EINVALID, "'%.48s' is not an object id", hex ? hex : "(null)");
	return 0;
}

int tr_git_blob_ids(tr_git *g, const char *commit, const char *const *paths, size_t n, char (*ids)[41])
{
	git_oid id;
	int rc = parse_id(commit, &id);
	if (rc)
		return rc;
	git_commit *c;
	git_tree *tree;
	if (git_commit_lookup(&c, g->repo, &id) != 0)
		return fail_git(commit);
	int gerr = git_commit_tree(&tree, c);
	git_commit_free(c);
	if (gerr)
		return fail_git(commit);
	for (size_t i = 0; i < n; i++) {
		git_tree_entry *e;
		ids[i][0] = 0;
		if (git_tree_entry_bypath(&e, tree, paths[i]) != 0)
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			git_oid_tostr(ids[i], 41, git_tree_entry_id(e));
		git_tree_entry_free(e);
	}
	git_error_clear(); /* a missing path is an answer, not an error */
	git_tree_free(tree);
	return 0;
}

int tr_git_read_blob_id(tr_git *g, const char *blob, live__buf *out)
{
	git_oid id;
	int rc = parse_id(blob, &id);
	if (rc)
		return rc;
	git_blob *b;
	if (git_blob_lookup(&b, g->repo, &id) != 0)
		return fail_git(blob);
	out->len = 0;
	size_t n = (size_t)git_blob_rawsize(b);
	rc = n ? live__buf_append(out, git_blob_rawcontent(b), n) : 0;
	git_blob_free(b);
	return rc;
}

int tr__git_badref_describe(tr_git *g, git_reference *ref, tr_badref *b)
{
	git_reference *resolved = NULL;
	git_object *cur = NULL;
	char shown[400], target[400], hex[8] = "";
	int tagged = 0;

	tr_name_shown(git_reference_name(ref), shown, sizeof(shown));
	b->kind = TR_BADREF_MISSING;
	if (git_reference_resolve(&resolved, ref) != 0) {
		const char *t = git_reference_symbolic_target(ref);
		b->kind = t ? TR_BADREF_DANGLING : TR_BADREF_MISSING;
		tr_name_shown(t ? t : "?", target, sizeof(target));
	} else {
		git_oid_tostr(hex, sizeof(hex), git_reference_target(resolved));
		if (git_object_lookup(&cur, g->repo, git_reference_target(resolved), GIT_OBJECT_ANY) != 0)
			cur = NULL;
		/* A tag (of a tag...) is followed to what it finally names. */
		for (int depth = 0; cur && git_object_type(cur) == GIT_OBJECT_TAG; depth++) {
			git_object *next = NULL;
			tagged = 1;
			if (depth == 64 || git_tag_target(&next, (git_tag *)cur) != 0)
				next = NULL;
			git_object_free(cur);
			cur = next;
		}
		git_object_t type = cur ? git_object_type(cur) : GIT_OBJECT_INVALID;
		if (type == GIT_OBJECT_BLOB || type == GIT_OBJECT_TREE)
			b->kind = TR_BADREF_NOT_COMMIT;
	}
	char msg[1200];
	if (b->kind == TR_BADREF_DANGLING)
		snprintf(msg, sizeof(msg), "%s points at the ref %s, which does not exist", shown, target);
	else if (b->kind == TR_BADREF_MISSING)
		snprintf(msg, sizeof(msg), "%s points at %s, which is missing or unreadable (see git fsck)",
		         shown, hex[0] ? hex : "an object");
	else
		snprintf(msg, sizeof(msg), "%s points at a %s%s, not a commit", shown,
		         tagged ? "tag of a " : "", git_object_type(cur) == GIT_OBJECT_BLOB ? "blob" : "tree");
	git_error_clear();
	git_object_free(cur);
	git_reference_free(resolved);
	b->name = strdup(git_reference_name(ref));
	b->msg = strdup(msg);
	return b->name && b->msg ? 0 : live__fail(LIVE_ENOMEM, "out of memory");
}

static int push_bad(tr_git *g, git_reference *ref, tr_badref **bad, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		tr_badref *v = realloc(*bad, ncap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		*bad = v;
		*cap = ncap;
	}
	tr_badref *b = &(*bad)[(*n)++];
	memset(b, 0, sizeof(*b));
	return tr__git_badref_describe(g, ref, b);
}

void tr_badrefs_free(tr_badref *bad, size_t n)
{
	for (size_t i = 0; bad && i < n; i++) {
		free(bad[i].name);
		free(bad[i].msg);
	}
	free(bad);
}

int tr_git_ref_commits(tr_git *g, const char *prefix, char ***names, char ***shas, size_t *n)
{
	return tr_git_ref_commits_ex(g, prefix, names, shas, n, NULL, NULL);
}

int tr_git_ref_commits_ex(tr_git *g, const char *prefix, char ***names, char ***shas, size_t *n,
			  tr_badref **bad, size_t *nbad)
{
	*names = *shas = NULL;
	*n = 0;
	if (bad) {
		*bad = NULL;
		*nbad = 0;
	}
	char glob[600];
	snprintf(glob, sizeof(glob), "%s*", prefix);
	git_reference_iterator *it;
	if (git_reference_iterator_glob_new(&it, g->repo, glob) != 0)
		return fail_git(prefix);
	size_t cap = 0, cap2 = 0, n2 = 0, cap3 = 0;
	int rc = 0;
	git_reference *ref;
	while (!rc && git_reference_next(&ref, it) == 0) {
		git_object *obj = NULL;
		/* An annotated tag names its commit through the tag object. */
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			char hex[41];
			git_oid_tostr(hex, sizeof(hex), git_object_id(obj));
			rc = tr__strv_push(names, n, &cap, git_reference_name(ref));
			if (!rc)
				rc = tr__strv_push(shas, &n2, &cap2, hex);
			git_object_free(obj);
		} else if (bad) {
			rc = push_bad(g, ref, bad, nbad, &cap3);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	git_error_clear();
	if (rc) {
		tr_strv_free(*names, *n);
		tr_strv_free(*shas, n2);
		*names = *shas = NULL;
		*n = 0;
		if (bad) {
			tr_badrefs_free(*bad, *nbad);
			*bad = NULL;
			*nbad = 0;
		}
	}
	return rc;
}

int tr_git_commits_between(tr_git *g, const char *tip, const char *hide, char ***shas, size_t *n)
{
	*shas = NULL;
	*n = 0;
	git_oid id;
	if (!tip || strlen(tip) != 40 || git_oid_fromstr(&id, tip) != 0)
		return live__fail(LIVE_EINVALID, "'%.48s' is not a commit id", tip ? tip : "(null)");
	git_revwalk *walk = NULL;
	if (git_revwalk_new(&walk, g->repo) != 0)
		return fail_git("revwalk");
	int rc = 0;
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
	if (git_revwalk_push(walk, &id) != 0)
		rc = fail_git(tip);
	git_oid hid;
	if (!rc && hide && *hide && strlen(hide) == 40 && git_oid_fromstr(&hid, hide) == 0 &&
	    git_odb_exists(g->odb, &hid) && git_revwalk_hide(walk, &hid) != 0)
		rc = fail_git(hide);
	size_t cap = 0;
	int gerr = 0;
	while (!rc && (gerr = git_revwalk_next(&id, walk)) == 0) {
		char hex[41];
		git_oid_tostr(hex, sizeof(hex), &id);
		rc = tr__strv_push(shas, n, &cap, hex);
	}
	if (!rc && gerr != GIT_ITEROVER)
		rc = fail_git("revwalk");
	git_revwalk_free(walk);
	if (rc) {
		tr_strv_free(*shas, *n);
		*shas = NULL;
		*n = 0;
	}
	return rc;
}
