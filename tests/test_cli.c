/*
 * End-to-end tests of the `live` command line (SPEC 3 and 6; the tutorial
 * /work/shared/seeds/000_00be6dab4e390328.txt; reference/dvc-checkpoints.md
 * 1-5). Every test builds a git repository in a fresh temp dir with the git
 * command line, runs the built `live` binary as a user would (fork/exec,
 * stdout, stderr and exit code captured), and reads the results back with
 * the git command line and plain file reads, as an outside reader.
 *
 * Isolation: main() points HOME and XDG_CONFIG_HOME at an empty temp dir,
 * sets GIT_CONFIG_NOSYSTEM=1 and unsets the variables that would change what
 * git, liblive or the trainer do (GIT_AUTHOR_*, DVC_*, DVCLIVE_*, LIVE_*,
 * RANK, ...). Each repository gets its identity in .git/config.
 *
 * Trainers: tests/cli/tiny_trainer.c (liblive; copied in as ./train; model.pt
 * bytes are a function of step, lr and model_bytes, reproduced below) and
 * tests/cli/dvclive0x_trainer.py (Python stdlib only, DVC's file protocol as
 * dvclive 0.4.x speaks it).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif
#ifndef PY_TRAINER
#error "PY_TRAINER must be defined by the build"
#endif

/* ---- files ----------------------------------------------------------------- */

static int ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && !memcmp(s + a - b, tail, b);
}

/* ---- repositories --------------------------------------------------------------- */

/*
 * The standard repository: `live init`, the tiny trainer as ./train, the
 * given params.yaml, a train stage as the tutorial makes it, one baseline
 * commit. Returns the baseline sha.
 */
static char *tiny_repo_with(const char *params, int identity)
{
	git_init_repo(identity);
	result r = LIVE("init", "-q");
	assert_int_equal(r.rc, 0);
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", params);
	r = LIVE("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--plots-no-cache",
		 "predictions.json", "-p", "epochs,lr,model_bytes", "--live", "dvclive", "./train");
	if (r.rc != 0)
		fail_msg("stage add: %s", r.err);
	commit_all("baseline");
	return sh("git rev-parse HEAD");
}

#define PARAMS_5 "epochs: 5\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n"

static char *tiny_repo(void)
{
	return tiny_repo_with(PARAMS_5, 1);
}

static int is_exp_name(const char *s)
{
	if (strncmp(s, "exp-", 4) || strlen(s) != 9)
		return 0;
	for (int i = 4; i < 9; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

/* Every ref under refs/exps/, "<sha> <refname>" lines. */
static char *exp_refs(void)
{
	return sh("git for-each-ref --format='%%(objectname) %%(refname)' refs/exps");
}

/*
 * The commits from `from` (exclusive) to `tip`, oldest first, checked to be
 * one first-parent chain with single parents: shas[i] is the i-th commit.
 */
static int chain(const char *from, const char *tip, char shas[][41], int max)
{
	char *list = sh("git rev-list --reverse --parents '%s..%s'", from, tip);
	int n = 0;
	const char *prev = from;
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < max);
		char c[41], p[41], extra[41];
		int k = sscanf(l, "%40s %40s %40s", c, p, extra);
		if (k != 2)
			fail_msg("commit %s should have exactly one parent: %s", c, l);
		if (strcmp(p, prev))
			fail_msg("commit %s: parent %s, expected %s", c, p, prev);
		snprintf(shas[n], 41, "%s", c);
		prev = shas[n++];
	}
	return n;
}

/* The lines of `out` that start with `prefix`, joined with \n. */
static char *lines_starting(const char *out, const char *const *prefixes)
{
	char *copy = fmt("%s", out), *acc = fmt("%s", "");
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		for (const char *const *p = prefixes; *p; p++)
			if (!strncmp(l, *p, strlen(*p))) {
				acc = fmt("%s%s\n", acc, l);
				break;
			}
	return acc;
}

/* The md5 a .dir manifest ([{"md5": "<32>", "relpath": "<p>"}, ...]) records for relpath. */
static char *manifest_md5(const char *manifest, const char *relpath)
{
	const char *at = strstr(manifest, fmt("\", \"relpath\": \"%s\"}", relpath));
	if (!at || at - manifest < 32 + 8 || strncmp(at - 32 - 8, "\"md5\": \"", 8))
		fail_msg("no entry for %s in the manifest %s", relpath, manifest);
	return fmt("%.32s", at - 32);
}

/* The model.pt bytes tests/cli/tiny_trainer.c writes at `step`. */
static unsigned char *tiny_model(long long step, double lr, long long bytes, size_t *len)
{
	char head[128];
	int hn = snprintf(head, sizeof(head), "step=%lld lr=%.17g\n", step, lr);
	unsigned char *m = keep(malloc((size_t)hn + (size_t)bytes + 1));
	memcpy(m, head, (size_t)hn);
	unsigned long long x = (unsigned long long)step * 2654435761u + 1;
	unsigned long long block[512];
	for (long long done = 0; done < bytes; done += (long long)sizeof(block)) {
		for (int i = 0; i < 512; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			block[i] = x;
		}
		size_t n = bytes - done < (long long)sizeof(block) ? (size_t)(bytes - done) : sizeof(block);
		memcpy(m + hn + done, block, n);
	}
	*len = (size_t)hn + (size_t)bytes;
	return m;
}

/* `git fsck --strict`: no error, and (unless allowed) no dangling object. */
static void assert_fsck_clean(int allow_dangling)
{
	int st;
	char *out = sh_status(&st, "git fsck --strict --no-progress 2>&1");
	if (st != 0)
		fail_msg("git fsck --strict failed:\n%s", out);
	if (!allow_dangling && *out)
		fail_msg("git fsck --strict reported:\n%s", out);
}

/* The user's side of the repository: HEAD, its branch, branches, index, staged changes. */
static char *user_state(void)
{
	int st;
	char *staged = sh_status(&st, "git diff --cached --name-status");
	return fmt("HEAD %s\nsymbolic %s\nbranches\n%s\nindex\n%s\nstaged\n%s", sh("git rev-parse HEAD"),
		   sh("git symbolic-ref HEAD"), sh("git for-each-ref --format='%%(objectname) %%(refname)' refs/heads"),
		   sh("git ls-files -s"), staged);
}

/* The checkpoint lines of a run's stdout, in order: sha7s. */
static int checkpoint_sha7s(const char *out, char sha7[][8], int max)
{
	int n = 0;
	const char *key = "Checkpoint experiment iteration '";
	for (const char *p = strstr(out, key); p; p = strstr(p + 1, key)) {
		assert_true(n < max);
		p += strlen(key);
		assert_true(strlen(p) >= 10);
		assert_int_equal(p[7], '\'');
		assert_int_equal(p[8], '.');
		snprintf(sha7[n++], 8, "%.7s", p);
	}
	return n;
}

/* The closing lines of a run that made checkpoints (SPEC 3; reference 2.4). */
static void assert_closing(const char *out, const char *name)
{
	char *tail = fmt("\nReproduced experiment(s): %s\n"
			 "Experiment results have been applied to your workspace.\n"
			 "\n"
			 "To promote an experiment to a Git branch run:\n"
			 "\n"
			 "\tlive exp branch %s <branch>\n",
			 name, name);
	if (!ends_with(out, tail))
		fail_msg("stdout should end with:\n%s\n-- got:\n%s", tail, out);
}

/* The steps of a dvclive TSV (LF or CRLF), as a space-separated list. */
static char *tsv_steps(const char *tsv)
{
	char *copy = fmt("%s", tsv), *acc = fmt("%s", "");
	int first = 1;
	for (char *save = NULL, *l = strtok_r(copy, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		if (first) {
			first = 0; /* header */
			continue;
		}
		char *tab = strchr(l, '\t');
		assert_non_null(tab);
		acc = fmt("%s%s%.*s", acc, *acc ? " " : "", (int)strcspn(tab + 1, "\t"), tab + 1);
	}
	return acc;
}

static int python_available(void)
{
	int st;
	sh_status(&st, "command -v python3 >/dev/null 2>&1");
	return st == 0;
}

/* =========================================================================== */
/* 1. live init, live stage add: the tutorial's setup                          */
/* =========================================================================== */

#define DVCIGNORE                                                                                 \
	"# Add patterns of files dvc should ignore, which could improve\n"                        \
	"# the performance. Learn more at\n"                                                      \
	"# https://dvc.org/doc/user-guide/dvcignore\n"

static void init_writes_dvc_files(void **state)
{
	(void)state;
	git_init_repo(1);
	result r = LIVE("init");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_true(!strncmp(r.out, "Initialized DVC repository.\n", 28));
	assert_string_equal(must_read(".dvc/config"), "");
	assert_string_equal(must_read(".dvc/.gitignore"), "/config.local\n/tmp\n/cache\n");
	assert_string_equal(must_read(".dvcignore"), DVCIGNORE);
	struct stat st;
	assert_int_equal(stat(".dvc", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* git sees exactly the files to commit; .dvc/tmp and .dvc/cache are ignored. */
	sh("mkdir -p .dvc/tmp .dvc/cache && touch .dvc/tmp/x .dvc/cache/y");
	assert_string_equal(sh("git status --porcelain --untracked-files=all"),
			    "?? .dvc/.gitignore\n?? .dvc/config\n?? .dvcignore");

	/* A second init is refused with DVC's message and changes nothing. */
	tu_write_file(".dvc/config", "[core]\n    remote = x\n");
	r = LIVE("init");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "ERROR: failed to initiate DVC - '.dvc' exists. Use `-f` to force.\n");
	assert_string_equal(must_read(".dvc/config"), "[core]\n    remote = x\n");
	assert_string_equal(must_read(".dvc/.gitignore"), "/config.local\n/tmp\n/cache\n");
	assert_string_equal(must_read(".dvcignore"), DVCIGNORE);
}

static void init_outside_git_and_no_scm(void **state)
{
	(void)state;
	int st;
	sh_status(&st, "git rev-parse --git-dir >/dev/null 2>&1");
	if (st == 0)
		skip(); /* the temp dir sits inside some git work tree */
	result r = LIVE("init");
	assert_int_equal(r.rc, 1);
	assert_int_equal(count_lines(r.err), 1);
	assert_true(!strncmp(r.err, "ERROR: failed to initiate DVC - '", 33));
	assert_contains(r.err, "is not tracked by any supported SCM tool");
	assert_false(tu_exists(".dvc"));
	assert_false(tu_exists(".dvcignore"));

	/* `live exp run` outside any repository. */
	r = LIVE("exp", "run");
	assert_int_equal(r.rc, 1);
	assert_int_equal(count_lines(r.err), 1);
	assert_contains(r.err, "ERROR: ");
	assert_contains(r.err, "not inside of a DVC repository");

	/* --no-scm works without git, as `dvc init --no-scm` does. */
	r = LIVE("init", "--no-scm");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(must_read(".dvc/config"), "[core]\n    no_scm = True\n");
	assert_string_equal(must_read(".dvc/.gitignore"), "/config.local\n/tmp\n/cache\n");
	assert_string_equal(must_read(".dvcignore"), DVCIGNORE);
	assert_false(tu_exists(".git"));

	/* ... but checkpoint experiments need git: a clear one-line error. */
	tu_write_file("dvc.yaml", "stages:\n  train:\n    cmd: ./train\n    outs:\n    - model.pt:\n"
				  "        checkpoint: true\n");
	r = LIVE("exp", "run");
	assert_int_equal(r.rc, 1);
	assert_int_equal(count_lines(r.err), 1);
	assert_contains(r.err, "not a git repository");
	assert_false(tu_exists("model.pt"));
	assert_false(tu_exists("dvc.lock"));
}

/* Reference 5: the tutorial's dvc.yaml with `./download` / `./train` for the Python commands. */
#define TUTORIAL_DVC_YAML_BEFORE_EDIT                                                             \
	"stages:\n"                                                                               \
	"  download:\n"                                                                           \
	"    cmd: ./download\n"                                                                   \
	"    deps:\n"                                                                             \
	"    - download.c\n"                                                                      \
	"    outs:\n"                                                                             \
	"    - data/MNIST\n"                                                                      \
	"  train:\n"                                                                              \
	"    cmd: ./train\n"                                                                      \
	"    deps:\n"                                                                             \
	"    - data/MNIST\n"                                                                      \
	"    - train.c\n"                                                                         \
	"    params:\n"                                                                           \
	"    - lr\n"                                                                              \
	"    - seed\n"                                                                            \
	"    - weight_decay\n"                                                                    \
	"    outs:\n"                                                                             \
	"    - model.pt:\n"                                                                       \
	"        checkpoint: true\n"                                                              \
	"    plots:\n"                                                                            \
	"    - predictions.json:\n"                                                               \
	"        cache: false\n"                                                                  \
	"    live:\n"                                                                             \
	"      dvclive:\n"                                                                        \
	"        summary: true\n"                                                                 \
	"        html: true\n"

#define TUTORIAL_DVC_YAML                                                                         \
	"stages:\n"                                                                               \
	"  download:\n"                                                                           \
	"    cmd: ./download\n"                                                                   \
	"    deps:\n"                                                                             \
	"    - download.c\n"                                                                      \
	"    outs:\n"                                                                             \
	"    - data/MNIST\n"                                                                      \
	"  train:\n"                                                                              \
	"    cmd: ./train\n"                                                                      \
	"    deps:\n"                                                                             \
	"    - data/MNIST\n"                                                                      \
	"    - train.c\n"                                                                         \
	"    params:\n"                                                                           \
	"    - lr\n"                                                                              \
	"    - seed\n"                                                                            \
	"    - weight_decay\n"                                                                    \
	"    outs:\n"                                                                             \
	"    - model.pt:\n"                                                                       \
	"        checkpoint: true\n"                                                              \
	"    plots:\n"                                                                            \
	"    - predictions.json:\n"                                                               \
	"        cache: false\n"                                                                  \
	"        template: confusion\n"                                                           \
	"        x: actual\n"                                                                     \
	"        y: predicted\n"                                                                  \
	"    live:\n"                                                                             \
	"      dvclive:\n"                                                                        \
	"        summary: true\n"                                                                 \
	"        html: true\n"

static void tutorial_setup_gives_reference_dvc_yaml(void **state)
{
	(void)state;
	git_init_repo(1);
	result r = LIVE("init");
	assert_int_equal(r.rc, 0);

	r = LIVE("stage", "add", "-n", "download", "-d", "download.c", "-o", "data/MNIST", "./download");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "Creating 'dvc.yaml'\nAdding stage 'download' in 'dvc.yaml'\n\n"
				   "To track the changes with git, run:\n\n\tgit add dvc.yaml\n");
	assert_string_equal(must_read("dvc.yaml"), "stages:\n"
						   "  download:\n"
						   "    cmd: ./download\n"
						   "    deps:\n"
						   "    - download.c\n"
						   "    outs:\n"
						   "    - data/MNIST\n");

	r = LIVE("stage", "add", "-n", "train", "-d", "data/MNIST", "-d", "train.c", "-c", "model.pt",
		 "--plots-no-cache", "predictions.json", "-p", "seed,lr,weight_decay", "--live", "dvclive",
		 "./train");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "Adding stage 'train' in 'dvc.yaml'\n\n"
				   "To track the changes with git, run:\n\n\tgit add dvc.yaml\n");
	assert_string_equal(must_read("dvc.yaml"), TUTORIAL_DVC_YAML_BEFORE_EDIT);

	/* The tutorial's hand edit of the plots entry. */
	char *y = must_read("dvc.yaml");
	const char *anchor = "    - predictions.json:\n        cache: false\n";
	char *at = strstr(y, anchor);
	assert_non_null(at);
	at += strlen(anchor);
	tu_write_file("dvc.yaml", fmt("%.*s        template: confusion\n        x: actual\n        y: predicted\n%s",
				      (int)(at - y), y, at));
	assert_string_equal(must_read("dvc.yaml"), TUTORIAL_DVC_YAML);

	/* Adding a stage rewrites the file and keeps the plot props. */
	r = LIVE("stage", "add", "-n", "evaluate", "-d", "model.pt", "./evaluate");
	assert_int_equal(r.rc, 0);
	assert_string_equal(must_read("dvc.yaml"), TUTORIAL_DVC_YAML "  evaluate:\n"
									"    cmd: ./evaluate\n"
									"    deps:\n"
									"    - model.pt\n");
	/* The same name again is refused, and nothing changes. */
	r = LIVE("stage", "add", "-n", "evaluate", "-d", "x", "./other");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: Stage 'evaluate' already exists in 'dvc.yaml'. Use '--force' to "
				   "overwrite.\n");
	tu_write_file("dvc.yaml", TUTORIAL_DVC_YAML);

	/* Now run the tutorial's pipeline: download, then the checkpointed training. */
	tu_write_file("download.c", "/* download MNIST */\n");
	tu_write_file("train.c", "/* train */\n");
	tu_write_file("download", "#!/bin/sh\nmkdir -p data/MNIST/raw\nprintf 'images' > data/MNIST/raw/train-images\n"
				  "printf 'labels\\n' > data/MNIST/raw/train-labels\n");
	sh("chmod +x download && cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", "seed: 473987\nlr: 0.0001\nweight_decay: 0\nepochs: 3\nmodel_bytes: 100\n");
	commit_all("tutorial");
	char *base = sh("git rev-parse HEAD");

	r = LIVE("exp", "run");
	if (r.rc != 0)
		fail_msg("exp run: %s\n%s", r.out, r.err);
	assert_true(!strncmp(r.out, "Running stage 'download':\n> ./download\nGenerating lock file 'dvc.lock'\n"
				    "Running stage 'train':\n> ./train\n",
			     strlen("Running stage 'download':\n> ./download\nGenerating lock file 'dvc.lock'\n"
				    "Running stage 'train':\n> ./train\n")));
	/* dvc.yaml is never rewritten by a run (DVC dumps dvc.lock only). */
	assert_string_equal(must_read("dvc.yaml"), TUTORIAL_DVC_YAML);
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 1);
	char shas[8][41];
	assert_int_equal(chain(base, fmt("%s%s", exp_prefix(base), names[0]), shas, 8), 3);
	char *tip = shas[2];
	assert_string_equal(sh("git show %s:dvc.yaml", tip), fmt("%.*s", (int)strlen(TUTORIAL_DVC_YAML) - 1,
								 TUTORIAL_DVC_YAML));
	char *lock = sh("git show %s:dvc.lock", tip);
	char *dl = strstr(lock, "\n  download:\n"), *tr = strstr(lock, "\n  train:\n");
	assert_non_null(dl);
	assert_non_null(tr);
	assert_true(dl < tr);
	assert_contains(lock, "    params:\n      params.yaml:\n        lr: 0.0001\n        seed: 473987\n"
			      "        weight_decay: 0\n");
	/* Each cached out is ignored beside it; the ignores are in the commit. */
	assert_string_equal(sh("git show %s:data/.gitignore", tip), "/MNIST");
	assert_string_equal(sh("git show %s:.gitignore", tip), "/model.pt\n/dvclive");
	char *mnist = lock_md5(lock, "data/MNIST");
	assert_int_equal(strlen(mnist), 36);
	assert_true(ends_with(mnist, ".dir"));
	assert_true(tu_exists(cache_path(mnist)));
	assert_false(tu_exists(".dvc/tmp/DVC_CHECKPOINT"));
	assert_fsck_clean(0);
}

/* =========================================================================== */
/* 2. live exp run: five steps, five checkpoint commits                        */
/* =========================================================================== */

static void exp_run_makes_one_commit_per_step(void **state)
{
	(void)state;
	char *base = tiny_repo();
	char *before = user_state();

	result r = LIVE("exp", "run");
	if (r.rc != 0)
		fail_msg("exp run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	assert_string_equal(r.err, "");

	/* One experiment ref under the baseline, plus EXEC_CHECKPOINT and EXEC_APPLY at its tip. */
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 1);
	const char *name = names[0];
	assert_true(is_exp_name(name));
	char *ref = fmt("%s%s", exp_prefix(base), name);
	char *tip = sh("git rev-parse '%s'", ref);
	char *refs = exp_refs();
	assert_int_equal(count_lines(refs), 2); /* three refs, no newline after the last */
	assert_contains(refs, fmt("%s %s", tip, ref));
	assert_contains(refs, fmt("%s refs/exps/exec/EXEC_APPLY", tip));
	assert_contains(refs, fmt("%s refs/exps/exec/EXEC_CHECKPOINT", tip));
	int st;
	sh_status(&st, "git symbolic-ref -q refs/exps/exec/EXEC_BRANCH");
	assert_int_not_equal(st, 0);
	assert_false(tu_exists(".git/refs/exps/exec/EXEC_BRANCH"));

	/* Exactly five commits, chained from the baseline. */
	char shas[16][41];
	assert_int_equal(chain(base, tip, shas, 16), 5);
	assert_fsck_clean(0);

	/* The user's HEAD, branch and index did not move; results are unstaged work-tree changes. */
	assert_string_equal(user_state(), before);
	assert_string_equal(sh("git symbolic-ref HEAD"), "refs/heads/main");
	sh("git diff --cached --quiet");
	assert_string_equal(sh("git status --porcelain"),
			    "?? .gitignore\n?? dvc.lock\n?? dvclive.html\n?? dvclive.json\n?? predictions.json");

	/* stdout: the tutorial's lines, and one checkpoint line per commit, in order. */
	assert_true(!strncmp(r.out, "Running stage 'train':\n> ./train\n", 33));
	char sha7[16][8];
	assert_int_equal(checkpoint_sha7s(r.out, sha7, 16), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(strncmp(sha7[i], shas[i], 7), 0);
	static const char *const lockck[] = { "Generating lock file", "Updating lock file",
					      "Checkpoint experiment iteration", NULL };
	assert_string_equal(lines_starting(r.out, lockck),
			    fmt("Generating lock file 'dvc.lock'\n"
				"Checkpoint experiment iteration '%s'.\n"
				"Updating lock file 'dvc.lock'\n"
				"Checkpoint experiment iteration '%s'.\n"
				"Updating lock file 'dvc.lock'\n"
				"Checkpoint experiment iteration '%s'.\n"
				"Updating lock file 'dvc.lock'\n"
				"Checkpoint experiment iteration '%s'.\n"
				"Updating lock file 'dvc.lock'\n"
				"Checkpoint experiment iteration '%s'.\n",
				sha7[0], sha7[1], sha7[2], sha7[3], sha7[4]));
	assert_closing(r.out, name);

	/* Each commit: a normal commit, the tree of step i. */
	for (int i = 0; i < 5; i++) {
		const char *c = shas[i];
		assert_string_equal(sh("git log -1 --format='%%an <%%ae>|%%cn <%%ce>' %s", c),
				    CT_ID_NAME " <" CT_ID_EMAIL ">|" CT_ID_NAME " <" CT_ID_EMAIL ">");
		char *subject = sh("git log -1 --format=%%s %s", c);
		assert_int_equal(strlen(subject), strlen("dvc: commit experiment ") + 64);
		assert_int_equal(strncmp(subject, "dvc: commit experiment ", 23), 0);
		assert_string_equal(sh("git ls-tree --name-only %s", c),
				    ".dvc\n.dvcignore\n.gitignore\ndvc.lock\ndvc.yaml\ndvclive.json\nparams.yaml\n"
				    "predictions.json\ntrain");
		/* What changed: the results only. */
		assert_string_equal(sh("git diff --name-only %s %s", i ? shas[i - 1] : base, c),
				    i ? "dvc.lock\ndvclive.json\npredictions.json"
				      : ".gitignore\ndvc.lock\ndvclive.json\npredictions.json");
		assert_string_equal(sh("git show %s:.gitignore", c), "/model.pt\n/dvclive");
		char *summary = sh("git show %s:dvclive.json", c);
		if (!strstr(summary, fmt("{\n    \"step\": %d,\n", i)))
			fail_msg("commit %d: dvclive.json is\n%s", i, summary);
		assert_string_equal(sh("git show %s:predictions.json", c),
				    fmt("[{\"actual\": %d, \"predicted\": %d}]", i % 10, (i + 1) % 10));

		/* model.pt: the lock's md5 is the model of step i, and that object is in the cache. */
		char *lock = sh("git show %s:dvc.lock", c);
		char *md5 = lock_md5(lock, "model.pt");
		assert_int_equal(strlen(md5), 32);
		size_t want_len, got_len;
		unsigned char *want = tiny_model(i, 0.001, 1000, &want_len);
		char *got = slurp(cache_path(md5), &got_len);
		if (!got)
			fail_msg("commit %d: cache object %s for model.pt is missing", i, md5);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		assert_string_equal(sh("md5sum < '%s' | cut -c1-32", cache_path(md5)), md5);
		assert_contains(lock, fmt("- path: model.pt\n      md5: %s\n      size: %zu\n", md5, want_len));
		/* The cache object is read-only (DVC's protect). */
		struct stat sb;
		assert_int_equal(stat(cache_path(md5), &sb), 0);
		assert_int_equal(sb.st_mode & 0222, 0);
		/* The dvclive folder: a .dir manifest in the cache, its files too. */
		char *dir = lock_md5(lock, "dvclive");
		assert_true(ends_with(dir, ".dir"));
		char *manifest = must_read(cache_path(dir));
		assert_contains(manifest, "\"relpath\": \"acc.tsv\"");
		assert_contains(manifest, "\"relpath\": \"loss.tsv\"");
		char *loss = must_read(cache_path(manifest_md5(manifest, "loss.tsv")));
		char *expect_steps = fmt("%s", "0");
		for (int k = 1; k <= i; k++)
			expect_steps = fmt("%s %d", expect_steps, k);
		assert_string_equal(tsv_steps(loss), expect_steps);
		/* predictions.json (cache: false) is hashed in the lock, and committed. */
		assert_string_equal(lock_md5(lock, "predictions.json"),
				    sh("git show %s:predictions.json | md5sum | cut -c1-32", c));
	}
	/* The work tree holds the last step's results. */
	assert_string_equal(must_read("dvc.lock"), fmt("%s\n", sh("git show %s:dvc.lock", tip)));
	assert_string_equal(tsv_steps(must_read("dvclive/loss.tsv")), "0 1 2 3 4");
	assert_false(tu_exists(".dvc/tmp/DVC_CHECKPOINT"));
}

/* A model larger than the in-memory capture limit goes through the staged copy. */
static void exp_run_large_model(void **state)
{
	(void)state;
	char *base = tiny_repo_with("epochs: 3\nlr: 0.5\nmodel_bytes: 9437184\nstep_ms: 0\n", 1);
	result r = LIVE("exp", "run");
	if (r.rc != 0)
		fail_msg("exp run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	char shas[8][41];
	assert_int_equal(chain(base, fmt("%s%s", exp_prefix(base), names[0]), shas, 8), 3);
	for (int i = 0; i < 3; i++) {
		char *md5 = lock_md5(sh("git show %s:dvc.lock", shas[i]), "model.pt");
		size_t want_len, got_len;
		unsigned char *want = tiny_model(i, 0.5, 9437184, &want_len);
		char *got = slurp(cache_path(md5), &got_len);
		if (!got)
			fail_msg("step %d: cache object %s missing", i, md5);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		assert_string_equal(sh("md5sum < '%s' | cut -c1-32", cache_path(md5)), md5);
	}
	assert_fsck_clean(0);
}

/* =========================================================================== */
/* 3. A Python trainer speaking dvclive 0.x's file protocol                    */
/* =========================================================================== */

static void python_dvclive0x_trainer_gets_a_checkpoint_per_step(void **state)
{
	(void)state;
	if (!python_available()) {
		print_message("python3 not found: skipped\n");
		skip();
	}
	git_init_repo(1);
	assert_int_equal(LIVE("init", "-q").rc, 0);
	sh("cp '%s' train.py", PY_TRAINER);
	tu_write_file("params.yaml", "epochs: 5\nlr: 0.001\n");
	result r = LIVE("stage", "add", "-n", "train", "-d", "train.py", "-c", "model.pt", "--plots-no-cache",
			"predictions.json", "-p", "epochs,lr", "--live", "dvclive", "python3 train.py");
	assert_int_equal(r.rc, 0);
	commit_all("baseline");
	char *base = sh("git rev-parse HEAD");

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = LIVE("exp", "run");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r.rc != 0)
		fail_msg("exp run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* No 1 s poll per checkpoint: five steps well under five seconds. */
	if (secs > 4.0)
		fail_msg("5 checkpoints took %.2f s", secs);
	assert_true(!strncmp(r.out, "Running stage 'train':\n> python3 train.py\n", 42));

	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	assert_closing(r.out, names[0]);
	char shas[16][41];
	char *tip = sh("git rev-parse '%s%s'", exp_prefix(base), names[0]);
	assert_int_equal(chain(base, tip, shas, 16), 5);
	char sha7[16][8];
	assert_int_equal(checkpoint_sha7s(r.out, sha7, 16), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(strncmp(sha7[i], shas[i], 7), 0);
		char *summary = sh("git show %s:dvclive.json", shas[i]);
		if (!strstr(summary, fmt("{\n    \"step\": %d,\n", i)))
			fail_msg("commit %d: dvclive.json is\n%s", i, summary);
		char *lock = sh("git show %s:dvc.lock", shas[i]);
		/* model.pt of step i */
		char *model = must_read(cache_path(lock_md5(lock, "model.pt")));
		assert_true(!strncmp(model, fmt("step=%d lr=0.001\n", i), strlen(fmt("step=%d lr=0.001\n", i))));
		/* dvclive 0.x's CRLF TSVs: the cache keeps the bytes, the md5 is of the LF form (reference 4.2). */
		char *manifest = must_read(cache_path(lock_md5(lock, "dvclive")));
		char *md5 = manifest_md5(manifest, "loss.tsv");
		char *obj = cache_path(md5);
		char *loss = must_read(obj);
		assert_int_equal(count_substr(loss, "\r\n"), i + 2);
		assert_string_equal(sh("tr -d '\\r' < '%s' | md5sum | cut -c1-32", obj), md5);
		assert_string_not_equal(sh("md5sum < '%s' | cut -c1-32", obj), md5);
		char *expect_steps = fmt("%s", "0");
		for (int k = 1; k <= i; k++)
			expect_steps = fmt("%s %d", expect_steps, k);
		assert_string_equal(tsv_steps(loss), expect_steps);
	}
	assert_false(tu_exists(".dvc/tmp/DVC_CHECKPOINT"));
	assert_string_equal(sh("git status --porcelain"),
			    "?? .gitignore\n?? dvc.lock\n?? dvclive.json\n?? predictions.json");
	assert_fsck_clean(0);
}

/* =========================================================================== */
/* 4. Resume, modified experiments, --reset, -S                                 */
/* =========================================================================== */

static void rerun_with_unchanged_params_resumes_and_adds_nothing(void **state)
{
	(void)state;
	char *base = tiny_repo();
	result r = LIVE("exp", "run");
	assert_int_equal(r.rc, 0);
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	char *refs = exp_refs();
	char *status = sh("git status --porcelain");
	char *model = must_read("model.pt");

	r = LIVE("exp", "run");
	if (r.rc != 0)
		fail_msg("second run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	assert_string_equal(r.err, "");
	assert_true(!strncmp(r.out, fmt("Existing checkpoint experiment '%s' will be resumed\n", names[0]),
			     strlen(fmt("Existing checkpoint experiment '%s' will be resumed\n", names[0]))));
	assert_not_contains(r.out, "Checkpoint experiment iteration");
	assert_string_equal(exp_refs(), refs);
	assert_string_equal(sh("git status --porcelain"), status);
	assert_string_equal(must_read("model.pt"), model);
	assert_string_equal(tsv_steps(must_read("dvclive/loss.tsv")), "0 1 2 3 4");
	assert_fsck_clean(0);
}

/* Shared by the two tests below: run 5 steps, raise epochs to 8, run again. */
static result run_then_raise_epochs(char **base_out, char *first_name, char *first_tip)
{
	char *base = tiny_repo();
	result r = LIVE("exp", "run");
	assert_int_equal(r.rc, 0);
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	strcpy(first_name, names[0]);
	strcpy(first_tip, sh("git rev-parse '%s%s'", exp_prefix(base), names[0]));
	tu_write_file("params.yaml", "epochs: 8\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n");
	/* The checkpoint's model comes back from the cache (dvc.lock's md5), as `dvc checkout` does. */
	assert_int_equal(unlink("model.pt"), 0);
	*base_out = base;
	return LIVE("exp", "run");
}

static void changed_params_continue_in_a_modified_experiment(void **state)
{
	(void)state;
	char *base, first[64], first_tip[41];
	result r = run_then_raise_epochs(&base, first, first_tip);
	if (r.rc != 0)
		fail_msg("second run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	/* Params changed = dirty relative to the checkpoint: a new experiment (DVC's rule). */
	const char *pre = "Modified checkpoint experiment based on '";
	assert_true(!strncmp(r.out, pre, strlen(pre)));
	assert_contains(r.out, "' will be created\nRunning stage 'train':\n> ./train\n");

	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 2);
	const char *second = strcmp(names[0], first) ? names[0] : names[1];
	assert_string_not_equal(second, first);
	assert_true(is_exp_name(second));
	assert_closing(r.out, second);
	/* The first experiment is untouched; the new one grows from its tip. */
	assert_string_equal(sh("git rev-parse '%s%s'", exp_prefix(base), first), first_tip);
	char *tip = sh("git rev-parse '%s%s'", exp_prefix(base), second);
	char shas[8][41];
	assert_int_equal(chain(first_tip, tip, shas, 8), 3);
	assert_string_equal(sh("git merge-base --is-ancestor %s %s && echo yes", base, tip), "yes");
	assert_string_equal(sh("git rev-parse refs/exps/exec/EXEC_APPLY refs/exps/exec/EXEC_CHECKPOINT"),
			    fmt("%s\n%s", tip, tip));
	char sha7[8][8];
	assert_int_equal(checkpoint_sha7s(r.out, sha7, 8), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(strncmp(sha7[i], shas[i], 7), 0);
		char *summary = sh("git show %s:dvclive.json", shas[i]);
		if (!strstr(summary, fmt("{\n    \"step\": %d,\n", i + 5)))
			fail_msg("commit %d: dvclive.json is\n%s", i, summary);
		assert_contains(sh("git show %s:params.yaml", shas[i]), "epochs: 8\n");
		size_t want_len, got_len;
		unsigned char *want = tiny_model(i + 5, 0.001, 1000, &want_len);
		char *got = slurp(cache_path(lock_md5(sh("git show %s:dvc.lock", shas[i]), "model.pt")), &got_len);
		assert_non_null(got);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
	}
	/* Steps continue: no duplicate, no restart. */
	assert_string_equal(tsv_steps(must_read("dvclive/loss.tsv")), "0 1 2 3 4 5 6 7");
	assert_string_equal(tsv_steps(must_read("dvclive/acc.tsv")), "0 1 2 3 4 5 6 7");
	assert_contains(must_read("dvc.lock"), "        epochs: 8\n");
	assert_fsck_clean(0);
}

/*
 * DVC names the experiment the modified one is based on:
 * "Modified checkpoint experiment based on '<exp name>' will be created"
 * (dvc/repo/experiments/__init__.py, _stash_exp: branch_name is the exp ref's
 * name when the resumed checkpoint lies on an experiment branch, and the
 * sha7 only when it does not; reference 3.1).
 */
static void modified_experiment_message_names_the_experiment(void **state)
{
	(void)state;
	char *base, first[64], first_tip[41];
	result r = run_then_raise_epochs(&base, first, first_tip);
	assert_int_equal(r.rc, 0);
	char *want = fmt("Modified checkpoint experiment based on '%s' will be created\n", first);
	if (strncmp(r.out, want, strlen(want)))
		fail_msg("expected stdout to start with:\n%s-- got:\n%.200s", want, r.out);
}

static void reset_starts_a_new_experiment_from_step_zero(void **state)
{
	(void)state;
	char *base = tiny_repo();
	assert_int_equal(LIVE("exp", "run").rc, 0);
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	char first[64];
	strcpy(first, names[0]);
	char *first_tip = sh("git rev-parse '%s%s'", exp_prefix(base), first);

	result r = LIVE("exp", "run", "--reset");
	if (r.rc != 0)
		fail_msg("--reset run failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	assert_true(!strncmp(r.out, "Any existing checkpoints will be reset and re-run.\nRunning stage 'train':\n",
			     strlen("Any existing checkpoints will be reset and re-run.\nRunning stage 'train':\n")));
	assert_int_equal(exp_names(base, names, 4), 2);
	const char *second = strcmp(names[0], first) ? names[0] : names[1];
	assert_string_not_equal(second, first);
	assert_closing(r.out, second);
	assert_string_equal(sh("git rev-parse '%s%s'", exp_prefix(base), first), first_tip);
	char *tip = sh("git rev-parse '%s%s'", exp_prefix(base), second);
	char shas[8][41];
	assert_int_equal(chain(base, tip, shas, 8), 5); /* parent of the first = the baseline */
	for (int i = 0; i < 5; i++) {
		char *summary = sh("git show %s:dvclive.json", shas[i]);
		if (!strstr(summary, fmt("{\n    \"step\": %d,\n", i)))
			fail_msg("commit %d: dvclive.json is\n%s", i, summary);
	}
	assert_string_equal(sh("git rev-parse refs/exps/exec/EXEC_APPLY refs/exps/exec/EXEC_CHECKPOINT"),
			    fmt("%s\n%s", tip, tip));
	/* dvclive restarted: steps 0..4 once. */
	assert_string_equal(tsv_steps(must_read("dvclive/loss.tsv")), "0 1 2 3 4");
	assert_fsck_clean(0);
}

static void set_param_edits_params_yaml_and_the_lock(void **state)
{
	(void)state;
	char *base = tiny_repo_with("# training\nepochs: 3  # steps\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n", 1);
	result r = LIVE("exp", "run", "-S", "lr=0.0001");
	if (r.rc != 0)
		fail_msg("exp run -S failed (%d):\n%s\n%s", r.rc, r.out, r.err);
	/* Only the value changed; comments and order kept. */
	assert_string_equal(must_read("params.yaml"),
			    "# training\nepochs: 3  # steps\nlr: 0.0001\nmodel_bytes: 1000\nstep_ms: 0\n");
	char *params = "    params:\n      params.yaml:\n        epochs: 3\n        lr: 0.0001\n"
		       "        model_bytes: 1000\n    outs:\n";
	assert_contains(must_read("dvc.lock"), params);
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	char shas[8][41];
	assert_int_equal(chain(base, fmt("%s%s", exp_prefix(base), names[0]), shas, 8), 3);
	for (int i = 0; i < 3; i++) {
		assert_contains(sh("git show %s:dvc.lock", shas[i]), params);
		assert_string_equal(sh("git show %s:params.yaml", shas[i]),
				    "# training\nepochs: 3  # steps\nlr: 0.0001\nmodel_bytes: 1000\nstep_ms: 0");
		size_t want_len, got_len;
		unsigned char *want = tiny_model(i, 0.0001, 1000, &want_len);
		char *got = slurp(cache_path(lock_md5(sh("git show %s:dvc.lock", shas[i]), "model.pt")), &got_len);
		assert_non_null(got);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
	}
	/* The user's params.yaml change is a work-tree change, not staged. */
	assert_string_equal(sh("git status --porcelain"),
			    " M params.yaml\n?? .gitignore\n?? dvc.lock\n?? dvclive.html\n?? dvclive.json\n?? predictions.json");
}

/* =========================================================================== */
/* 5. Errors                                                                    */
/* =========================================================================== */

static void second_concurrent_run_is_refused(void **state)
{
	(void)state;
	char *base = tiny_repo_with("epochs: 10\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 300\n", 1);
	char *out_path = fmt("%s/bg.%d.out", ct_scratch_dir, (int)getpid());
	char *err_path = fmt("%s/bg.%d.err", ct_scratch_dir, (int)getpid());
	pid_t pid = ct_live_bg(out_path, err_path, "exp", "run", (const char *)NULL);
	/* Wait for its first checkpoint. */
	int st = 1;
	for (int i = 0; i < 1000 && st != 0; i++) {
		sh_status(&st, "git rev-parse -q --verify refs/exps/exec/EXEC_CHECKPOINT >/dev/null");
		if (st != 0) {
			assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
			usleep(10000);
		}
	}
	assert_int_equal(st, 0);
	char *params = must_read("params.yaml");

	result r = LIVE("exp", "run", "-S", "lr=0.5");
	assert_int_equal(r.rc, 1);
	assert_int_equal(count_lines(r.err), 1);
	assert_true(!strncmp(r.err, "ERROR: ", 7));
	assert_contains(r.err, ".dvc/tmp/live-exp-run.lock");
	assert_contains(r.err, fmt("pid %d", (int)pid));
	assert_not_contains(r.out, "Running stage");
	assert_string_equal(must_read("params.yaml"), params);

	/* The first run completes unaffected. */
	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	ct_bg_pid = -1;
	assert_true(WIFEXITED(wst));
	char *bg_out = must_read(out_path), *bg_err = must_read(err_path);
	unlink(out_path);
	unlink(err_path);
	if (WEXITSTATUS(wst) != 0)
		fail_msg("first run failed (%d):\n%s\n%s", WEXITSTATUS(wst), bg_out, bg_err);
	assert_string_equal(bg_err, "");
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	assert_closing(bg_out, names[0]);
	char shas[16][41];
	assert_int_equal(chain(base, fmt("%s%s", exp_prefix(base), names[0]), shas, 16), 10);
	char sha7[16][8];
	assert_int_equal(checkpoint_sha7s(bg_out, sha7, 16), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(strncmp(sha7[i], shas[i], 7), 0);
		assert_contains(sh("git show %s:dvclive.json", shas[i]), fmt("{\n    \"step\": %d,\n", i));
	}
	assert_string_equal(tsv_steps(must_read("dvclive/loss.tsv")), "0 1 2 3 4 5 6 7 8 9");
	assert_contains(must_read("dvc.lock"), "        lr: 0.001\n");
	assert_fsck_clean(0);
}

static void missing_git_identity_is_refused(void **state)
{
	(void)state;
	int st;
	/* libgit2 reads the system config even under GIT_CONFIG_NOSYSTEM=1. */
	char *sys = sh_status(&st, "env -u GIT_CONFIG_NOSYSTEM git config --system --get user.email");
	if (st == 0 && *sys) {
		print_message("the system git config has an identity: skipped\n");
		skip();
	}
	tiny_repo_with(PARAMS_5, 0);
	sh_status(&st, "git config user.email");
	assert_int_not_equal(st, 0);
	result r = LIVE("exp", "run");
	assert_int_equal(r.rc, 1);
	assert_int_equal(count_lines(r.err), 1);
	assert_contains(r.err, "ERROR: Git username and email must be configured");
	assert_not_contains(r.out, "Running stage");
	assert_string_equal(exp_refs(), "");
	assert_false(tu_exists("model.pt"));
	assert_false(tu_exists("dvc.lock"));
	assert_false(tu_exists("dvclive"));
}

/* After a good run: what must not change when a run is refused. */
typedef struct snapshot {
	char *refs, *lock, *model, *loss, *summary, *preds, *params, *dvcyaml, *status;
} snapshot;

static snapshot take_snapshot(void)
{
	snapshot s = { exp_refs(),
		       slurp("dvc.lock", NULL),
		       slurp("model.pt", NULL),
		       slurp("dvclive/loss.tsv", NULL),
		       slurp("dvclive.json", NULL),
		       slurp("predictions.json", NULL),
		       slurp("params.yaml", NULL),
		       slurp("dvc.yaml", NULL),
		       sh("git status --porcelain") };
	return s;
}

#define SAME(a, b) assert_string_equal((a) ? (a) : "<missing>", (b) ? (b) : "<missing>")

static void assert_unchanged(const snapshot *a, const snapshot *b)
{
	SAME(a->refs, b->refs);
	SAME(a->lock, b->lock);
	SAME(a->model, b->model);
	SAME(a->loss, b->loss);
	SAME(a->summary, b->summary);
	SAME(a->preds, b->preds);
	SAME(a->params, b->params);
	SAME(a->dvcyaml, b->dvcyaml);
	SAME(a->status, b->status);
}

static void refused(result r, const char *where)
{
	if (r.rc != 1)
		fail_msg("expected exit 1, got %d:\n%s\n%s", r.rc, r.out, r.err);
	if (count_lines(r.err) != 1)
		fail_msg("expected a one-line error, got:\n%s", r.err);
	assert_true(!strncmp(r.err, "ERROR: ", 7));
	assert_contains(r.err, where);
	assert_not_contains(r.out, "Running stage");
}

static void malformed_dvc_yaml_is_refused(void **state)
{
	(void)state;
	tiny_repo();
	snapshot a = take_snapshot();
	const char *bad = "stages:\n  train:\n    cmd: ./train: x\n";
	tu_write_file("dvc.yaml", bad);
	a.dvcyaml = must_read("dvc.yaml");
	a.status = sh("git status --porcelain");
	refused(LIVE("exp", "run"), "dvc.yaml:3:");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	/* Valid YAML that is not a pipeline: the line of the offending key. */
	tu_write_file("dvc.yaml", "stages:\n  train:\n    cmd: ./train\n    outs: 5\n");
	a.dvcyaml = must_read("dvc.yaml");
	refused(LIVE("exp", "run"), "dvc.yaml:4:");
	b = take_snapshot();
	assert_unchanged(&a, &b);
	/* `live stage add` does not overwrite it either. */
	tu_write_file("dvc.yaml", bad);
	result r = LIVE("stage", "add", "-n", "other", "./other");
	assert_int_equal(r.rc, 1);
	assert_int_equal(count_lines(r.err), 1);
	assert_contains(r.err, "dvc.yaml:3:");
	assert_string_equal(must_read("dvc.yaml"), bad);
}

static void malformed_dvc_lock_is_refused(void **state)
{
	(void)state;
	tiny_repo();
	assert_int_equal(LIVE("exp", "run").rc, 0);
	const char *bads[] = { "schema: '2.0'\nstages:\n  train:\n    cmd: ./train: x\n",
			       "schema: '2.0'\nstages:\n  train:\n    cmd: ./train\n    outs: 7\n" };
	const char *where[] = { "dvc.lock:4:", "dvc.lock:5:" };
	for (int i = 0; i < 2; i++) {
		tu_write_file("dvc.lock", bads[i]);
		snapshot a = take_snapshot();
		refused(LIVE("exp", "run"), where[i]);
		snapshot b = take_snapshot();
		assert_unchanged(&a, &b);
		refused(LIVE("exp", "run", "--reset"), where[i]);
		b = take_snapshot();
		assert_unchanged(&a, &b);
	}
}

/* A -S edit belongs to the run: a run refused before it starts leaves params.yaml alone. */
static void set_param_is_not_applied_when_the_run_is_refused(void **state)
{
	(void)state;
	tiny_repo();
	assert_int_equal(LIVE("exp", "run").rc, 0);
	tu_write_file("dvc.lock", "schema: '2.0'\nstages:\n  train:\n    cmd: ./train: x\n");
	snapshot a = take_snapshot();
	refused(LIVE("exp", "run", "-S", "lr=0.5"), "dvc.lock:4:");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
}

static void malformed_params_yaml_is_refused(void **state)
{
	(void)state;
	tiny_repo();
	assert_int_equal(LIVE("exp", "run").rc, 0);
	tu_write_file("params.yaml", "epochs: 5\nlr: 0.001: 3\nmodel_bytes: 1000\n");
	snapshot a = take_snapshot();
	refused(LIVE("exp", "run"), "params.yaml:2:");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
}

/* --reset must not throw the checkpoints' model and refs away before finding out either. */
static void malformed_params_yaml_with_reset_keeps_everything(void **state)
{
	(void)state;
	tiny_repo();
	assert_int_equal(LIVE("exp", "run").rc, 0);
	tu_write_file("params.yaml", "epochs: 5\nlr: 0.001: 3\nmodel_bytes: 1000\n");
	snapshot a = take_snapshot();
	result r = LIVE("exp", "run", "--reset");
	snapshot b = take_snapshot();
	assert_unchanged(&a, &b);
	refused(r, "params.yaml:2:");
}

/* ---- main ---------------------------------------------------------------------- */

int main(void)
{
	if (ct_begin("test_cli", LIVE_BIN, TINY_TRAINER, (const char *)NULL))
		return 1;

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
		T(init_writes_dvc_files),
		T(init_outside_git_and_no_scm),
		T(tutorial_setup_gives_reference_dvc_yaml),
		T(exp_run_makes_one_commit_per_step),
		T(exp_run_large_model),
		T(python_dvclive0x_trainer_gets_a_checkpoint_per_step),
		T(rerun_with_unchanged_params_resumes_and_adds_nothing),
		T(changed_params_continue_in_a_modified_experiment),
		T(modified_experiment_message_names_the_experiment),
		T(reset_starts_a_new_experiment_from_step_zero),
		T(set_param_edits_params_yaml_and_the_lock),
		T(second_concurrent_run_is_refused),
		T(missing_git_identity_is_refused),
		T(malformed_dvc_yaml_is_refused),
		T(malformed_dvc_lock_is_refused),
		T(set_param_is_not_applied_when_the_run_is_refused),
		T(malformed_params_yaml_is_refused),
		T(malformed_params_yaml_with_reset_keeps_everything),
#undef T
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return ct_end(failed ? 1 : 0);
}
