/*
 * Sharing experiments (issue #8 parts 2-3): `live exp push/pull <git remote>`,
 * `live exp list <git remote>` and `live remote add/list`, end to end.
 *
 * Each case makes, in its temp dir: a/ (clone A: the repository, a cache
 * remote `storage` in its committed .dvc/config), remote.git (a bare clone of
 * it, A's origin), b/ (clone B of remote.git) and storage/ (the cache remote
 * folder, ../../storage from either clone's .dvc/). Results are read back with
 * the git command line and plain file reads.
 *
 * The git daemon case serves the temp dir on 127.0.0.1 (a free port) with
 * receive-pack enabled, started and stopped by the case.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "remotetest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif
#ifndef TINY_TRAINER
#error "TINY_TRAINER must be defined by the build"
#endif


#define PARAMS "epochs: 5\nlr: 0.001\nmodel_bytes: 20000\nstep_ms: 0\n"

/* Objects and bytes under a cache-shaped folder (relative to the case dir). */
static void objects_in(const char *dir, long long *count, long long *bytes)
{
	char *out = sh("cd '%s/%s' && find . -type f -printf '%%s\\n' | awk '{ n++; b += $1 } END { printf \"%%d %%d\", n, b }'",
	               case_dir, dir);
	assert_int_equal(sscanf(out, "%lld %lld", count, bytes), 2);
}

static char *object_list(const char *dir)
{
	return sh("cd '%s/%s' && find . -type f | sort", case_dir, dir);
}

/* The checkpoint of `tip`'s chain (down to `base`) whose dvclive.json records `step`. */
static char *checkpoint_at(const char *base, const char *tip, int step)
{
	char *list = sh("git rev-list --first-parent '%s..%s'", base, tip);
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *summary = sh("git show '%s:dvclive.json'", l);
		const char *p = strstr(summary, "\"step\": ");
		if (p && atoi(p + 8) == step)
			return fmt("%s", l);
	}
	fail_msg("no checkpoint of step %d below %s", step, tip);
	return NULL;
}

/* model.pt's md5 in a commit's dvc.lock. */
static char *model_md5(const char *sha)
{
	char *md5 = lock_md5(sh("git show '%s:dvc.lock'", sha), "model.pt");
	assert_int_equal(strlen(md5), 32);
	return md5;
}

static void assert_fsck_clean(void)
{
	int status;
	char *out = sh_status(&status, "git fsck --full 2>&1");
	if (status != 0 || strstr(out, "error") || strstr(out, "missing") || strstr(out, "broken"))
		fail_msg("git fsck (%d):\n%s", status, out);
}

/* ---- local path: push, pull, show, apply, list -------------------------------------- */

static void push_and_pull_through_a_path_restore_the_model_bit_identical(void **state)
{
	(void)state;
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	long long nobj, nbytes;
	objects_in("a/.dvc/cache", &nobj, &nbytes);
	assert_true(nobj >= 10); /* 5 models, 5 dvclive/ manifests and their files */

	result r = LIVE_OK("exp", "push", "origin");
	assert_string_equal(r.out, fmt("Pushed %lld cache objects (%lld bytes) to cache remote 'storage'; 0 were "
	                               "already there.\nPushed experiment '%s' to Git remote 'origin'.\n",
	                               nobj, nbytes, exp));
	assert_string_equal(r.err, "");
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s%s'", exp_prefix(base), exp), tip);
	/* The cache remote holds what the cache holds, read-only, laid out the same. */
	assert_string_equal(object_list("storage"), object_list("a/.dvc/cache"));
	assert_string_equal(sh("cd ../storage && find . -type f ! -perm 0444 | wc -l"), "0");

	/* Once more: nothing moves. */
	r = LIVE_OK("exp", "push", "origin");
	assert_string_equal(r.out, fmt("Pushed 0 cache objects (0 bytes) to cache remote 'storage'; %lld were "
	                               "already there.\nExperiment '%s' is up to date on Git remote 'origin'.\n",
	                               nobj, exp));

	in("b");
	r = LIVE_OK("exp", "show", "--no-pager");
	assert_not_contains(r.out, exp);
	r = LIVE_OK("exp", "pull", "origin");
	assert_string_equal(r.out, fmt("Pulled %lld cache objects (%lld bytes) from cache remote 'storage'; 0 were "
	                               "already here.\nPulled experiment '%s' from Git remote 'origin'.\n",
	                               nobj, nbytes, exp));
	assert_string_equal(r.err, "");
	assert_string_equal(ref_sha(fmt("%s%s", exp_prefix(base), exp)), tip);
	assert_string_equal(object_list("b/.dvc/cache"), object_list("a/.dvc/cache"));
	r = LIVE_OK("exp", "show", "--no-pager");
	assert_contains(r.out, fmt("%.7s [%s]", tip, exp));

	/* The tip and a middle checkpoint, restored bit for bit. */
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
	assert_int_equal(strncmp(must_read("model.pt"), "step=4 ", 7), 0);
	char *mid = checkpoint_at(base, tip, 2);
	LIVE_OK("exp", "apply", fmt("%.7s", mid));
	assert_same_bytes("model.pt", fmt("../a/%s", cache_path(model_md5(mid))));
	assert_int_equal(strncmp(must_read("model.pt"), "step=2 ", 7), 0);
	assert_int_equal(count_lines(must_read("dvclive/loss.tsv")), 1 + 3);

	r = LIVE_OK("exp", "pull", "origin");
	assert_string_equal(r.out, fmt("Pulled 0 cache objects (0 bytes) from cache remote 'storage'; %lld were "
	                               "already here.\nExperiment '%s' is up to date with Git remote 'origin'.\n",
	                               nobj, exp));
	/* exp list of the remote reads as exp list of the clone that made it. */
	char *list_b = LIVE_OK("exp", "list", "origin").out;
	in("a");
	assert_string_equal(list_b, LIVE_OK("exp", "list").out);
	assert_string_equal(list_b, fmt("main:\n\t%s\n", exp));
	in("b");
	assert_fsck_clean();
}

/* ---- file:// URLs, names, -A, --rev, --no-cache ---------------------------------- */

static void names_all_and_no_cache_through_a_file_url(void **state)
{
	(void)state;
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *first = only_exp(base);
	LIVE_OK("exp", "run", "-S", "lr=0.01"); /* a second experiment, from the first one's tip */
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 2);
	const char *second = strcmp(names[0], first) ? names[0] : names[1];
	char *url = fmt("file://%s/remote.git", case_dir);

	result r = LIVE("exp", "push", url, "exp-nope");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: 'exp-nope' is not a valid experiment name\n");
	r = LIVE("exp", "push", url, "-A", second);
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "not both");

	/* One by name: only its ref travels (its chain holds the first's commits). */
	r = LIVE_OK("exp", "push", url, second);
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote '%s'.\n", second, url));
	assert_string_equal(sh("git -C ../remote.git for-each-ref --format='%%(refname)' refs/exps"),
	                    fmt("%s%s", exp_prefix(base), second));

	in("b");
	r = LIVE("exp", "pull", url, "exp-nope");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Experiment 'exp-nope' does not exist in '%s'\n", url));
	/* --no-cache: the ref alone; apply then names the missing object. */
	r = LIVE_OK("exp", "pull", url, "--no-cache", second);
	assert_string_equal(r.out, fmt("Pulled experiment '%s' from Git remote '%s'.\n", second, url));
	assert_string_equal(sh("find .dvc/cache -type f 2>/dev/null | wc -l"), "0");
	r = LIVE("exp", "apply", second);
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "is missing");
	r = LIVE_OK("exp", "pull", url, second);
	assert_contains(r.out, fmt("Experiment '%s' is up to date with Git remote '%s'.\n", second, url));
	LIVE_OK("exp", "apply", second);
	assert_same_bytes("model.pt", "../a/model.pt");

	/* -A and --rev choose by baseline: both experiments now. */
	in("a");
	r = LIVE_OK("exp", "push", url, "--rev", "HEAD");
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote '%s'.\n", first, url));
	assert_contains(r.out, fmt("Experiment '%s' is up to date on Git remote '%s'.\n", second, url));
	in("b");
	r = LIVE_OK("exp", "pull", url, "-A");
	assert_contains(r.out, fmt("Pulled experiment '%s' from Git remote '%s'.\n", first, url));
	assert_int_equal(exp_names(base, names, 8), 2);
	/* A baseline without experiments: nothing to do. */
	sh("git commit -q --allow-empty -m later");
	r = LIVE_OK("exp", "push", url);
	assert_string_equal(r.out, "No experiments to push.\n");
	r = LIVE_OK("exp", "pull", url);
	assert_string_equal(r.out, "No experiments to pull.\n");
	assert_fsck_clean();

	/* One name on two baselines: the one made from HEAD, else a name too many. */
	in("a");
	sh("git commit -q --allow-empty -m second");
	char *base2 = sh("git rev-parse HEAD");
	LIVE_OK("exp", "run", "-n", "shared");
	sh("git commit -q --allow-empty -m third");
	char *base3 = sh("git rev-parse HEAD");
	LIVE_OK("exp", "run", "-n", "shared");
	r = LIVE_OK("exp", "push", url, "--no-cache", "shared");
	assert_string_equal(r.out, fmt("Pushed experiment 'shared' to Git remote '%s'.\n", url));
	assert_non_null(ref_sha(fmt("%sshared", exp_prefix(base3))));
	assert_string_equal(sh("git -C ../remote.git for-each-ref --format='%%(refname)' '%s'", exp_prefix(base3)),
	                    fmt("%sshared", exp_prefix(base3)));
	sh("git commit -q --allow-empty -m fourth");
	r = LIVE("exp", "push", url, "shared");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Ambiguous name 'shared' refers to 2 experiments (%sshared, %sshared): "
	                               "name one by its full ref\n",
	                               strcmp(base2, base3) < 0 ? exp_prefix(base2) : exp_prefix(base3),
	                               strcmp(base2, base3) < 0 ? exp_prefix(base3) : exp_prefix(base2)));
	LIVE_OK("exp", "push", url, "--no-cache", fmt("%sshared", exp_prefix(base2)));
	in("b");
	r = LIVE("exp", "pull", url, "--no-cache", "shared");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "ERROR: Ambiguous name 'shared' refers to 2 experiments");
	assert_string_equal(sh("git for-each-ref refs/exps | grep -c shared || true"), "0");
}

/* ---- git daemon ------------------------------------------------------------------ */

/*
 * git daemon serving the case dir on 127.0.0.1:port, pushes allowed, in its
 * own process group; its pid (also ct_bg_pid, killed at teardown).
 */
static pid_t start_daemon(int port)
{
	char *log = fmt("%s/daemon.log", case_dir);
	char *p = fmt("--port=%d", port), *bp = fmt("--base-path=%s", case_dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		/* Through `git`, which puts its exec path on PATH: the daemon runs itself again per connection. */
		execlp("git", "git", "daemon", "--listen=127.0.0.1", p, "--export-all", "--enable=receive-pack",
		       "--reuseaddr", "--informative-errors", bp, case_dir, (char *)NULL);
		_exit(127);
	}
	ct_bg_pid = pid;
	for (int i = 0; !port_open(port); i++) {
		if (i > 1000 || waitpid(pid, NULL, WNOHANG) == pid)
			fail_msg("git daemon did not listen on 127.0.0.1:%d:\n%s", port, slurp(log, NULL));
		sleep_ms(10);
	}
	return pid;
}

static void stop_daemon(pid_t pid, int port)
{
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	ct_bg_pid = -1;
	/* The daemon itself is git's child: gone once nothing listens. */
	for (int i = 0; port_open(port); i++) {
		if (i > 1000)
			fail_msg("git daemon still listens on 127.0.0.1:%d", port);
		sleep_ms(10);
	}
}

static void push_pull_and_list_through_a_git_daemon(void **state)
{
	(void)state;
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	int port = free_port();
	pid_t daemon = start_daemon(port);
	char *url = fmt("git://127.0.0.1:%d/remote.git", port);

	result r = LIVE("exp", "push", url);
	if (r.rc != 0)
		fail_msg("push through the daemon: %s\ndaemon.log:\n%s", r.err, slurp(fmt("%s/daemon.log", case_dir), NULL));
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote '%s'.\n", exp, url));
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s%s'", exp_prefix(base), exp), tip);

	in("b");
	r = LIVE_OK("exp", "list", url);
	assert_string_equal(r.out, fmt("main:\n\t%s\n", exp));
	r = LIVE_OK("exp", "pull", url);
	assert_contains(r.out, fmt("Pulled experiment '%s' from Git remote '%s'.\n", exp, url));
	assert_string_equal(ref_sha(fmt("%s%s", exp_prefix(base), exp)), tip);
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
	assert_contains(LIVE_OK("exp", "show", "--no-pager").out, fmt("[%s]", exp));
	/* A repository the daemon does not have. */
	r = LIVE("exp", "list", fmt("git://127.0.0.1:%d/nothere.git", port));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote 'git://127.0.0.1:%d/nothere.git': remote error: no "
	                               "such repository: /nothere.git\n",
	                               port));

	/* A ref the remote refuses (its pre-receive hook): named, the others go on. */
	in("a");
	LIVE_OK("exp", "run", "-S", "lr=0.02");
	char names[8][64];
	assert_int_equal(exp_names(base, names, 8), 2);
	const char *second = strcmp(names[0], exp) ? names[0] : names[1];
	tu_write_file("../remote.git/hooks/pre-receive", "#!/bin/sh\nexit 1\n");
	assert_int_equal(chmod("../remote.git/hooks/pre-receive", 0755), 0);
	r = LIVE("exp", "push", url, "-A");
	assert_int_equal(r.rc, 1);
	assert_contains(r.out, fmt("Experiment '%s' is up to date on Git remote '%s'.\n", exp, url));
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s' refused experiment '%s' (%s%s): pre-receive hook "
	                               "declined\n",
	                               url, second, exp_prefix(base), second));
	assert_string_equal(sh("git -C ../remote.git for-each-ref refs/exps | wc -l"), "1");
	in("b");

	stop_daemon(daemon, port);
	r = LIVE("exp", "list", url);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote '%s': failed to connect to 127.0.0.1: Connection refused\n",
	                               url));
	assert_fsck_clean();
}

/* ---- resume on the other clone; diverged experiments ------------------------------ */

/* `live exp run` stopped by Ctrl+C (SIGINT to its process group) after `min` checkpoints. */
static void run_interrupted(const char *base, int min)
{
	char *log = fmt("%s/run.log", case_dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(LIVE_BIN, "live", "exp", "run", (char *)NULL);
		_exit(127);
	}
	ct_bg_pid = pid;
	for (int i = 0;; i++) {
		char *tip = sh("git for-each-ref --count=1 --format='%%(objectname)' '%s'", exp_prefix(base));
		if (*tip && atoi(sh("git rev-list --count '%s..%s'", base, tip)) >= min)
			break;
		if (i > 3000 || waitpid(pid, NULL, WNOHANG) == pid)
			fail_msg("the run made no %d checkpoints:\n%s", min, slurp(log, NULL));
		sleep_ms(20);
	}
	kill(-pid, SIGINT);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	ct_bg_pid = -1;
}

static void resume_on_the_other_clone_and_diverged_pushes_need_force(void **state)
{
	(void)state;
	char *base = two_clones("epochs: 12\nlr: 0.001\nmodel_bytes: 5000\nstep_ms: 200\n");
	run_interrupted(base, 2);
	char *exp = only_exp(base);
	char *ref = fmt("%s%s", exp_prefix(base), exp);
	char *a_tip = ref_sha(ref);
	int made = atoi(sh("git rev-list --count '%s..%s'", base, a_tip));
	assert_true(made >= 2 && made < 12);
	LIVE_OK("exp", "push", "origin");

	/* B takes the interrupted experiment over and trains it to the end. */
	in("b");
	LIVE_OK("exp", "pull", "origin");
	LIVE_OK("exp", "apply", exp);
	result r = LIVE_OK("exp", "run");
	assert_contains(r.out, fmt("Existing checkpoint experiment '%s' will be resumed\n", exp));
	assert_contains(r.out, fmt("Epoch %d: ", made + 1));
	assert_not_contains(r.out, fmt("Epoch %d: ", made));
	char *b_tip = ref_sha(ref);
	assert_string_equal(sh("git merge-base --is-ancestor %s %s && echo yes", a_tip, b_tip), "yes");
	assert_string_equal(sh("git rev-list --count '%s..%s'", base, b_tip), "12");
	assert_int_equal(strncmp(must_read("model.pt"), "step=11 ", 8), 0);
	assert_string_equal(sh("cut -f2 dvclive/loss.tsv | tail -n +2 | tr '\\n' ' '"), "0 1 2 3 4 5 6 7 8 9 10 11 ");
	/* A fast-forward of the remote's experiment. */
	r = LIVE_OK("exp", "push", "origin");
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote 'origin'.\n", exp));
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s'", ref), b_tip);

	/* A resumes its own copy: the two have diverged. */
	in("a");
	LIVE_OK("exp", "run");
	char *a_tip2 = ref_sha(ref);
	assert_string_not_equal(a_tip2, a_tip);
	r = LIVE("exp", "push", "origin");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Local experiment '%s' has diverged from remote experiment with the "
	                               "same name. To override the remote experiment re-run with '--force'.\n",
	                               exp));
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s'", ref), b_tip);
	r = LIVE_OK("exp", "push", "-f", "origin", exp);
	assert_contains(r.out, fmt("Pushed experiment '%s' to Git remote 'origin'.\n", exp));
	assert_string_equal(sh("git -C ../remote.git rev-parse '%s'", ref), a_tip2);

	/* B's copy has diverged from the remote's now. */
	in("b");
	r = LIVE("exp", "pull", "origin");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Local experiment '%s' has diverged from remote experiment with the "
	                               "same name. To override the local experiment re-run with '--force'.\n",
	                               exp));
	assert_string_equal(ref_sha(ref), b_tip);
	LIVE_OK("exp", "pull", "--force", "origin");
	assert_string_equal(ref_sha(ref), a_tip2);
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
	assert_fsck_clean();
}

/* ---- missing and corrupt objects ----------------------------------------------------- */

static void missing_and_corrupt_objects_on_pull_are_named(void **state)
{
	(void)state;
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	LIVE_OK("exp", "push", "origin");
	char *c1 = checkpoint_at(base, tip, 1), *c3 = checkpoint_at(base, tip, 3);
	char *gone = model_md5(c1), *bad = model_md5(c3);
	sh("rm -f '%s/storage/%.2s/%s'", case_dir, gone, gone + 2);
	sh("f='%s/storage/%.2s/%s'; chmod u+w \"$f\" && printf 'step=3 tampered' > \"$f\"", case_dir, bad, bad + 2);

	in("b");
	result r = LIVE("exp", "pull", "origin");
	assert_int_equal(r.rc, 1);
	char *storage = fmt("%s/storage", case_dir);
	assert_contains(r.err, fmt("ERROR: cache remote 'storage' (%s) has no object %s for model.pt (checkpoint "
	                           "%.7s of %s)\n",
	                           storage, gone, c1, exp));
	assert_contains(r.err, fmt("ERROR: cache remote 'storage' (%s): object %s for model.pt (checkpoint %.7s of "
	                           "%s) is corrupt (its bytes hash to ",
	                           storage, bad, c3, exp));
	assert_contains(r.err, fmt("ERROR: 2 cache objects could not be pulled from cache remote 'storage' (%s)",
	                           storage));
	assert_int_equal(count_lines(r.err), 3);
	/* The ref came; neither object landed; every other checkpoint restores. */
	assert_contains(r.out, fmt("Pulled experiment '%s' from Git remote 'origin'.\n", exp));
	assert_false(tu_exists(cache_path(gone)));
	assert_false(tu_exists(cache_path(bad)));
	assert_string_equal(sh("ls .dvc/tmp | grep -c live-pull || true"), "0");
	r = LIVE("exp", "apply", fmt("%.7s", c1));
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, fmt("cache object %s for model.pt is missing", gone));
	LIVE_OK("exp", "apply", exp);
	assert_same_bytes("model.pt", "../a/model.pt");
}

static void a_corrupt_local_object_is_not_pushed(void **state)
{
	(void)state;
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	char *exp = only_exp(base);
	char *tip = ref_sha(fmt("%s%s", exp_prefix(base), exp));
	char *c2 = checkpoint_at(base, tip, 2);
	char *md5 = model_md5(c2);
	sh("f='%s'; chmod u+w \"$f\" && printf 'x' >> \"$f\"", cache_path(md5));
	result r = LIVE("exp", "push", "origin");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, fmt("ERROR: cache object %s for model.pt (checkpoint %.7s of %s) is corrupt (its bytes "
	                           "hash to ",
	                           md5, c2, exp));
	assert_contains(r.err, "not pushed; nothing was pushed to Git remote 'origin'\n");
	assert_string_equal(r.out, "");
	assert_string_equal(sh("git -C ../remote.git for-each-ref refs/exps | wc -l"), "0");
	assert_false(tu_exists(fmt("../storage/%.2s/%s", md5, md5 + 2)));
	assert_string_equal(sh("find ../storage -name '.*tmp*' | wc -l"), "0");

	/* The objects a pull checked are in b's stat cache, so that b's pushes copy them unread;
	 * a write to one gives it a new mtime: the push hashes it again and refuses it. */
	sh("f='%s'; truncate -s -1 \"$f\" && chmod a-w \"$f\"", cache_path(md5)); /* repaired */
	LIVE_OK("exp", "push", "origin");
	in("b");
	LIVE_OK("exp", "pull", "origin");
	assert_string_equal(sh("grep -c ' %s$' .dvc/tmp/live-md5s", cache_path(md5)), "1");
	sh("f='%s'; chmod u+w \"$f\" && printf 'x' >> \"$f\"", cache_path(md5));
	LIVE_OK("remote", "add", "other", "../other");
	r = LIVE("exp", "push", "-r", "other", "origin");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, fmt("ERROR: cache object %s for model.pt (checkpoint %.7s of %s) is corrupt (its bytes "
	                           "hash to ",
	                           md5, c2, exp));
	assert_false(tu_exists(fmt("../other/%.2s/%s", md5, md5 + 2)));
}

/* ---- errors: remotes that cannot be reached or used ---------------------------------- */

static void unreachable_and_unknown_remotes_are_one_line_errors(void **state)
{
	(void)state;
	char *base = two_clones(PARAMS);
	LIVE_OK("exp", "run");
	(void)base;
	result r = LIVE("exp", "push", "/nonexistent/x.git");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: Git remote '/nonexistent/x.git': /nonexistent/x.git: No such file or "
	                           "directory\n");
	r = LIVE("exp", "pull", "nosuch");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: 'nosuch' is neither a Git remote of this repository (`git remote -v` "
	                           "lists them) nor a URL or path\n");
	/* A relative URL in .git/config is the work tree's, as git takes it. */
	sh("git remote add broken ../nope.git");
	r = LIVE("exp", "push", "broken");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote 'broken' (../nope.git): %s/a/../nope.git: No such file or "
	                               "directory\n",
	                               case_dir));
	int port = free_port();
	r = LIVE("exp", "list", fmt("git://127.0.0.1:%d/x.git", port));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, fmt("ERROR: Git remote 'git://127.0.0.1:%d/x.git': failed to connect to "
	                               "127.0.0.1: Connection refused\n",
	                               port));
	/* Cache remotes: none named, unknown, not a folder. */
	r = LIVE("exp", "push", "-r", "other", "origin");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: remote 'other' is not in .dvc/config or .dvc/config.local: add one with "
	                           "`live remote add -d <name> <folder>`, name one with -r <name>, or push the "
	                           "experiments' refs alone with --no-cache\n");
	LIVE_OK("remote", "add", "bucket", "s3://bucket/path");
	r = LIVE("exp", "push", "-r", "bucket", "origin");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "ERROR: remote 'bucket': url 's3://bucket/path' is not a local folder");
	/* Nothing of it reached the remote. */
	assert_string_equal(sh("git -C ../remote.git for-each-ref refs/exps | wc -l"), "0");
	/* The refs alone: --no-cache. */
	r = LIVE_OK("exp", "push", "--no-cache", "origin");
	assert_contains(r.out, "Pushed experiment '");
	assert_not_contains(r.out, "cache objects");
	assert_string_equal(sh("git -C ../remote.git for-each-ref refs/exps | wc -l"), "1");
	assert_string_equal(sh("find ../storage -type f | wc -l"), "0");
	r = LIVE("exp", "push", "origin", "--bogus");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "unknown option '--bogus'");
	r = LIVE("exp", "pull");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "name the Git remote");

	/* Pulling needs the cache remote's folder, and a cache remote; no ref moves without them. */
	in("b");
	sh("rm -rf ../storage");
	r = LIVE("exp", "pull", "origin");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, fmt("ERROR: cache remote 'storage': %s/storage: No such file or directory\n",
	                               case_dir));
	sh("printf '' > .dvc/config");
	r = LIVE("exp", "pull", "origin");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "ERROR: no default remote in .dvc/config (core.remote): add one with `live remote "
	                           "add -d <name> <folder>`, name one with -r <name>, or pull the experiments' refs "
	                           "alone with --no-cache\n");
	assert_string_equal(sh("git for-each-ref refs/exps | wc -l"), "0");
}

/* ---- live remote add / list ---------------------------------------------------------- */

static void remote_add_and_list_keep_the_config_as_dvc_writes_it(void **state)
{
	(void)state;
	git_init_repo(1);
	LIVE_OK("init", "-q");
	char *root = sh("pwd -P");
	tu_write_file(".dvc/config", "[core]\n    no_scm = True\n# our notes\n");
	result r = LIVE_OK("remote", "add", "-d", "storage", "../store");
	assert_string_equal(r.out, "Setting 'storage' as a default remote.\n");
	assert_string_equal(must_read(".dvc/config"), "[core]\n    remote = storage\n    no_scm = True\n# our notes\n"
	                                              "['remote \"storage\"']\n    url = ../../store\n");
	/* From a subfolder: the path is the current folder's, stored relative to .dvc/. */
	sh("mkdir -p sub/deeper");
	assert_int_equal(chdir("sub/deeper"), 0);
	r = LIVE_OK("remote", "add", "other", "../x");
	assert_string_equal(r.out, "");
	assert_int_equal(chdir("../.."), 0);
	assert_contains(must_read(".dvc/config"), "['remote \"other\"']\n    url = ../sub/x\n");
	r = LIVE("remote", "add", "storage", "/y");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: remote 'storage' already exists. Use `-f|--force` to overwrite it.\n");
	LIVE_OK("remote", "add", "-f", "storage", "/y #1");
	assert_string_equal(must_read(".dvc/config"), "[core]\n    remote = storage\n    no_scm = True\n# our notes\n"
	                                              "['remote \"storage\"']\n    url = \"/y #1\"\n"
	                                              "['remote \"other\"']\n    url = ../sub/x\n");
	r = LIVE_OK("remote", "list");
	assert_string_equal(r.out, fmt("storage\t/y #1\nother\t%s/sub/x\n", root));
	/* config.local: beside the project's, and it wins. */
	r = LIVE_OK("remote", "add", "--local", "-d", "mine", "file:///z");
	assert_string_equal(must_read(".dvc/config.local"), "[core]\n    remote = mine\n['remote \"mine\"']\n"
	                                                    "    url = file:///z\n");
	assert_string_equal(LIVE_OK("remote", "list").out, fmt("storage\t/y #1\nother\t%s/sub/x\nmine\t/z\n", root));
	/* DVC's own spelling of a section reads the same. */
	tu_write_file(".dvc/config.local", "[remote \"mine\"]\nurl='/w' # quoted\n");
	assert_contains(LIVE_OK("remote", "list").out, "mine\t/w\n");
	/* Mistakes. */
	r = LIVE("remote", "add", "a b", "/p");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "remote name 'a b': use letters, digits");
	r = LIVE("remote", "add", "x");
	assert_int_equal(r.rc, 1);
	assert_contains(r.err, "name the remote and its url");
	tu_write_file(".dvc/config.local", "[core]\nthis is not ini\n");
	r = LIVE("remote", "list");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: .dvc/config.local:2: expected 'key = value' or a '[section]'\n");
	r = LIVE("remote", "add", "--local", "y", "/p");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: cannot edit .dvc/config.local: .dvc/config.local:2: expected 'key = value' "
	                           "or a '[section]'\n");
	assert_string_equal(must_read(".dvc/config.local"), "[core]\nthis is not ini\n");
}

int main(void)
{
	if (ct_begin("test_cli_remote", LIVE_BIN, TINY_TRAINER, NULL))
		return 1;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ct_setup, ct_teardown)
	        T(push_and_pull_through_a_path_restore_the_model_bit_identical),
	        T(names_all_and_no_cache_through_a_file_url),
	        T(push_pull_and_list_through_a_git_daemon),
	        T(resume_on_the_other_clone_and_diverged_pushes_need_force),
	        T(missing_and_corrupt_objects_on_pull_are_named),
	        T(a_corrupt_local_object_is_not_pushed),
	        T(unreachable_and_unknown_remotes_are_one_line_errors),
	        T(remote_add_and_list_keep_the_config_as_dvc_writes_it),
#undef T
	};
	return ct_end(cmocka_run_group_tests(tests, NULL, NULL));
}
