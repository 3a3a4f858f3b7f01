/*
 * The work tree and the refs that `live exp apply/branch/gc` need: what
 * restoring a commit's files would change, writing them (never the index),
 * creating a branch, and reading every dvc.lock / .dvc file in history.
 */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "git_internal.h"

static int fail_git(int gerr, const char *what)
{
	const git_error *e = git_error_last();
	(void)gerr;
	return live__fail(LIVE_EGIT, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

static int tree_of(tr_git *g, const char *sha, git_tree **out)
{
	git_oid id;
	git_commit *c = NULL;
	if (strlen(sha) != 40 || git_oid_fromstr(&id, sha) != 0)
		return live__fail(LIVE_EINVALID, "'%.48s' is not a commit id", sha);
	int gerr = git_commit_lookup(&c, g->repo, &id);
	if (!gerr)
		gerr = git_commit_tree(out, c);
	git_commit_free(c);
	return gerr ? fail_git(gerr, sha) : 0;
}

/* root/rel, or NULL (message set) when it does not fit. */
static char *full_path(tr_git *g, const char *rel)
{
	size_t n = strlen(g->root) + strlen(rel) + 2;
	char *p = malloc(n);
	if (!p)
		live__fail(LIVE_ENOMEM, "out of memory");
	else
		snprintf(p, n, "%s/%s", g->root, rel);
	return p;
}

/*
 * The work-tree file `rel` as git would store it: its blob id (through the
 * clean filters) and mode. 1 when it is missing, 0 when read, <0 on error.
 */
static int worktree_entry(tr_git *g, const char *rel, git_oid *id, git_filemode_t *mode)
{
	char *full = full_path(g, rel);
	if (!full)
		return LIVE_ENOMEM;
	struct stat st;
	int rc = 0;
	if (lstat(full, &st) != 0) {
		rc = errno == ENOENT || errno == ENOTDIR ? 1 : live__fail_errno(LIVE_EIO, errno, "%s", rel);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(full, target, sizeof(target));
		*mode = GIT_FILEMODE_LINK;
		if (n < 0)
			rc = live__fail_errno(LIVE_EIO, errno, "%s", rel);
		else if (git_odb_hash(id, target, (size_t)n, GIT_OBJECT_BLOB) != 0)
			rc = fail_git(-1, rel);
	} else if (S_ISREG(st.st_mode)) {
		*mode = st.st_mode & S_IXUSR ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		if (git_repository_hashfile(id, g->repo, full, GIT_OBJECT_BLOB, rel) != 0)
			rc = fail_git(-1, rel);
	} else {
		*mode = GIT_FILEMODE_TREE; /* a folder (or stranger): equal to no blob */
		memset(id, 0, sizeof(*id));
	}
	free(full);
	return rc;
}

/* 1 if the tree's entry at `rel` is what the work tree holds. */
static int same_entry(tr_git *g, git_tree *tree, const char *rel, const git_oid *id, git_filemode_t mode)
{
	git_tree_entry *e = NULL;
	if (!tree || git_tree_entry_bypath(&e, tree, rel) != 0)
		return 0;
	git_filemode_t m = git_tree_entry_filemode(e);
	int same = git_oid_equal(git_tree_entry_id(e), id);
	if (m == GIT_FILEMODE_LINK || mode == GIT_FILEMODE_LINK)
		same &= m == mode;
	else if (m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE)
		same &= mode != GIT_FILEMODE_TREE && (!g->trust_exec || m == mode);
	else
		same = 0;
	git_tree_entry_free(e);
	return same;
}

static int push_change(tr_wt_change **v, size_t *n, size_t *cap, const char *rel, int remove, int user)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		tr_wt_change *p = realloc(*v, *cap * sizeof(*p));
		if (!p)
			return live__fail(LIVE_ENOMEM, "out of memory");
		*v = p;
	}
	if (!((*v)[*n].rel = strdup(rel)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	(*v)[*n].remove = remove;
	(*v)[*n].user_change = user;
	(*n)++;
	return 0;
}

void tr_wt_changes_free(tr_wt_change *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].rel);
	free(c);
}

/*
 * Candidates come from two diffs: the commit's tree against the work tree
 * (through the index, whose stat data spares hashing unchanged files), and
 * HEAD's tree against the commit's (what the commit deleted). The blended
 * first diff can report a file whose content is back to the tree's, so each
 * candidate is decided by comparing blob ids.
 */
int tr_git_worktree_diff(tr_git *g, const char *commit, const char *applied, tr_wt_change **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char head_sha[41];
	git_tree *target = NULL, *head = NULL, *prev = NULL;
	git_diff *diff = NULL, *removed = NULL;
	size_t cap = 0;
	int rc = tr_git_head(g, head_sha);
	if (!rc)
		rc = tree_of(g, commit, &target);
	if (!rc)
		rc = tree_of(g, head_sha, &head);
	if (!rc && applied && applied[0] && tree_of(g, applied, &prev) != 0)
		prev = NULL; /* no applied experiment to compare with: only HEAD counts */

	git_diff_options opts;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_SKIP_BINARY_CHECK;
	if (!rc) {
		int gerr = git_diff_tree_to_workdir_with_index(&diff, g->repo, target, &opts);
		if (!gerr)
			gerr = git_diff_tree_to_tree(&removed, g->repo, head, target, &opts);
		if (gerr)
			rc = fail_git(gerr, "diff against the work tree");
	}
	for (size_t i = 0; !rc && i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status == GIT_DELTA_UNTRACKED || d->status == GIT_DELTA_IGNORED ||
		    d->status == GIT_DELTA_ADDED)
			continue; /* not in the commit: the removals come from the second diff */
		const char *rel = d->old_file.path;
		git_tree_entry *e = NULL;
		if (git_tree_entry_bypath(&e, target, rel) != 0)
			continue;
		git_filemode_t m = git_tree_entry_filemode(e);
		git_tree_entry_free(e);
		if (m == GIT_FILEMODE_COMMIT || m == GIT_FILEMODE_TREE)
			continue; /* submodules are not ours to write */
		git_oid id;
		git_filemode_t mode;
		int r = worktree_entry(g, rel, &id, &mode);
		if (r < 0)
			rc = r;
		else if (r == 1)
			rc = push_change(out, n, &cap, rel, 0, 0);
		else if (!same_entry(g, target, rel, &id, mode))
			rc = push_change(out, n, &cap, rel, 0,
			                 !same_entry(g, head, rel, &id, mode) &&
			                         !same_entry(g, prev, rel, &id, mode));
	}
	for (size_t i = 0; !rc && i < git_diff_num_deltas(removed); i++) {
		const git_diff_delta *d = git_diff_get_delta(removed, i);
		if (d->status != GIT_DELTA_DELETED)
			continue;
		git_oid id;
		git_filemode_t mode;
		int r = worktree_entry(g, d->old_file.path, &id, &mode);
		if (r < 0)
			rc = r;
		else if (r == 0 && mode != GIT_FILEMODE_TREE)
			rc = push_change(out, n, &cap, d->old_file.path, 1,
			                 !same_entry(g, head, d->old_file.path, &id, mode) &&
			                         !same_entry(g, prev, d->old_file.path, &id, mode));
	}
	git_diff_free(diff);
	git_diff_free(removed);
	git_tree_free(target);
	git_tree_free(head);
	git_tree_free(prev);
	if (rc) {
		tr_wt_changes_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* A path from a tree is written only if no part is empty, ".", "..", or ".git". */
static int safe_rel(const char *rel)
{
	const char *p = rel;
	if (!*p || *p == '/')
		return 0;
	while (*p) {
		size_t k = strcspn(p, "/");
		if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.') ||
		    (k == 4 && !strncasecmp(p, ".git", 4)))
			return 0;
		p += k;
		if (*p == '/')
			p++;
	}
	return 1;
}

/*
 * Create the folders above `rel` (mode 0777 less the umask, as git does),
 * refusing to go through a symbolic link or a file: a checkout never writes
 * outside the work tree.
 */
static int make_parents(tr_git *g, const char *rel)
{
	char *full = full_path(g, rel);
	if (!full)
		return LIVE_ENOMEM;
	size_t base = strlen(g->root) + 1;
	int rc = 0;
	for (char *s = strchr(full + base, '/'); !rc && s; s = strchr(s + 1, '/')) {
		*s = 0;
		struct stat st;
		if (lstat(full, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				rc = live__fail(LIVE_EINVALID, "%s: '%s' is not a folder in the work tree",
				                rel, full + base);
		} else if (errno != ENOENT || mkdir(full, 0777) != 0) {
			rc = live__fail_errno(LIVE_EIO, errno, "%s: create folder %s", rel, full + base);
		}
		*s = '/';
	}
	free(full);
	return rc;
}

/* Write `data` as the file (or link) `rel`: a temp name in its folder, then rename. */
static int write_entry(tr_git *g, const char *rel, const void *data, size_t len, git_filemode_t mode)
{
	char *full = full_path(g, rel);
	if (!full)
		return LIVE_ENOMEM;
	size_t n = strlen(full) + 32;
	char *tmp = malloc(n);
	int rc = 0;
	if (!tmp) {
		free(full);
		return live__fail(LIVE_ENOMEM, "out of memory");
	}
	char *slash = strrchr(full, '/');
	snprintf(tmp, n, "%.*s/.%s.live-tmp-XXXXXX", (int)(slash - full), full, slash + 1);
	if (mode == GIT_FILEMODE_LINK) {
		/* mkstemp only to pick a free name; symlink() then takes it. */
		char *target = strndup(data, len);
		int fd = target ? mkostemp(tmp, O_CLOEXEC) : -1;
		if (!target)
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		else if (fd < 0 || close(fd) != 0 || unlink(tmp) != 0 || symlink(target, tmp) != 0)
			rc = live__fail_errno(LIVE_EIO, errno, "%s: write", rel);
		free(target);
	} else {
		int fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			rc = live__fail_errno(LIVE_EIO, errno, "%s: write", rel);
		} else {
			mode_t um = umask(0);
			umask(um);
			const char *p = data;
			size_t left = len;
			while (!rc && left > 0) {
				ssize_t w = write(fd, p, left);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					rc = live__fail_errno(LIVE_EIO, errno, "%s: write", rel);
				else
					p += w, left -= (size_t)w;
			}
			mode_t perm = (mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666) & ~um;
			if (!rc && fchmod(fd, perm) != 0)
				rc = live__fail_errno(LIVE_EIO, errno, "%s: chmod", rel);
			if (close(fd) != 0 && !rc)
				rc = live__fail_errno(LIVE_EIO, errno, "%s: write", rel);
			if (rc)
				unlink(tmp);
		}
	}
	if (!rc && rename(tmp, full) != 0) {
		rc = live__fail_errno(errno == EISDIR ? LIVE_EINVALID : LIVE_EIO, errno, "%s: replace", rel);
		unlink(tmp);
	}
	free(tmp);
	free(full);
	return rc;
}

/* Remove `rel`, then the folders above it that this left empty (as git does). */
static int remove_entry(tr_git *g, const char *rel)
{
	char *full = full_path(g, rel);
	if (!full)
		return LIVE_ENOMEM;
	int rc = 0;
	if (unlink(full) != 0 && errno != ENOENT)
		rc = live__fail_errno(LIVE_EIO, errno, "%s: remove", rel);
	size_t base = strlen(g->root);
	for (char *s = strrchr(full, '/'); !rc && s && (size_t)(s - full) > base; s = strrchr(full, '/')) {
		*s = 0;
		if (rmdir(full) != 0)
			break;
	}
	free(full);
	return rc;
}

int tr_git_worktree_write(tr_git *g, const char *commit, const tr_wt_change *c, size_t n)
{
	git_tree *tree = NULL;
	int rc = tree_of(g, commit, &tree);
	for (size_t i = 0; !rc && i < n; i++) {
		const char *rel = c[i].rel;
		if (!safe_rel(rel)) {
			rc = live__fail(LIVE_EINVALID, "'%s': not a path inside the work tree", rel);
			break;
		}
		if (c[i].remove) {
			rc = remove_entry(g, rel);
			continue;
		}
		git_tree_entry *e = NULL;
		git_blob *blob = NULL;
		git_buf buf = {0};
		if (git_tree_entry_bypath(&e, tree, rel) != 0) {
			rc = live__fail(LIVE_ENOTFOUND, "%s: not in %.7s", rel, commit);
			break;
		}
		git_filemode_t mode = git_tree_entry_filemode(e);
		int gerr = git_blob_lookup(&blob, g->repo, git_tree_entry_id(e));
		if (gerr) {
			rc = fail_git(gerr, rel);
		} else if (mode == GIT_FILEMODE_LINK) {
			rc = make_parents(g, rel);
			if (!rc)
				rc = write_entry(g, rel, git_blob_rawcontent(blob),
				                 (size_t)git_blob_rawsize(blob), mode);
		} else {
			/* The bytes a checkout writes: smudge filters and eol rules for this path. */
			git_blob_filter_options fo;
			git_blob_filter_options_init(&fo, GIT_BLOB_FILTER_OPTIONS_VERSION);
			gerr = git_blob_filter(&buf, blob, rel, &fo);
			if (gerr)
				rc = fail_git(gerr, rel);
			if (!rc)
				rc = make_parents(g, rel);
			if (!rc)
				rc = write_entry(g, rel, buf.ptr, buf.size, mode);
		}
		git_buf_dispose(&buf);
		git_blob_free(blob);
		git_tree_entry_free(e);
	}
	git_tree_free(tree);
	return rc;
}

int tr_git_branch_create(tr_git *g, const char *branch, const char *sha, const char *log_message)
{
	int valid = 0;
	git_oid id;
	int rc = tr_git_branch_name_check(branch);
	if (rc)
		return rc;
	if (git_branch_name_is_valid(&valid, branch) != 0 || !valid) {
		/* git's rules are the stricter: libgit2 agrees with them, this is a safety net. */
		char shown[160];
		tr_name_shown(branch, shown, sizeof(shown));
		return live__fail(LIVE_EINVALID, "'%s' is not a valid branch name: libgit2 refuses it", shown);
	}
	if (strlen(sha) != 40 || git_oid_fromstr(&id, sha) != 0)
		return live__fail(LIVE_EINVALID, "'%.48s' is not a commit id", sha);
	/* Only a commit may become a branch (an experiment ref could name another object). */
	git_commit *c = NULL;
	if (git_commit_lookup(&c, g->repo, &id) != 0)
		return live__fail(LIVE_EINVALID, "'%.7s' is not a commit: no branch made from it", sha);
	git_commit_free(c);
	char ref[1024];
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	git_reference *r = NULL;
	int gerr = git_reference_create(&r, g->repo, ref, &id, 0, log_message);
	git_reference_free(r);
	if (gerr == GIT_EEXISTS)
		return live__fail(LIVE_EINVALID, "Git branch '%s' already exists.", branch);
	return gerr ? fail_git(gerr, ref) : 0;
}

int tr_git_reflog_count(tr_git *g, const char *ref, size_t *n)
{
	git_reflog *log = NULL;
	*n = 0;
	int gerr = git_reflog_read(&log, g->repo, ref);
	if (gerr)
		return fail_git(gerr, ref);
	*n = git_reflog_entrycount(log);
	git_reflog_free(log);
	return 0;
}

/* ---- every dvc.lock and .dvc file in history ---------------------------------- */

/* A set of object ids (open addressing): each tree and blob is read once. */
typedef struct oidset {
	git_oid *v;
	size_t cap, n;
} oidset;

static size_t oid_hash(const git_oid *id)
{
	size_t h;
	memcpy(&h, id->id, sizeof(h));
	return h;
}

/* 1 if added, 0 if it was there, <0 out of memory. */
static int oidset_add(oidset *s, const git_oid *id)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		git_oid *v = calloc(cap, sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		for (size_t i = 0; i < s->cap; i++) {
			if (git_oid_is_zero(&s->v[i]))
				continue;
			size_t k = oid_hash(&s->v[i]) & (cap - 1);
			while (!git_oid_is_zero(&v[k]))
				k = (k + 1) & (cap - 1);
			v[k] = s->v[i];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	size_t k = oid_hash(id) & (s->cap - 1);
	while (!git_oid_is_zero(&s->v[k])) {
		if (git_oid_equal(&s->v[k], id))
			return 0;
		k = (k + 1) & (s->cap - 1);
	}
	s->v[k] = *id;
	s->n++;
	return 1;
}

typedef struct dvc_walk {
	tr_git *g;
	oidset seen;
	int (*fn)(const char *rel, const void *data, size_t len, void *ctx);
	void *ctx;
	int rc;
} dvc_walk;

static int is_dvc_file(const char *name)
{
	size_t n = strlen(name);
	return !strcmp(name, "dvc.lock") || (n > 4 && !strcmp(name + n - 4, ".dvc"));
}

static int walk_entry(const char *dir, const git_tree_entry *e, void *payload)
{
	dvc_walk *w = payload;
	git_object_t type = git_tree_entry_type(e);
	const char *name = git_tree_entry_name(e);
	if (type != GIT_OBJECT_TREE && (type != GIT_OBJECT_BLOB || !is_dvc_file(name)))
		return 0;
	int added = oidset_add(&w->seen, git_tree_entry_id(e));
	if (added < 0) {
		w->rc = added;
		return -1;
	}
	if (!added)
		return 1; /* a tree already walked (skip it), or a blob already given */
	if (type == GIT_OBJECT_TREE)
		return 0;
	git_blob *blob = NULL;
	if (git_blob_lookup(&blob, w->g->repo, git_tree_entry_id(e)) != 0) {
		w->rc = fail_git(-1, name);
		return -1;
	}
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s%s", dir, name);
	w->rc = w->fn(rel, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), w->ctx);
	git_blob_free(blob);
	return w->rc ? -1 : 0;
}

int tr_git_each_dvc_file(tr_git *g, char *const *tips, size_t ntips,
                         int (*fn)(const char *rel, const void *data, size_t len, void *ctx), void *ctx)
{
	git_revwalk *walk = NULL;
	dvc_walk w = {.g = g, .fn = fn, .ctx = ctx};
	int gerr = git_revwalk_new(&walk, g->repo);
	if (gerr)
		return fail_git(gerr, "revwalk");
	for (size_t i = 0; !w.rc && i < ntips; i++) {
		git_oid id;
		if (strlen(tips[i]) != 40 || git_oid_fromstr(&id, tips[i]) != 0)
			w.rc = live__fail(LIVE_EINVALID, "'%.48s' is not a commit id", tips[i]);
		else if ((gerr = git_revwalk_push(walk, &id)) != 0)
			w.rc = fail_git(gerr, tips[i]);
	}
	git_oid id;
	while (!w.rc && (gerr = git_revwalk_next(&id, walk)) == 0) {
		git_commit *c = NULL;
		git_tree *tree = NULL;
		if ((gerr = git_commit_lookup(&c, g->repo, &id)) == 0)
			gerr = git_commit_tree(&tree, c);
		if (gerr) {
			w.rc = fail_git(gerr, "commit");
		} else {
			int added = oidset_add(&w.seen, git_tree_id(tree));
			if (added < 0)
				w.rc = added;
			else if (added && git_tree_walk(tree, GIT_TREEWALK_PRE, walk_entry, &w) != 0 && !w.rc)
				w.rc = fail_git(-1, "tree walk");
		}
		git_tree_free(tree);
		git_commit_free(c);
	}
	if (!w.rc && gerr != GIT_ITEROVER)
		w.rc = fail_git(gerr, "revwalk");
	git_revwalk_free(walk);
	free(w.seen.v);
	return w.rc;
}

/* Paths git sees in the work tree (tracked, or untracked and not ignored) named dvc.lock or *.dvc. */
int tr_git_worktree_dvc_files(tr_git *g, char ***paths, size_t *n)
{
	*paths = NULL;
	*n = 0;
	git_status_options so;
	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	           GIT_STATUS_OPT_INCLUDE_UNMODIFIED;
	git_status_list *list = NULL;
	int gerr = git_status_list_new(&list, g->repo, &so);
	if (gerr)
		return fail_git(gerr, "status");
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < git_status_list_entrycount(list); i++) {
		const git_status_entry *s = git_status_byindex(list, i);
		const git_diff_delta *d = s->index_to_workdir ? s->index_to_workdir : s->head_to_index;
		if (!d || (s->status & GIT_STATUS_WT_DELETED))
			continue;
		const char *rel = d->new_file.path;
		const char *name = strrchr(rel, '/');
		if (!is_dvc_file(name ? name + 1 : rel))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			char **p = realloc(*paths, cap * sizeof(*p));
			if (!p) {
				rc = live__fail(LIVE_ENOMEM, "out of memory");
				break;
			}
			*paths = p;
		}
		if (!((*paths)[*n] = strdup(rel)))
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		else
			(*n)++;
	}
	git_status_list_free(list);
	if (rc) {
		tr_strv_free(*paths, *n);
		*paths = NULL;
		*n = 0;
	}
	return rc;
}
