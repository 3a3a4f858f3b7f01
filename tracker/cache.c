/*
 * The DVC cache (reference 4.4): objects at .dvc/cache/<md5[0:2]>/<md5[2:]>,
 * read-only, holding a file's original bytes (for a CRLF text file that is not
 * the content its md5 names, 4.2), and folder manifests as "<md5[2:]>.dir".
 *
 * Every object and every restored file is written to a temp file in its
 * final folder (reflink, else copy_file_range, else read/write) and renamed
 * into place, so a reader never sees a partial object and a checkout never
 * writes through a hard link into the cache. A process killed mid-copy leaves
 * at most a dot-named temp file (".<name>.tmp-..." in the cache,
 * ".live-tmp-..." next to a restored file), never a wrong object. Objects are
 * not fsync'ed: they survive the death of any process, not a power cut.
 *
 * Checkout of a folder makes it match its manifest: every listed file is
 * restored, and regular files that the manifest does not list are removed,
 * as DVC's checkout does; links, other special files and now-empty folders
 * are left alone. No link is ever followed at or below `rel`: a file or link
 * standing at `rel` or inside the folder where the manifest needs a folder
 * is replaced by one (a link's target is never touched), a link where a file
 * goes is replaced by the file; a folder standing where a file belongs is an
 * error (nothing is removed recursively). The folders leading to `rel` are
 * the user's layout: a link among them is refused rather than followed out
 * of the repository. Every object is looked up before the workspace is
 * touched, so a missing one changes nothing.
 */
#define _GNU_SOURCE /* copy_file_range, O_DIRECTORY, O_NOFOLLOW, fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h> /* FICLONE */

#include "tracker.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#define COPY_BUF (1u << 20)

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* 1 for "<32 hex>.dir", 0 for "<32 hex>", -1 for anything else. */
static int md5_kind(const char *md5)
{
	size_t n = strlen(md5);
	if (n == 32 && is_hex(md5, 32))
		return 0;
	if (n == 36 && is_hex(md5, 32) && strcmp(md5 + 32, ".dir") == 0)
		return 1;
	return -1;
}

static int join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= size)
		return live__fail(LIVE_EINVALID, "%s/%.64s...: path too long", a, b);
	return 0;
}

int tr_cache_path(const char *root, const char *md5, char *buf, size_t size)
{
	if (md5_kind(md5) < 0)
		return live__fail(LIVE_EINVALID, "'%s': not an md5 (32 hex digits, or 32 + \".dir\")", md5);
	int n = snprintf(buf, size, "%s/.dvc/cache/%.2s/%s", root, md5, md5 + 2);
	if (n < 0 || (size_t)n >= size)
		return live__fail(LIVE_EINVALID, "%s/.dvc/cache: path too long", root);
	return 0;
}

int tr_cache_has(const char *root, const char *md5)
{
	char obj[PATH_MAX];
	int rc = tr_cache_path(root, md5, obj, sizeof(obj));
	if (rc)
		return rc;
	struct stat sb;
	return stat(obj, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* ---- copying ------------------------------------------------------------------ */

int tr_copy_fd(int src, int dst, const char *show)
{
	if (ioctl(dst, FICLONE, src) == 0)
		return 0;
	loff_t in = 0, out = 0;
	for (;;) {
		ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)1 << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (in == 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL ||
		                errno == EPERM || errno == ETXTBSY))
			break; /* not for this pair of files: copy by hand */
		return live__fail_errno(live__errno_code(errno), errno, "%s: copy", show);
	}
	char *buf = malloc(COPY_BUF);
	if (!buf)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	for (off_t off = 0;;) {
		ssize_t n = pread(src, buf, COPY_BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(buf);
			return live__fail_errno(live__errno_code(err), err, "%s: read", show);
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(dst, buf + done, (size_t)(n - done), off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				int err = errno;
				free(buf);
				return live__fail_errno(live__errno_code(err), err, "%s: write", show);
			}
			done += w;
		}
		off += n;
	}
	free(buf);
	return 0;
}

/* A new file in `dirfd` named "<prefix><pid>-<n>-<random>", mode 0600. */
static int make_temp(int dirfd, const char *prefix, char *name, size_t size, const char *show)
{
	static atomic_uint counter;
	for (int tries = 0;; tries++) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(name, size, "%s%ld-%u-%lx", prefix, (long)getpid(), atomic_fetch_add(&counter, 1),
		         (unsigned long)ts.tv_nsec);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST || tries > 100)
			return live__fail_errno(live__errno_code(errno), errno, "%s: create temp file", show);
	}
}

/*
 * Write a copy of `srcfd` (or of `data`, `len` bytes, when srcfd < 0) as
 * `name` in `dirfd` with `mode`, through a temp file + rename.
 */
static int write_atomic(int dirfd, const char *name, const char *tmp_prefix, int srcfd, const void *data,
                        size_t len, mode_t mode, const char *show)
{
	char tmp[96];
	int fd = make_temp(dirfd, tmp_prefix, tmp, sizeof(tmp), show);
	if (fd < 0)
		return fd;
	int rc = 0;
	if (srcfd >= 0) {
		rc = tr_copy_fd(srcfd, fd, show);
	} else {
		const char *p = data;
		while (len && !rc) {
			ssize_t w = write(fd, p, len);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = live__fail_errno(live__errno_code(errno), errno, "%s: write", show);
			else {
				p += w;
				len -= (size_t)w;
			}
		}
	}
	if (!rc && fchmod(fd, mode) != 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: chmod", show);
	if (close(fd) != 0 && !rc)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: write", show);
	if (!rc && renameat(dirfd, tmp, dirfd, name) != 0) {
		int err = errno;
		rc = err == EISDIR
		             ? live__fail(LIVE_EIO, "%s: is a folder; not replacing it with a file", show)
		             : live__fail_errno(live__errno_code(err), err, "%s: rename", show);
	}
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

/* ---- adding ------------------------------------------------------------------- */

/* Open (creating them) <root>/.dvc/cache/<md5[0:2]>. */
static int open_cache_subdir(const char *root, const char *md5, int *out)
{
	static const char *const parts[] = {".dvc", "cache", NULL};
	char prefix[3] = {md5[0], md5[1], 0};
	int fd = open(root, DIR_FLAGS);
	if (fd < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: open folder", root);
	for (int i = 0; i < 3; i++) {
		const char *part = i < 2 ? parts[i] : prefix;
		if (mkdirat(fd, part, 0755) != 0 && errno != EEXIST) {
			int err = errno;
			close(fd);
			return live__fail_errno(live__errno_code(err), err, "%s/.dvc/cache: mkdir %s", root,
			                        part);
		}
		int next = openat(fd, part, DIR_FLAGS);
		int err = errno;
		close(fd);
		if (next < 0)
			return live__fail_errno(live__errno_code(err), err, "%s/.dvc/cache: open %s", root,
			                        part);
		fd = next;
	}
	*out = fd;
	return 0;
}

/* Store `data` (srcfd < 0) or the file `srcfd` as the object `md5`. */
static int add_object(const char *root, const char *md5, int srcfd, const void *data, size_t len,
                      const char *show)
{
	int has = tr_cache_has(root, md5);
	if (has != 0)
		return has < 0 ? has : 0;
	int dirfd = -1;
	int rc = open_cache_subdir(root, md5, &dirfd);
	if (rc)
		return rc;
	char prefix[48];
	snprintf(prefix, sizeof(prefix), ".%.30s.tmp-", md5 + 2);
	char where[PATH_MAX + 64];
	snprintf(where, sizeof(where), "cache object %s for %s", md5, show);
	rc = write_atomic(dirfd, md5 + 2, prefix, srcfd, data, len, 0444, where);
	close(dirfd);
	return rc;
}

int tr_cache_add_file(const char *root, const char *rel, const char *md5)
{
	if (md5_kind(md5) != 0)
		return live__fail(LIVE_EINVALID, "%s: '%s' is not a file md5", rel, md5);
	int has = tr_cache_has(root, md5);
	if (has != 0)
		return has < 0 ? has : 0;
	char path[PATH_MAX];
	int rc = join(path, sizeof(path), root, rel);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			return live__fail(LIVE_ENOTFOUND, "%s: No such file or directory", rel);
		return live__fail_errno(live__errno_code(err), err, "%s: open", rel);
	}
	rc = add_object(root, md5, fd, NULL, 0, rel);
	close(fd);
	return rc;
}

int tr_cache_add_bytes(const char *root, const char *md5, const void *data, size_t len, const char *show)
{
	if (md5_kind(md5) < 0)
		return live__fail(LIVE_EINVALID, "%s: '%s' is not an md5", show, md5);
	return add_object(root, md5, -1, data, len, show);
}

int tr_cache_adopt(const char *root, const char *md5, const char *path, const char *show)
{
	if (md5_kind(md5) != 0)
		return live__fail(LIVE_EINVALID, "%s: '%s' is not a file md5", show, md5);
	int has = tr_cache_has(root, md5);
	if (has != 0) {
		unlink(path);
		return has < 0 ? has : 0;
	}
	char dest[PATH_MAX];
	int rc = tr_cache_path(root, md5, dest, sizeof(dest));
	if (rc)
		return rc;
	int dirfd = -1;
	if ((rc = open_cache_subdir(root, md5, &dirfd)))
		return rc;
	close(dirfd);
	/* Same file system: the staged copy becomes the object without copying again. */
	if (chmod(path, 0444) == 0 && rename(path, dest) == 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: open staged copy", show);
	rc = add_object(root, md5, fd, NULL, 0, show);
	close(fd);
	unlink(path);
	return rc;
}

int tr_cache_add_dir(const char *root, const char *rel, const tr_manifest *m, const char *dir_md5)
{
	char md5[40];
	int kind = md5_kind(dir_md5);
	if (kind < 0 || !m->json)
		return live__fail(LIVE_EINVALID, "%s: '%s' is not a folder md5, or the manifest is empty",
		                  rel, dir_md5);
	snprintf(md5, sizeof(md5), "%.32s.dir", dir_md5);
	char path[PATH_MAX];
	for (size_t i = 0; i < m->n; i++) {
		const tr_dir_entry *e = &m->entries[i];
		if (!tr_relpath_inside(e->relpath))
			return live__fail(LIVE_EINVALID, "%s: '%s' is not a path inside the folder", rel,
			                  e->relpath);
		int rc = join(path, sizeof(path), rel, e->relpath);
		if (!rc)
			rc = tr_cache_add_file(root, path, e->md5);
		if (rc)
			return rc;
	}
	/* last: a manifest in the cache means its files are there too */
	return add_object(root, md5, -1, m->json, m->json_len, rel);
}

/* ---- manifests ---------------------------------------------------------------- */

static int read_object(const char *path, const char *md5, const char *rel, live__buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			return live__fail(LIVE_ENOTFOUND, "cache object %s for %s is missing", md5, rel);
		return live__fail_errno(live__errno_code(err), err, "cache object %s for %s", md5, rel);
	}
	int rc = 0;
	for (;;) {
		if ((rc = live__buf_reserve(out, 65536)) != 0)
			break;
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = live__fail_errno(live__errno_code(errno), errno, "cache object %s for %s: read",
			                      md5, rel);
			break;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
	}
	close(fd);
	if (!rc)
		out->data[out->len] = 0;
	return rc;
}

int tr_cache_read_manifest(const char *root, const char *rel, const char *dir_md5, tr_manifest *out)
{
	memset(out, 0, sizeof(*out));
	char md5[40], path[PATH_MAX];
	if (md5_kind(dir_md5) < 0)
		return live__fail(LIVE_EINVALID, "%s: '%s' is not a folder md5", rel, dir_md5);
	snprintf(md5, sizeof(md5), "%.32s.dir", dir_md5);
	int rc = tr_cache_path(root, md5, path, sizeof(path));
	live__buf b = {0};
	if (!rc)
		rc = read_object(path, md5, rel, &b);
	if (rc) {
		live__buf_free(&b);
		return rc;
	}
	char show[PATH_MAX + 64];
	snprintf(show, sizeof(show), "cache object %s for %s", md5, rel);
	rc = tr_manifest_parse(b.data, b.len, show, out);
	if (rc) {
		live__buf_free(&b);
		return rc;
	}
	out->json = b.data;
	out->json_len = b.len;
	return 0;
}

/* ---- checkout ----------------------------------------------------------------- */

/*
 * Open the folder `path` (its first `n` bytes) below `fd`, never following a
 * link; a missing folder is made when `make` is set, else LIVE_ENOTFOUND. A
 * part that starts at or after byte `inside` (within the out) that is a file
 * or a link is replaced by a folder; before it (the folders leading to the
 * out, the user's layout) a link is refused ("not <doing> through it"), so
 * that nothing is written or removed through it.
 */
static int walk_dirs(int fd, const char *path, size_t n, size_t inside, int make, const char *doing,
                     const char *show, int *out)
{
	char part[NAME_MAX + 1];
	int cur = dup(fd);
	if (cur < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: dup", show);
	for (size_t i = 0; i < n;) {
		size_t k = 0, start = i;
		while (i < n && path[i] != '/') {
			if (k == NAME_MAX) {
				close(cur);
				return live__fail(LIVE_EINVALID, "%s: file name too long", show);
			}
			part[k++] = path[i++];
		}
		part[k] = 0;
		size_t end = i;
		while (i < n && path[i] == '/')
			i++;
		if (k == 0)
			continue;
		const int flags = DIR_FLAGS | O_NOFOLLOW;
		int next = openat(cur, part, flags);
		struct stat sb;
		if (next < 0 && errno == ENOENT && !make) {
			close(cur);
			return live__fail(LIVE_ENOTFOUND, "%s: %.*s does not exist", show, (int)end, path);
		} else if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, part, 0755) != 0 && errno != EEXIST) {
				int err = errno;
				close(cur);
				return live__fail_errno(live__errno_code(err), err, "%s: mkdir %.*s", show,
				                        (int)end, path);
			}
			next = openat(cur, part, flags);
		} else if (next < 0 && (errno == ENOTDIR || errno == ELOOP) && start >= inside) {
			if (unlinkat(cur, part, 0) != 0 || mkdirat(cur, part, 0755) != 0) {
				int err = errno;
				close(cur);
				return live__fail_errno(live__errno_code(err), err,
				                        "%s: replace %.*s by a folder", show, (int)end, path);
			}
			next = openat(cur, part, flags);
		}
		int err = errno;
		int link =
		        next < 0 && fstatat(cur, part, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode);
		close(cur);
		if (next < 0) {
			if (link)
				return live__fail(
				        LIVE_EIO,
				        "%s: %.*s is a symbolic link; not %s through it (make it a folder)",
				        show, (int)end, path, doing);
			if (err == ENOTDIR || err == ELOOP)
				return live__fail(LIVE_EIO, "%s: %.*s is a file, not a folder", show,
				                  (int)end, path);
			return live__fail_errno(live__errno_code(err), err, "%s: open folder %.*s", show,
			                        (int)end, path);
		}
		cur = next;
	}
	*out = cur;
	return 0;
}

/* walk_dirs for a restore: missing folders are made. */
static int open_dirs(int fd, const char *path, size_t n, size_t inside, const char *show, int *out)
{
	return walk_dirs(fd, path, n, inside, 1, "restoring", show, out);
}

int tr_open_parent(const char *root, const char *rel, const char *doing, int *dirfd, const char **base)
{
	*dirfd = -1;
	*base = NULL;
	if (!tr_path_inside(NULL, rel)) /* as dvc.yaml's outs: "./a", "a//b", "a/../b" are inside */
		return live__fail(LIVE_EINVALID, "'%s': not a path inside the repository", rel);
	int rootfd = open(root, DIR_FLAGS);
	if (rootfd < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: open folder", root);
	const char *slash = strrchr(rel, '/');
	int rc = walk_dirs(rootfd, rel, slash ? (size_t)(slash - rel) : 0, SIZE_MAX, 0, doing, rel, dirfd);
	close(rootfd);
	if (!rc)
		*base = slash ? slash + 1 : rel;
	return rc;
}

/* An object whose bytes do not hash to its name was tampered with or damaged:
 * refuse it rather than restore something else. */
static int verify_fd(int fd, const char *md5, const char *show)
{
	char got[33];
	int rc = tr_md5_fd(fd, show, got, NULL);
	if (!rc && strncmp(got, md5, 32))
		rc = live__fail(LIVE_EPARSE, "cache object %.32s for %s is corrupt (its bytes hash to %s)",
		                md5, show, got);
	return rc;
}

int tr_cache_verify(const char *root, const char *md5, const char *show)
{
	char obj[PATH_MAX];
	int rc = tr_cache_path(root, md5, obj, sizeof(obj));
	if (rc)
		return rc;
	int fd = open(obj, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
		               ? live__fail(LIVE_ENOTFOUND, "cache object %s for %s is missing", md5, show)
		               : live__fail_errno(live__errno_code(errno), errno, "cache object %s for %s",
		                                  md5, show);
	rc = verify_fd(fd, md5, show);
	close(fd);
	return rc;
}

/* Restore the object `md5` as `path` below `basefd` (mode 0644); `inside` as for open_dirs. */
static int restore_file(const char *root, int basefd, const char *path, size_t inside, const char *md5,
                        const char *show)
{
	char obj[PATH_MAX];
	int rc = tr_cache_path(root, md5, obj, sizeof(obj));
	if (rc)
		return rc;
	int src = open(obj, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		int err = errno;
		if (err == ENOENT)
			return live__fail(LIVE_ENOTFOUND, "cache object %s for %s is missing", md5, show);
		return live__fail_errno(live__errno_code(err), err, "cache object %s for %s", md5, show);
	}
	rc = verify_fd(src, md5, show);
	if (rc) {
		close(src);
		return rc;
	}
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dirfd = -1;
	rc = open_dirs(basefd, path, slash ? (size_t)(slash - path) : 0, inside, show, &dirfd);
	if (!rc) {
		rc = write_atomic(dirfd, base, ".live-tmp-", src, NULL, 0, 0644, show);
		close(dirfd);
	}
	close(src);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the regular files below `dirfd` (owned) that `keep` (sorted) does not list. */
static int remove_extra(int dirfd, live__buf *path, size_t base, char **keep, size_t nkeep, const char *rel)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		int err = errno;
		close(dirfd);
		return live__fail_errno(live__errno_code(err), err, "%s: open folder", rel);
	}
	size_t len = path->len;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
			continue;
		path->len = len;
		if ((rc = live__buf_append(path, name, strlen(name) + 1)) != 0)
			break;
		path->len--;
		struct stat sb;
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, name, DIR_FLAGS | O_NOFOLLOW);
			if (fd < 0)
				continue;
			if ((rc = live__buf_append(path, "/", 2)) != 0) {
				close(fd);
				break;
			}
			path->len--;
			rc = remove_extra(fd, path, base, keep, nkeep, rel);
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		const char *key = path->data + base;
		if (bsearch(&key, keep, nkeep, sizeof(*keep), cmp_str))
			continue;
		if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
			rc = live__fail_errno(live__errno_code(errno), errno, "%s/%s: remove", rel, key);
	}
	closedir(d);
	path->len = len;
	return rc;
}

static int checkout_dir(const char *root, const char *rel, const char *dir_md5)
{
	tr_manifest m;
	int rc = tr_cache_read_manifest(root, rel, dir_md5, &m);
	if (rc)
		return rc;
	char show[PATH_MAX], obj[PATH_MAX];
	/* every object first, so that a missing one changes nothing */
	for (size_t i = 0; i < m.n && !rc; i++) {
		struct stat sb;
		rc = tr_cache_path(root, m.entries[i].md5, obj, sizeof(obj));
		if (!rc && stat(obj, &sb) != 0) {
			snprintf(show, sizeof(show), "%s/%s", rel, m.entries[i].relpath);
			rc = live__fail(LIVE_ENOTFOUND, "cache object %s for %s is missing", m.entries[i].md5,
			                show);
		}
	}
	int rootfd = -1, dirfd = -1;
	if (!rc && (rootfd = open(root, DIR_FLAGS)) < 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: open folder", root);
	if (!rc) {
		/* a file or a link where the folder goes is replaced by it, like DVC's
		 * checkout replaces the workspace copy; nothing is written through a link */
		const char *slash = strrchr(rel, '/');
		rc = open_dirs(rootfd, rel, strlen(rel), slash ? (size_t)(slash - rel) + 1 : 0, rel, &dirfd);
	}
	for (size_t i = 0; i < m.n && !rc; i++) {
		snprintf(show, sizeof(show), "%s/%s", rel, m.entries[i].relpath);
		rc = restore_file(root, dirfd, m.entries[i].relpath, 0, m.entries[i].md5, show);
	}
	char **keep = NULL;
	if (!rc && !(keep = malloc((m.n + 1) * sizeof(*keep))))
		rc = live__fail(LIVE_ENOMEM, "%s: out of memory", rel);
	if (!rc) {
		for (size_t i = 0; i < m.n; i++)
			keep[i] = m.entries[i].relpath;
		qsort(keep, m.n, sizeof(*keep), cmp_str);
		live__buf path = {0};
		int fd = dup(dirfd);
		if (fd < 0)
			rc = live__fail_errno(live__errno_code(errno), errno, "%s: dup", rel);
		else if ((rc = live__buf_append(&path, "", 1)) == 0) {
			path.len = 0;
			rc = remove_extra(fd, &path, 0, keep, m.n, rel);
		} else {
			close(fd);
		}
		live__buf_free(&path);
	}
	free(keep);
	if (dirfd >= 0)
		close(dirfd);
	if (rootfd >= 0)
		close(rootfd);
	tr_manifest_free(&m);
	return rc;
}

int tr_cache_checkout(const char *root, const char *rel, const tr_hashinfo *h)
{
	if (!tr_relpath_inside(rel))
		return live__fail(LIVE_EINVALID, "'%s': not a path inside the repository", rel);
	int kind = md5_kind(h->md5);
	if (kind < 0)
		return live__fail(LIVE_EINVALID, "%s: '%s' is not an md5", rel, h->md5);
	if (kind == 1)
		return checkout_dir(root, rel, h->md5);
	int rootfd = open(root, DIR_FLAGS);
	if (rootfd < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: open folder", root);
	/* a link at `rel` itself is replaced by the rename; the folders leading to it are not followed */
	int rc = restore_file(root, rootfd, rel, SIZE_MAX, h->md5, rel);
	close(rootfd);
	return rc;
}
