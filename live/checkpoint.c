/*
 * Checkpoint signalling (SPEC 3): when the runner asks for checkpoints
 * (DVC_CHECKPOINT=1), every step end blocks until the runner has taken a
 * consistent snapshot of the outputs.
 *
 * Two channels:
 *  - the fast one, our own: `live exp run` passes one end of a socket pair
 *    as LIVE_CHECKPOINT_FD. The trainer writes "checkpoint <step>\n" and reads
 *    one reply line, "ok ..." or "error <why>". No polling; a closed socket
 *    (the runner died) is an error at once, never a hang.
 *  - DVC 2.x's file protocol, for a C trainer under real DVC: create
 *    $DVC_ROOT/.dvc/tmp/DVC_CHECKPOINT (fsynced) and wait until the runner
 *    deletes it, woken by inotify rather than dvclive's 0.1 s sleep. `live
 *    exp run` adds one thing: when a checkpoint fails it leaves the reason in
 *    DVC_CHECKPOINT.error before deleting the file, and the step fails with
 *    it (DVC writes none: a checkpoint under DVC never fails here).
 *
 * The channel belongs to the process, not to a run: it is set up once, from
 * the environment, and one mutex serialises its exchanges.
 *
 * Under a launcher (`mpirun -np 2 ./train` as the stage command; the
 * process has a rank variable, as env.c reads them): only rank 0 takes
 * checkpoints; other ranks never signal, whatever per_rank says. Open MPI
 * closes every inherited descriptor in the processes it starts, so the
 * number in LIVE_CHECKPOINT_FD may be closed there, or already reused by the
 * launcher's own sockets, which must never see a request: the descriptor is
 * used only if it is a connected, unnamed AF_UNIX stream socket made by
 * another process (the runner's socketpair). Otherwise, under a launcher,
 * rank 0 falls back to the file protocol, which both runners serve; without
 * one it is an error, as before.
 *
 * Stopping: when the runner sets LIVE_STOP_SIGNALS=1, SIGINT and SIGTERM set
 * a flag instead of killing the trainer; a loop that polls
 * live_stop_requested() finishes its step and ends cleanly. A trainer that
 * never asks is ended by the signal as usual, right after the step's
 * checkpoint, and a second signal ends it at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "run.h"

enum { CK_OFF, CK_FAST, CK_FILE, CK_BROKEN };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int mode = CK_OFF;
static int fast_fd = -1;
static char signal_dir[PATH_MAX];  /* <root>/.dvc/tmp */
static char signal_file[PATH_MAX]; /* <root>/.dvc/tmp/DVC_CHECKPOINT */
static char runner_lock[PATH_MAX]; /* <root>/.dvc/tmp/live-exp-run.lock, held by `live exp run` */
static char broken_why[256];

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t asked;

static void on_stop(int sig)
{
	if (stop_signal) {
		/* A second signal: the user means it. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

static int truthy(const char *s)
{
	return s && (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "y"));
}

/* dvclive walks up from the working directory to the folder holding .dvc/. */
static int find_root(char *root, size_t size)
{
	const char *env = getenv("DVC_ROOT");
	if (env && *env) {
		snprintf(root, size, "%s", env);
		return 0;
	}
	if (!getcwd(root, size))
		return -1;
	for (;;) {
		char probe[PATH_MAX + 8];
		struct stat st;
		snprintf(probe, sizeof(probe), "%s/.dvc", root);
		if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		char *slash = strrchr(root, '/');
		if (!slash || slash == root)
			return -1;
		*slash = 0;
	}
}

/* The runner's end of its socketpair, or something else that happens to have the number? */
static int is_runner_socket(int fd)
{
	struct stat st;
	int type;
	struct sockaddr_un peer;
	struct ucred cred;
	socklen_t len = sizeof(type);
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		return 0;
	/* a socketpair's peer has no name; a connection to a listening socket has one */
	len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0 || peer.sun_family != AF_UNIX ||
	    len != sizeof(sa_family_t))
		return 0;
	/* a socketpair's credentials are its creator's: not ours, or it is our own library's */
	len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid != getpid();
}

static void setup(void)
{
	if (truthy(getenv("LIVE_STOP_SIGNALS"))) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	if (!truthy(getenv("DVC_CHECKPOINT")))
		return;
	int rank;
	if (live__launcher_rank(&rank))
		rank = -1; /* a bad value fails live_init (env.c) */
	if (rank > 0)
		return; /* rank 0 alone checkpoints */
	const char *fd = getenv("LIVE_CHECKPOINT_FD");
	int lost = 0; /* the runner's socket did not reach us through the launcher */
	if (fd && *fd) {
		char *end;
		long v = strtol(fd, &end, 10);
		int is_open = !*end && v >= 0 && v <= INT_MAX && fcntl((int)v, F_GETFD) >= 0;
		if (is_open && is_runner_socket((int)v)) {
			fast_fd = (int)v;
			fcntl(fast_fd, F_SETFD, FD_CLOEXEC); /* not for the trainer's own children */
			mode = CK_FAST;
			return;
		}
		if (rank < 0) {
			mode = CK_BROKEN;
			snprintf(broken_why, sizeof(broken_why),
				 is_open ? "checkpoint: LIVE_CHECKPOINT_FD='%.32s' is not the runner's socket"
				      : "checkpoint: LIVE_CHECKPOINT_FD='%.32s' is not an open descriptor",
				 fd);
			return;
		}
		lost = 1;
	}
	char root[PATH_MAX];
	if (find_root(root, sizeof(root)) != 0) {
		if (lost) {
			mode = CK_BROKEN;
			snprintf(broken_why, sizeof(broken_why),
				 "checkpoint: LIVE_CHECKPOINT_FD='%.32s' did not survive the launcher, and there is "
				 "no DVC repository (DVC_ROOT) for the file protocol",
				 fd);
		}
		return; /* no DVC repository: dvclive makes no checkpoint either */
	}
	snprintf(signal_dir, sizeof(signal_dir), "%.4000s/.dvc/tmp", root);
	snprintf(signal_file, sizeof(signal_file), "%.4000s/.dvc/tmp/DVC_CHECKPOINT", root);
	/* LIVE_CHECKPOINT_FD says the runner is `live exp run`, which holds this lock while it runs
	 * (under DVC, a lock file left by an earlier `live exp run` says nothing) */
	if (lost)
		snprintf(runner_lock, sizeof(runner_lock), "%.4000s/.dvc/tmp/live-exp-run.lock", root);
	mode = CK_FILE;
}

int live__ckpt_enabled(void)
{
	pthread_once(&once, setup);
	return mode != CK_OFF;
}

static int fail_broken(const char *fmt, const char *detail)
{
	mode = CK_BROKEN;
	snprintf(broken_why, sizeof(broken_why), fmt, detail);
	return live__fail(LIVE_ECHECKPOINT, "%s", broken_why);
}

static int signal_fast(long long step)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "checkpoint %lld\n", step);
	for (int off = 0; off < n;) {
		ssize_t w = send(fast_fd, msg + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail_broken("checkpoint: the runner is gone (%s)", strerror(errno));
		off += (int)w;
	}
	char reply[512];
	size_t len = 0;
	while (len < sizeof(reply) - 1) {
		ssize_t r = recv(fast_fd, reply + len, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fail_broken("checkpoint: the runner is gone (%s)",
					   r == 0 ? "channel closed" : strerror(errno));
		if (reply[len] == '\n')
			break;
		len++;
	}
	reply[len] = 0;
	if (!strncmp(reply, "ok", 2)) {
		/* The runner was interrupted: a signal that came before our handler was set is not lost. */
		if (len >= 5 && !strcmp(reply + len - 5, " stop") && truthy(getenv("LIVE_STOP_SIGNALS")) &&
		    !stop_signal)
			stop_signal = SIGINT;
		return 0;
	}
	if (!strncmp(reply, "error ", 6))
		return live__fail(LIVE_ECHECKPOINT, "checkpoint: %s", reply + 6);
	return fail_broken("checkpoint: unexpected reply from the runner: '%.200s'", reply);
}

/*
 * Is the runner gone? Our parent exiting says so for a trainer that the runner
 * (or its shell) started. Under a launcher, the parent is the launcher, which
 * outlives a killed runner; `live exp run` holds a flock on its repository lock
 * for as long as it runs, so a free lock says it too. (A shared lock taken for
 * an instant: it never blocks a runner that still holds its own. A new run
 * starting in that instant, after the old one died, would be refused once.)
 */
static int runner_gone(pid_t parent)
{
	if (getppid() != parent)
		return 1;
	if (!runner_lock[0])
		return 0; /* not `live exp run` (real DVC): the parent is all we can watch */
	int fd = open(runner_lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int unheld = flock(fd, LOCK_SH | LOCK_NB) == 0;
	close(fd); /* drops the lock */
	return unheld;
}

static int signal_file_protocol(void)
{
	int in = inotify_init1(IN_CLOEXEC);
	if (in >= 0 && inotify_add_watch(in, signal_dir, IN_DELETE | IN_MOVED_FROM) < 0) {
		close(in);
		in = -1;
	}
	char error_file[PATH_MAX + 8];
	snprintf(error_file, sizeof(error_file), "%s.error", signal_file);
	unlink(error_file); /* a stale reason must not fail this checkpoint */
	int fd = open(signal_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;
		if (in >= 0)
			close(in);
		return live__fail_errno(LIVE_ECHECKPOINT, err, "checkpoint: create %s", signal_file);
	}
	fsync(fd);
	close(fd);
	pid_t parent = getppid();
	struct stat st;
	while (stat(signal_file, &st) == 0) {
		if (runner_gone(parent)) {
			int orphan = getppid() != parent;
			if (in >= 0)
				close(in);
			unlink(signal_file);
			return fail_broken("checkpoint: the runner is gone (%s)",
					   orphan ? "parent process exited" : "its repository lock is free");
		}
		/* inotify wakes us at the deletion; the timeout re-checks the parent. */
		struct pollfd p = { .fd = in, .events = POLLIN };
		if (in >= 0 && poll(&p, 1, 500) > 0) {
			char buf[4096];
			(void)!read(in, buf, sizeof(buf));
		} else if (in < 0) {
			usleep(10000);
		}
	}
	if (in >= 0)
		close(in);
	/* `live exp run` leaves the reason of a failed checkpoint beside the file it deleted. */
	FILE *f = fopen(error_file, "r");
	if (!f)
		return 0;
	char why[400] = "";
	size_t n = fread(why, 1, sizeof(why) - 1, f);
	fclose(f);
	unlink(error_file);
	why[n] = 0;
	why[strcspn(why, "\n")] = 0;
	return live__fail(LIVE_ECHECKPOINT, "checkpoint: %s", why[0] ? why : "failed in the runner");
}

int live__ckpt_signal(long long step)
{
	pthread_once(&once, setup);
	if (mode == CK_OFF)
		return 0;
	pthread_mutex_lock(&lock);
	int rc;
	if (mode == CK_BROKEN)
		rc = live__fail(LIVE_ECHECKPOINT, "%s", broken_why);
	else if (mode == CK_FAST)
		rc = signal_fast(step);
	else
		rc = signal_file_protocol();
	pthread_mutex_unlock(&lock);
	return rc;
}

void live__ckpt_after_step(void)
{
	/* A trainer that never asks whether to stop is stopped by the signal,
	 * now that its step is safely checkpointed. */
	if (stop_signal && !asked) {
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
}

int live_stop_requested(void)
{
	pthread_once(&once, setup);
	asked = 1;
	return stop_signal != 0;
}
