/*
 * Copying cache objects to and from a cache remote (tracker.h, "cache
 * remotes"): a local folder laid out like the cache (DVC 2.x:
 * <md5[0:2]>/<md5[2:]>, manifests as "<md5[2:]>.dir").
 *
 * Every copied object goes to a temp file beside its place, is hashed there
 * (the DVC 2.x md5, tr_md5_fd) and only then renamed to its name, mode 0444:
 * neither side ever holds a partial or wrong object under an object's name.
 * Safe to call from several threads at once.
 */
#define _GNU_SOURCE /* copy_file_range */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h> /* FICLONE */

#include "tracker.h"

/* ---- copying objects ---------------------------------------------------------------- */

static int copy_fd(int src, int dst, const char *show)
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
		                errno == EPERM))
			break;
		return live__fail_errno(live__errno_code(errno), errno, "%s: copy", show);
	}
	enum { BUF = 1 << 20 };
	char *buf = malloc(BUF);
	if (!buf)
		return live__fail(LIVE_ENOMEM, "out of memory");
	int rc = 0;
	for (off_t off = 0; !rc;) {
		ssize_t n = pread(src, buf, BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = live__fail_errno(live__errno_code(errno), errno, "%s: read", show);
			break;
		}
		for (ssize_t done = 0; !rc && done < n;) {
			ssize_t w = pwrite(dst, buf + done, (size_t)(n - done), off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = live__fail_errno(live__errno_code(errno), errno, "%s: write", show);
			else
				done += w;
		}
		off += n;
	}
	free(buf);
	return rc;
}

/* mkdir that tolerates an existing folder. */
static int ensure_dir(const char *path, const char *show)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return live__fail_errno(live__errno_code(errno), errno, "%s: mkdir %s", show, path);
}

/*
 * Copy the object `md5` from the object folder `from` to the object folder
 * `to`, unless `to` has it. `where` names the remote in messages; `pushing`
 * says which side is the local cache.
 */
static int transfer(const char *from, const char *to, const char *md5, const char *show, const tr_remote *r,
                    int pushing, tr_remote_stats *st)
{
	char check[PATH_MAX];
	int rc = tr_cache_path("/", md5, check, sizeof(check)); /* validates md5 */
	if (rc)
		return rc;
	char src[PATH_MAX], dst[PATH_MAX + 64], sub[PATH_MAX];
	if (strlen(from) + 40 >= sizeof(src) || strlen(to) + 40 >= sizeof(sub))
		return live__fail(LIVE_EINVALID, "%s: path too long", pushing ? to : from);
	snprintf(src, sizeof(src), "%s/%.2s/%s", from, md5, md5 + 2);
	snprintf(sub, sizeof(sub), "%s/%.2s", to, md5);
	snprintf(dst, sizeof(dst), "%s/%s", sub, md5 + 2);
	struct stat sb;
	if (stat(dst, &sb) == 0 && S_ISREG(sb.st_mode)) {
		st->present++;
		return 0;
	}
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		int err = errno;
		if (err == ENOENT && pushing)
			return live__fail(LIVE_ENOTFOUND, "cache object %s for %s is missing from the local cache", md5,
			                  show);
		if (err == ENOENT)
			return live__fail(LIVE_ENOTFOUND, "cache remote '%s' (%s) has no object %s for %s", r->name,
			                  r->path, md5, show);
		return live__fail_errno(live__errno_code(err), err, "%s", src);
	}
	rc = ensure_dir(to, pushing ? "cache remote" : "cache");
	if (!rc)
		rc = ensure_dir(sub, pushing ? "cache remote" : "cache");
	static atomic_uint counter;
	char tmp[PATH_MAX + 64];
	snprintf(tmp, sizeof(tmp), "%s/.%.30s.tmp-%ld-%u", sub, md5 + 2, (long)getpid(),
	         atomic_fetch_add(&counter, 1));
	int out = rc ? -1 : open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!rc && out < 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: create temp file", tmp);
	if (!rc)
		rc = copy_fd(in, out, show);
	char got[33];
	long long size = 0;
	if (!rc)
		rc = tr_md5_fd(out, show, got, &size);
	if (!rc && strncmp(got, md5, 32)) {
		if (pushing)
			rc = live__fail(LIVE_EPARSE,
			                "cache object %.32s for %s is corrupt (its bytes hash to %s): not pushed", md5,
			                show, got);
		else
			rc = live__fail(LIVE_EPARSE,
			                "cache remote '%s' (%s): object %s for %s is corrupt (its bytes hash to %s): "
			                "not pulled",
			                r->name, r->path, md5, show, got);
	}
	if (!rc && fchmod(out, 0444) != 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: chmod", tmp);
	if (out >= 0 && close(out) != 0 && !rc)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: write", tmp);
	if (!rc && rename(tmp, dst) != 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: rename", dst);
	if (rc && out >= 0)
		unlink(tmp);
	close(in);
	if (!rc) {
		st->copied++;
		st->bytes += size;
	}
	return rc;
}

int tr_remote_push_object(const char *root, const tr_remote *r, const char *md5, const char *show,
			  tr_remote_stats *st)
{
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/.dvc/cache", root);
	return transfer(cache, r->path, md5, show, r, 1, st);
}

int tr_remote_pull_object(const char *root, const tr_remote *r, const char *md5, const char *show,
			  tr_remote_stats *st)
{
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/.dvc/cache", root);
	return transfer(r->path, cache, md5, show, r, 0, st);
}
