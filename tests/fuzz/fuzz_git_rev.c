/*
 * Revision arguments (tracker/git_query.c tr_git_resolve, tracker/git.c
 * tr_exp_ref_name): what a user types after `live exp show`, `exp apply`,
 * `exp branch`, and the experiment names that become refs.
 *
 * A small repository is made once per process with the git command: three
 * commits on main, a branch, a lightweight and an annotated tag, an
 * experiment ref refs/exps/<B[:2]>/<B[2:]>/exp-4de2a, and the runner's
 * refs/exps/exec/EXEC_CHECKPOINT (which must never resolve as a name).
 * The input, up to its first NUL, is the revision and the experiment name.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tracker.h"

static tr_git *repo;
static char head[41];

static const char script[] =
        "set -e\n"
        "export HOME=\"$1\" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=fuzz GIT_AUTHOR_EMAIL=fuzz@example.com\n"
        "export GIT_COMMITTER_NAME=fuzz GIT_COMMITTER_EMAIL=fuzz@example.com\n"
        "export GIT_AUTHOR_DATE='2023-01-01T00:00:00Z' GIT_COMMITTER_DATE='2023-01-01T00:00:00Z'\n"
        "git init -q \"$1/repo\" && cd \"$1/repo\"\n"
        "git symbolic-ref HEAD refs/heads/main\n"
        "git commit -q --allow-empty -m first\n"
        "B=$(git rev-parse HEAD)\n"
        "echo a > a.txt && git add a.txt && git commit -q -m second\n"
        "git branch feature\n"
        "git tag v1\n"
        "git tag -a v2 -m annotated HEAD~1\n"
        "git update-ref \"refs/exps/${B:0:2}/${B:2}/exp-4de2a\" HEAD\n"
        "git update-ref refs/exps/exec/EXEC_CHECKPOINT HEAD~1\n"
        "git commit -q --allow-empty -m 'third: dvc: commit experiment'\n";

/*
 * libgit2 1.5 (Debian 12) leaks pcre2 match data in its regexp search, which
 * revisions like ":/first" reach through git_revparse_single; fixed upstream
 * in libgit2 1.6 (libgit2/libgit2#6382). Nothing of ours uses pcre2.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}

static int is_hex40(const char *s)
{
	for (int i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[40] == '\0';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char sh[4096], cmd[8192], where[4096];

	(void)argc;
	(void)argv;
	fz_clean_env();
	fz_path(sh, sizeof(sh), "make-repo.sh");
	fz_write(sh, script, sizeof(script) - 1);
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s' >&2", sh, fz_dir());
	FZ_CHECK(system(cmd) == 0, "could not make the repository (is git installed?)");
	/* libgit2 reads $HOME/.gitconfig: the empty one beside the repository */
	setenv("HOME", fz_dir(), 1);
	fz_path(where, sizeof(where), "repo");
	FZ_CHECK(tr_git_open(where, &repo) == 0, "open: %s", live_errmsg());
	FZ_CHECK(tr_git_head(repo, head) == 0, "head: %s", live_errmsg());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *rev = strndup((const char *)data, size);
	char sha[41] = "", again[41] = "", ref[300], small[56];

	FZ_CHECK(rev, "out of memory");
	int rc = tr_git_resolve(repo, rev, sha);
	if (rc == 0) {
		FZ_CHECK(is_hex40(sha), "'%s' resolved to '%s'", rev, sha);
		FZ_CHECK(tr_git_resolve(repo, sha, again) == 0 && !strcmp(sha, again),
		         "'%s' resolved to %s, which does not resolve to itself", rev, sha);
	} else {
		FZ_CHECK(rc == LIVE_ENOTFOUND || rc == LIVE_EINVALID, "resolve '%s': %d: %s", rev, rc,
		         live_errmsg());
	}

	rc = tr_exp_ref_name(head, rev, ref, sizeof(ref));
	if (rc == 0) {
		FZ_CHECK(!strncmp(ref, "refs/exps/", 10) && !strncmp(ref + 10, head, 2) && ref[12] == '/' &&
		                 !strncmp(ref + 13, head + 2, 38) && ref[51] == '/' && !strcmp(ref + 52, rev),
		         "name '%s' gave the ref '%s'", rev, ref);
		rc = tr_git_ref_get(repo, ref, sha);
		FZ_CHECK(rc == 0 || rc == LIVE_ENOTFOUND || rc == LIVE_EGIT, "ref_get '%s': %d", ref, rc);
	} else {
		FZ_CHECK(rc == LIVE_EINVALID || rc == LIVE_EGIT, "exp_ref_name '%s': %d", rev, rc);
	}
	rc = tr_exp_ref_name(head, rev, small, sizeof(small));
	FZ_CHECK(rc != 0 || strlen(small) < sizeof(small), "overflowed a small buffer");
	rc = tr_exp_ref_name(rev, "exp-1", ref, sizeof(ref));
	FZ_CHECK((rc == 0) == is_hex40(rev) || rc == LIVE_EGIT, "baseline '%s': %d", rev, rc);
	free(rev);
	return 0;
}
