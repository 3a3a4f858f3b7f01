/*
 * examples/mnist/train_mpi under `live exp run` (issue #8, part 1): the train
 * stage as `mpirun -np N --oversubscribe ./train_mpi`, the whole mpirun being
 * the stage command.
 *
 *  - `-np 1`, `-np 2` and the plain `./train`, each in its own repository on
 *    the same small data set: the same files in the workspace and dvclive/,
 *    the same number of checkpoint commits with the same tree paths, the same
 *    steps in the TSVs, no dvclive_rank1 or any other output of rank 1, and
 *    every epoch printed once. `-np 1` gives exactly the bytes of `./train`;
 *    `-np 2` differs only by the order of floating-point sums, within the
 *    tolerances below.
 *  - Ctrl+C (SIGINT to the runner) stops every rank, and the last checkpoint
 *    is a whole epoch.
 *  - A runner killed with SIGKILL leaves no rank behind: rank 0 sees at its
 *    next checkpoint that the runner is gone, and all ranks exit.
 *
 * Open MPI closes inherited descriptors in the ranks, so the runner's
 * LIVE_CHECKPOINT_FD does not reach them: these runs take their checkpoints
 * through DVC's file protocol (live/checkpoint.c falls back to it).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "cnn.h"
#include "idx.h"
#include "mnistfix.h"
#include "model_file.h"
#include "testutil.h"

#if !defined(LIVE_BIN) || !defined(MNIST_TRAIN_BIN) || !defined(MNIST_TRAIN_MPI_BIN) || !defined(MPIRUN)
#error "LIVE_BIN, MNIST_TRAIN_BIN, MNIST_TRAIN_MPI_BIN and MPIRUN must be defined by the build"
#endif

#define N_TRAIN 200
#define N_TEST 50
#define EPOCHS 3

/*
 * -np 2 against -np 1 on this data: 3 epochs of 13 steps of 16 images.
 * Measured on the project's machine (Open MPI 4.1.4, x86-64, -O2 and ASan):
 * test loss 1.5e-7 apart (relative, worst epoch), weights 6e-8 apart
 * (absolute, worst of the 148,586). The bounds leave room for another
 * machine's or MPI's summation order and still catch a rank whose share is
 * lost: without the Allreduce, the loss is 4 to 5 times -np 1's.
 */
#define LOSS_RTOL 1e-4
#define WEIGHT_ATOL 1e-5

/* ---- the data set, the repositories ---------------------------------------------- */

#define PARAMS(epochs) "seed: 473987\nlr: 0.05\nweight_decay: 0.0001\nbatch_size: 16\n" epochs "\n"

/* The train stage of examples/mnist/dvc.yaml, with `cmd` as its command. */
static const char *stage_yaml(const char *cmd)
{
	return fmt("stages:\n"
		   "  train:\n"
		   "    cmd: %s\n"
		   "    deps:\n"
		   "      - data/MNIST\n"
		   "    params:\n"
		   "      - seed\n"
		   "      - lr\n"
		   "      - weight_decay\n"
		   "    outs:\n"
		   "      - model.pt:\n"
		   "          checkpoint: true\n"
		   "    plots:\n"
		   "      - predictions.json:\n"
		   "          cache: false\n"
		   "    live:\n"
		   "      dvclive:\n"
		   "        summary: true\n"
		   "        html: true\n",
		   cmd);
}

/* `mpirun -np <np> --oversubscribe ./train_mpi` (np 0: the plain ./train). */
static const char *train_cmd(int np)
{
	return np ? fmt("%s -np %d --oversubscribe ./train_mpi", MPIRUN, np) : "./train";
}

/* A repository in ./<dir>, entered: live init, the programs, the data, params, the stage, a baseline commit. */
static char *enter_repo(const char *dir, int np, const char *params)
{
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chdir(dir), 0);
	git_init_repo(1);
	result r = LIVE("init", "-q");
	assert_int_equal(r.rc, 0);
	assert_int_equal(symlink(MNIST_TRAIN_BIN, "train"), 0);
	assert_int_equal(symlink(MNIST_TRAIN_MPI_BIN, "train_mpi"), 0);
	mnistfix_write_data(".", N_TRAIN, N_TEST);
	tu_write_file("params.yaml", params);
	tu_write_file(".gitignore", "/train\n/train_mpi\n/data\n");
	tu_write_file("dvc.yaml", stage_yaml(train_cmd(np)));
	commit_all("baseline");
	return sh("git rev-parse HEAD");
}

/* The checkpoint commits of the one experiment on `base`, oldest first; their count. */
static int checkpoints(const char *base, char shas[][41], int max)
{
	char names[4][64];
	assert_int_equal(exp_names(base, names, 4), 1);
	char *list = sh("git rev-list --reverse '%s..%s%s'", base, exp_prefix(base), names[0]);
	int n = 0;
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < max);
		snprintf(shas[n++], 41, "%s", l);
	}
	return n;
}

/* The value column of a dvclive TSV (timestamp, step, value), and its steps. */
static int tsv_rows(const char *path, long long *steps, double *values, int max)
{
	char *text = must_read(path);
	int n = 0;
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	assert_non_null(line);
	assert_string_equal(line, strstr(path, "loss") ? "timestamp\tstep\tloss" : "timestamp\tstep\tacc");
	while ((line = strtok_r(NULL, "\n", &save))) {
		assert_true(n < max);
		long long ts;
		if (sscanf(line, "%lld\t%lld\t%lf", &ts, &steps[n], &values[n]) != 3)
			fail_msg("%s: bad row '%s'", path, line);
		n++;
	}
	return n;
}

static void read_model(const char *path, model_state *m)
{
	char err[512];
	if (model_load(path, m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/*
 * Every file below the repository but .git, the cache objects (named by
 * their contents' md5s) and .dvc/tmp (the runner's own state, such as its
 * md5 memo, written when a file's age allows).
 */
static char *workspace_files(const char *dir)
{
	return sh("cd '%s' && find . \\( -path ./.git -o -path ./.dvc/cache -o -path ./.dvc/tmp \\) -prune -o -print "
		  "| LC_ALL=C sort",
		  dir);
}

/* ---- 1. -np 1, -np 2 and ./train make the same checkpoints ---------------------------- */

typedef struct run {
	const char *dir;
	char *base, *out;
	char shas[8][41];
	int commits;
	long long steps[8], acc_steps[8];
	double loss[8], acc[8];
	model_state model;
} run;

static void train_in(run *r, const char *dir, int np)
{
	r->dir = dir;
	r->base = enter_repo(dir, np, PARAMS("epochs: 3"));
	result res = LIVE("exp", "run");
	if (res.rc != 0)
		fail_msg("%s: live exp run: exit %d\n%s\n%s", dir, res.rc, res.out, res.err);
	r->out = res.out;
	r->commits = checkpoints(r->base, r->shas, 8);
	assert_int_equal(tsv_rows("dvclive/loss.tsv", r->steps, r->loss, 8), EPOCHS);
	assert_int_equal(tsv_rows("dvclive/acc.tsv", r->acc_steps, r->acc, 8), EPOCHS);
	read_model("model.pt", &r->model);
	assert_int_equal(chdir(".."), 0);
}

static void two_ranks_make_the_checkpoints_of_one(void **state)
{
	(void)state;
	static run plain, one, two; /* 594 KB models: off the stack */
	train_in(&plain, "train", 0);
	train_in(&one, "np1", 1);
	train_in(&two, "np2", 2);
	const run *runs[3] = {&plain, &one, &two};

	for (int k = 0; k < 3; k++) {
		const run *r = runs[k];
		/* every epoch printed and checkpointed once: rank 1 neither prints nor signals */
		assert_int_equal(r->commits, EPOCHS);
		assert_int_equal(count_substr(r->out, "Checkpoint experiment iteration"), EPOCHS);
		for (int e = 1; e <= EPOCHS; e++) {
			assert_int_equal(count_substr(r->out, fmt("Epoch %d: loss=", e)), 1);
			assert_int_equal(count_substr(r->out, fmt("Epoch %d: acc=", e)), 1);
		}
		assert_int_equal(count_substr(r->out, "MPI: 2 ranks share each batch of 16 images\n"), r == &two);
		for (int e = 0; e < EPOCHS; e++) {
			assert_int_equal(r->steps[e], e);
			assert_int_equal(r->acc_steps[e], e);
		}
		assert_int_equal(r->model.epochs, EPOCHS);
	}

	/* the same files everywhere, and none of another rank */
	char *files = workspace_files("train");
	assert_string_equal(workspace_files("np1"), files);
	assert_string_equal(workspace_files("np2"), files);
	assert_not_contains(files, "rank");
	assert_contains(files, "./dvclive/loss.tsv\n");
	assert_contains(files, "./model.pt\n");
	char *objects = sh("find train/.dvc/cache -type f | wc -l");
	assert_string_equal(sh("find np1/.dvc/cache -type f | wc -l"), objects);
	assert_string_equal(sh("find np2/.dvc/cache -type f | wc -l"), objects);

	/* checkpoint i holds the same paths in every repository */
	for (int i = 0; i < EPOCHS; i++) {
		char *tree = sh("git -C train ls-tree -r --name-only %s", plain.shas[i]);
		assert_string_equal(sh("git -C np1 ls-tree -r --name-only %s", one.shas[i]), tree);
		assert_string_equal(sh("git -C np2 ls-tree -r --name-only %s", two.shas[i]), tree);
		assert_contains(tree, "dvclive.json\n");
		assert_contains(tree, "dvc.lock\n");
	}

	/* one rank computes exactly what ./train does */
	assert_memory_equal(&one.model, &plain.model, sizeof(plain.model));
	assert_memory_equal(one.loss, plain.loss, sizeof(plain.loss));
	assert_memory_equal(one.acc, plain.acc, sizeof(plain.acc));
	assert_string_equal(must_read("np1/predictions.json"), must_read("train/predictions.json"));

	/* two ranks: the same run but for the order of the sums */
	assert_int_equal(two.model.seed, one.model.seed);
	assert_true(two.model.rng == one.model.rng); /* the generator went through the same draws */
	double worst_w = 0, worst_loss = 0;
	for (int i = 0; i < CNN_NPARAMS; i++)
		worst_w = fmax(worst_w, fabs((double)two.model.net.w[i] - one.model.net.w[i]));
	for (int e = 0; e < EPOCHS; e++) {
		worst_loss = fmax(worst_loss, fabs(two.loss[e] - one.loss[e]) / one.loss[e]);
		/* at most one test image answered differently */
		assert_true(fabs(two.acc[e] - one.acc[e]) <= 1.0 / N_TEST + 1e-12);
	}
	printf("    -np 2 against -np 1: test loss %.2g apart (relative), weights %.2g apart (absolute)\n",
	       worst_loss, worst_w);
	if (!(worst_loss <= LOSS_RTOL) || !(worst_w <= WEIGHT_ATOL))
		fail_msg("-np 2 strays from -np 1: loss %g (bound %g), weights %g (bound %g)", worst_loss, LOSS_RTOL,
			 worst_w, WEIGHT_ATOL);
	assert_int_equal(count_lines(must_read("np2/predictions.json")), N_TEST + 2);
}

/* ---- 2. Ctrl+C, 3. a dead runner ------------------------------------------------------- */

/* Wait (a hang guard, not a timing check) until the workspace holds `n` epochs of loss rows. */
static void wait_for_epochs(pid_t pid, int n)
{
	for (int i = 0; i < 12000; i++) {
		char *tsv = slurp("dvclive/loss.tsv", NULL);
		if (tsv && count_lines(tsv) - 1 >= n)
			return;
		if (waitpid(pid, NULL, WNOHANG) != 0)
			fail_msg("`live exp run` ended before epoch %d", n);
		usleep(10000);
	}
	fail_msg("no %d epochs after 120 s", n);
}

/* The pids of the processes (train_mpi ranks, mpirun) whose working directory is `dir`. */
static int processes_in(const char *dir, char *list, size_t size)
{
	int n = 0;
	list[0] = 0;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		char link[300], cwd[4096];
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
			continue;
		snprintf(link, sizeof(link), "/proc/%s/cwd", e->d_name);
		ssize_t len = readlink(link, cwd, sizeof(cwd) - 1);
		if (len < 0)
			continue;
		cwd[len] = 0;
		if (strcmp(cwd, dir))
			continue;
		n++;
		size_t used = strlen(list);
		snprintf(list + used, size - used, " %s", e->d_name);
	}
	closedir(d);
	return n;
}

/* Wait until no process works in `dir` any more; fails after 60 s (a hang guard). */
static void wait_no_process_in(const char *dir, const char *what)
{
	char list[1024];
	for (int i = 0; i < 6000; i++) {
		if (processes_in(dir, list, sizeof(list)) == 0)
			return;
		usleep(10000);
	}
	fail_msg("%s: processes still running in %s after 60 s:%s", what, dir, list);
}

static int wait_exit_code(pid_t pid)
{
	int st;
	for (int i = 0; i < 6000; i++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		assert_true(w >= 0);
		if (w == pid) {
			ct_bg_pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(10000);
	}
	fail_msg("`live exp run` still running 60 s after the signal");
	return -1;
}

/* The last checkpoint is a whole epoch: its model.pt (from the cache) has the epochs its summary's step says. */
static void assert_tip_is_whole(const char *base)
{
	char shas[256][41];
	int n = checkpoints(base, shas, 256);
	assert_true(n >= 2);
	char *summary = sh("git show %s:dvclive.json", shas[n - 1]);
	const char *at = strstr(summary, "\"step\": ");
	assert_non_null(at);
	long long step = atoll(at + 8);
	char *md5 = lock_md5(sh("git show %s:dvc.lock", shas[n - 1]), "model.pt");
	assert_int_equal(strlen(md5), 32);
	static model_state m;
	read_model(cache_path(md5), &m);
	assert_int_equal(m.epochs, step + 1);
	assert_int_equal(m.epochs, n); /* a fresh run: one checkpoint per epoch */
}

static void ctrl_c_stops_every_rank(void **state)
{
	(void)state;
	char *base = enter_repo("np2", 2, PARAMS("epochs: 0"));
	char *dir = get_current_dir_name();
	keep(dir);
	pid_t pid = ct_live_bg("../out.txt", "../err.txt", "exp", "run", (const char *)NULL);
	wait_for_epochs(pid, 2);
	assert_int_equal(kill(pid, SIGINT), 0);
	int rc = wait_exit_code(pid);
	char *out = must_read("../out.txt"), *err = must_read("../err.txt");
	if (rc != 0)
		fail_msg("exit %d after SIGINT\n%s\n%s", rc, out, err);
	wait_no_process_in(dir, "after Ctrl+C");
	assert_contains(out, "To promote an experiment to a Git branch run:");
	assert_tip_is_whole(base);
}

static void dead_runner_leaves_no_rank_behind(void **state)
{
	(void)state;
	char *base = enter_repo("np2", 2, PARAMS("epochs: 0"));
	char *dir = get_current_dir_name();
	keep(dir);
	pid_t pid = ct_live_bg("../out.txt", "../err.txt", "exp", "run", (const char *)NULL);
	wait_for_epochs(pid, 2);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(wait_exit_code(pid), 128 + SIGKILL);
	/* mpirun is not the runner's child to die with it: the ranks end themselves */
	wait_no_process_in(dir, "after the runner's SIGKILL");
	assert_contains(must_read("../err.txt"), "checkpoint: the runner is gone (its repository lock is free)");
	(void)base;
}

int main(void)
{
	if (ct_begin("test_mnist_mpi", LIVE_BIN, MNIST_TRAIN_BIN, MNIST_TRAIN_MPI_BIN, MPIRUN, NULL))
		return 1;
	/* mpirun refuses root unless told; CI runs as root */
	if (geteuid() == 0) {
		setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
		setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
	}
#if defined(__SANITIZE_ADDRESS__)
	/* the ranks' leak check: Open MPI's own one-time allocations aside (see the file) */
	const char *lsan = getenv("LSAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s%ssuppressions=%s/lsan-openmpi.supp:fast_unwind_on_malloc=0",
		 lsan ? lsan : "", lsan && *lsan ? ":" : "", LIVE_TEST_DATA);
	setenv("LSAN_OPTIONS", opts, 1);
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(two_ranks_make_the_checkpoints_of_one, ct_setup, ct_teardown),
		cmocka_unit_test_setup_teardown(ctrl_c_stops_every_rank, ct_setup, ct_teardown),
		cmocka_unit_test_setup_teardown(dead_runner_leaves_no_rank_behind, ct_setup, ct_teardown),
	};
	return ct_end(cmocka_run_group_tests(tests, NULL, NULL));
}
