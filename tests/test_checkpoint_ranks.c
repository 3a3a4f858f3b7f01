/*
 * The checkpoint channel under a launcher (live/checkpoint.c; issue #8): a
 * trainer started by `mpirun` (a rank variable in its environment) whose
 * LIVE_CHECKPOINT_FD did not survive the launcher.
 *
 *  - a rank other than 0 never signals, on either channel, even with per_rank;
 *  - rank 0 with the descriptor closed falls back to the file protocol;
 *  - a descriptor number that is open on something else (a pipe, a named
 *    socket, a socketpair of the trainer's own) is never written to: an error
 *    without a launcher, the file protocol under one;
 *  - under the file protocol, a runner that is gone (its repository lock
 *    free) is an error, not a hang; a stale lock file under real DVC is not.
 *
 * As tests/test_checkpoint.c: the trainer runs in a forked child, the test
 * plays the runner.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "testutil.h"

#define STEPS 3
#define SIGNAL_FILE ".dvc/tmp/DVC_CHECKPOINT"
#define LOCK_FILE ".dvc/tmp/live-exp-run.lock"

/*
 * The trainer: STEPS steps. Exit 0 when all went through; 70 + step when
 * the runner is gone; 90 + step on another checkpoint error; its last
 * error message goes to errmsg.txt.
 */
static void trainer(int per_rank)
{
	alarm(30); /* a trainer stuck in a checkpoint fails the case, never hangs it */
	live_options o = LIVE_OPTIONS_INIT;
	o.per_rank = per_rank ? LIVE_ON : LIVE_DEFAULT;
	if (live_init(&o) != 0)
		_exit(100);
	for (int i = 0; i < STEPS; i++) {
		live_log("loss", 1.0 / (i + 1));
		int rc = live_next_step();
		if (rc) {
			FILE *f = fopen("errmsg.txt", "w");
			if (f) {
				fputs(live_errmsg(), f);
				fclose(f);
			}
			_exit(rc != LIVE_ECHECKPOINT ? 99 : strstr(live_errmsg(), "the runner is gone") ? 70 + i : 90 + i);
		}
	}
	live_close();
	_exit(0);
}

/* The environment of a child under `live exp run`, less the descriptor; `rank` NULL: no launcher. */
static void child_env(const char *rank)
{
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	setenv("DVC_CHECKPOINT", "1", 1);
	setenv("DVC_ROOT", cwd, 1);
	unsetenv("LIVE_CHECKPOINT_FD");
	unsetenv("LIVE_STOP_SIGNALS");
	unsetenv("RANK");
	unsetenv("PMI_RANK");
	unsetenv("SLURM_PROCID");
	unsetenv("OMPI_COMM_WORLD_RANK");
	if (rank)
		setenv("OMPI_COMM_WORLD_RANK", rank, 1);
}

static int wait_exit(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int setup(void **state)
{
	tu_enter_tmpdir(state);
	assert_int_equal(mkdir(".dvc", 0755), 0);
	assert_int_equal(mkdir(".dvc/tmp", 0755), 0);
	return 0;
}

/* Serve STEPS checkpoints of the file protocol (as the runner does: wait for the file, delete it). */
static void serve_file_protocol(pid_t pid)
{
	for (int i = 0; i < STEPS; i++) {
		for (int waited = 0; !tu_exists(SIGNAL_FILE); waited++) {
			if (waited > 20000)
				fail_msg("no signal file for step %d", i);
			if (waitpid(pid, NULL, WNOHANG) != 0)
				fail_msg("the trainer exited before checkpoint %d", i);
			usleep(1000);
		}
		assert_int_equal(unlink(SIGNAL_FILE), 0);
	}
}

/* Rows in a history file (the header aside). */
static int rows(const char *path)
{
	char *text = tu_read_file(path);
	assert_non_null(text);
	int n = -1;
	for (char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	free(text);
	return n;
}

static void rank_1_never_signals(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		child_env("1");
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", sv[1]);
		setenv("LIVE_CHECKPOINT_FD", fd, 1);
		trainer(1); /* per_rank: this rank writes, to dvclive_rank1 */
	}
	close(sv[1]);
	assert_int_equal(wait_exit(pid), 0);
	/* nothing came down the socket, and no signal file was made (nobody would have deleted it) */
	char buf[64];
	assert_int_equal(read(sv[0], buf, sizeof(buf)), 0);
	close(sv[0]);
	assert_false(tu_exists(SIGNAL_FILE));
	assert_int_equal(rows("dvclive_rank1/loss.tsv"), STEPS);
	assert_false(tu_exists("dvclive"));
}

static void rank_1_without_descriptor_makes_no_signal_file(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_env("1");
		trainer(1);
	}
	assert_int_equal(wait_exit(pid), 0);
	assert_false(tu_exists(SIGNAL_FILE));
	assert_int_equal(rows("dvclive_rank1/loss.tsv"), STEPS);
}

static void rank_0_with_a_lost_descriptor_uses_the_file_protocol(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_env("0");
		setenv("LIVE_CHECKPOINT_FD", "987", 1); /* closed, as Open MPI leaves it */
		trainer(0);
	}
	serve_file_protocol(pid);
	assert_int_equal(wait_exit(pid), 0);
	assert_int_equal(rows("dvclive/loss.tsv"), STEPS);
}

/*
 * Descriptor 50 of the child, open on something that is not the runner's
 * socketpair (what = "pipe", "named socket", "own socketpair"). Under a
 * launcher (rank "0") the file protocol must be used, otherwise it is an
 * error naming the variable; either way nothing is written to it.
 */
static void check_foreign_descriptor(const char *what, const char *rank)
{
	const char *sock_path = "s.sock";
	int listener = -1, peer_end = -1;
	if (!strcmp(what, "named socket")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
		listener = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(listener >= 0);
		assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(listener, 1), 0);
	}
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = -1;
		if (!strcmp(what, "pipe")) {
			fd = pipefd[1];
		} else if (!strcmp(what, "named socket")) {
			struct sockaddr_un a = { .sun_family = AF_UNIX };
			snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
				_exit(120);
		} else {
			int sv[2];
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
				_exit(121);
			fd = sv[1];
		}
		if (dup2(fd, 50) != 50)
			_exit(122);
		child_env(rank);
		setenv("LIVE_CHECKPOINT_FD", "50", 1);
		trainer(0);
	}
	close(pipefd[1]);
	if (listener >= 0) {
		peer_end = accept(listener, NULL, NULL);
		assert_true(peer_end >= 0);
	}
	if (rank) {
		serve_file_protocol(pid);
		assert_int_equal(wait_exit(pid), 0);
	} else {
		assert_int_equal(wait_exit(pid), 90);
		char *msg = tu_read_file("errmsg.txt");
		assert_non_null(msg);
		assert_string_equal(msg, "checkpoint: LIVE_CHECKPOINT_FD='50' is not the runner's socket");
		free(msg);
		assert_false(tu_exists(SIGNAL_FILE));
	}
	/* not one byte reached the pipe or the socket */
	char buf[64];
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 0);
	close(pipefd[0]);
	if (peer_end >= 0) {
		assert_int_equal(read(peer_end, buf, sizeof(buf)), 0);
		close(peer_end);
		close(listener);
		unlink(sock_path);
	}
	unlink("errmsg.txt");
	unlink("dvclive.json");
}

static void foreign_descriptor_is_never_written_to(void **state)
{
	(void)state;
	static const char *const whats[] = { "pipe", "named socket", "own socketpair" };
	for (size_t i = 0; i < sizeof(whats) / sizeof(*whats); i++) {
		check_foreign_descriptor(whats[i], NULL);
		check_foreign_descriptor(whats[i], "0");
	}
}

static void lost_descriptor_without_a_repository_is_an_error(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_env("0");
		setenv("DVC_ROOT", "", 1);
		assert_int_equal(rmdir(".dvc/tmp"), 0);
		assert_int_equal(rmdir(".dvc"), 0);
		setenv("LIVE_CHECKPOINT_FD", "987", 1);
		trainer(0);
	}
	assert_int_equal(wait_exit(pid), 90);
	char *msg = tu_read_file("errmsg.txt");
	assert_non_null(msg);
	assert_string_equal(msg, "checkpoint: LIVE_CHECKPOINT_FD='987' did not survive the launcher, and there is no "
				 "DVC repository (DVC_ROOT) for the file protocol");
	free(msg);
}

static void runner_gone_under_a_launcher_is_an_error_not_a_hang(void **state)
{
	(void)state;
	/* the runner: alive while it holds its repository lock */
	int lock = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX | LOCK_NB), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(lock); /* a flock belongs to the open file: our copy would keep it held */
		child_env("0");
		setenv("LIVE_CHECKPOINT_FD", "987", 1);
		trainer(0);
	}
	/* checkpoint 0 served; at checkpoint 1 the runner dies without deleting the file */
	for (int waited = 0; !tu_exists(SIGNAL_FILE); waited++) {
		assert_true(waited < 20000);
		usleep(1000);
	}
	assert_int_equal(unlink(SIGNAL_FILE), 0);
	for (int waited = 0; !tu_exists(SIGNAL_FILE); waited++) {
		assert_true(waited < 20000);
		usleep(1000);
	}
	usleep(20000);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still waiting: the lock is held */
	close(lock);
	assert_int_equal(wait_exit(pid), 71);
	char *msg = tu_read_file("errmsg.txt");
	assert_non_null(msg);
	assert_string_equal(msg, "checkpoint: the runner is gone (its repository lock is free)");
	free(msg);
	assert_false(tu_exists(SIGNAL_FILE)); /* taken back */
}

/* `live exp run` failed checkpoint 1: its reason, left in DVC_CHECKPOINT.error, fails that step. */
static void failed_checkpoint_reason_reaches_rank_0(void **state)
{
	(void)state;
	tu_write_file(SIGNAL_FILE ".error", "stale: from a killed run\n"); /* must not fail checkpoint 0 */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_env("0");
		setenv("LIVE_CHECKPOINT_FD", "987", 1);
		trainer(0);
	}
	for (int i = 0; i < 2; i++) {
		for (int waited = 0; !tu_exists(SIGNAL_FILE); waited++) {
			assert_true(waited < 20000);
			usleep(1000);
		}
		if (i == 1)
			tu_write_file(SIGNAL_FILE ".error", "stage 'train': output 'model.pt' does not exist\n");
		assert_int_equal(unlink(SIGNAL_FILE), 0);
	}
	assert_int_equal(wait_exit(pid), 91);
	char *msg = tu_read_file("errmsg.txt");
	assert_non_null(msg);
	assert_string_equal(msg, "checkpoint: stage 'train': output 'model.pt' does not exist");
	free(msg);
	assert_false(tu_exists(SIGNAL_FILE ".error")); /* read once, then gone */
}

static void stale_lock_file_means_nothing_under_dvc(void **state)
{
	(void)state;
	/* left by an earlier `live exp run`, nobody holds it; DVC (no LIVE_CHECKPOINT_FD) serves the run */
	tu_write_file(LOCK_FILE, "pid 1\n");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_env("0");
		trainer(0);
	}
	serve_file_protocol(pid);
	assert_int_equal(wait_exit(pid), 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, tu_leave_tmpdir)
	const struct CMUnitTest tests[] = {
		T(rank_1_never_signals),
		T(rank_1_without_descriptor_makes_no_signal_file),
		T(rank_0_with_a_lost_descriptor_uses_the_file_protocol),
		T(foreign_descriptor_is_never_written_to),
		T(lost_descriptor_without_a_repository_is_an_error),
		T(runner_gone_under_a_launcher_is_an_error_not_a_hang),
		T(stale_lock_file_means_nothing_under_dvc),
		T(failed_checkpoint_reason_reaches_rank_0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
