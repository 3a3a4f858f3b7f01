/*
 * Checkpoint commits and experiment refs (tracker/git.c; SPEC 3,
 * reference/dvc-checkpoints.md 1 and 9). Every repository is made with the git
 * command line and every result is read back with it, as an outside reader.
 *
 * The tests never see the machine's git configuration: main() points HOME and
 * XDG_CONFIG_HOME at a temp dir whose .gitconfig holds an identity, sets
 * GIT_CONFIG_NOSYSTEM=1 and unsets the GIT_AUTHOR_* / GIT_COMMITTER_* / EMAIL
 * variables before anything starts libgit2 or git.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Only for the identity child below: libgit2 1.5 ignores GIT_CONFIG_NOSYSTEM. */
#include <git2.h>

#include "testutil.h"
#include "tracker.h"

static char home[512]; /* the temp HOME with the global identity */
static char self_exe[PATH_MAX];

#define GLOBAL_ID "Live Global <global@example.com>"
#define LOCAL_ID "Live Tester <tester@example.com>"

/* ---- running git ------------------------------------------------------------- */

static char *vsh(int *status, const char *fmt, va_list ap)
{
	char cmd[8192];
	size_t cap = 4096, len = 0, n;
	char *out = malloc(cap);
	FILE *p;
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	fflush(stdout);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(out);
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			out = realloc(out, cap *= 2);
			assert_non_null(out);
		}
	}
	out[len] = '\0';
	st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

/* A shell command's stdout and exit status. */
static char *sh_status(int *status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = vsh(status, fmt, ap);
	va_end(ap);
	return out;
}

/* The stdout of a command that must succeed, without its trailing newline. */
static char *sh(const char *fmt, ...)
{
	int status;
	va_list ap;
	va_start(ap, fmt);
	char *out = vsh(&status, fmt, ap);
	va_end(ap);
	if (status != 0)
		print_message("exit status %d, output:\n%s\n", status, out);
	assert_int_equal(status, 0);
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return out;
}

#define SH_OK(...) free(sh(__VA_ARGS__))

static void assert_sh_equal(const char *expected, const char *cmd)
{
	char *out = sh("%s", cmd);
	if (strcmp(out, expected) != 0)
		print_message("`%s`\n got: [%s]\nwant: [%s]\n", cmd, out, expected);
	assert_string_equal(out, expected);
	free(out);
}

/* A file written with its mode. */
static void write_mode(const char *path, const char *text, mode_t mode)
{
	tu_write_file(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * A repository with a baseline commit holding nested folders, an executable
 * and a file that checkpoints remove; `local_identity` adds user.name/email
 * to .git/config (else the identity comes from the temp HOME).
 */
static void make_repo(int local_identity)
{
	SH_OK("git init -q");
	if (local_identity)
		SH_OK("git config user.name 'Live Tester' && git config user.email tester@example.com");
	assert_int_equal(mkdir("src", 0755), 0);
	assert_int_equal(mkdir("src/model", 0755), 0);
	assert_int_equal(mkdir("data", 0755), 0);
	tu_write_file("README.md", "# project\n");
	tu_write_file("params.yaml", "lr: 0.1\nepochs: 5\n");
	tu_write_file("dvc.yaml", "stages:\n  train:\n    cmd: ./train.py\n");
	tu_write_file(".gitignore", "/model.pt\n/dvclive\n");
	write_mode("train.py", "#!/usr/bin/env python3\nprint('train')\n", 0755);
	tu_write_file("src/model/net.py", "layers = 2\n");
	tu_write_file("data/old.txt", "stale data\n");
	tu_write_file("notes", "a file that becomes a folder\n");
	SH_OK("git add -A && git commit -q -m baseline");
}

static tr_git *open_repo(const char *path)
{
	tr_git *g = NULL;
	int rc = tr_git_open(path, &g);
	if (rc != 0)
		print_message("tr_git_open: %s\n", live_errmsg());
	assert_int_equal(rc, 0);
	assert_non_null(g);
	return g;
}

/* Everything a checkpoint must leave alone: HEAD, branches, index, status. */
struct user_state {
	char *head, *head_ref, *branches, *index, *status;
};

static void user_state_read(struct user_state *s)
{
	s->head = sh("git rev-parse HEAD");
	s->head_ref = sh("git symbolic-ref HEAD");
	s->branches = sh("git for-each-ref refs/heads refs/tags");
	s->index = sh("git ls-files -s");
	s->status = sh("git status --porcelain --untracked-files=all");
}

static void user_state_check(const struct user_state *before)
{
	struct user_state now;
	user_state_read(&now);
	assert_string_equal(now.head, before->head);
	assert_string_equal(now.head_ref, before->head_ref);
	assert_string_equal(now.branches, before->branches);
	assert_string_equal(now.index, before->index);
	assert_string_equal(now.status, before->status);
	free(now.head), free(now.head_ref), free(now.branches), free(now.index), free(now.status);
}

static void user_state_free(struct user_state *s)
{
	free(s->head), free(s->head_ref), free(s->branches), free(s->index), free(s->status);
}

/*
 * `git fsck --strict` finds nothing at all: no error, no warning and, unless
 * allowed, no dangling object.
 */
static void assert_fsck_clean(int allow_dangling)
{
	int status;
	char *out = sh_status(&status, "git fsck --strict --no-progress %s 2>&1",
	                      allow_dangling ? "--no-dangling" : "");
	if (*out)
		print_message("git fsck --strict:\n%s\n", out);
	assert_int_equal(status, 0);
	assert_string_equal(out, "");
	free(out);
}

static const char exp_hash[] = "4de2a1c0ffee00112233445566778899aabbccddeeff00112233445566778899";

/* ---- opening ------------------------------------------------------------------ */

static void open_finds_the_root_from_a_subfolder(void **state)
{
	(void)state;
	char cwd[PATH_MAX], sha[41];
	make_repo(1);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *real = realpath(cwd, NULL);

	tr_git *g = open_repo("src/model");
	assert_string_equal(tr_git_root(g), real);
	assert_int_equal(tr_git_head(g, sha), 0);
	char *head = sh("git rev-parse HEAD");
	assert_string_equal(sha, head);
	assert_int_equal(tr_git_check_identity(g), 0);

	/* A detached HEAD (as during a DVC 2.x run) is a commit like any other. */
	SH_OK("git checkout -q --detach HEAD");
	assert_int_equal(tr_git_head(g, sha), 0);
	assert_string_equal(sha, head);
	tr_git_free(g);
	tr_git_free(NULL);
	free(head);
	free(real);
}

static void open_outside_a_repository_says_git_init(void **state)
{
	(void)state;
	char cwd[PATH_MAX], want[PATH_MAX + 100];
	tr_git *g = (tr_git *)&g;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(tr_git_open(cwd, &g), LIVE_EGIT);
	assert_null(g);
	snprintf(want, sizeof(want), "%s: not a git repository (run `git init` first)", cwd);
	assert_string_equal(live_errmsg(), want);

	/* A path that does not exist says so. */
	assert_int_equal(tr_git_open("no/such/dir", &g), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "no/such/dir: No such file or directory");
}

static void open_bare_repository_is_refused(void **state)
{
	(void)state;
	tr_git *g = NULL;
	SH_OK("git init -q --bare bare.git");
	assert_int_equal(tr_git_open("bare.git", &g), LIVE_EGIT);
	assert_null(g);
	assert_non_null(strstr(live_errmsg(), "bare.git/: bare repository: live needs a git work tree"));
	assert_null(strchr(live_errmsg(), '\n'));
}

static void head_of_an_unborn_branch_asks_for_a_commit(void **state)
{
	(void)state;
	char sha[41];
	SH_OK("git init -q");
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, sha), LIVE_EGIT);
	assert_string_equal(live_errmsg(), "the repository has no commits yet: commit your files first");
	tr_git_free(g);
}

/* ---- identity ------------------------------------------------------------------ */

/* The author is the one in the temp HOME's .gitconfig: libgit2 read $HOME, not /root. */
static void identity_comes_from_home_gitconfig(void **state)
{
	(void)state;
	char base[41], sha[41];
	make_repo(0);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_check_identity(g), 0);
	assert_int_equal(tr_git_head(g, base), 0);
	assert_int_equal(tr_git_commit(g, base, NULL, 0, exp_hash, sha), 0);
	assert_sh_equal(GLOBAL_ID, "git log -1 --format='%an <%ae>' $(git rev-parse --verify -q HEAD)");
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "git log -1 --format='%%an <%%ae>|%%cn <%%ce>' %s", sha);
	assert_sh_equal(GLOBAL_ID "|" GLOBAL_ID, cmd);
	tr_git_free(g);
}

/*
 * Runs in a fresh process (exec'd by missing_identity_is_refused) so that
 * libgit2 starts with the empty HOME. Prints the results on stdout.
 */
static int identity_child(const char *repo)
{
	char base[41], sha[41];
	tr_git *g;
	int rc;

	/* GIT_CONFIG_NOSYSTEM=1 for libgit2, which ignores the variable. */
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, getenv("HOME"));
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, getenv("HOME"));
	if (tr_git_open(repo, &g) != 0) {
		printf("open: %s\n", live_errmsg());
		return 1;
	}
	rc = tr_git_check_identity(g);
	printf("check %d %s\n", rc, live_errmsg());
	if (tr_git_head(g, base) != 0) {
		printf("head: %s\n", live_errmsg());
		return 1;
	}
	const tr_git_file f = {.rel = "dvc.lock", .data = "new bytes\n", .len = 10};
	rc = tr_git_commit(g, base, &f, 1, exp_hash, sha);
	printf("commit %d %s\n", rc, live_errmsg());
	tr_git_free(g);
	git_libgit2_shutdown();
	return 0;
}

static void missing_identity_is_refused(void **state)
{
	(void)state;
	make_repo(1);
	SH_OK("git config --unset user.name && git config --unset user.email");
	assert_int_equal(mkdir("nohome", 0755), 0);
	char *objects_before = sh("git count-objects -v | grep '^count:'");
	char *out =
	        sh("env -u GIT_AUTHOR_NAME -u GIT_AUTHOR_EMAIL -u GIT_COMMITTER_NAME -u GIT_COMMITTER_EMAIL "
	           "-u EMAIL HOME=\"$PWD/nohome\" XDG_CONFIG_HOME=\"$PWD/nohome/.config\" "
	           "GIT_CONFIG_NOSYSTEM=1 '%s' --identity-child .",
	           self_exe);
	assert_string_equal(out, "check -11 Git username and email must be configured "
	                         "(git config user.name / user.email)\n"
	                         "commit -11 Git username and email must be configured "
	                         "(git config user.name / user.email)");
	free(out);
	/* Refused before any object was written. */
	char *objects_after = sh("git count-objects -v | grep '^count:'");
	assert_string_equal(objects_after, objects_before);
	free(objects_before), free(objects_after);
	/* The git CLI agrees that there is no identity in that environment. */
	int status;
	out = sh_status(&status, "HOME=\"$PWD/nohome\" XDG_CONFIG_HOME=\"$PWD/nohome/.config\" "
	                         "GIT_CONFIG_NOSYSTEM=1 git config user.name");
	assert_int_equal(status, 1);
	free(out);
}

/* ---- checkpoint commits ----------------------------------------------------------- */

/* Line `n` (0-based) of `text`, copied. */
static char *line_of(const char *text, int n)
{
	for (; n > 0 && text; n--) {
		text = strchr(text, '\n');
		if (text)
			text++;
	}
	assert_non_null(text);
	size_t len = strcspn(text, "\n");
	return strndup(text, len);
}

/*
 * Five checkpoints from the baseline, DVC 2.x style: the first sets the exp
 * ref and a symbolic EXEC_BRANCH, the later ones move the branch through
 * EXEC_BRANCH with compare-and-swap; EXEC_CHECKPOINT follows, EXEC_APPLY is
 * set at the end. HEAD, branch, index and status never change.
 */
static void checkpoint_chain_of_five(void **state)
{
	(void)state;
	char base[41], sha[41], prev[41], ref[200], buf[1024], lock[128], cmd[512];
	char shas[5][41];
	struct user_state before;

	make_repo(1);
	/* A dirty workspace: staged, unstaged and untracked changes. */
	tu_write_file("params.yaml", "lr: 0.01\nepochs: 5\n");
	SH_OK("git add params.yaml");
	tu_write_file("README.md", "# project, edited\n");
	tu_write_file("src/model/net.py", "layers = 3\n");
	write_mode("run.sh", "#!/bin/sh\nexec ./train.py\n", 0755);
	tu_write_file("dvclive.json", "{}\n");
	user_state_read(&before);

	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	assert_string_equal(base, before.head);
	assert_int_equal(tr_exp_ref_name(base, "exp-abcde", ref, sizeof(ref)), 0);
	snprintf(buf, sizeof(buf), "refs/exps/%.2s/%s/exp-abcde", base, base + 2);
	assert_string_equal(ref, buf);

	strcpy(prev, base);
	for (int i = 1; i <= 5; i++) {
		char nested[64], metric[64];
		snprintf(lock, sizeof(lock), "schema: '2.0'\nstage: train\nstep: %d\n", i);
		snprintf(nested, sizeof(nested), "{\"step\": %d, \"deep\": true}\n", i);
		snprintf(buf, sizeof(buf), "layers = %d\n", 3 + i);
		tu_write_file("src/model/net.py", buf);
		snprintf(metric, sizeof(metric), "{\"step\": %d, \"loss\": 0.%d}\n", i, 9 - i);
		tu_write_file("dvclive.json", metric);
		const tr_git_file files[] = {
		        {.rel = "dvc.lock", .data = lock, .len = strlen(lock)},
		        {.rel = "dvclive.json"},
		        {.rel = "metrics/deep/nested.json", .data = nested, .len = strlen(nested)},
		        {.rel = "src/model/net.py"},
		        {.rel = "data/old.txt", .remove = 1},
		        {.rel = "run.sh"},
		        {.rel = "params.yaml"},
		};
		assert_int_equal(tr_git_commit(g, prev, files, sizeof(files) / sizeof(*files), exp_hash, sha),
		                 0);
		if (i == 1) {
			assert_int_equal(tr_git_ref_set(g, ref, sha, NULL, "dvc: checkpoint"), 0);
			assert_int_equal(tr_git_ref_set_symbolic(g, "refs/exps/exec/EXEC_BRANCH", ref, NULL),
			                 0);
		} else {
			assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_BRANCH", sha, prev, NULL), 0);
		}
		assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_CHECKPOINT", sha, NULL, NULL), 0);

		/* The commit object, exactly. */
		char *raw = sh("git cat-file -p %s", sha);
		char *tree = sh("git rev-parse %s^{tree}", sha);
		char *l0 = line_of(raw, 0), *l1 = line_of(raw, 1), *l2 = line_of(raw, 2),
		     *l3 = line_of(raw, 3);
		snprintf(buf, sizeof(buf), "tree %s", tree);
		assert_string_equal(l0, buf);
		snprintf(buf, sizeof(buf), "parent %s", prev);
		assert_string_equal(l1, buf);
		assert_true(strncmp(l2, "author " LOCAL_ID " ", strlen("author " LOCAL_ID " ")) == 0);
		assert_true(strncmp(l3, "committer " LOCAL_ID " ", strlen("committer " LOCAL_ID " ")) == 0);
		snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s\n\ndvc: commit experiment %s", l0, l1, l2, l3,
		         exp_hash);
		assert_string_equal(raw, buf); /* one parent, no other header, exact message */
		free(raw), free(tree), free(l0), free(l1), free(l2), free(l3);

		/* The tree: the baseline's plus the changes, nested paths made, one path gone. */
		snprintf(cmd, sizeof(cmd), "git diff --no-renames --name-status %s %s", base, sha);
		assert_sh_equal("D\tdata/old.txt\n"
		                "A\tdvc.lock\n"
		                "A\tdvclive.json\n"
		                "A\tmetrics/deep/nested.json\n"
		                "M\tparams.yaml\n"
		                "A\trun.sh\n"
		                "M\tsrc/model/net.py",
		                cmd);
		if (i > 1) {
			snprintf(cmd, sizeof(cmd), "git diff --no-renames --name-status %s %s", prev, sha);
			assert_sh_equal("M\tdvc.lock\n"
			                "M\tdvclive.json\n"
			                "M\tmetrics/deep/nested.json\n"
			                "M\tsrc/model/net.py",
			                cmd);
		}
		snprintf(cmd, sizeof(cmd), "git show %s:dvc.lock", sha);
		lock[strlen(lock) - 1] = '\0';
		assert_sh_equal(lock, cmd);
		snprintf(cmd, sizeof(cmd), "git show %s:metrics/deep/nested.json", sha);
		nested[strlen(nested) - 1] = '\0';
		assert_sh_equal(nested, cmd);
		snprintf(cmd, sizeof(cmd), "git show %s:dvclive.json", sha);
		metric[strlen(metric) - 1] = '\0';
		assert_sh_equal(metric, cmd);
		snprintf(cmd, sizeof(cmd), "git show %s:params.yaml", sha);
		assert_sh_equal("lr: 0.01\nepochs: 5", cmd);
		/* Modes: the executables stay 100755, the rest 100644; blobs match the files. */
		char *h_run = sh("git hash-object run.sh"), *h_train = sh("git hash-object train.py");
		char *h_net = sh("git hash-object src/model/net.py"),
		     *h_readme = sh("git rev-parse %s:README.md", base);
		snprintf(cmd, sizeof(cmd), "git ls-tree -r %s", sha);
		char *listing = sh("%s", cmd);
		snprintf(buf, sizeof(buf), "100755 blob %s\trun.sh", h_run);
		assert_non_null(strstr(listing, buf));
		snprintf(buf, sizeof(buf), "100755 blob %s\ttrain.py", h_train);
		assert_non_null(strstr(listing, buf));
		snprintf(buf, sizeof(buf), "100644 blob %s\tsrc/model/net.py", h_net);
		assert_non_null(strstr(listing, buf));
		snprintf(buf, sizeof(buf), "100644 blob %s\tREADME.md", h_readme); /* the committed one */
		assert_non_null(strstr(listing, buf));
		assert_null(strstr(listing, "data/"));
		free(h_run), free(h_train), free(h_net), free(h_readme), free(listing);

		strcpy(shas[i - 1], sha);
		strcpy(prev, sha);
	}
	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_APPLY", prev, NULL, NULL), 0);

	/* Refs, as DVC 2.x reads them. */
	snprintf(cmd, sizeof(cmd), "git rev-parse %s", ref);
	assert_sh_equal(prev, cmd);
	assert_sh_equal(ref, "git symbolic-ref refs/exps/exec/EXEC_BRANCH");
	assert_sh_equal(prev, "git rev-parse refs/exps/exec/EXEC_CHECKPOINT");
	assert_sh_equal(prev, "git rev-parse refs/exps/exec/EXEC_APPLY");
	char got[41];
	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_BRANCH", got), 0);
	assert_string_equal(got, prev);
	assert_int_equal(tr_git_ref_get(g, ref, got), 0);
	assert_string_equal(got, prev);

	/* The chain: B <- C1 <- ... <- C5. */
	snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s\n%s\n%s", shas[4], shas[3], shas[2], shas[1], shas[0],
	         base);
	snprintf(cmd, sizeof(cmd), "git rev-list %s", ref);
	assert_sh_equal(buf, cmd);
	/* git lists refs in name order, and where the experiment ref falls among
	 * refs/exps/exec/ depends on the baseline's sha: list the two apart. */
	snprintf(cmd, sizeof(cmd), "git for-each-ref --format='%%(refname)' refs/exps | grep -v '^refs/exps/exec/'");
	assert_sh_equal(ref, cmd);
	assert_sh_equal("refs/exps/exec/EXEC_APPLY\nrefs/exps/exec/EXEC_BRANCH\nrefs/exps/exec/EXEC_CHECKPOINT",
	                "git for-each-ref --format='%(refname)' refs/exps/exec");

	/* End of the run: EXEC_BRANCH goes, the branch stays. */
	assert_int_equal(tr_git_ref_delete(g, "refs/exps/exec/EXEC_BRANCH"), 0);
	int status;
	free(sh_status(&status, "git symbolic-ref -q refs/exps/exec/EXEC_BRANCH"));
	assert_int_equal(status, 1);
	snprintf(cmd, sizeof(cmd), "git rev-parse %s", ref);
	assert_sh_equal(prev, cmd);

	user_state_check(&before);
	assert_fsck_clean(0);
	user_state_free(&before);
	tr_git_free(g);
}

static void ref_compare_and_swap_refuses_a_moved_ref(void **state)
{
	(void)state;
	char base[41], c1[41], c2[41], ref[200], want[600], got[41];
	make_repo(1);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	assert_int_equal(tr_exp_ref_name(base, "exp-abcde", ref, sizeof(ref)), 0);
	assert_int_equal(tr_git_commit(g, base, NULL, 0, exp_hash, c1), 0);
	const tr_git_file f = {.rel = "dvc.lock", .data = "x\n", .len = 2};
	assert_int_equal(tr_git_commit(g, c1, &f, 1, exp_hash, c2), 0);
	assert_int_equal(tr_git_ref_set(g, ref, c1, NULL, NULL), 0);

	/* Someone else moved it: expected base, found c1. */
	assert_int_equal(tr_git_ref_set(g, ref, c2, base, NULL), LIVE_EGIT);
	snprintf(want, sizeof(want), "ref %s moved (expected %s, found %s)", ref, base, c1);
	assert_string_equal(live_errmsg(), want);
	assert_int_equal(tr_git_ref_get(g, ref, got), 0);
	assert_string_equal(got, c1);

	/* Through the symbolic EXEC_BRANCH, the message names the branch. */
	assert_int_equal(tr_git_ref_set_symbolic(g, "refs/exps/exec/EXEC_BRANCH", ref, NULL), 0);
	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_BRANCH", c2, base, NULL), LIVE_EGIT);
	assert_string_equal(live_errmsg(), want);
	assert_sh_equal(ref, "git symbolic-ref refs/exps/exec/EXEC_BRANCH");

	/* Expected a value, but the ref is gone. */
	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_CHECKPOINT", c2, c1, NULL), LIVE_EGIT);
	snprintf(want, sizeof(want), "ref refs/exps/exec/EXEC_CHECKPOINT moved (expected %s, found no ref)",
	         c1);
	assert_string_equal(live_errmsg(), want);
	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_CHECKPOINT", got), LIVE_ENOTFOUND);

	/* The right expectation moves it, through EXEC_BRANCH. */
	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_BRANCH", c2, c1, NULL), 0);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "git rev-parse %s", ref);
	assert_sh_equal(c2, cmd);
	assert_sh_equal(ref, "git symbolic-ref refs/exps/exec/EXEC_BRANCH");

	/* Bad ids are caught before git sees them. */
	assert_int_equal(tr_git_ref_set(g, ref, "c2", NULL, NULL), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "ref: new value 'c2': not a 40-hex git object id");
	assert_int_equal(tr_git_ref_set(g, ref, c2, "ABC", NULL), LIVE_EINVALID);
	/* An object that does not exist cannot become a ref. */
	assert_int_equal(tr_git_ref_set(g, ref, "1234567890123456789012345678901234567890", NULL, NULL),
	                 LIVE_EGIT);
	assert_null(strchr(live_errmsg(), '\n'));
	assert_sh_equal(c2, cmd);
	assert_fsck_clean(0);
	tr_git_free(g);
}

static void ref_get_and_delete(void **state)
{
	(void)state;
	char base[41], got[41];
	make_repo(1);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);

	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_APPLY", got), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "ref refs/exps/exec/EXEC_APPLY: not found");
	assert_int_equal(tr_git_ref_delete(g, "refs/exps/exec/EXEC_APPLY"), 0); /* absent is fine */

	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_APPLY", base, NULL, "dvc: apply"), 0);
	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_APPLY", got), 0);
	assert_string_equal(got, base);
	assert_sh_equal(base, "git rev-parse refs/exps/exec/EXEC_APPLY");
	/* Packed refs are found and deleted too. */
	SH_OK("git pack-refs --all");
	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_APPLY", got), 0);
	assert_int_equal(tr_git_ref_delete(g, "refs/exps/exec/EXEC_APPLY"), 0);
	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_APPLY", got), LIVE_ENOTFOUND);
	int status;
	free(sh_status(&status, "git rev-parse -q --verify refs/exps/exec/EXEC_APPLY"));
	assert_int_equal(status, 1);

	/* A symbolic ref to a missing branch reads as absent. */
	assert_int_equal(
	        tr_git_ref_set_symbolic(g, "refs/exps/exec/EXEC_BRANCH", "refs/exps/aa/bb/exp-1", NULL), 0);
	assert_int_equal(tr_git_ref_get(g, "refs/exps/exec/EXEC_BRANCH", got), LIVE_ENOTFOUND);
	/* Setting through it creates the branch. */
	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_BRANCH", base, NULL, NULL), 0);
	assert_sh_equal(base, "git rev-parse refs/exps/aa/bb/exp-1");
	assert_sh_equal("refs/exps/aa/bb/exp-1", "git symbolic-ref refs/exps/exec/EXEC_BRANCH");

	/* Invalid names. */
	assert_int_equal(tr_git_ref_get(g, "refs/exps/a..b", got), LIVE_EINVALID);
	assert_int_equal(tr_git_ref_set_symbolic(g, "refs/exps/exec/EXEC_BRANCH", "refs/x..y", NULL),
	                 LIVE_EINVALID);
	assert_null(strchr(live_errmsg(), '\n'));
	tr_git_free(g);
}

/* ---- commit edge cases ------------------------------------------------------------ */

static void commit_rejects_bad_input(void **state)
{
	(void)state;
	char base[41], sha[41];
	make_repo(1);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	char *refs_before = sh("git for-each-ref");

	static const struct {
		const char *rel, *msg;
	} bad[] = {
	        {"", "commit: empty path"},
	        {"/etc/passwd", "commit: path '/etc/passwd': must be relative to the repository root"},
	        {"../x", "commit: path '../x': empty, '.', '..' or '.git' parts are not allowed"},
	        {"a/./b", "commit: path 'a/./b': empty, '.', '..' or '.git' parts are not allowed"},
	        {"a//b", "commit: path 'a//b': empty, '.', '..' or '.git' parts are not allowed"},
	        {".git/config",
	         "commit: path '.git/config': empty, '.', '..' or '.git' parts are not allowed"},
	        {"sub/.GIT/x", "commit: path 'sub/.GIT/x': empty, '.', '..' or '.git' parts are not allowed"},
	        {"dir/", "commit: path 'dir/': trailing '/'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const tr_git_file f = {.rel = bad[i].rel, .data = "x", .len = 1};
		assert_int_equal(tr_git_commit(g, base, &f, 1, exp_hash, sha), LIVE_EINVALID);
		assert_string_equal(live_errmsg(), bad[i].msg);
	}

	const tr_git_file missing = {.rel = "nope/missing.txt"};
	assert_int_equal(tr_git_commit(g, base, &missing, 1, exp_hash, sha), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "commit: nope/missing.txt: No such file or directory");

	const tr_git_file folder = {.rel = "src"};
	assert_int_equal(tr_git_commit(g, base, &folder, 1, exp_hash, sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "commit: src: not a regular file or symlink");

	assert_int_equal(tr_git_commit(g, "HEAD", NULL, 0, exp_hash, sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "commit: parent 'HEAD': not a 40-hex git object id");
	assert_int_equal(tr_git_commit(g, "0123456789012345678901234567890123456789", NULL, 0, exp_hash, sha),
	                 LIVE_EGIT);
	assert_true(strncmp(live_errmsg(), "commit: parent 0123456789012345678901234567890123456789: ",
	                    strlen("commit: parent 0123456789012345678901234567890123456789: ")) == 0);
	assert_null(strchr(live_errmsg(), '\n'));
	/* The blob of README.md is no commit. */
	char *blob = sh("git rev-parse HEAD:README.md");
	assert_int_equal(tr_git_commit(g, blob, NULL, 0, exp_hash, sha), LIVE_EGIT);
	free(blob);

	const tr_git_file twice[] = {
	        {.rel = "dvc.lock", .data = "a", .len = 1},
	        {.rel = "dvc.lock", .data = "b", .len = 1},
	};
	assert_int_equal(tr_git_commit(g, base, twice, 2, exp_hash, sha), LIVE_EGIT);
	assert_string_equal(live_errmsg(),
	                    "commit: cannot build the tree: duplicate entries given for update");

	/* A file below a path that is a file in the tree. */
	const tr_git_file df = {.rel = "README.md/x", .data = "a", .len = 1};
	assert_int_equal(tr_git_commit(g, base, &df, 1, exp_hash, sha), LIVE_EGIT);
	assert_null(strchr(live_errmsg(), '\n'));

	assert_int_equal(tr_git_commit(g, base, NULL, 0, "two\nlines", sha), LIVE_EINVALID);
	assert_int_equal(tr_git_commit(g, base, NULL, 0, "", sha), LIVE_EINVALID);

	/* Nothing moved. */
	char *refs_after = sh("git for-each-ref");
	assert_string_equal(refs_after, refs_before);
	free(refs_before), free(refs_after);
	tr_git_free(g);
}

static void commit_handles_modes_links_and_folder_swaps(void **state)
{
	(void)state;
	char base[41], sha[41], cmd[300];
	make_repo(1);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);

	assert_int_equal(symlink("README.md", "link"), 0);
	assert_int_equal(unlink("notes"), 0);
	assert_int_equal(mkdir("notes", 0755), 0);
	tu_write_file("notes/a.txt", "now a folder\n");
	const tr_git_file files[] = {
	        {.rel = "train.py", .data = "print('v2')\n", .len = 12}, /* bytes given: keeps 100755 */
	        {.rel = "link"},                                         /* a symlink: 120000 */
	        {.rel = "notes", .remove = 1},                           /* file -> folder */
	        {.rel = "notes/a.txt"},
	        {.rel = "src/model", .remove = 1}, /* folder -> file */
	        {.rel = "src/model", .data = "flat\n", .len = 5},
	        {.rel = "never/there.txt", .remove = 1}, /* removing nothing is fine */
	        {.rel = "data/old.txt", .remove = 1},    /* its folder goes with it */
	};
	assert_int_equal(tr_git_commit(g, base, files, sizeof(files) / sizeof(*files), exp_hash, sha), 0);
	char *link_blob = sh("printf README.md | git hash-object --stdin");
	char *train_blob = sh("printf \"print('v2')\\n\" | git hash-object --stdin");
	char *a_blob = sh("git hash-object notes/a.txt");
	char *flat_blob = sh("printf 'flat\\n' | git hash-object --stdin");
	char *base_blobs = sh("git ls-tree -r %s -- .gitignore README.md dvc.yaml params.yaml", base);
	char want[2048];
	snprintf(want, sizeof(want),
	         "%s\n"
	         "120000 blob %s\tlink\n"
	         "100644 blob %s\tnotes/a.txt\n"
	         "100644 blob %s\tsrc/model\n"
	         "100755 blob %s\ttrain.py",
	         base_blobs, link_blob, a_blob, flat_blob, train_blob);
	snprintf(cmd, sizeof(cmd), "git ls-tree -r %s | sort -k 4", sha);
	char *got = sh("%s", cmd);
	char *sorted = sh("printf '%%s\\n' '%s' | sort -k 4", want);
	assert_string_equal(got, sorted);
	free(got), free(sorted);
	free(link_blob), free(train_blob), free(a_blob), free(flat_blob), free(base_blobs);

	/* An empty checkpoint: same tree as its parent. */
	char empty[41];
	assert_int_equal(tr_git_commit(g, sha, NULL, 0, exp_hash, empty), 0);
	char *t1 = sh("git rev-parse %s^{tree}", sha), *t2 = sh("git rev-parse %s^{tree}", empty);
	assert_string_equal(t1, t2);
	free(t1), free(t2);
	assert_int_equal(tr_git_ref_set(g, "refs/exps/exec/EXEC_CHECKPOINT", empty, NULL, NULL), 0);
	/* The file/folder swaps leave one intermediate tree behind (see update_tree). */
	assert_fsck_clean(1);
	tr_git_free(g);
}

/* core.fileMode=false: the work tree's executable bit means nothing, the tree's mode stays. */
static void commit_honours_core_filemode_false(void **state)
{
	(void)state;
	char base[41], sha[41];
	make_repo(1);
	SH_OK("git config core.fileMode false");
	assert_int_equal(chmod("train.py", 0644), 0);
	write_mode("README.md", "# now executable\n", 0755);
	write_mode("new.sh", "#!/bin/sh\n", 0755);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	const tr_git_file files[] = {{.rel = "train.py"}, {.rel = "README.md"}, {.rel = "new.sh"}};
	assert_int_equal(tr_git_commit(g, base, files, 3, exp_hash, sha), 0);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "git ls-tree %s README.md new.sh train.py | cut -c1-6", sha);
	assert_sh_equal("100644\n100644\n100755", cmd);
	tr_git_free(g);
}

/* Work-tree files go through the filters, as `git add` does; unchanged ones keep their blob. */
static void commit_applies_the_work_tree_filters(void **state)
{
	(void)state;
	char base[41], c1[41], c2[41], cmd[300];
	make_repo(1);
	SH_OK("git config core.autocrlf true");
	tu_write_file("crlf.txt", "one\r\ntwo\r\n");
	tu_write_file(".gitattributes", "*.bin -text\n");
	tu_write_file("raw.bin", "keep\r\n");
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	const tr_git_file files[] = {{.rel = "crlf.txt"}, {.rel = "raw.bin"}, {.rel = ".gitattributes"}};
	assert_int_equal(tr_git_commit(g, base, files, 3, exp_hash, c1), 0);
	/* Again, nothing changed: found by hash, the same blobs. */
	assert_int_equal(tr_git_commit(g, c1, files, 3, exp_hash, c2), 0);
	for (int i = 0; i < 2; i++) {
		const char *c = i ? c2 : c1;
		snprintf(cmd, sizeof(cmd), "git cat-file -p %s:crlf.txt | od -c | head -1", c);
		assert_sh_equal("0000000   o   n   e  \\n   t   w   o  \\n", cmd);
		snprintf(cmd, sizeof(cmd), "git cat-file -p %s:raw.bin | od -c | head -1", c);
		assert_sh_equal("0000000   k   e   e   p  \\r  \\n", cmd);
		char *want = sh("git hash-object crlf.txt"), *got = sh("git rev-parse %s:crlf.txt", c);
		assert_string_equal(got, want);
		free(want), free(got);
	}
	snprintf(cmd, sizeof(cmd), "git rev-parse %s^{tree} %s^{tree} | uniq | wc -l", c1, c2);
	assert_sh_equal("1", cmd);
	tr_git_free(g);
}

/* ---- exp ref names --------------------------------------------------------------- */

static void exp_ref_names_are_validated(void **state)
{
	(void)state;
	const char *b = "0123456789abcdef0123456789abcdef01234567";
	char buf[200], small[20];

	assert_int_equal(tr_exp_ref_name(b, "exp-abcde", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "refs/exps/01/23456789abcdef0123456789abcdef01234567/exp-abcde");
	assert_int_equal(tr_exp_ref_name(b, "bright-lamp", buf, sizeof(buf)), 0);

	static const struct {
		const char *name, *msg;
	} bad[] = {
	        /* stricter than git */
	        {"", "experiment name is empty"},
	        {"a/b", "experiment name 'a/b': must not contain '/'"},
	        /* what git check-ref-format refuses */
	        {"a..b", "experiment name 'a..b': not a valid git ref name: it contains '..' (see git "
	                 "check-ref-format)"},
	        {".hidden", "experiment name '.hidden': not a valid git ref name: a part starts with '.' "
	                    "(see git check-ref-format)"},
	        {"x.lock", "experiment name 'x.lock': not a valid git ref name: a part ends with '.lock' "
	                   "(see git check-ref-format)"},
	        {"end.", "experiment name 'end.': not a valid git ref name: it ends with '.' (see git "
	                 "check-ref-format)"},
	        {"sp ace", "experiment name 'sp ace': not a valid git ref name: it contains a space (see "
	                   "git check-ref-format)"},
	        {"a~1", NULL},
	        {"a^", NULL},
	        {"a:b", NULL},
	        {"a?", NULL},
	        {"a*", NULL},
	        {"a[", NULL},
	        {"a\\b", "experiment name 'a\\b': not a valid git ref name: it contains '\\' (see git "
	                 "check-ref-format)"},
	        {"a@{1}", "experiment name 'a@{1}': not a valid git ref name: it contains '@{' (see git "
	                  "check-ref-format)"},
	        /* control characters are shown as \xNN, so that the message stays one printable line */
	        {"tab\there", "experiment name 'tab\\x09here': not a valid git ref name: it contains the "
	                      "control character 0x09 (see git check-ref-format)"},
	        /* libgit2 1.5 takes a DEL; git does not */
	        {"del\x7f", "experiment name 'del\\x7f': not a valid git ref name: it contains the "
	                    "control character 0x7f (see git check-ref-format)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(tr_exp_ref_name(b, bad[i].name, buf, sizeof(buf)), LIVE_EINVALID);
		if (bad[i].msg)
			assert_string_equal(live_errmsg(), bad[i].msg);
		else
			assert_non_null(strstr(live_errmsg(), "not a valid git ref name"));
		if (i < 2)
			continue;
		int status; /* git agrees */
		free(sh_status(&status, "git check-ref-format 'refs/exps/01/23/%s' 2>/dev/null",
		               bad[i].name));
		assert_int_not_equal(status, 0);
	}
	assert_int_equal(tr_exp_ref_name("0123", "exp-1", buf, sizeof(buf)), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "baseline '0123': not a 40-hex commit id");
	assert_int_equal(
	        tr_exp_ref_name("0123456789ABCDEF0123456789abcdef01234567", "exp-1", buf, sizeof(buf)),
	        LIVE_EINVALID);
	assert_int_equal(tr_exp_ref_name(NULL, "exp-1", buf, sizeof(buf)), LIVE_EINVALID);
	assert_int_equal(tr_exp_ref_name(b, NULL, buf, sizeof(buf)), LIVE_EINVALID);
	assert_int_equal(tr_exp_ref_name(b, "exp-1", small, sizeof(small)), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "experiment name 'exp-1': ref name longer than 19 bytes");
}

/* ---- branch names (git check-ref-format --branch) --------------------------------- */

/* `git check-ref-format --branch <name>` (no shell: the name may hold any byte) succeeds. */
static int git_takes_branch(const char *name)
{
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("git", "git", "check-ref-format", "--branch", name, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 127);
	return WEXITSTATUS(st) == 0;
}

static void branch_names_follow_git(void **state)
{
	(void)state;
	SH_OK("git init -q"); /* for git's --branch, which reads @{-1} in a repository */
	static const char *const good[] = {
	        "feature/x", "a.b", "x.lock.y", "a@b", "@", "@x", "a{b}", "a-", "a/-b", "x/HEAD",
	        "HEAD/x", "\303\274ber" /* UTF-8 */, "refs/heads/x", "v1.2.3", "a_b+c,d=e%f",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		if (tr_git_branch_name_check(good[i]) != 0)
			print_message("refused '%s': %s\n", good[i], live_errmsg());
		assert_int_equal(tr_git_branch_name_check(good[i]), 0);
		assert_true(git_takes_branch(good[i]));
	}

#define WHY(name, why) "'" name "' is not a valid branch name: " why " (see git check-ref-format)"
	static const struct {
		const char *name, *msg;
	} bad[] = {
	        {"", WHY("", "it is empty")},
	        {"-rf", WHY("-rf", "it starts with '-'")},
	        {"-", WHY("-", "it starts with '-'")},
	        {"HEAD", WHY("HEAD", "the name HEAD is reserved")},
	        {"a\x7f", WHY("a\\x7f", "it contains the control character 0x7f")},
	        {"esc\x1b[31m", WHY("esc\\x1b[31m", "it contains the control character 0x1b")},
	        {"a\nb", WHY("a\\x0ab", "it contains the control character 0x0a")},
	        {"a\tb", WHY("a\\x09b", "it contains the control character 0x09")},
	        {"\x01", WHY("\\x01", "it contains the control character 0x01")},
	        {"a b", WHY("a b", "it contains a space")},
	        {"a~1", WHY("a~1", "it contains '~'")},
	        {"a^", WHY("a^", "it contains '^'")},
	        {"a:b", WHY("a:b", "it contains ':'")},
	        {"a?", WHY("a?", "it contains '?'")},
	        {"a*", WHY("a*", "it contains '*'")},
	        {"a[", WHY("a[", "it contains '['")},
	        {"a\\b", WHY("a\\b", "it contains '\\'")},
	        {"a..b", WHY("a..b", "it contains '..'")},
	        {"../../config", WHY("../../config", "it contains '..'")},
	        {"a@{1}", WHY("a@{1}", "it contains '@{'")},
	        {"@{-1}", WHY("@{-1}", "it contains '@{'")},
	        {".hidden", WHY(".hidden", "a part starts with '.'")},
	        {"a/.b", WHY("a/.b", "a part starts with '.'")},
	        {"x.lock", WHY("x.lock", "a part ends with '.lock'")},
	        {"a/b.lock/c", WHY("a/b.lock/c", "a part ends with '.lock'")},
	        {".lock", WHY(".lock", "a part starts with '.'")},
	        {"a.", WHY("a.", "it ends with '.'")},
	        {"/x", WHY("/x", "it starts with '/'")},
	        {"x/", WHY("x/", "it ends with '/'")},
	        {"a//b", WHY("a//b", "it contains '//'")},
	};
#undef WHY
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(tr_git_branch_name_check(bad[i].name), LIVE_EINVALID);
		assert_string_equal(live_errmsg(), bad[i].msg);
		assert_false(git_takes_branch(bad[i].name)); /* git agrees */
	}
	assert_int_equal(tr_git_branch_name_check(NULL), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "no branch name given");

	/* live's own limit (git has none): a long name is cut in the message. */
	char name[TR_BRANCH_NAME_MAX + 2], want[400];
	memset(name, 'a', TR_BRANCH_NAME_MAX);
	name[TR_BRANCH_NAME_MAX] = 0;
	assert_int_equal(tr_git_branch_name_check(name), 0);
	name[TR_BRANCH_NAME_MAX] = 'a';
	name[TR_BRANCH_NAME_MAX + 1] = 0;
	assert_int_equal(tr_git_branch_name_check(name), LIVE_EINVALID);
	snprintf(want, sizeof(want),
	         "'%.152s...' is not a valid branch name: it is longer than 1000 bytes (see git "
	         "check-ref-format)",
	         name);
	assert_string_equal(live_errmsg(), want);
}

/* Creating a branch checks the name by git's rules and takes only a commit. */
static void branch_create_refuses_what_git_would(void **state)
{
	(void)state;
	char base[41];
	make_repo(1);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	char *before = sh("git for-each-ref");
	assert_int_equal(tr_git_branch_create(g, "a\x7f", base, "test"), LIVE_EINVALID);
	assert_string_equal(
	        live_errmsg(),
	        "'a\\x7f' is not a valid branch name: it contains the control character 0x7f (see git "
	        "check-ref-format)");
	char *tree = sh("git rev-parse HEAD^{tree}");
	assert_int_equal(tr_git_branch_create(g, "from-tree", tree, "test"), LIVE_EINVALID);
	char want[200];
	snprintf(want, sizeof(want), "'%.7s' is not a commit: no branch made from it", tree);
	assert_string_equal(live_errmsg(), want);
	char *after = sh("git for-each-ref");
	assert_string_equal(after, before);
	assert_int_equal(tr_git_branch_create(g, "ok/name", base, "test"), 0);
	assert_sh_equal(base, "git rev-parse refs/heads/ok/name");
	free(before), free(after), free(tree);
	tr_git_free(g);
}

/* ---- refs that lead to no commit ------------------------------------------------- */

/* "name sha" lines, sorted: the order of a ref iteration is not part of the contract. */
static char *pairs(char **names, char **shas, size_t n)
{
	char *lines[64];
	assert_true(n < 64);
	size_t len = 1;
	for (size_t i = 0; i < n; i++) {
		lines[i] = malloc(strlen(names[i]) + 44);
		sprintf(lines[i], "%s %s\n", names[i], shas[i]);
		len += strlen(lines[i]);
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(lines[k - 1], lines[k]) > 0; k--) {
			char *t = lines[k];
			lines[k] = lines[k - 1];
			lines[k - 1] = t;
		}
	char *out = malloc(len);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		free(lines[i]);
	}
	return out;
}

static int by_badref_name(const void *a, const void *b)
{
	return strcmp(((const tr_badref *)a)->name, ((const tr_badref *)b)->name);
}

static void refs_are_peeled_to_commits(void **state)
{
	(void)state;
	char base[41], sha[41];
	make_repo(1);
	SH_OK("git tag -a -m t tag-commit HEAD && git tag -a -m t tag-tree HEAD^{tree} && "
	      "git tag -a -m t tag-blob $(echo hi | git hash-object -w --stdin) && "
	      "git -c advice.nestedTag=false tag -a -m t tag-tag-blob tag-blob");
	SH_OK("git update-ref refs/exps/aa/commit HEAD && "
	      "git update-ref refs/exps/ab/tag-commit $(git rev-parse tag-commit) && "
	      "git update-ref refs/exps/ac/blob $(echo hi | git hash-object -w --stdin) && "
	      "git update-ref refs/exps/ad/tree HEAD^{tree} && "
	      "git update-ref refs/exps/ae/tag-tree $(git rev-parse tag-tree) && "
	      "git update-ref refs/exps/af/tag-tag-blob $(git rev-parse tag-tag-blob) && "
	      "git symbolic-ref refs/exps/ag/dangling refs/exps/none && "
	      "git symbolic-ref refs/exps/ai/sym refs/exps/aa/commit");
	/* git refuses to write a ref to an object it lacks: as a damaged repository has it. */
	assert_int_equal(mkdir(".git/refs/exps/ah", 0755), 0);
	tu_write_file(".git/refs/exps/ah/missing", "1111111111111111111111111111111111111111\n");
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);

	char **names, **shas;
	tr_badref *bad;
	size_t n, nbad;
	assert_int_equal(tr_git_ref_commits_ex(g, "refs/exps/", &names, &shas, &n, &bad, &nbad), 0);
	char *got = pairs(names, shas, n), want[400];
	snprintf(want, sizeof(want),
	         "refs/exps/aa/commit %s\nrefs/exps/ab/tag-commit %s\nrefs/exps/ai/sym %s\n", base, base,
	         base);
	assert_string_equal(got, want);
	free(got);
	tr_strv_free(names, n);
	tr_strv_free(shas, n);

	static const struct {
		const char *name, *msg;
		tr_badref_kind kind;
	} expect[] = {
	        {"refs/exps/ac/blob", "refs/exps/ac/blob points at a blob, not a commit",
	         TR_BADREF_NOT_COMMIT},
	        {"refs/exps/ad/tree", "refs/exps/ad/tree points at a tree, not a commit",
	         TR_BADREF_NOT_COMMIT},
	        {"refs/exps/ae/tag-tree", "refs/exps/ae/tag-tree points at a tag of a tree, not a commit",
	         TR_BADREF_NOT_COMMIT},
	        {"refs/exps/af/tag-tag-blob",
	         "refs/exps/af/tag-tag-blob points at a tag of a blob, not a commit", TR_BADREF_NOT_COMMIT},
	        {"refs/exps/ag/dangling",
	         "refs/exps/ag/dangling points at the ref refs/exps/none, which does not exist",
	         TR_BADREF_DANGLING},
	        {"refs/exps/ah/missing",
	         "refs/exps/ah/missing points at 1111111, which is missing or unreadable (see git fsck)",
	         TR_BADREF_MISSING},
	};
	assert_int_equal(nbad, sizeof(expect) / sizeof(*expect));
	qsort(bad, nbad, sizeof(*bad), by_badref_name);
	for (size_t i = 0; i < nbad; i++) {
		assert_string_equal(bad[i].name, expect[i].name);
		assert_string_equal(bad[i].msg, expect[i].msg);
		assert_int_equal(bad[i].kind, expect[i].kind);
	}
	tr_badrefs_free(bad, nbad);

	/* Without the list, the same commits (and the bad refs left out). */
	assert_int_equal(tr_git_ref_commits(g, "refs/exps/", &names, &shas, &n), 0);
	assert_int_equal(n, 3);
	tr_strv_free(names, n);
	tr_strv_free(shas, n);

	/* A revision: an experiment name is peeled; one that leads to no commit says which ref. */
	assert_int_equal(tr_git_resolve(g, "tag-commit", sha), 0);
	assert_string_equal(sha, base);
	assert_int_equal(tr_git_resolve(g, "sym", sha), 0);
	assert_string_equal(sha, base);
	assert_int_equal(tr_git_resolve(g, "blob", sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
	                    "experiment 'blob': refs/exps/ac/blob points at a blob, not a commit");
	assert_int_equal(tr_git_resolve(g, "missing", sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
	                    "experiment 'missing': refs/exps/ah/missing points at 1111111, which is "
	                    "missing or unreadable (see git fsck)");
	assert_int_equal(tr_git_resolve(g, "HEAD^{tree}", sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "revision 'HEAD^{tree}' is a tree, not a commit");
	assert_int_equal(tr_git_resolve(g, "refs/tags/tag-tag-blob", sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(),
	                    "revision 'refs/tags/tag-tag-blob' is a tag of a blob, not a commit");
	/* An experiment name comes first, as for a commit: its message names the experiment ref. */
	assert_int_equal(tr_git_resolve(g, "tag-tag-blob", sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "experiment 'tag-tag-blob': refs/exps/af/tag-tag-blob points at a "
	                                   "tag of a blob, not a commit");
	assert_int_equal(tr_git_resolve(g, "refs/exps/ad/tree", sha), LIVE_EINVALID);
	assert_string_equal(live_errmsg(), "revision 'refs/exps/ad/tree' is a tree, not a commit");
	assert_int_equal(tr_git_resolve(g, "nope\x1b[1m", sha), LIVE_ENOTFOUND);
	assert_string_equal(live_errmsg(), "unknown revision 'nope\\x1b[1m'");
	/* A branch of the same name as a bad experiment ref is what the name means. */
	SH_OK("git branch blob");
	assert_int_equal(tr_git_resolve(g, "blob", sha), 0);
	assert_string_equal(sha, base);
	tr_git_free(g);
}

/* ---- a repository another user owns ------------------------------------------------ */

static void open_refuses_another_users_repository_as_git_does(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give a repository away */
	char cwd[PATH_MAX], want[3 * PATH_MAX];
	make_repo(1);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *real = realpath(cwd, NULL);
	struct passwd *pw = getpwuid(65534);
	const char *owner = pw ? pw->pw_name : "uid 65534";
	assert_int_equal(mkdir("sub", 0755), 0);
	SH_OK("chown -R 65534:65534 .");
	snprintf(want, sizeof(want),
	         "%s: the repository is owned by someone else (%s), so git refuses it (detected dubious "
	         "ownership); if you trust it, run `git config --global --add safe.directory %s`",
	         real, owner, real);
	tr_git *g = (tr_git *)&g;
	/* libgit2 1.5.1 with no safe.directory at all says GIT_ENOTFOUND (a config value not found) */
	assert_int_equal(tr_git_open("sub", &g), LIVE_EGIT);
	assert_null(g);
	assert_string_equal(live_errmsg(), want);
	/* with safe.directory naming another folder: GIT_EOWNER */
	SH_OK("git config --global --add safe.directory /nowhere");
	assert_int_equal(tr_git_open(".", &g), LIVE_EGIT);
	assert_string_equal(live_errmsg(), want);
	/* the fix the message gives works */
	SH_OK("git config --global --add safe.directory '%s'", real);
	tr_git *ok = open_repo("sub");
	assert_string_equal(tr_git_root(ok), real);
	tr_git_free(ok);
	SH_OK("git config --global --unset-all safe.directory");
	SH_OK("chown -R 0:0 .");
	free(real);
}

/* ---- speed ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double clock_us(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double median(const double *v, size_t n)
{
	double *s = malloc(n * sizeof(*s));
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	double m = s[n / 2];
	free(s);
	return m;
}

/* The number of loose objects in the repository. */
static long loose_objects(void)
{
	char *out = sh("git count-objects -v | sed -n 's/^count: //p'");
	long n = atol(out);
	free(out);
	return n;
}

/*
 * 1,000 chained checkpoints of five small files, one of them changing: the
 * commit (blobs, tree, commit) plus the branch's compare-and-swap. The time
 * per checkpoint must not grow with the chain.
 */
static void checkpoint_speed_stays_flat(void **state)
{
	(void)state;
	enum { N = 1000 };
	static double t[N], cpu[N];
	char base[41], sha[41], prev[41], ref[200], text[64];

	make_repo(1);
	tr_git *g = open_repo(".");
	assert_int_equal(tr_git_head(g, base), 0);
	assert_int_equal(tr_exp_ref_name(base, "exp-speed", ref, sizeof(ref)), 0);
	strcpy(prev, base);
	long objects_before = loose_objects();
	const tr_git_file files[] = {
	        {.rel = "dvclive.json"}, {.rel = "params.yaml"}, {.rel = "dvc.yaml"},
	        {.rel = ".gitignore"},   {.rel = "train.py"},
	};
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "{\"step\": %d, \"loss\": %g}\n", i, 1.0 / (i + 1));
		tu_write_file("dvclive.json", text); /* the trainer's write, not timed */
		double t0 = clock_us(CLOCK_MONOTONIC), c0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
		assert_int_equal(tr_git_commit(g, prev, files, 5, exp_hash, sha), 0);
		assert_int_equal(tr_git_ref_set(g, ref, sha, i ? prev : NULL, NULL), 0);
		t[i] = clock_us(CLOCK_MONOTONIC) - t0;
		cpu[i] = clock_us(CLOCK_THREAD_CPUTIME_ID) - c0;
		strcpy(prev, sha);
	}
	double sorted[N];
	memcpy(sorted, t, sizeof(t));
	qsort(sorted, N, sizeof(*sorted), cmp_double);
	print_message("checkpoint commit + ref, %d chained: median %.0f us, p99 %.0f us, max %.0f us\n", N,
	              sorted[N / 2], sorted[N * 99 / 100], sorted[N - 1]);
	print_message(
	        "  10th %.0f us, 1000th %.0f us; median of the first 100 %.0f us, of the last 100 %.0f us\n",
	        t[9], t[N - 1], median(t, 100), median(t + N - 100, 100));
	print_message("  CPU time: median %.0f us; first 100 %.0f us, last 100 %.0f us\n", median(cpu, N),
	              median(cpu, 100), median(cpu + N - 100, 100));

	/* Same with the changing file given as bytes (dvc.lock rendered in memory). */
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "schema: '2.0'\nstep: %d\n", i);
		const tr_git_file mixed[] = {
		        {.rel = "dvc.lock", .data = text, .len = strlen(text)},
		        {.rel = "params.yaml"},
		        {.rel = "dvc.yaml"},
		        {.rel = ".gitignore"},
		        {.rel = "train.py"},
		};
		double t0 = clock_us(CLOCK_MONOTONIC);
		assert_int_equal(tr_git_commit(g, prev, mixed, 5, exp_hash, sha), 0);
		assert_int_equal(tr_git_ref_set(g, ref, sha, prev, NULL), 0);
		t[i] = clock_us(CLOCK_MONOTONIC) - t0;
		strcpy(prev, sha);
	}
	memcpy(sorted, t, sizeof(t));
	qsort(sorted, N, sizeof(*sorted), cmp_double);
	print_message(
	        "changing file as bytes: median %.0f us, p99 %.0f us; first 100 %.0f us, last 100 %.0f us\n",
	        sorted[N / 2], sorted[N * 99 / 100], median(t, 100), median(t + N - 100, 100));

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "git rev-list --count %s", ref);
	assert_sh_equal("2001", cmd);
	/*
	 * Flat by construction: each checkpoint wrote exactly its changed blob,
	 * the root tree and the commit, and nothing looks at the chain (timings
	 * on a shared disk are too noisy to assert on; they are printed above).
	 */
	assert_int_equal(loose_objects() - objects_before, 3 * 2 * N);
	tr_git_free(g);
}

/* ---- main ------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void remove_home(void)
{
	nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A temp HOME with only our identity, before libgit2 or git reads any config. */
static void isolate_git_config(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[600];
	snprintf(home, sizeof(home), "%s/livegithome.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(home)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(remove_home);
	snprintf(path, sizeof(path), "%s/.gitconfig", home);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs("[user]\n\tname = Live Global\n\temail = global@example.com\n"
	      "[init]\n\tdefaultBranch = main\n"
	      "[advice]\n\tdetachedHead = false\n",
	      f);
	fclose(f);
	setenv("HOME", home, 1);
	snprintf(path, sizeof(path), "%s/.config", home);
	setenv("XDG_CONFIG_HOME", path, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	static const char *const unset[] = {
	        "GIT_AUTHOR_NAME",
	        "GIT_AUTHOR_EMAIL",
	        "GIT_AUTHOR_DATE",
	        "GIT_COMMITTER_NAME",
	        "GIT_COMMITTER_EMAIL",
	        "GIT_COMMITTER_DATE",
	        "EMAIL",
	        "GIT_DIR",
	        "GIT_WORK_TREE",
	        "GIT_INDEX_FILE",
	        "GIT_OBJECT_DIRECTORY",
	        "GIT_CONFIG",
	        "GIT_CONFIG_GLOBAL",
	        "GIT_CONFIG_SYSTEM",
	        "GIT_CONFIG_COUNT",
	        "GIT_CEILING_DIRECTORIES",
	};
	for (size_t i = 0; i < sizeof(unset) / sizeof(*unset); i++)
		unsetenv(unset[i]);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--identity-child") == 0)
		return identity_child(argv[2]);

	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self_exe[n] = '\0';
	isolate_git_config();

	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(open_finds_the_root_from_a_subfolder, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(open_outside_a_repository_says_git_init, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(open_bare_repository_is_refused, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(head_of_an_unborn_branch_asks_for_a_commit, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(identity_comes_from_home_gitconfig, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(missing_identity_is_refused, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(checkpoint_chain_of_five, tu_enter_tmpdir, tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(ref_compare_and_swap_refuses_a_moved_ref, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(ref_get_and_delete, tu_enter_tmpdir, tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(commit_rejects_bad_input, tu_enter_tmpdir, tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(commit_handles_modes_links_and_folder_swaps, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(commit_honours_core_filemode_false, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(commit_applies_the_work_tree_filters, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test(exp_ref_names_are_validated),
	        cmocka_unit_test_setup_teardown(branch_names_follow_git, tu_enter_tmpdir, tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(branch_create_refuses_what_git_would, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(refs_are_peeled_to_commits, tu_enter_tmpdir, tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(open_refuses_another_users_repository_as_git_does,
	                                        tu_enter_tmpdir, tu_leave_tmpdir),
	        cmocka_unit_test_setup_teardown(checkpoint_speed_stays_flat, tu_enter_tmpdir,
	                                        tu_leave_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
