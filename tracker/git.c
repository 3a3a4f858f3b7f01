/*
 * Checkpoint commits and experiment refs through libgit2 (SPEC 3,
 * reference/dvc-checkpoints.md 1): commits that hang off no branch, the exp
 * refs and the EXEC_* refs. Nothing here moves HEAD, the index or a branch.
 * The only library file that includes git2.h; every libgit2 error is turned
 * into LIVE_EGIT (or a closer LIVE_E* code) with a one-line message.
 */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "git_internal.h"


static const char no_identity[] =
        "Git username and email must be configured (git config user.name / user.email)";

/* ---- errors ------------------------------------------------------------------ */

/* libgit2's last message on one line; it may have none (NULL in 1.5). */
void tr__git_message(int gerr, char *buf, size_t size)
{
	const git_error *e = git_error_last();
	size_t n;

	if (e && e->message && *e->message)
		snprintf(buf, size, "%s", e->message);
	else
		snprintf(buf, size, "libgit2 error %d", gerr);
	for (char *p = buf; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '.'))
		buf[--n] = '\0';
}

/*
 * Set this thread's message and return `code`. Control characters in the
 * names it quotes are shown as '?', so that the message stays one line.
 */
int tr__git_fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return live__fail(code, "%s", msg);
}

/* `code` with the message "<what>: <libgit2's message>". */
int tr__git_fail_git(int code, int gerr, const char *fmt, ...)
{
	char what[512], why[512];
	va_list ap;

	tr__git_message(gerr, why, sizeof(why));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tr__git_fail(code, "%s: %s", what, why);
}

/* The code for errno `err` (LIVE_ENOTFOUND for ENOENT), with "<what>: <strerror>". */
static int fail_errno(int err, const char *fmt, ...) LIVE__PRINTF(2, 3);
static int fail_errno(int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tr__git_fail(err == ENOENT ? LIVE_ENOTFOUND : live__errno_code(err), "%s: %s", what,
	                    strerror(err));
}

/* ---- setup ------------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_libgit2(void)
{
	/* Never shut down: the process may open repositories until it exits. */
	init_rc = git_libgit2_init();
}

int tr__git_init(void)
{
	pthread_once(&init_once, init_libgit2);
	if (init_rc < 0)
		return tr__git_fail_git(LIVE_EGIT, init_rc, "cannot initialise libgit2");
	return 0;
}

int tr__git_is_hex40(const char *s)
{
	if (!s)
		return 0;
	for (int i = 0; i < 40; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[40] == '\0';
}

/* Parse a 40-hex commit id given by the caller; `what` names it in the message. */
int tr__git_parse_sha(const char *hex, git_oid *out, const char *what)
{
	if (!tr__git_is_hex40(hex))
		return tr__git_fail(LIVE_EINVALID, "%s '%s': not a 40-hex git object id", what,
		                    hex ? hex : "(null)");
	git_oid_fromstrn(out, hex, 40);
	return 0;
}

/* ---- the repository ---------------------------------------------------------- */

/*
 * 1 if libgit2 refused to open the repository because another user owns it
 * (git's safe.directory check). libgit2 1.5.1 says so with GIT_EOWNER only
 * when some safe.directory is configured; without one, the refusal comes out
 * as GIT_ENOTFOUND "config value 'safe.directory' was not found".
 */
static int refused_for_ownership(int rc)
{
	const git_error *e = git_error_last();

	if (rc == GIT_EOWNER)
		return 1;
	return rc == GIT_ENOTFOUND && e && e->klass == GIT_ERROR_CONFIG && e->message &&
	       strstr(e->message, "safe.directory");
}

/*
 * The directory git names when it refuses a repository for its owner (and
 * that safe.directory must list): the work tree, the first folder at or
 * above `path` that holds a .git; else the git dir that libgit2 finds.
 */
static void ownership_dir(const char *path, char *out, size_t size)
{
	char dir[PATH_MAX], probe[PATH_MAX + 8];
	struct stat st;
	git_buf found = {0};

	if (!realpath(path, dir))
		snprintf(dir, sizeof(dir), "%s", path);
	for (;;) {
		snprintf(probe, sizeof(probe), "%s/.git", strcmp(dir, "/") ? dir : "");
		if (lstat(probe, &st) == 0) {
			snprintf(out, size, "%s", dir);
			return;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	snprintf(out, size, "%s", path);
	if (git_repository_discover(&found, path, 1, NULL) == 0 && found.ptr) {
		size_t n = strlen(found.ptr);
		while (n > 1 && found.ptr[n - 1] == '/')
			n--;
		snprintf(out, size, "%.*s", (int)n, found.ptr);
	}
	git_buf_dispose(&found);
	git_error_clear();
}

/* "name" or "uid N" of the owner of `dir` (or of its .git) when that is not this user; "" if both are. */
static void owner_of(const char *dir, char *out, size_t size)
{
	char probe[PATH_MAX + 8], pwbuf[4096];
	struct stat st;
	struct passwd pw, *res = NULL;

	out[0] = '\0';
	snprintf(probe, sizeof(probe), "%s/.git", dir);
	int dir_mine = stat(dir, &st) != 0 || st.st_uid == geteuid();
	if (dir_mine && (stat(probe, &st) != 0 || st.st_uid == geteuid()))
		return;
	if (getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res && res->pw_name[0])
		snprintf(out, size, "%s", res->pw_name);
	else
		snprintf(out, size, "uid %lu", (unsigned long)st.st_uid);
}

/* `dir` as one shell word: as is when only safe characters, else in single quotes. */
static void shell_word(const char *dir, char *out, size_t size)
{
	size_t k = 0;

	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-@:,=%";

	if (dir[strspn(dir, plain)] == '\0') {
		snprintf(out, size, "%s", dir);
		return;
	}
	if (size < 8) {
		if (size)
			out[0] = '\0';
		return;
	}
	out[k++] = '\'';
	for (const char *p = dir; *p && k + 6 < size; p++) {
		if (*p == '\'') {
			memcpy(out + k, "'\\''", 4);
			k += 4;
		} else {
			out[k++] = *p;
		}
	}
	out[k++] = '\'';
	out[k] = '\0';
}

/* git's "detected dubious ownership" refusal, on one line, with its fix. */
static int fail_ownership(const char *path)
{
	char dir[PATH_MAX], owner[128], word[2 * PATH_MAX];

	ownership_dir(path, dir, sizeof(dir));
	owner_of(dir, owner, sizeof(owner));
	shell_word(dir, word, sizeof(word));
	return tr__git_fail(LIVE_EGIT,
	            "%s: the repository is owned by someone else%s%s%s, so git refuses it (detected "
	            "dubious ownership); if you trust it, run `git config --global --add safe.directory %s`",
	            dir, owner[0] ? " (" : "", owner, owner[0] ? ")" : "", word);
}

int tr_git_open(const char *path, tr_git **out)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	tr_git *g;
	int rc;

	*out = NULL;
	if (!path || !*path)
		return tr__git_fail(LIVE_EINVALID, "git: no path given to open the repository from");
	if ((rc = tr__git_init()) < 0)
		return rc;
	rc = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_CROSS_FS, NULL);
	if (refused_for_ownership(rc))
		return fail_ownership(path);
	if (rc == GIT_ENOTFOUND) {
		struct stat st;
		if (stat(path, &st) != 0)
			return fail_errno(errno, "%s", path);
		return tr__git_fail(LIVE_EGIT, "%s: not a git repository (run `git init` first)", path);
	}
	if (rc < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "%s: cannot open the git repository", path);
	if (git_repository_is_bare(repo) || !git_repository_workdir(repo)) {
		rc = tr__git_fail(LIVE_EGIT, "%s: bare repository: live needs a git work tree",
		          git_repository_path(repo));
		git_repository_free(repo);
		return rc;
	}

	g = calloc(1, sizeof(*g));
	if (!g || !(g->root = strdup(git_repository_workdir(repo)))) {
		free(g);
		git_repository_free(repo);
		return tr__git_fail(LIVE_ENOMEM, "git: out of memory");
	}
	g->repo = repo;
	size_t n = strlen(g->root);
	while (n > 1 && g->root[n - 1] == '/')
		g->root[--n] = '\0';

	if ((rc = git_repository_odb(&g->odb, repo)) < 0) {
		rc = tr__git_fail_git(LIVE_EGIT, rc, "%s: cannot open the object database", g->root);
		tr_git_free(g);
		return rc;
	}
	g->trust_exec = 1;
	if ((rc = git_repository_config_snapshot(&cfg, repo)) < 0) {
		rc = tr__git_fail_git(LIVE_EGIT, rc, "%s: cannot read the git configuration", g->root);
		tr_git_free(g);
		return rc;
	}
	if (git_config_get_bool(&g->trust_exec, cfg, "core.filemode") < 0)
		g->trust_exec = 1; /* git's default where the file system keeps the bit */
	git_config_free(cfg);
	*out = g;
	return 0;
}

void tr_git_free(tr_git *g)
{
	if (!g)
		return;
	git_odb_free(g->odb);
	git_repository_free(g->repo);
	free(g->root);
	free(g);
}

const char *tr_git_root(const tr_git *g)
{
	return g->root;
}

int tr_git_head(tr_git *g, char sha[41])
{
	git_reference *head = NULL;
	git_object *commit = NULL;
	int rc;

	rc = git_repository_head(&head, g->repo);
	if (rc == GIT_EUNBORNBRANCH)
		return tr__git_fail(LIVE_EGIT, "the repository has no commits yet: commit your files first");
	if (rc < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "%s: cannot read HEAD", g->root);
	rc = git_reference_peel(&commit, head, GIT_OBJECT_COMMIT);
	git_reference_free(head);
	if (rc < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "%s: HEAD is not a commit", g->root);
	git_oid_tostr(sha, 41, git_object_id(commit));
	git_object_free(commit);
	return 0;
}

int tr_git_check_identity(tr_git *g)
{
	git_signature *sig = NULL;

	if (git_signature_default(&sig, g->repo) < 0)
		return tr__git_fail(LIVE_EGIT, "%s", no_identity);
	git_signature_free(sig);
	return 0;
}

/* ---- commits ----------------------------------------------------------------- */

/* A path for a tree: relative, POSIX, no empty, ".", ".." or ".git" part. */
static int check_rel(const char *rel)
{
	const char *p = rel;

	if (!rel || !*rel)
		return tr__git_fail(LIVE_EINVALID, "commit: empty path");
	if (*rel == '/')
		return tr__git_fail(LIVE_EINVALID,
		                    "commit: path '%s': must be relative to the repository root", rel);
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    (n == 4 && strncasecmp(p, ".git", 4) == 0))
			return tr__git_fail(LIVE_EINVALID,
			            "commit: path '%s': empty, '.', '..' or '.git' parts are not allowed",
			            rel);
		p += n;
		if (*p == '/' && !*++p)
			return tr__git_fail(LIVE_EINVALID, "commit: path '%s': trailing '/'", rel);
	}
	return 0;
}

/* The mode `rel` has in `tree` if it is a file there, else `fallback`. */
static git_filemode_t tree_mode(git_tree *tree, const char *rel, git_filemode_t fallback)
{
	git_tree_entry *e = NULL;
	git_filemode_t mode = fallback;

	if (git_tree_entry_bypath(&e, tree, rel) == 0) {
		git_filemode_t m = git_tree_entry_filemode(e);
		if (m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE)
			mode = m;
		git_tree_entry_free(e);
	}
	return mode;
}

/*
 * Store the work-tree file `rel` as a blob, as `git add` would: through the
 * filters of .gitattributes / core.autocrlf, a symlink as its target. An
 * unchanged file is only hashed: libgit2 would otherwise stream it into a
 * temporary loose object before noticing that the object exists, and on a
 * busy disk each file created costs as much as the rest of a checkpoint.
 */
static int blob_from_worktree(tr_git *g, git_tree *parent_tree, const char *rel, git_oid *id,
                              git_filemode_t *mode)
{
	struct stat st;
	size_t n = strlen(g->root) + strlen(rel) + 2;
	char *full = malloc(n);
	int rc;

	if (!full)
		return tr__git_fail(LIVE_ENOMEM, "commit: out of memory");
	snprintf(full, n, "%s/%s", g->root, rel);
	if (lstat(full, &st) != 0) {
		int err = errno;
		free(full);
		return fail_errno(err, "commit: %s", rel);
	}
	if (S_ISLNK(st.st_mode)) {
		*mode = GIT_FILEMODE_LINK;
	} else if (S_ISREG(st.st_mode)) {
		if (g->trust_exec)
			*mode = st.st_mode & S_IXUSR ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		else
			*mode = tree_mode(parent_tree, rel, GIT_FILEMODE_BLOB);
		rc = git_repository_hashfile(id, g->repo, full, GIT_OBJECT_BLOB, rel);
		if (rc == 0 && git_odb_exists(g->odb, id)) {
			free(full);
			return 0;
		}
	} else {
		free(full);
		return tr__git_fail(LIVE_EINVALID, "commit: %s: not a regular file or symlink", rel);
	}
	free(full);
	/* A new file, or a symlink: store it (the hash above only saves work, errors included). */
	if ((rc = git_blob_create_from_workdir(id, g->repo, rel)) < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "commit: %s", rel);
	return 0;
}

/* 1 if `a` and `b` are the same path or one lies inside the other. */
static int paths_overlap(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;

	if (strncmp(a, b, n) != 0)
		return 0;
	return na == nb || (na < nb ? b[na] : a[nb]) == '/';
}

/* Apply updates to *tree, replacing it with the result. */
static int apply_updates(tr_git *g, git_tree **tree, const git_tree_update *up, size_t n)
{
	git_oid id;
	git_tree *next = NULL;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = git_tree_create_updated(&id, g->repo, *tree, n, up)) < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "commit: cannot build the tree");
	if ((rc = git_tree_lookup(&next, g->repo, &id)) < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "commit: cannot read the new tree");
	git_tree_free(*tree);
	*tree = next;
	return 0;
}

/*
 * Apply removals and upserts. One batch unless a removed path overlaps an
 * added one (a file that became a folder, or the reverse): libgit2 checks
 * each upsert against the tree as it was, so then the removals go first,
 * at the cost of one intermediate (unreferenced) tree.
 */
static int update_tree(tr_git *g, git_tree **tree, git_tree_update *up, size_t nupsert, size_t nremove,
                       size_t nfiles)
{
	git_tree_update *rm = up + nfiles - nremove;
	int rc;

	for (size_t i = 0; i < nremove; i++) {
		for (size_t j = 0; j < nupsert; j++) {
			if (paths_overlap(rm[i].path, up[j].path)) {
				if ((rc = apply_updates(g, tree, rm, nremove)) < 0)
					return rc;
				return apply_updates(g, tree, up, nupsert);
			}
		}
	}
	/* Make the two ends of the array one run. */
	memmove(up + nupsert, rm, nremove * sizeof(*up));
	return apply_updates(g, tree, up, nupsert + nremove);
}

static int commit_files(tr_git *g, const char *parent, const tr_git_file *files, size_t nfiles,
			const char *exp_hash, int skip_unchanged, char sha_out[41])
{
	git_oid parent_id, commit_id;
	git_commit *parent_commit = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_tree_update *up = NULL;
	size_t nremove = 0, nupsert = 0;
	char *message = NULL;
	int rc;

	if ((rc = tr__git_parse_sha(parent, &parent_id, "commit: parent")) < 0)
		return rc;
	if (!exp_hash || !*exp_hash || strpbrk(exp_hash, "\n\r"))
		return tr__git_fail(LIVE_EINVALID, "commit: the experiment hash is empty or spans lines");
	if (nfiles > 0 && !files)
		return tr__git_fail(LIVE_EINVALID, "commit: no file list");
	/* Everything that can be refused is refused before any object is written. */
	for (size_t i = 0; i < nfiles; i++) {
		if ((rc = check_rel(files[i].rel)) < 0)
			return rc;
	}
	if (git_signature_default(&sig, g->repo) < 0)
		return tr__git_fail(LIVE_EGIT, "%s", no_identity);

	if ((rc = git_commit_lookup(&parent_commit, g->repo, &parent_id)) < 0) {
		rc = tr__git_fail_git(LIVE_EGIT, rc, "commit: parent %s", parent);
		goto out;
	}
	if ((rc = git_commit_tree(&tree, parent_commit)) < 0) {
		rc = tr__git_fail_git(LIVE_EGIT, rc, "commit: tree of %s", parent);
		goto out;
	}

	/* Upserts fill the array from the start, removals from the end (see update_tree). */
	up = calloc(nfiles ? nfiles : 1, sizeof(*up));
	if (!up) {
		rc = tr__git_fail(LIVE_ENOMEM, "commit: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		const tr_git_file *f = &files[i];
		git_tree_entry *e = NULL;

		if (f->remove) {
			/* Removing what the tree lacks is a no-op (`git rm --ignore-unmatch`). */
			if (git_tree_entry_bypath(&e, tree, f->rel) < 0)
				continue;
			git_tree_entry_free(e);
			git_tree_update *u = &up[nfiles - 1 - nremove++];
			u->action = GIT_TREE_UPDATE_REMOVE;
			u->path = f->rel;
			continue;
		}
		git_tree_update *u = &up[nupsert++];
		u->action = GIT_TREE_UPDATE_UPSERT;
		u->path = f->rel;
		if (f->data) {
			u->filemode = tree_mode(tree, f->rel, GIT_FILEMODE_BLOB);
			if ((rc = git_blob_create_from_buffer(&u->id, g->repo, f->data, f->len)) < 0) {
				rc = tr__git_fail_git(LIVE_EGIT, rc, "commit: %s", f->rel);
				goto out;
			}
		} else if ((rc = blob_from_worktree(g, tree, f->rel, &u->id, &u->filemode)) < 0) {
			goto out;
		}
	}
	if ((rc = update_tree(g, &tree, up, nupsert, nremove, nfiles)) < 0)
		goto out;
	if (skip_unchanged && git_oid_equal(git_tree_id(tree), git_commit_tree_id(parent_commit))) {
		sha_out[0] = 0; /* nothing to record: no commit object at all */
		rc = 0;
		goto out;
	}

	size_t n = strlen(exp_hash) + sizeof("dvc: commit experiment \n");
	if (!(message = malloc(n))) {
		rc = tr__git_fail(LIVE_ENOMEM, "commit: out of memory");
		goto out;
	}
	snprintf(message, n, "dvc: commit experiment %s\n", exp_hash);
	/* No update_ref: the commit belongs to no branch until a ref is set. */
	const git_commit *parents[1] = {parent_commit};
	rc = git_commit_create(&commit_id, g->repo, NULL, sig, sig, NULL, message, tree, 1, parents);
	if (rc < 0) {
		rc = tr__git_fail_git(LIVE_EGIT, rc, "commit on %s", parent);
		goto out;
	}
	git_oid_tostr(sha_out, 41, &commit_id);
	rc = 0;
out:
	free(message);
	free(up);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(parent_commit);
	return rc;
}

int tr_git_commit(tr_git *g, const char *parent, const tr_git_file *files, size_t nfiles,
		  const char *exp_hash, char sha_out[41])
{
	return commit_files(g, parent, files, nfiles, exp_hash, 0, sha_out);
}

int tr_git_commit_if_changed(tr_git *g, const char *parent, const tr_git_file *files, size_t nfiles,
			     const char *exp_hash, char sha_out[41])
{
	return commit_files(g, parent, files, nfiles, exp_hash, 1, sha_out);
}
