/*
 * End-to-end tests of the experiment-managing commands: `live exp apply`,
 * `exp branch`, `exp gc` (and its --cache), `exp list`, `exp remove`
 * (reference/dvc-checkpoints.md 3.3, 6.4, 6.5; the tutorial's "Starting from
 * an existing checkpoint"). Every test builds a git repository in a fresh
 * temp dir with the git command line, runs the built `live` binary as a user
 * would (stdout, stderr and exit code captured), and reads the results back
 * with the git command line and plain file reads, as an outside reader.
 *
 * Isolation: main() points HOME and XDG_CONFIG_HOME at an empty temp dir,
 * sets GIT_CONFIG_NOSYSTEM=1 and unsets the variables that would change what
 * git, liblive or the trainer do. Each repository gets its identity in
 * .git/config.
 *
 * The trainer is tests/cli/tiny_trainer.c, copied in as ./train: model.pt
 * starts with "step=<n> lr=<lr>", and a run resumes from model.pt's step.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif

/* ---- repositories --------------------------------------------------------------- */

#define PARAMS_5 "epochs: 5\nlr: 0.001\nmodel_bytes: 1000\nstep_ms: 0\n"

/*
 * A repository as the tutorial makes it: `live init`, the tiny trainer as
 * ./train, params.yaml, notes.txt (a tracked file no run changes), the train
 * stage, one baseline commit. Returns the baseline sha.
 */
static char *tiny_repo(void)
{
	git_init_repo(1);
	LIVE_OK("init", "-q");
	sh("cp '%s' train", TINY_TRAINER);
	tu_write_file("params.yaml", PARAMS_5);
	tu_write_file("notes.txt", "what we tried\n");
	LIVE_OK("stage", "add", "-n", "train", "-d", "train", "-c", "model.pt", "--plots-no-cache",
	        "predictions.json", "-p", "epochs,lr,model_bytes", "--live", "dvclive", "./train");
	commit_all("baseline");
	return sh("git rev-parse HEAD");
}

/* A new commit on the user's branch: a new baseline for the runs that follow. */
static char *new_baseline(void)
{
	FILE *f = fopen("notes.txt", "a");
	assert_non_null(f);
	fputs("and more\n", f);
	fclose(f);
	sh("git add notes.txt && git commit -q -m 'more notes'");
	return sh("git rev-parse HEAD");
}

/* The only experiment of a baseline: its name. */
static char *only_exp(const char *baseline)
{
	char names[8][64];
	assert_int_equal(exp_names(baseline, names, 8), 1);
	return fmt("%s", names[0]);
}

static char *tip_of(const char *baseline, const char *name)
{
	char *sha = ref_sha(fmt("%s%s", exp_prefix(baseline), name));
	assert_non_null(sha);
	return sha;
}

/* The step a checkpoint commit recorded (its dvclive.json). */
static int commit_step(const char *sha)
{
	char *summary = sh("git show '%s:dvclive.json'", sha);
	const char *p = strstr(summary, "\"step\": ");
	assert_non_null(p);
	return atoi(p + 8);
}

/* The checkpoint of the chain below `tip` (down to `baseline`) that recorded `step`. */
static char *checkpoint_at(const char *baseline, const char *tip, int step)
{
	char *list = sh("git rev-list --first-parent '%s..%s'", baseline, tip);
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (commit_step(l) == step)
			return fmt("%s", l);
	fail_msg("no checkpoint of step %d below %s", step, tip);
	return NULL;
}

/* The cached model.pt of a checkpoint commit. */
static char *model_of(const char *sha, size_t *len)
{
	char *md5 = lock_md5(sh("git show '%s:dvc.lock'", sha), "model.pt");
	char *bytes = slurp(cache_path(md5), len);
	if (!bytes)
		fail_msg("model.pt of %.7s: cache object %s is missing", sha, md5);
	return bytes;
}

static void assert_same_file(const char *a, size_t alen, const char *b, size_t blen)
{
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
}

/* `git fsck` finds nothing wrong (dangling commits of removed experiments are fine). */
static void assert_fsck_clean(void)
{
	int status;
	char *out = sh_status(&status, "git fsck --full 2>&1");
	if (status != 0 || strstr(out, "error") || strstr(out, "missing") || strstr(out, "broken"))
		fail_msg("git fsck (%d):\n%s", status, out);
}

/* ---- exp apply ---------------------------------------------------------------- */

static void apply_mid_checkpoint_restores_the_workspace(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = tip_of(base, exp);
	char *mid = checkpoint_at(base, tip, 2);
	char *branch_before = sh("git rev-parse refs/heads/main");

	result r = LIVE_OK("exp", "apply", fmt("%.7s", mid));
	assert_string_equal(
	        r.out,
	        fmt("Changes for experiment '%.7s' have been applied to your current workspace.\n", mid));

	/* model.pt: the bytes of that step's snapshot. */
	size_t want_len, got_len;
	char *want = model_of(mid, &want_len);
	char *got = slurp("model.pt", &got_len);
	assert_non_null(got);
	assert_same_file(want, want_len, got, got_len);
	assert_int_equal(strncmp(got, "step=2 lr=0.001\n", 16), 0);
	/* The files git holds, as the commit has them. */
	assert_string_equal(must_read("dvc.lock"), fmt("%s\n", sh("git show '%s:dvc.lock'", mid)));
	assert_string_equal(must_read("dvclive.json"), fmt("%s\n", sh("git show '%s:dvclive.json'", mid)));
	assert_string_equal(must_read("predictions.json"),
	                    fmt("%s\n", sh("git show '%s:predictions.json'", mid)));
	/* dvclive/ from the cache: the history up to step 2 only. */
	assert_int_equal(count_lines(must_read("dvclive/loss.tsv")), 1 + 3);
	/* Nothing of git moved: HEAD, the branch, the index; the results are working-tree changes. */
	assert_string_equal(sh("git rev-parse HEAD"), base);
	assert_string_equal(sh("git rev-parse refs/heads/main"), branch_before);
	assert_string_equal(sh("git diff --cached --name-only"), "");
	char *status = sh("git status --porcelain");
	assert_contains(status, "?? dvc.lock");
	assert_contains(status, "?? dvclive.json");
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_APPLY"), mid);
	assert_string_equal(tip_of(base, exp), tip);

	/* Applying the tip by name brings the last step back. */
	LIVE_OK("exp", "apply", exp);
	assert_int_equal(strncmp(must_read("model.pt"), "step=4 ", 7), 0);
	assert_int_equal(count_lines(must_read("dvclive/loss.tsv")), 1 + 5);
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_APPLY"), tip);
}

static void apply_then_run_with_a_param_starts_a_new_branch_at_that_checkpoint(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *first = only_exp(base);
	char *mid = checkpoint_at(base, tip_of(base, first), 2);

	LIVE_OK("exp", "apply", fmt("%.7s", mid));
	result r = LIVE_OK("exp", "run", "-S", "lr=0.01");
	assert_contains(r.out, fmt("Modified checkpoint experiment based on '%s' will be created", first));
	/* The trainer went on from the applied step: step 3 is its first (printed as epoch 4). */
	assert_contains(r.out, "Epoch 4: ");
	assert_not_contains(r.out, "Epoch 3: ");

	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 2);
	const char *second = strcmp(names[0], first) ? names[0] : names[1];
	char *tip2 = tip_of(base, second);
	/* The new branch's oldest commit has the applied checkpoint as its first parent. */
	char *commits = sh("git rev-list --first-parent --reverse '%s..%s'", mid, tip2);
	char oldest[41];
	snprintf(oldest, sizeof(oldest), "%.40s", commits);
	assert_string_equal(sh("git rev-parse '%s^1'", oldest), mid);
	assert_int_equal(commit_step(oldest), 3);
	size_t len;
	assert_int_equal(strncmp(model_of(oldest, &len), "step=3 lr=0.01\n", 15), 0);
	assert_int_equal(count_lines(commits), 1); /* steps 3 and 4 (sh drops the last newline) */
	/* The first experiment is untouched. */
	assert_int_equal(commit_step(tip_of(base, first)), 4);
	assert_fsck_clean();
}

static void apply_of_an_unchanged_mid_checkpoint_then_run_is_refused(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = tip_of(base, exp);
	char *mid = checkpoint_at(base, tip, 1);
	LIVE_OK("exp", "apply", mid);
	result r = LIVE("exp", "run");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, fmt("Nothing to do for unchanged checkpoint '%.7s'.", mid));
	assert_string_equal(tip_of(base, exp), tip);

	/* Its tip, applied, is resumed. */
	LIVE_OK("exp", "apply", exp);
	r = LIVE_OK("exp", "run");
	assert_contains(r.out, fmt("Existing checkpoint experiment '%s' will be resumed", exp));
}

static void apply_refuses_to_overwrite_uncommitted_changes_unless_forced(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *tip = tip_of(base, only_exp(base));
	char *mid = checkpoint_at(base, tip, 1);
	char *lock_before = must_read("dvc.lock");
	tu_write_file("notes.txt", "my own edit\n");

	result r = LIVE("exp", "apply", fmt("%.7s", mid));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err,
	                    fmt("ERROR: cannot apply '%.7s': it would overwrite your uncommitted changes to "
	                        "notes.txt (commit or stash them, or use --force)\n",
	                        mid));
	assert_string_equal(r.out, "");
	/* Nothing was written. */
	assert_string_equal(must_read("notes.txt"), "my own edit\n");
	assert_string_equal(must_read("dvc.lock"), lock_before);
	assert_int_equal(strncmp(must_read("model.pt"), "step=4 ", 7), 0);
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_APPLY"), tip);

	LIVE_OK("exp", "apply", "--force", fmt("%.7s", mid));
	assert_string_equal(must_read("notes.txt"), "what we tried\n");
	assert_int_equal(strncmp(must_read("model.pt"), "step=1 ", 7), 0);
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_APPLY"), mid);
}

static void apply_moves_between_experiments_without_force(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *first = only_exp(base);
	LIVE_OK("exp", "run", "-S", "lr=0.01"); /* a second experiment, with params.yaml changed */
	assert_contains(must_read("params.yaml"), "lr: 0.01");
	char *mid = checkpoint_at(base, tip_of(base, first), 3);

	/* params.yaml differs from HEAD, but as the applied experiment left it: not the user's change. */
	LIVE_OK("exp", "apply", mid);
	assert_string_equal(must_read("params.yaml"), PARAMS_5);
	assert_string_equal(sh("git status --porcelain params.yaml"), "");
	assert_int_equal(strncmp(must_read("model.pt"), "step=3 lr=0.001\n", 16), 0);
}

static void apply_names_unknown_and_foreign_revisions(void **state)
{
	(void)state;
	char *base = tiny_repo();
	result r = LIVE("exp", "apply", "nope");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: unknown revision 'nope'\n");

	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	r = LIVE("exp", "apply", base);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: '%s' does not appear to be an experiment commit.\n", base));
	r = LIVE("exp", "apply", "main");
	assert_string_equal(r.err, "ERROR: 'main' does not appear to be an experiment commit.\n");

	/* An experiment of another baseline is not one of this workspace. */
	new_baseline();
	char *before = must_read("dvc.lock");
	r = LIVE("exp", "apply", exp);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: '%s' does not appear to be an experiment commit.\n", exp));
	assert_string_equal(must_read("dvc.lock"), before);

	r = LIVE("exp", "apply");
	assert_int_equal(r.rc, 1);
}

/* ---- exp branch ---------------------------------------------------------------- */

static void branch_from_a_checkpoint_points_at_its_experiment_tip(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = tip_of(base, exp);
	char *mid = checkpoint_at(base, tip, 1);

	result r = LIVE_OK("exp", "branch", fmt("%.7s", mid), "promoted");
	assert_string_equal(r.out, fmt("Git branch 'promoted' has been created from experiment '%s'.\n"
	                               "To switch to the new branch run:\n\n\tgit checkout promoted\n",
	                               exp));
	assert_string_equal(sh("git rev-parse promoted"), tip);
	/* git log shows the whole chain: 5 checkpoints on the baseline commit. */
	assert_int_equal(atoi(sh("git rev-list --count promoted")), 5 + 1);
	assert_string_equal(sh("git log --format=%%H promoted -n 6 | tail -n 1"), base);
	assert_string_equal(sh("git reflog show --format=%%gs promoted"),
	                    fmt("dvc: Created from experiment '%s'", exp));
	assert_string_equal(sh("git symbolic-ref HEAD"), "refs/heads/main");

	r = LIVE("exp", "branch", exp, "promoted");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: Git branch 'promoted' already exists.\n");
	r = LIVE("exp", "branch", exp, "bad..name");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "not a valid branch name");
	r = LIVE("exp", "branch", "main", "other");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: 'main' does not appear to be an experiment commit.\n");
	assert_null(ref_sha("refs/heads/other"));
	assert_fsck_clean();
}

static void branch_of_a_shared_checkpoint_is_ambiguous(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *first = only_exp(base);
	char *mid = checkpoint_at(base, tip_of(base, first), 2);
	LIVE_OK("exp", "apply", mid);
	LIVE_OK("exp", "run", "-S", "lr=0.01");

	/* Below the fork, the commit lies on both experiments. */
	result r = LIVE("exp", "branch", mid, "b");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "To create a branch use a full experiment ref:");
	assert_contains(r.err, fmt("%s%s\n", exp_prefix(base), first));
	assert_null(ref_sha("refs/heads/b"));
	/* A full ref names one. */
	LIVE_OK("exp", "branch", fmt("%s%s", exp_prefix(base), first), "b");
	assert_string_equal(sh("git rev-parse b"), tip_of(base, first));
}

/* ---- exp gc ------------------------------------------------------------------------ */

static void gc_workspace_removes_the_experiments_of_other_baselines(void **state)
{
	(void)state;
	char *old = tiny_repo();
	LIVE_OK("exp", "run");
	char *old_exp = only_exp(old);
	char *base = new_baseline();
	LIVE_OK("exp", "run", "--reset");
	char *exp = only_exp(base);
	char *tip = tip_of(base, exp);

	result r = LIVE_OK("exp", "gc", "--workspace", "--force");
	assert_string_equal(
	        r.out, "Removed 1 experiments. To remove unused cache files use 'live exp gc --cache'.\n");
	assert_contains(r.err,
	                "This will remove all experiments except those derived from the workspace of the "
	                "current repo.");
	assert_null(ref_sha(fmt("%s%s", exp_prefix(old), old_exp)));
	assert_string_equal(tip_of(base, exp), tip);
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_APPLY"), tip);
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_CHECKPOINT"), tip);
	assert_string_equal(sh("git rev-parse HEAD"), base);
	assert_fsck_clean();

	r = LIVE_OK("exp", "gc", "-w", "-f");
	assert_string_equal(r.out, "No experiments to remove.\n");
}

static void gc_drops_exec_refs_that_point_into_removed_experiments(void **state)
{
	(void)state;
	char *old = tiny_repo();
	LIVE_OK("exp", "run");
	char *old_exp = only_exp(old);
	assert_non_null(ref_sha("refs/exps/exec/EXEC_APPLY"));
	new_baseline();
	result r = LIVE_OK("exp", "gc", "-wf");
	assert_string_equal(
	        r.out, "Removed 1 experiments. To remove unused cache files use 'live exp gc --cache'.\n");
	assert_null(ref_sha(fmt("%s%s", exp_prefix(old), old_exp)));
	assert_null(ref_sha("refs/exps/exec/EXEC_APPLY"));
	assert_null(ref_sha("refs/exps/exec/EXEC_CHECKPOINT"));
	assert_string_equal(sh("git for-each-ref refs/exps"), "");
	assert_fsck_clean();
}

static void gc_keeps_what_the_flags_name(void **state)
{
	(void)state;
	char *old = tiny_repo();
	LIVE_OK("exp", "run");
	char *old_exp = only_exp(old);
	char *old_ref = fmt("%s%s", exp_prefix(old), old_exp);
	sh("git branch keep-me && git tag v1");
	new_baseline();

	/* Its baseline is a branch tip (-a), a tag (-T), a commit of main's history (-A). */
	assert_string_equal(LIVE_OK("exp", "gc", "-a", "-f").out, "No experiments to remove.\n");
	assert_string_equal(LIVE_OK("exp", "gc", "--all-tags", "-f").out, "No experiments to remove.\n");
	assert_string_equal(LIVE_OK("exp", "gc", "-A", "-f").out, "No experiments to remove.\n");
	assert_non_null(ref_sha(old_ref));
	sh("git branch -q -D keep-me");
	assert_string_equal(
	        LIVE_OK("exp", "gc", "--all-branches", "-f").out,
	        "Removed 1 experiments. To remove unused cache files use 'live exp gc --cache'.\n");
	assert_null(ref_sha(old_ref));
}

static void gc_needs_a_scope_and_a_confirmation(void **state)
{
	(void)state;
	char *old = tiny_repo();
	LIVE_OK("exp", "run");
	char *ref = fmt("%s%s", exp_prefix(old), only_exp(old));
	new_baseline();
	result r = LIVE("exp", "gc");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err,
	                    "ERROR: Either of `-w|--workspace`, `-a|--all-branches`, `-T|--all-tags` or "
	                    "`-A|--all-commits` needs to be set.\n");
	/* No terminal to ask on (stdin is /dev/null): nothing is removed. */
	r = LIVE("exp", "gc", "-w");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err,
	                "ERROR: cannot remove experiments without a confirmation from the user. Use `-f` to "
	                "force.\n");
	assert_non_null(ref_sha(ref));
	r = LIVE("exp", "gc", "-w", "-f", "--bogus");
	assert_int_equal(r.rc, 1);
	assert_non_null(ref_sha(ref));
}

/* Every md5 that a dvc.lock of `rev`'s history records for a cached out is in the cache. */
static void assert_cache_complete(const char *rev)
{
	char *list = sh("git rev-list '%s'", rev);
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int status;
		char *lock = sh_status(&status, "git show '%s:dvc.lock' 2>/dev/null", l);
		if (status != 0)
			continue;
		struct stat st;
		char *model = lock_md5(lock, "model.pt");
		char *dir = lock_md5(lock, "dvclive");
		if (stat(cache_path(model), &st) != 0 || stat(cache_path(dir), &st) != 0)
			fail_msg("%.7s: cache object %s or %s is missing", l, model, dir);
	}
}

static void gc_cache_removes_only_objects_nothing_names(void **state)
{
	(void)state;
	char *old = tiny_repo();
	tu_write_file("params.yaml", "epochs: 5\nlr: 0.5\nmodel_bytes: 1000\nstep_ms: 0\n");
	commit_all("lr 0.5");
	old = sh("git rev-parse HEAD");
	LIVE_OK("exp", "run");
	char *old_tip = tip_of(old, only_exp(old));
	char *old_model = lock_md5(sh("git show '%s:dvc.lock'", old_tip), "model.pt");
	assert_true(tu_exists(cache_path(old_model)));

	/* Only params.yaml: a commit of the results would keep the old experiment's lock in HEAD's history.
	 */
	tu_write_file("params.yaml", PARAMS_5);
	sh("git commit -q -m 'lr back' params.yaml");
	char *base = sh("git rev-parse HEAD");
	LIVE_OK("exp", "run", "--reset");
	char *exp = only_exp(base);
	char *mid = checkpoint_at(base, tip_of(base, exp), 2);

	result r = LIVE_OK("exp", "gc", "-w", "-f", "--cache");
	assert_contains(r.out, "Removed 1 experiments.\nRemoved ");
	assert_contains(r.out, " from the cache.\n");
	/* The old experiment's models (lr 0.5) are gone; what HEAD and the kept experiment name stays. */
	assert_false(tu_exists(cache_path(old_model)));
	assert_cache_complete(tip_of(base, exp));
	char *ws_model = lock_md5(must_read("dvc.lock"), "model.pt");
	assert_true(tu_exists(cache_path(ws_model)));
	/* Still usable: a checkpoint of the kept experiment applies. */
	LIVE_OK("exp", "apply", mid);
	assert_int_equal(strncmp(must_read("model.pt"), "step=2 lr=0.001\n", 16), 0);

	r = LIVE_OK("exp", "gc", "-w", "-f", "--cache");
	assert_string_equal(r.out, "No experiments to remove.\nNo unused cache to remove.\n");
	assert_fsck_clean();
}

/* ---- exp list, exp remove -------------------------------------------------------- */

static void list_shows_the_experiments_of_each_baseline(void **state)
{
	(void)state;
	char *old = tiny_repo();
	assert_string_equal(LIVE_OK("exp", "list").out, "");
	LIVE_OK("exp", "run");
	char *a = only_exp(old);
	assert_string_equal(LIVE_OK("exp", "list").out, fmt("main:\n\t%s\n", a));
	assert_string_equal(LIVE_OK("exp", "list", "--names-only").out, fmt("%s\n", a));

	char *base = new_baseline();
	LIVE_OK("exp", "run", "--reset");
	char *b = only_exp(base);
	assert_string_equal(LIVE_OK("exp", "list").out, fmt("main:\n\t%s\n", b));
	/* --all: every baseline, in ref order; one that is no branch tip shows as its sha7. */
	char *old_part = fmt("%.7s:\n\t%s\n", old, a), *new_part = fmt("main:\n\t%s\n", b);
	char *want =
	        strcmp(old, base) < 0 ? fmt("%s%s", old_part, new_part) : fmt("%s%s", new_part, old_part);
	assert_string_equal(LIVE_OK("exp", "list", "--all").out, want);
	assert_string_equal(LIVE_OK("exp", "list", "--rev", fmt("%.7s", old)).out, old_part);
	/* A tag names a baseline first, printed as DVC's describe gives it: the whole ref. */
	sh("git tag v0 '%s'", old);
	assert_string_equal(LIVE_OK("exp", "list", "--rev", "v0").out, fmt("refs/tags/v0:\n\t%s\n", a));
}

static void remove_deletes_refs_and_the_exec_refs_into_them(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run");
	char *a = only_exp(base);
	LIVE_OK("exp", "run", "--reset");
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 2);
	const char *b = strcmp(names[0], a) ? names[0] : names[1];
	char *b_tip = tip_of(base, b);

	/* An unknown name: nothing goes. */
	result r = LIVE("exp", "remove", b, "nope");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: 'nope' is not a valid experiment name\n");
	assert_int_equal(exp_names(base, names, 8), 2);

	/* The other experiment: EXEC_* (on b) stay. */
	r = LIVE_OK("exp", "remove", a);
	assert_string_equal(r.out, fmt("Removed experiments: %s\n", a));
	assert_int_equal(exp_names(base, names, 8), 1);
	assert_string_equal(ref_sha("refs/exps/exec/EXEC_APPLY"), b_tip);

	r = LIVE_OK("exp", "remove", b);
	assert_string_equal(r.out, fmt("Removed experiments: %s\n", b));
	assert_string_equal(sh("git for-each-ref refs/exps"), "");
	assert_fsck_clean();

	/* With nothing applied, the next run starts afresh. */
	r = LIVE_OK("exp", "run");
	assert_not_contains(r.out, "resumed");
}

static void remove_takes_several_names(void **state)
{
	(void)state;
	char *base = tiny_repo();
	LIVE_OK("exp", "run", "-n", "first");
	LIVE_OK("exp", "run", "--reset", "-n", "second");
	result r = LIVE_OK("exp", "remove", "first", "second");
	assert_string_equal(r.out, "Removed experiments: first, second\n");
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 0);
}

int main(void)
{
	if (ct_begin("test_cli_manage", LIVE_BIN, TINY_TRAINER, (const char *)NULL))
		return 1;

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
	        T(apply_mid_checkpoint_restores_the_workspace),
	        T(apply_then_run_with_a_param_starts_a_new_branch_at_that_checkpoint),
	        T(apply_of_an_unchanged_mid_checkpoint_then_run_is_refused),
	        T(apply_refuses_to_overwrite_uncommitted_changes_unless_forced),
	        T(apply_moves_between_experiments_without_force),
	        T(apply_names_unknown_and_foreign_revisions),
	        T(branch_from_a_checkpoint_points_at_its_experiment_tip),
	        T(branch_of_a_shared_checkpoint_is_ambiguous),
	        T(gc_workspace_removes_the_experiments_of_other_baselines),
	        T(gc_drops_exec_refs_that_point_into_removed_experiments),
	        T(gc_keeps_what_the_flags_name),
	        T(gc_needs_a_scope_and_a_confirmation),
	        T(gc_cache_removes_only_objects_nothing_names),
	        T(list_shows_the_experiments_of_each_baseline),
	        T(remove_deletes_refs_and_the_exec_refs_into_them),
	        T(remove_takes_several_names),
#undef T
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return ct_end(failed ? 1 : 0);
}
