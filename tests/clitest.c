/* Shared helpers of the CLI end-to-end tests (clitest.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clitest.h"
#include "testutil.h"

#ifndef LIVE_BIN
#error "LIVE_BIN (the live executable) must be defined by the build"
#endif

#define NOBODY 65534
#define MEMORY_CAP (1536LL << 20)  /* RSS past which a command is killed */
#define DEFAULT_TIMEOUT_MS 120000

char ct_base_dir[512];
char ct_home_dir[600];
char ct_scratch_dir[600];
pid_t ct_bg_pid = -1;
static char test_name[64];

/* ---- memory that lives until the case's teardown ------------------------------ */

static void **arena;
static size_t arena_n, arena_cap;

void *keep(void *p)
{
	assert_non_null(p);
	if (arena_n == arena_cap) {
		arena_cap = arena_cap ? arena_cap * 2 : 64;
		arena = realloc(arena, arena_cap * sizeof(*arena));
		assert_non_null(arena);
	}
	arena[arena_n++] = p;
	return p;
}

char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return keep(s);
}

/* ---- process set-up and the per-case fixtures --------------------------------- */

int ct_begin(const char *name, ...)
{
	snprintf(test_name, sizeof(test_name), "%s", name);
	va_list ap;
	va_start(ap, name);
	for (const char *exe = va_arg(ap, const char *); exe; exe = va_arg(ap, const char *))
		if (access(exe, X_OK) != 0) {
			fprintf(stderr, "%s: %s is missing: build it first\n", name, exe);
			va_end(ap);
			return 1;
		}
	va_end(ap);
	const char *tmp = getenv("TMPDIR");
	snprintf(ct_base_dir, sizeof(ct_base_dir), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(ct_base_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ct_home_dir, sizeof(ct_home_dir), "%s/home", ct_base_dir);
	snprintf(ct_scratch_dir, sizeof(ct_scratch_dir), "%s/scratch", ct_base_dir);
	/* open to nobody, for the cases that run as nobody */
	if (mkdir(ct_home_dir, 0755) != 0 || mkdir(ct_scratch_dir, 0700) != 0 || chmod(ct_base_dir, 0755) != 0) {
		perror("mkdir");
		return 1;
	}
	char xdg[700];
	snprintf(xdg, sizeof(xdg), "%s/.config", ct_home_dir);
	setenv("HOME", ct_home_dir, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	static const char *const unset[] = {
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_CEILING_DIRECTORIES",
		"GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_COUNT", "GIT_AUTHOR_NAME",
		"GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
		"GIT_COMMITTER_DATE", "EMAIL", "DVC_ROOT", "DVC_CHECKPOINT", "DVCLIVE_PATH", "DVCLIVE_SUMMARY",
		"DVCLIVE_HTML", "DVCLIVE_RESUME", "LIVE_LAYOUT", "LIVE_SUMMARY_INTERVAL_MS", "LIVE_PARAMS_FILE",
		"LIVE_STOP_SIGNALS", "LIVE_CHECKPOINT_FD", "LIVE_IO_STATS", "RANK", "OMPI_COMM_WORLD_RANK",
		"PMI_RANK", "SLURM_PROCID", "PAGER", "LESS", "COLUMNS", "LINES", "NO_COLOR",
	};
	for (size_t i = 0; i < sizeof(unset) / sizeof(*unset); i++)
		unsetenv(unset[i]);
	return 0;
}

int ct_end(int rc)
{
	char *cmd = NULL;
	if (asprintf(&cmd, "chmod -R u+rwX '%s' 2>/dev/null; rm -rf '%s'", ct_base_dir, ct_base_dir) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "%s: could not remove %s\n", test_name, ct_base_dir);
		free(cmd);
	}
	return rc;
}

int ct_setup(void **state)
{
	return tu_enter_tmpdir(state);
}

int ct_teardown(void **state)
{
	if (ct_bg_pid > 0) {
		kill(-ct_bg_pid, SIGKILL);
		kill(ct_bg_pid, SIGKILL);
		waitpid(ct_bg_pid, NULL, 0);
		ct_bg_pid = -1;
	}
	for (size_t i = 0; i < arena_n; i++)
		free(arena[i]);
	arena_n = 0;
	return tu_leave_tmpdir(state);
}

pid_t ct_live_bg(const char *out_path, const char *err_path, ...)
{
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)LIVE_BIN;
	va_list ap;
	va_start(ap, err_path);
	for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
		assert_true(n < 63);
		argv[n++] = (char *)a;
	}
	va_end(ap);
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = open("/dev/null", O_RDONLY);
		if (o < 0 || e < 0 || in < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		dup2(in, 0);
		execv(LIVE_BIN, argv);
		_exit(127);
	}
	ct_bg_pid = pid;
	return pid;
}

/* ---- files -------------------------------------------------------------------- */

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, r;
	char *s = malloc(cap);
	assert_non_null(s);
	while ((r = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			s = realloc(s, cap *= 2);
			assert_non_null(s);
		}
	}
	fclose(f);
	s[n] = 0;
	if (len)
		*len = n;
	return keep(s);
}

char *must_read(const char *path)
{
	char *s = slurp(path, NULL);
	if (!s)
		fail_msg("cannot read %s", path);
	return s;
}

void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int count_substr(const char *s, const char *needle)
{
	int n = 0;
	size_t k = strlen(needle);
	for (const char *p = strstr(s, needle); p; p = strstr(p + k, needle))
		n++;
	return n;
}

/* ---- running programs, with a watchdog ------------------------------------------ */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long rss_bytes(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	FILE *f = fopen(path, "r");
	long long size = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%lld %lld", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

void ct_drain(int fd, char **buf, size_t *len, size_t *cap, int *open)
{
	if (*len + 4097 > *cap) {
		*cap = (*cap + 4097) * 2;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	ssize_t r = read(fd, *buf + *len, 4096);
	if (r > 0)
		*len += (size_t)r;
	else if (r == 0 || (errno != EINTR && errno != EAGAIN))
		*open = 0;
	(*buf)[*len] = 0;
}

/* argv quoted for a message: 'live' 'exp' ..., control bytes as \xNN, long ones cut. */
static char *show_argv(char *const argv[])
{
	size_t cap = 256, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	for (int i = 0; argv[i]; i++) {
		const char *a = i == 0 && !strcmp(argv[i], LIVE_BIN) ? "live" : argv[i];
		size_t len = strlen(a), shown = len > 120 ? 120 : len;
		if (n + shown * 4 + 16 > cap) {
			cap = (n + shown * 4 + 16) * 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		n += (size_t)sprintf(s + n, "%s'", i ? " " : "");
		for (size_t k = 0; k < shown; k++) {
			unsigned char c = (unsigned char)a[k];
			n += (size_t)(c < 0x20 || c >= 0x7f ? sprintf(s + n, "\\x%02x", c) : sprintf(s + n, "%c", c));
		}
		n += (size_t)sprintf(s + n, "%s'", len > 120 ? "..." : "");
	}
	s[n] = 0;
	return keep(s);
}

static void child(const run_opts *o, int out, int err, char *const argv[])
{
	setpgid(0, 0);
	dup2(out, 1);
	dup2(err, 2);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, 0);
	for (int i = 0; o->env && o->env[i]; i++)
		putenv((char *)o->env[i]);
	if (o->fsize_limit > 0) {
		struct rlimit rl = { (rlim_t)o->fsize_limit, (rlim_t)o->fsize_limit };
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
			dprintf(2, "setrlimit: %s\n", strerror(errno));
			_exit(126);
		}
	}
	if (o->as_nobody) {
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
			dprintf(2, "cannot become nobody: %s\n", strerror(errno));
			_exit(126);
		}
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); /* sanitizers read /proc/self */
	}
	execv(argv[0], argv);
	dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Run argv (no shell) in the current directory, stdin from /dev/null, stdout
 * and stderr captured apart. The child leads its own process group; past its
 * time limit or MEMORY_CAP of RSS the group is killed and the case fails. A
 * death by signal (unless allowed) or a sanitizer report fails it too.
 */
result run_ex(const run_opts *o, char *const argv[])
{
	run_opts none = { 0 };
	if (!o)
		o = &none;
	int timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	int po[2], pe[2];
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
	double t0 = now_s();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(o, po[1], pe[1], argv);
	setpgid(pid, pid); /* whichever of the two runs first */
	close(po[1]);
	close(pe[1]);
	size_t ol = 0, oc = 8192, el = 0, ec = 8192;
	char *ob = malloc(oc), *eb = malloc(ec);
	assert_non_null(ob);
	assert_non_null(eb);
	ob[0] = eb[0] = 0;
	int oo = 1, eo = 1, exited = 0, st = 0;
	const char *killed = NULL;
	double killed_at = 0;
	long long peak = 0;
	while (oo || eo || !exited) {
		struct pollfd p[2] = { { .fd = oo ? po[0] : -1, .events = POLLIN },
				       { .fd = eo ? pe[0] : -1, .events = POLLIN } };
		int n = poll(p, 2, oo || eo ? 50 : 2); /* both closed: only the exit is awaited */
		if (n < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (n > 0 && p[0].revents)
			ct_drain(po[0], &ob, &ol, &oc, &oo);
		if (n > 0 && p[1].revents)
			ct_drain(pe[0], &eb, &el, &ec, &eo);
		if (!exited && waitpid(pid, &st, WNOHANG) == pid)
			exited = 1;
		double t = now_s();
		if (!exited && !killed) {
			long long rss = rss_bytes(pid);
			peak = rss > peak ? rss : peak;
			if ((t - t0) * 1000 > timeout_ms)
				killed = "time limit";
			else if (rss > MEMORY_CAP)
				killed = "memory cap";
			if (killed) {
				killed_at = t;
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
			}
		}
		/* A grandchild in another group may hold the pipes: stop waiting for them. */
		if (killed && exited && t - killed_at > 2)
			break;
		if (!killed && exited && (oo || eo) && t - t0 > (double)timeout_ms / 1000 + 5)
			break;
	}
	close(po[0]);
	close(pe[0]);
	result r = { 0, keep(ob), keep(eb), show_argv(argv), now_s() - t0 };
	if (killed)
		fail_msg("%s: killed by the watchdog (%s) after %.1f s, peak RSS %lld MB: a hang or runaway "
			 "memory\nstderr: %.3000s",
			 r.cmd, killed, r.secs, peak >> 20, r.err);
	if (WIFSIGNALED(st) && !o->allow_signal)
		fail_msg("%s: died of signal %d (%s)\nstderr: %.3000s", r.cmd, WTERMSIG(st), strsignal(WTERMSIG(st)),
			 r.err);
	if (strstr(r.err, "Sanitizer") || strstr(r.err, "runtime error:") || strstr(r.out, "Sanitizer"))
		fail_msg("%s: sanitizer report:\n%.6000s", r.cmd, r.err);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

result live_vo(const run_opts *o, const char *first, va_list ap)
{
	char *argv[160];
	int n = 0;
	argv[n++] = (char *)LIVE_BIN;
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(n < 159);
		argv[n++] = (char *)a;
	}
	argv[n] = NULL;
	return run_ex(o, argv);
}

result live_o(const run_opts *o, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	result r = live_vo(o, first, ap);
	va_end(ap);
	return r;
}

result live_v(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	result r = live_vo(NULL, first, ap);
	va_end(ap);
	return r;
}

result live_ok_v(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	result r = live_vo(NULL, first, ap);
	va_end(ap);
	if (r.rc != 0)
		fail_msg("%s exited %d\nstdout:\n%.3000s\nstderr:\n%.3000s", r.cmd, r.rc, r.out, r.err);
	return r;
}

static char *vsh(int *status, const char *f, va_list ap)
{
	char *cmd = NULL;
	assert_true(vasprintf(&cmd, f, ap) >= 0);
	fflush(NULL);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 4096, n = 0, r;
	char *out = malloc(cap);
	assert_non_null(out);
	while ((r = fread(out + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			out = realloc(out, cap *= 2);
			assert_non_null(out);
		}
	}
	out[n] = 0;
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	free(cmd);
	return keep(out);
}

char *sh_status(int *status, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *out = vsh(status, f, ap);
	va_end(ap);
	return out;
}

char *sh(const char *f, ...)
{
	va_list ap;
	int status;
	va_start(ap, f);
	char *out = vsh(&status, f, ap);
	va_end(ap);
	if (status != 0) {
		va_start(ap, f);
		char cmd[2048];
		vsnprintf(cmd, sizeof(cmd), f, ap);
		va_end(ap);
		fail_msg("command failed (%d): %s\n%s", status, cmd, out);
	}
	size_t n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	return out;
}

/* ---- repositories ---------------------------------------------------------------- */

void git_init_repo(int identity)
{
	sh("git -c init.defaultBranch=main init -q .");
	if (identity)
		sh("git config user.name '" CT_ID_NAME "' && git config user.email " CT_ID_EMAIL);
	sh("git config commit.gpgsign false");
}

void commit_all(const char *msg)
{
	sh("git add -A && git -c user.name=Base -c user.email=base@example.com commit -q -m '%s'", msg);
}

char *exp_prefix(const char *baseline)
{
	return fmt("refs/exps/%.2s/%s/", baseline, baseline + 2);
}

int exp_names(const char *baseline, char names[][64], int max)
{
	char *prefix = exp_prefix(baseline);
	char *list = sh("git for-each-ref --format='%%(refname)' '%s'", prefix);
	int n = 0;
	size_t plen = strlen(prefix);
	for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < max);
		assert_int_equal(strncmp(l, prefix, plen), 0);
		snprintf(names[n++], 64, "%s", l + plen);
	}
	return n;
}

char *ref_sha(const char *ref)
{
	int status;
	char *out = sh_status(&status, "git rev-parse -q --verify '%s^{}' 2>/dev/null", ref);
	size_t n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	return status == 0 ? out : NULL;
}

char *lock_md5(const char *lock, const char *path)
{
	const char *p = strstr(lock, fmt("- path: %s\n", path));
	if (!p)
		return fmt("%s", "");
	p = strchr(p, '\n') + 1;
	const char *m = strstr(p, "md5: ");
	const char *next = strstr(p, "- path: ");
	if (!m || (next && next < m))
		return fmt("%s", "");
	m += 5;
	return fmt("%.*s", (int)strcspn(m, "\n"), m);
}

char *cache_path(const char *md5)
{
	return fmt(".dvc/cache/%.2s/%s", md5, md5 + 2);
}
