/*
 * examples/mnist/train as a user runs it: a subprocess in a folder holding
 * params.yaml and data/MNIST (a small learnable image set written with
 * idx_write_set). Pins down the outputs, resume from model.pt, the stop on
 * SIGINT/SIGTERM after the current epoch, determinism, the time limit of
 * `epochs: 0`, and the one-line errors for bad data and a bad model.pt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cnn.h"
#include "idx.h"
#include "mnistfix.h"
#include "model_file.h"
#include "testutil.h"

#ifndef MNIST_TRAIN_BIN
#error "MNIST_TRAIN_BIN must name the trainer executable"
#endif

#define N_TRAIN 200
#define N_TEST 50

/* ---- fixtures ------------------------------------------------------------------ */

static void write_params(const char *dir, const char *epochs_line)
{
	char path[512], text[512];
	snprintf(path, sizeof(path), "%s/params.yaml", dir);
	snprintf(text, sizeof(text), "seed: 473987\nlr: 0.05\nweight_decay: 0.0001\nbatch_size: 16\n%s\n",
		 epochs_line);
	tu_write_file(path, text);
}

/* Every test: a fresh temp dir holding data/MNIST and params.yaml. */
static int setup(void **state)
{
	tu_enter_tmpdir(state);
	mnistfix_write_data(".", N_TRAIN, N_TEST);
	write_params(".", "epochs: 2");
	return 0;
}

/* ---- running the trainer ---------------------------------------------------------- */

/* "NAME=value" for the next spawn only (NULL: none). */
static const char *extra_env;

/* Start the trainer in `dir` with stdout/stderr to dir/out.txt and dir/err.txt. */
static pid_t spawn(const char *dir)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out, err;
		if (chdir(dir) != 0 ||
		    (out = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    (err = open("err.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(126);
		/* the environment a stage runner would set must not leak in from ours */
		unsetenv("DVCLIVE_PATH");
		unsetenv("DVCLIVE_RESUME");
		unsetenv("DVCLIVE_SUMMARY");
		unsetenv("DVCLIVE_HTML");
		unsetenv("LIVE_LAYOUT");
		unsetenv("LIVE_PARAMS_FILE");
		unsetenv("LIVE_SUMMARY_INTERVAL_MS");
		unsetenv("RANK");
		unsetenv("DVC_CHECKPOINT");
		unsetenv("DVC_ROOT");
		unsetenv("LIVE_CHECKPOINT_FD");
		unsetenv("LIVE_STOP_SIGNALS");
		if (extra_env) {
			char name[64];
			const char *eq = strchr(extra_env, '=');
			snprintf(name, sizeof(name), "%.*s", (int)(eq - extra_env), extra_env);
			setenv(name, eq + 1, 1);
		}
		execl(MNIST_TRAIN_BIN, "train", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Wait for the trainer; its exit code (-signal if it was killed). */
static int finish(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static int run_in(const char *dir)
{
	return finish(spawn(dir));
}

static char *read_in(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return tu_read_file(path);
}

/* Fail showing the trainer's output. */
static void assert_exit(const char *dir, int got, int want)
{
	if (got != want) {
		char *out = read_in(dir, "out.txt"), *err = read_in(dir, "err.txt");
		fail_msg("train exited %d, want %d\nstdout:\n%s\nstderr:\n%s", got, want, out ? out : "",
			 err ? err : "");
	}
}

/* The rows of dvclive/<name>.tsv: steps into steps[], the value text into values (joined by '\n'). */
static int read_history(const char *dir, const char *name, long long *steps, int max, char *values,
			size_t values_len)
{
	char file[128];
	snprintf(file, sizeof(file), "dvclive/%s.tsv", name);
	char *text = read_in(dir, file);
	assert_non_null(text);
	int rows = 0;
	size_t used = 0;
	char *save = NULL;
	values[0] = 0;
	char *line = strtok_r(text, "\n", &save);
	char header[64];
	snprintf(header, sizeof(header), "timestamp\tstep\t%s", name);
	assert_string_equal(line, header);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		assert_non_null(tab2);
		assert_true(rows < max);
		steps[rows++] = strtoll(tab1 + 1, NULL, 10);
		used += (size_t)snprintf(values + used, values_len - used, "%s\n", tab2 + 1);
	}
	free(text);
	return rows;
}

static void load_model(const char *dir, model_state *m)
{
	char path[512], err[256];
	snprintf(path, sizeof(path), "%s/model.pt", dir);
	if (model_load(path, m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static int count(const char *haystack, const char *needle)
{
	int n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, haystack ? haystack : "(nothing)");
}

static void assert_steps_are(const long long *steps, int rows, int want_rows)
{
	assert_int_equal(rows, want_rows);
	for (int i = 0; i < rows; i++)
		assert_int_equal(steps[i], i);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_train_writes_the_tutorials_outputs(void **state)
{
	(void)state;
	long long steps[16];
	char losses[1024], accs[1024];
	static model_state m;

	write_params(".", "epochs: 3");
	assert_exit(".", run_in("."), 0);
	char *out = tu_read_file("out.txt");
	char *err = tu_read_file("err.txt");
	assert_string_equal(err, "");

	assert_steps_are(steps, read_history(".", "loss", steps, 16, losses, sizeof(losses)), 3);
	assert_steps_are(steps, read_history(".", "acc", steps, 16, accs, sizeof(accs)), 3);
	/* stdout prints exactly what was logged: "Epoch 3: loss=<the TSV's text>" */
	char want[256], *save = NULL;
	int epoch = 1;
	for (char *v = strtok_r(losses, "\n", &save); v; v = strtok_r(NULL, "\n", &save), epoch++) {
		snprintf(want, sizeof(want), "Epoch %d: loss=%s\n", epoch, v);
		assert_contains(out, want);
	}
	epoch = 1;
	for (char *v = strtok_r(accs, "\n", &save); v; v = strtok_r(NULL, "\n", &save), epoch++) {
		snprintf(want, sizeof(want), "Epoch %d: acc=%s\n", epoch, v);
		assert_contains(out, want);
	}
	assert_contains(out, "Epoch 3: ");
	assert_contains(out, " s (train ");
	assert_contains(out, "live: ");
	assert_int_equal(count(out, "Epoch 1: acc="), 1);

	char *summary = tu_read_file("dvclive.json");
	assert_contains(summary, "\"step\": 2,");
	load_model(".", &m);
	assert_int_equal(m.epochs, 3);
	assert_true(m.seed == 473987);
	/* the synthetic task is easy: the last epoch is (nearly) always right */
	const char *last = strstr(out, "Epoch 3: acc=");
	assert_non_null(last);
	assert_true(strtod(last + 13, NULL) >= 0.9);

	char *pred = tu_read_file("predictions.json");
	assert_non_null(pred);
	assert_int_equal(count(pred, "{\"actual\": "), N_TEST);
	assert_int_equal(count(pred, ", \"predicted\": "), N_TEST);
	assert_true(strncmp(pred, "[\n  {\"actual\": ", 15) == 0);
	assert_non_null(strstr(pred, "}\n]\n"));
	assert_false(tu_exists("model.pt.tmp"));
	assert_false(tu_exists("predictions.json.tmp"));
	free(out);
	free(err);
	free(summary);
	free(pred);
}

/* epochs: 2, then epochs: 4 continues at epoch 3, exactly as one run of 4 would. */
static void test_resume_continues_from_model_pt(void **state)
{
	(void)state;
	long long steps[16];
	char values[1024], straight_values[1024];
	static model_state m;

	assert_exit(".", run_in("."), 0);
	write_params(".", "epochs: 4");
	assert_exit(".", run_in("."), 0);
	char *out = tu_read_file("out.txt");
	assert_contains(out, "Resuming from model.pt: 2 epochs done\n");
	assert_contains(out, "Epoch 3: loss=");
	assert_int_equal(count(out, "Epoch 1:"), 0);
	assert_steps_are(steps, read_history(".", "loss", steps, 16, values, sizeof(values)), 4);
	assert_steps_are(steps, read_history(".", "acc", steps, 16, values, sizeof(values)), 4);
	load_model(".", &m);
	assert_int_equal(m.epochs, 4);
	char *summary = tu_read_file("dvclive.json");
	assert_contains(summary, "\"step\": 3,");

	/* a third run with nothing left to do changes nothing */
	assert_exit(".", run_in("."), 0);
	char *again = tu_read_file("out.txt");
	assert_contains(again, "model.pt already has 4 epochs (epochs: 4): nothing to train\n");
	assert_steps_are(steps, read_history(".", "loss", steps, 16, values, sizeof(values)), 4);

	/* 2 + 2 epochs == 4 epochs, to the bit */
	assert_int_equal(mkdir("straight", 0777), 0);
	mnistfix_write_data("straight", N_TRAIN, N_TEST);
	write_params("straight", "epochs: 4");
	assert_exit("straight", run_in("straight"), 0);
	read_history(".", "loss", steps, 16, values, sizeof(values));
	read_history("straight", "loss", steps, 16, straight_values, sizeof(straight_values));
	assert_string_equal(values, straight_values);
	char *a = tu_read_file("model.pt"), *b = read_in("straight", "model.pt");
	assert_memory_equal(a, b, MODEL_FILE_SIZE);
	free(a);
	free(b);
	free(out);
	free(again);
	free(summary);
}

/* Two fresh runs with one seed: the same numbers and the same model.pt bytes. */
static void test_same_seed_gives_identical_runs(void **state)
{
	(void)state;
	long long steps[16];
	char v1[1024], v2[1024];

	assert_int_equal(mkdir("a", 0777), 0);
	assert_int_equal(mkdir("b", 0777), 0);
	mnistfix_write_data("a", N_TRAIN, N_TEST);
	mnistfix_write_data("b", N_TRAIN, N_TEST);
	write_params("a", "epochs: 3");
	write_params("b", "epochs: 3");
	pid_t pa = spawn("a"), pb = spawn("b"); /* at the same time: nothing shared */
	assert_exit("a", finish(pa), 0);
	assert_exit("b", finish(pb), 0);
	const char *names[] = {"loss", "acc"};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(read_history("a", names[i], steps, 16, v1, sizeof(v1)), 3);
		assert_int_equal(read_history("b", names[i], steps, 16, v2, sizeof(v2)), 3);
		assert_string_equal(v1, v2);
	}
	char *ma = read_in("a", "model.pt"), *mb = read_in("b", "model.pt");
	assert_memory_equal(ma, mb, MODEL_FILE_SIZE);
	char *pa_json = read_in("a", "predictions.json"), *pb_json = read_in("b", "predictions.json");
	assert_string_equal(pa_json, pb_json);

	/* another seed, another model */
	char text[256];
	snprintf(text, sizeof(text), "seed: 1\nlr: 0.05\nweight_decay: 0.0001\nbatch_size: 16\nepochs: 3\n");
	tu_write_file("b/params.yaml", text);
	assert_int_equal(unlink("b/model.pt"), 0);
	assert_exit("b", run_in("b"), 0);
	free(mb);
	mb = read_in("b", "model.pt");
	assert_true(memcmp(ma, mb, MODEL_FILE_SIZE) != 0);
	free(ma);
	free(mb);
	free(pa_json);
	free(pb_json);
}

/* Rows in dvclive/loss.tsv so far (0 when it does not exist yet). */
static int rows_now(void)
{
	char *text = tu_read_file("dvclive/loss.tsv");
	int n = text ? count(text, "\n") - 1 : 0;
	free(text);
	return n < 0 ? 0 : n;
}

/* A signal mid-run: the epoch under way finishes, everything agrees, exit 0. */
static void stop_by_signal(int sig, const char *name)
{
	long long steps[4096];
	static char values[4096 * 32];
	static model_state m;

	write_params(".", "epochs: 100000");
	pid_t pid = spawn(".");
	struct timespec pause = {0, 2 * 1000 * 1000};
	for (int i = 0; rows_now() < 2; i++) {
		if (i > 10000 || waitpid(pid, NULL, WNOHANG) != 0) {
			kill(pid, SIGKILL);
			fail_msg("the trainer did not get to 2 epochs");
		}
		nanosleep(&pause, NULL);
	}
	assert_int_equal(kill(pid, sig), 0);
	assert_exit(".", finish(pid), 0);

	int rows = read_history(".", "loss", steps, 4096, values, sizeof(values));
	assert_true(rows >= 2 && rows < 1000);
	assert_steps_are(steps, rows, rows);
	load_model(".", &m);
	assert_int_equal(m.epochs, rows);
	char *out = tu_read_file("out.txt"), want[128];
	snprintf(want, sizeof(want), "Stopped by %s after epoch %d\n", name, rows);
	assert_contains(out, want);
	snprintf(want, sizeof(want), "\"step\": %d,", rows - 1);
	char *summary = tu_read_file("dvclive.json");
	assert_contains(summary, want);
	char *pred = tu_read_file("predictions.json");
	assert_int_equal(count(pred, "{\"actual\": "), N_TEST);
	assert_false(tu_exists("model.pt.tmp"));
	free(out);
	free(summary);
	free(pred);
}

static void test_sigint_stops_after_the_current_epoch(void **state)
{
	(void)state;
	stop_by_signal(SIGINT, "SIGINT");
}

static void test_sigterm_stops_after_the_current_epoch(void **state)
{
	(void)state;
	stop_by_signal(SIGTERM, "SIGTERM");
}

/* Under `live exp run` liblive catches the signal; the trainer asks live_stop_requested(). */
static void test_sigint_caught_by_live_stops_after_the_current_epoch(void **state)
{
	(void)state;
	extra_env = "LIVE_STOP_SIGNALS=1";
	stop_by_signal(SIGINT, "a stop request (SIGINT or SIGTERM, caught by live)");
	extra_env = NULL;
}

static void test_epochs_0_stops_at_the_time_limit(void **state)
{
	(void)state;
	long long steps[4096];
	static char values[4096 * 32];
	static model_state m;

	write_params(".", "epochs: 0\nmax_minutes: 0.001"); /* 60 ms */
	assert_exit(".", run_in("."), 0);
	char *out = tu_read_file("out.txt");
	assert_contains(out, "epochs: 0: training until 0.001 minutes have passed\n");
	int rows = read_history(".", "loss", steps, 4096, values, sizeof(values));
	assert_true(rows >= 1 && rows < 100);
	assert_steps_are(steps, rows, rows);
	char want[128];
	snprintf(want, sizeof(want), "Stopped by the time limit after epoch %d\n", rows);
	assert_contains(out, want);
	load_model(".", &m);
	assert_int_equal(m.epochs, rows);
	free(out);
}

/* Exit 1, one line on stderr containing `want`, and nothing written. */
static void assert_fails_cleanly(const char *want)
{
	assert_exit(".", run_in("."), 1);
	char *err = tu_read_file("err.txt");
	assert_contains(err, want);
	assert_int_equal(count(err, "\n"), 1);
	assert_true(strncmp(err, "train: ", 7) == 0);
	assert_false(tu_exists("dvclive"));
	assert_false(tu_exists("predictions.json"));
	free(err);
}

static void test_bad_data_is_one_line_and_exit_1(void **state)
{
	(void)state;
	/* a labels file that is not gzip */
	tu_write_file("data/MNIST/" MNIST_TEST_LABELS, "not gzip at all");
	assert_fails_cleanly("data/MNIST/" MNIST_TEST_LABELS);
	assert_false(tu_exists("model.pt"));

	/* no data at all */
	unlink("data/MNIST/" MNIST_TRAIN_IMAGES);
	assert_fails_cleanly("data/MNIST/" MNIST_TRAIN_IMAGES);

	/* images of another size */
	char err[256];
	mnist_set s = {0};
	mnistfix_make_set(&s, 20, 4);
	s.rows = 14;
	s.cols = 56;
	const char *dir = "data/MNIST/";
	char images[256], labels[256];
	for (int i = 0; i < 2; i++) {
		snprintf(images, sizeof(images), "%s%s", dir, i ? MNIST_TEST_IMAGES : MNIST_TRAIN_IMAGES);
		snprintf(labels, sizeof(labels), "%s%s", dir, i ? MNIST_TEST_LABELS : MNIST_TRAIN_LABELS);
		assert_int_equal(idx_write_set(&s, images, labels, err, sizeof(err)), 0);
	}
	idx_free_set(&s);
	assert_fails_cleanly("train: data/MNIST: train images are 14x56; this network takes 28x28\n");
}

static void test_bad_model_pt_is_refused_and_kept(void **state)
{
	(void)state;
	tu_write_file("model.pt", "PK\003\004 not ours");
	assert_fails_cleanly("train: model.pt: not a live model file (bad magic) (move it away to train from "
			     "scratch)\n");
	char *kept = tu_read_file("model.pt");
	assert_string_equal(kept, "PK\003\004 not ours");
	free(kept);
}

static void test_bad_params_are_refused(void **state)
{
	(void)state;
	tu_write_file("params.yaml", "seed: 1\nlr: -1\nepochs: 2\n");
	assert_fails_cleanly("train: params: lr must be a number > 0");
}

#define WITH_DATA(test) cmocka_unit_test_setup_teardown(test, setup, tu_leave_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_DATA(test_train_writes_the_tutorials_outputs),
		WITH_DATA(test_resume_continues_from_model_pt),
		WITH_DATA(test_same_seed_gives_identical_runs),
		WITH_DATA(test_sigint_stops_after_the_current_epoch),
		WITH_DATA(test_sigterm_stops_after_the_current_epoch),
		WITH_DATA(test_sigint_caught_by_live_stops_after_the_current_epoch),
		WITH_DATA(test_epochs_0_stops_at_the_time_limit),
		WITH_DATA(test_bad_data_is_one_line_and_exit_1),
		WITH_DATA(test_bad_model_pt_is_refused_and_kept),
		WITH_DATA(test_bad_params_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
