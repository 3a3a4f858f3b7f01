/*
 * The stage runner: spawns the command with /bin/sh -c and serves checkpoint
 * requests from both channels until it exits.
 *
 *  - The fast channel is a socket pair; the child's end is LIVE_CHECKPOINT_FD.
 *  - DVC's file protocol: a trainer (dvclive 0.x in Python, or liblive
 *    without our socket) creates .dvc/tmp/DVC_CHECKPOINT and waits for it to
 *    disappear. inotify reports the file the moment it is closed, so there is
 *    none of DVC's one-second poll.
 *
 * Signals: the runner does not die of Ctrl+C. The stage runs in its own
 * process group, so a Ctrl+C (or a SIGINT/SIGTERM sent to the runner) reaches
 * the runner alone, which passes it on to the whole stage once: with
 * `/bin/sh -c` in between, signalling only the shell would not reach the
 * trainer. The trainer stops after its step; a checkpoint reply also says
 * "stop", in case the signal came before the trainer could catch it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"
#include "runner.h"

#define SIGNAL_NAME "DVC_CHECKPOINT"

static pid_t spawn(const runner_opts *o, int child_fd, const sigset_t *oldmask)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* The child: its own process group (so that one signal reaches the whole
	 * stage, shell and trainer alike), default signal handling, the channel
	 * kept open across exec. */
	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (child_fd >= 0) {
		int flags = fcntl(child_fd, F_GETFD);
		fcntl(child_fd, F_SETFD, flags & ~FD_CLOEXEC);
		char num[16];
		snprintf(num, sizeof(num), "%d", child_fd);
		setenv("LIVE_CHECKPOINT_FD", num, 1);
	}
	for (char **e = o->env; e && *e; e++)
		putenv(*e);
	if (o->wdir && chdir(o->wdir) != 0) {
		fprintf(stderr, "ERROR: cannot enter %s: %s\n", o->wdir, strerror(errno));
		_exit(127);
	}
	execl("/bin/sh", "sh", "-c", o->cmd, (char *)NULL);
	fprintf(stderr, "ERROR: cannot run /bin/sh: %s\n", strerror(errno));
	_exit(127);
}

/* One request line from the trainer: "checkpoint <step>". -1 at EOF. */
static int read_request(int fd, long long *step)
{
	char line[128];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	return sscanf(line, "checkpoint %lld", step) == 1 ? 0 : -2;
}

static void serve_fast(const runner_opts *o, int fd, runner_result *res, int *open)
{
	long long step;
	int rc = read_request(fd, &step);
	if (rc == -1) {
		*open = 0; /* the trainer closed its end (exited) */
		return;
	}
	char reply[512] = "";
	char line[600];
	if (rc == -2) {
		snprintf(line, sizeof(line), "error malformed request\n");
	} else if (o->checkpoint(o->ctx, step, reply, sizeof(reply)) == 0) {
		res->checkpoints++;
		/* "stop": the user interrupted the run, even if the trainer missed the signal. */
		snprintf(line, sizeof(line), "ok %s%s\n", reply, res->interrupted ? " stop" : "");
	} else {
		res->failed_checkpoints++;
		snprintf(line, sizeof(line), "error %s\n", reply);
	}
	(void)!send(fd, line, strlen(line), MSG_NOSIGNAL);
}

static void serve_file(const runner_opts *o, const char *path, runner_result *res)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	char reply[512] = "";
	if (o->checkpoint(o->ctx, -1, reply, sizeof(reply)) == 0) {
		res->checkpoints++;
	} else {
		res->failed_checkpoints++;
		fprintf(stderr, "ERROR: checkpoint failed: %s\n", reply);
		/* live's addition to DVC's protocol: the reason, in <file>.error, before the
		 * release; liblive reads it (DVC never writes one, and ignores it). */
		char err[4300], tmp[4400];
		snprintf(err, sizeof(err), "%s.error", path);
		snprintf(tmp, sizeof(tmp), "%s.tmp", err);
		(void)live__write_atomic(AT_FDCWD, err, tmp, err, reply, strlen(reply));
	}
	/* Deleting the file releases the trainer, success or not (as DVC does). */
	unlink(path);
}

int runner_run(const runner_opts *o, runner_result *res)
{
	memset(res, 0, sizeof(*res));
	int sv[2] = { -1, -1 };
	if (o->checkpoint && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return cli_error("socketpair: %s", strerror(errno));

	char signal_path[4200] = "";
	int in = -1;
	if (o->checkpoint && o->dvc_tmp) {
		snprintf(signal_path, sizeof(signal_path), "%s/%s", o->dvc_tmp, SIGNAL_NAME);
		unlink(signal_path); /* left by a killed run */
		char stale[4300];
		snprintf(stale, sizeof(stale), "%s.error", signal_path);
		unlink(stale);
		in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in >= 0 && inotify_add_watch(in, o->dvc_tmp, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
			close(in);
			in = -1;
		}
	}

	sigset_t mask, oldmask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	fflush(NULL);
	pid_t pid = spawn(o, sv[1], &oldmask);
	if (pid > 0)
		setpgid(pid, pid); /* also here: whichever of the two runs first */
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		return cli_error("fork: %s", strerror(errno));
	}

	int fast_open = sv[0] >= 0, status = 0, done = 0, forwarded = 0;
	while (!done) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = fast_open ? sv[0] : -1, .events = POLLIN },
			{ .fd = in, .events = POLLIN },
		};
		/* Without inotify, fall back to a short poll of the signal file. */
		int timeout = signal_path[0] && in < 0 ? 20 : -1;
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			serve_fast(o, sv[0], res, &fast_open);
		if (p[2].revents) {
			char buf[4096];
			while (read(in, buf, sizeof(buf)) > 0)
				;
		}
		if (signal_path[0] && (p[2].revents || in < 0))
			serve_file(o, signal_path, res);
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				res->interrupted = 1;
				/* The stage has its own group, so the terminal's Ctrl+C reached only
				 * us: pass the first signal to all of the stage, once. */
				if (!forwarded) {
					kill(-pid, (int)si.ssi_signo);
					forwarded = 1;
				}
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			done = 1;
	}
	/* A request made just before the trainer exited is still answered. */
	if (signal_path[0])
		serve_file(o, signal_path, res);
	if (sv[0] >= 0)
		close(sv[0]);
	if (in >= 0)
		close(in);
	/* Signals still pending would kill the runner once unblocked: consume them. */
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			res->interrupted = 1;
	close(sfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		res->exit_code = 128 + res->signal;
	} else {
		res->exit_code = WEXITSTATUS(status);
	}
	return 0;
}
