/*
 * Checkpoint signalling from the trainer's side (SPEC 3): the fast channel,
 * DVC's file protocol, failing safe when the runner dies, and stop requests.
 * The channel is set up once per process from the environment, so every case
 * runs the trainer in a forked child and plays the runner in the parent.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "testutil.h"

#define STEPS 5

/* The trainer: 5 steps, exit code tells how far it got. */
static void trainer(int ask_stop)
{
	live_options o = LIVE_OPTIONS_INIT;
	o.summary_interval_ms = 60000; /* checkpoints must force the summary anyway */
	if (live_init(&o) != 0)
		_exit(100);
	for (int i = 0; i < STEPS; i++) {
		if (ask_stop && live_stop_requested())
			_exit(50 + i);
		live_log_int("epoch", i);
		live_log("loss", 1.0 / (i + 1));
		int rc = live_next_step();
		if (rc == LIVE_ECHECKPOINT)
			_exit(strstr(live_errmsg(), "the runner is gone") ? 70 + i : 90);
		if (rc)
			_exit(99);
	}
	live_close();
	_exit(0);
}

static int wait_exit(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* While the trainer is blocked, the files must already hold step `step`. */
static void assert_state_at(int step)
{
	char *sum = tu_read_file("dvclive.json");
	assert_non_null(sum);
	char want[64];
	snprintf(want, sizeof(want), "\"step\": %d,\n    \"epoch\": %d,", step, step);
	if (!strstr(sum, want))
		fail_msg("summary at checkpoint %d:\n%s", step, sum);
	free(sum);
	char *tsv = tu_read_file("dvclive/epoch.tsv");
	int rows = 0;
	for (char *p = tsv; (p = strchr(p, '\n')); p++)
		rows++;
	assert_int_equal(rows, step + 2); /* header + rows 0..step */
	free(tsv);
}

static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n < size - 1) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 0;
}

static pid_t spawn_fast(int *runner_end, int ask_stop)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", sv[1]);
		setenv("DVC_CHECKPOINT", "1", 1);
		setenv("LIVE_CHECKPOINT_FD", fd, 1);
		if (ask_stop >= 0)
			setenv("LIVE_STOP_SIGNALS", "1", 1);
		trainer(ask_stop > 0);
	}
	close(sv[1]);
	*runner_end = sv[0];
	return pid;
}

static void fast_channel_blocks_each_step(void **state)
{
	(void)state;
	int fd;
	pid_t pid = spawn_fast(&fd, -1);
	char line[128];
	for (int i = 0; i < STEPS; i++) {
		assert_int_equal(read_line(fd, line, sizeof(line)), 0);
		char want[32];
		snprintf(want, sizeof(want), "checkpoint %d", i);
		assert_string_equal(line, want);
		assert_state_at(i);
		/* The trainer is blocked: nothing changes while we look. */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 50), 0);
		assert_int_equal(write(fd, "ok abc1234\n", 11), 11);
	}
	assert_int_equal(wait_exit(pid), 0);
	close(fd);
}

static void runner_error_reaches_the_trainer(void **state)
{
	(void)state;
	int fd;
	pid_t pid = spawn_fast(&fd, -1);
	char line[128];
	assert_int_equal(read_line(fd, line, sizeof(line)), 0);
	const char *reply = "error git: disk full\n";
	assert_int_equal(write(fd, reply, strlen(reply)), (ssize_t)strlen(reply));
	assert_int_equal(wait_exit(pid), 90);
	close(fd);
}

static void dead_runner_is_an_error_not_a_hang(void **state)
{
	(void)state;
	int fd;
	pid_t pid = spawn_fast(&fd, -1);
	char line[128];
	assert_int_equal(read_line(fd, line, sizeof(line)), 0);
	assert_int_equal(write(fd, "ok x\n", 5), 5);
	assert_int_equal(read_line(fd, line, sizeof(line)), 0);
	close(fd); /* the runner dies while step 1 waits */
	assert_int_equal(wait_exit(pid), 71);
}

static void stop_request_ends_the_loop_cleanly(void **state)
{
	(void)state;
	int fd;
	pid_t pid = spawn_fast(&fd, 1);
	char line[128];
	assert_int_equal(read_line(fd, line, sizeof(line)), 0);
	assert_int_equal(kill(pid, SIGINT), 0); /* Ctrl+C while step 0 is checkpointed */
	assert_int_equal(write(fd, "ok x\n", 5), 5);
	/* The loop sees the request before step 1 and exits by itself. */
	assert_int_equal(wait_exit(pid), 51);
	close(fd);
	assert_state_at(0);
}

static void trainer_that_never_asks_is_ended_after_its_checkpoint(void **state)
{
	(void)state;
	int fd;
	pid_t pid = spawn_fast(&fd, 0);
	char line[128];
	assert_int_equal(read_line(fd, line, sizeof(line)), 0);
	assert_string_equal(line, "checkpoint 0");
	assert_int_equal(kill(pid, SIGINT), 0);
	usleep(20000);
	/* Still blocked in the checkpoint: the signal waits for it. */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
	assert_int_equal(write(fd, "ok x\n", 5), 5);
	assert_int_equal(wait_exit(pid), -SIGINT);
	close(fd);
	assert_state_at(0);
}

static void dvc_file_protocol(void **state)
{
	(void)state;
	assert_int_equal(mkdir(".dvc", 0755), 0);
	assert_int_equal(mkdir(".dvc/tmp", 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("DVC_CHECKPOINT", "1", 1);
		unsetenv("LIVE_CHECKPOINT_FD");
		unsetenv("DVC_ROOT");
		trainer(0);
	}
	for (int i = 0; i < STEPS; i++) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (!tu_exists(".dvc/tmp/DVC_CHECKPOINT")) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 20)
				fail_msg("no signal file for step %d", i);
			usleep(1000);
		}
		assert_state_at(i);
		usleep(5000);
		assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* blocked until we delete it */
		assert_int_equal(unlink(".dvc/tmp/DVC_CHECKPOINT"), 0);
	}
	assert_int_equal(wait_exit(pid), 0);
}

static void no_checkpoint_without_the_variable(void **state)
{
	(void)state;
	assert_int_equal(mkdir(".dvc", 0755), 0);
	assert_int_equal(mkdir(".dvc/tmp", 0755), 0);
	pid_t pid = fork();
	if (pid == 0) {
		unsetenv("DVC_CHECKPOINT");
		trainer(0);
	}
	assert_int_equal(wait_exit(pid), 0);
	assert_false(tu_exists(".dvc/tmp/DVC_CHECKPOINT"));
}

static void bad_descriptor_is_an_error(void **state)
{
	(void)state;
	pid_t pid = fork();
	if (pid == 0) {
		setenv("DVC_CHECKPOINT", "1", 1);
		setenv("LIVE_CHECKPOINT_FD", "987", 1);
		trainer(0);
	}
	assert_int_equal(wait_exit(pid), 90);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
#define T(f) cmocka_unit_test_setup_teardown(f, tu_enter_tmpdir, tu_leave_tmpdir)
	const struct CMUnitTest tests[] = {
		T(fast_channel_blocks_each_step),
		T(runner_error_reaches_the_trainer),
		T(dead_runner_is_an_error_not_a_hang),
		T(stop_request_ends_the_loop_cleanly),
		T(trainer_that_never_asks_is_ended_after_its_checkpoint),
		T(dvc_file_protocol),
		T(no_checkpoint_without_the_variable),
		T(bad_descriptor_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
