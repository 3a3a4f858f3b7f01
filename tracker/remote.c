/*
 * Copying cache objects to and from a cache remote (tracker.h, "cache
 * remotes"): a local folder laid out like the cache (DVC 2.x:
 * <md5[0:2]>/<md5[2:]>, manifests as "<md5[2:]>.dir").
 *
 * Every copied object goes to a temp file beside its place and is renamed to
 * its name, mode 0444, only once its bytes are known to hash to that name
 * (the DVC 2.x md5): neither side ever holds a partial or wrong object under
 * an object's name. The bytes are hashed as they are copied, in one pass (a
 * chunk is read, hashed and written), unless the caller knows from the stat
 * cache that the local object being pushed is unchanged since live hashed
 * it: that one is copied in the kernel (reflink, copy_file_range) unread.
 * What a copy learns about the local object goes back to the caller for the
 * stat cache (tr_remote_local): the identity of a pushed object that was
 * hashed, and of a pulled one, whose mtime is set TR_RACY_NS in the past so
 * that the stat cache may remember it at once (any later write gives it a
 * newer mtime). Safe to call from several threads at once.
 */
#define _GNU_SOURCE /* copy_file_range */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tracker.h"

/* Read, hash and write this much at a time: it stays in the core's cache between the three. */
#define COPY_CHUNK (256u << 10)

/* ---- copying objects ---------------------------------------------------------------- */

/* Copy all of `src` into the empty `dst`, hashing the bytes written (tr_md5_dvc): their md5 and count. */
static int copy_hashed(int src, int dst, const char *show, char md5[33], long long *size)
{
	unsigned char *buf = malloc(COPY_CHUNK);
	if (!buf)
		return live__fail(LIVE_ENOMEM, "out of memory");
	tr_md5_dvc h;
	tr_md5_dvc_init(&h);
	int rc = 0;
	for (off_t off = 0; !rc;) {
		ssize_t n = pread(src, buf, COPY_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = live__fail_errno(live__errno_code(errno), errno, "%s: read", show);
			break;
		}
		tr_md5_dvc_update(&h, buf, (size_t)n);
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
	tr_md5_dvc_final(&h, md5, size);
	return rc;
}

/* mkdir that tolerates an existing folder. */
static int ensure_dir(const char *path, const char *show)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return live__fail_errno(live__errno_code(errno), errno, "%s: mkdir %s", show, path);
}

static void identity(const struct stat *sb, tr_filestat *fs)
{
	fs->dev = (unsigned long long)sb->st_dev;
	fs->ino = (unsigned long long)sb->st_ino;
	fs->mtime_ns = (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
	fs->size = (long long)sb->st_size;
}

static int same_identity(const tr_filestat *a, const tr_filestat *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns && a->size == b->size;
}

/* A stat that changes with any write: the identity and the ctime. */
static int same_stat(const struct stat *a, const struct stat *b)
{
	tr_filestat x, y;
	identity(a, &x);
	identity(b, &y);
	return same_identity(&x, &y) && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Copy the object `md5` from the object folder `from` to the object folder
 * `to`, unless `to` has it. `show` names it in messages; `pushing` says
 * which side is the local cache; `loc` (may be NULL) is what the stat cache
 * knows of the local object and gets what the copy learnt.
 */
static int transfer(const char *from, const char *to, const char *md5, const char *show, const tr_remote *r,
                    int pushing, tr_remote_local *loc, tr_remote_stats *st)
{
	char check[PATH_MAX];
	int rc = tr_cache_path("/", md5, check, sizeof(check)); /* validates md5 */
	if (rc)
		return rc;
	if (loc)
		loc->checked = 0;
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
	/* O_NONBLOCK: a FIFO put where an object belongs must not hang the open */
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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
	struct stat before;
	if (fstat(in, &before) != 0) {
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: stat", src);
	} else if (!S_ISREG(before.st_mode)) {
		if (pushing)
			rc = live__fail(LIVE_EPARSE, "cache object %s for %s is not a file: not pushed", md5, show);
		else
			rc = live__fail(LIVE_EPARSE,
			                "cache remote '%s' (%s): object %s for %s is not a file: not pulled",
			                r->name, r->path, md5, show);
	}
	if (rc) {
		close(in);
		return rc;
	}
	tr_filestat src_id;
	identity(&before, &src_id);
	/* pushing what the stat cache vouches for: no need to read it */
	int trusted = pushing && loc && loc->vouched && same_identity(&src_id, &loc->fs);
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
	char got[33];
	long long size = 0;
	long long since = now_ns();
	if (!rc && trusted) {
		rc = tr_copy_fd(in, out, show);
		struct stat after;
		if (!rc && (fstat(in, &after) != 0 || !same_stat(&before, &after)))
			trusted = 0; /* written to while copied: check the copy after all */
		if (!rc && !trusted) {
			rc = tr_md5_fd(out, show, got, &size);
		} else if (!rc) {
			snprintf(got, sizeof(got), "%.32s", md5);
			size = (long long)before.st_size;
		}
	} else if (!rc) {
		rc = copy_hashed(in, out, show, got, &size);
	}
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
	if (!rc && pushing && loc && !trusted) {
		/* the local object was hashed: its identity, if it held still while read */
		struct stat after;
		if (fstat(in, &after) == 0 && same_stat(&before, &after) && size == (long long)before.st_size) {
			loc->checked = 1;
			loc->fs = src_id;
			loc->since_ns = since;
		}
	}
	/* a new local object gets an mtime that no later write can give it, for the stat cache */
	long long past = since - TR_RACY_NS;
	struct timespec times[2] = {{0, UTIME_OMIT}, {(time_t)(past / 1000000000LL), (long)(past % 1000000000LL)}};
	int dated = !rc && !pushing && loc && futimens(out, times) == 0;
	if (!rc && fchmod(out, 0444) != 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: chmod", tmp);
	struct stat now;
	if (!rc && dated && fstat(out, &now) == 0 && now.st_size == size) {
		loc->checked = 1;
		identity(&now, &loc->fs);
		loc->since_ns = since;
	}
	if (out >= 0 && close(out) != 0 && !rc)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: write", tmp);
	if (!rc && rename(tmp, dst) != 0)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: rename", dst);
	if (rc && out >= 0)
		unlink(tmp);
	if (rc && loc)
		loc->checked = 0;
	close(in);
	if (!rc) {
		st->copied++;
		st->bytes += size;
	}
	return rc;
}

int tr_remote_push_object(const char *root, const tr_remote *r, const char *md5, const char *show,
                          tr_remote_local *loc, tr_remote_stats *st)
{
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/.dvc/cache", root);
	return transfer(cache, r->path, md5, show, r, 1, loc, st);
}

int tr_remote_pull_object(const char *root, const tr_remote *r, const char *md5, const char *show,
                          tr_remote_local *loc, tr_remote_stats *st)
{
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/.dvc/cache", root);
	return transfer(r->path, cache, md5, show, r, 0, loc, st);
}
