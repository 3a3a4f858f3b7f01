/* The helpers of fuzz.h. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[4096];
static pid_t scratch_owner;

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n%s:%d: invariant broken: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void fz_rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	/* Folders the code under test made read-only must still go. */
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void)
{
	/* A child of the fuzzer (git, a forked runner) must not remove its parent's folder. */
	if (scratch[0] && getpid() == scratch_owner)
		fz_rm_tree(scratch);
}

const char *fz_dir(void)
{
	if (scratch[0])
		return scratch;
	const char *base = getenv("TMPDIR");
	struct stat st;

	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
		               ? "/dev/shm"
		               : "/tmp";
	if ((size_t)snprintf(scratch, sizeof(scratch), "%s/live-fuzz.XXXXXX", base) >= sizeof(scratch) - 256)
		fz_fail(__FILE__, __LINE__, "scratch", "TMPDIR is too long: %s", base);
	if (!mkdtemp(scratch))
		fz_fail(__FILE__, __LINE__, "mkdtemp", "%s: %s", scratch, strerror(errno));
	scratch_owner = getpid();
	atexit(remove_scratch);
	return scratch;
}

void fz_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", fz_dir(), name) >= size)
		fz_fail(__FILE__, __LINE__, "fz_path", "path too long: %s", name);
}

void fz_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;

	if (fd < 0)
		fz_fail(__FILE__, __LINE__, "open", "%s: %s", path, strerror(errno));
	while (done < len) {
		ssize_t w = write(fd, (const char *)data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fz_fail(__FILE__, __LINE__, "write", "%s: %s", path, strerror(errno));
		done += (size_t)w;
	}
	close(fd);
}

char *fz_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 4096;
			char *p = realloc(buf, cap);
			if (!p)
				fz_fail(__FILE__, __LINE__, "realloc", "out of memory");
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		if (!got)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

void fz_mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		fz_fail(__FILE__, __LINE__, "fz_mkdirs", "path too long");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char c = buf[i];
		buf[i] = 0;
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			fz_fail(__FILE__, __LINE__, "mkdir", "%s: %s", buf, strerror(errno));
		buf[i] = c;
	}
}

void fz_clean_env(void)
{
	static const char *const vars[] = {
	        "DVCLIVE_PATH",         "DVCLIVE_RESUME",     "DVCLIVE_SUMMARY",
	        "DVCLIVE_HTML",         "LIVE_LAYOUT",        "LIVE_SUMMARY_INTERVAL_MS",
	        "LIVE_PARAMS_FILE",     "LIVE_CHECKPOINT_FD", "LIVE_STOP_SIGNALS",
	        "DVC_CHECKPOINT",       "DVC_ROOT",           "RANK",
	        "OMPI_COMM_WORLD_RANK", "PMI_RANK",           "SLURM_PROCID",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
		unsetenv(vars[i]);
}
