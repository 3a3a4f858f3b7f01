/*
 * File-system helpers. Everything below a run's folder is reached through
 * directory descriptors with O_NOFOLLOW, so a symlink planted inside the
 * folder cannot redirect a write outside it (SPEC 6).
 */
#define _GNU_SOURCE /* O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC with fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int live__mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return live__fail(LIVE_EINVALID, "dir '%.64s...': path too long", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char saved = buf[i];
		buf[i] = 0;
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return live__fail_errno(live__errno_code(errno), errno, "mkdir %s", buf);
		buf[i] = saved;
	}
	struct stat st;
	if (stat(path, &st) != 0)
		return live__fail_errno(LIVE_EIO, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return live__fail(LIVE_EIO, "dir '%s' exists and is not a folder", path);
	return 0;
}

int live__open_subdir(int dirfd, const char *rel, int create, int *out)
{
	int fd = dirfd;
	const char *p = rel;
	char part[256];
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(part)) {
			if (fd != dirfd)
				close(fd);
			return live__fail(LIVE_EINVALID, "'%s': path part too long", rel);
		}
		memcpy(part, p, n);
		part[n] = 0;
		if (create && mkdirat(fd, part, 0755) != 0 && errno != EEXIST) {
			int err = errno;
			if (fd != dirfd)
				close(fd);
			return live__fail_errno(live__errno_code(err), err, "mkdir '%s' (in '%s')", part, rel);
		}
		int next = openat(fd, part, DIR_FLAGS);
		int err = errno;
		if (fd != dirfd)
			close(fd);
		if (next < 0) {
			if (err == ENOTDIR || err == ELOOP)
				return live__fail(LIVE_EINVALID, "'%s' exists and is not a folder (a file or a link)",
						  part);
			return live__fail_errno(live__errno_code(err), err, "open folder '%s' (in '%s')", part, rel);
		}
		fd = next;
		p += n;
		while (*p == '/')
			p++;
	}
	if (fd == dirfd) {
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return live__fail_errno(LIVE_EIO, errno, "dup");
	}
	*out = fd;
	return 0;
}

int live__write_atomic(int dirfd, const char *name, const char *tmp, const char *show,
		       const char *data, size_t len)
{
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: create temp file", show);
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : ENOSPC;
			close(fd);
			unlinkat(dirfd, tmp, 0);
			return live__fail_errno(live__errno_code(err), err, "%s: write", show);
		}
		done += (size_t)w;
	}
	if (close(fd) != 0) {
		int err = errno;
		unlinkat(dirfd, tmp, 0);
		return live__fail_errno(live__errno_code(err), err, "%s: close", show);
	}
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		int err = errno;
		unlinkat(dirfd, tmp, 0);
		return live__fail_errno(live__errno_code(err), err, "%s: rename", show);
	}
	return 0;
}

static int ends_with_tsv(const char *s)
{
	size_t n = strlen(s);
	return n > 4 && !strcmp(s + n - 4, ".tsv");
}

/* Returns the number of .tsv files removed below dirfd, or a negative error. */
static long remove_tsvs_in(int dirfd, const char *show, int depth)
{
	if (depth > 600)
		return live__fail(LIVE_EIO, "%s: folders nested too deep", show);
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return live__fail_errno(LIVE_EIO, errno, "%s: dup", show);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return live__fail_errno(LIVE_EIO, errno, "%s: read folder", show);
	}
	long removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, DIR_FLAGS);
			if (sub < 0)
				continue;
			long n = remove_tsvs_in(sub, show, depth + 1);
			close(sub);
			if (n < 0) {
				closedir(d);
				return n;
			}
			/* Only folders that held our files go, and only when empty. */
			if (n > 0)
				unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
			removed += n;
		} else if (S_ISREG(st.st_mode) && ends_with_tsv(e->d_name)) {
			if (unlinkat(dirfd, e->d_name, 0) != 0 && errno != ENOENT) {
				int err = errno;
				closedir(d);
				return live__fail_errno(live__errno_code(err), err, "%s: remove %s", show,
							e->d_name);
			}
			removed++;
		}
	}
	closedir(d);
	return removed;
}

int live__remove_tsvs(int dirfd, const char *show)
{
	long n = remove_tsvs_in(dirfd, show, 0);
	return n < 0 ? (int)n : 0;
}

int live__unlink_if(int dirfd, const char *name, const char *show)
{
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return live__fail_errno(live__errno_code(errno), errno, "remove %s", show);
	return 0;
}

static long long (*clock_fn)(void);

void live__set_clock(long long (*fn)(void))
{
	clock_fn = fn;
}

long long live__now_ms(void)
{
	if (clock_fn)
		return clock_fn();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long live__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
