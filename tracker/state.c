/*
 * The stat cache: hashes below the repository root, remembered by
 * (path, device, inode, mtime in ns, size) so that an unchanged file is never
 * read twice, as DVC's .dvc/tmp/md5s state does (reference 4.2).
 *
 * File <root>/.dvc/tmp/live-md5s, our own format (DVC never reads it):
 *
 *     live-md5s 1
 *     <st_dev> <st_ino> <mtime_ns> <size> <md5> <path>
 *     ...
 *
 * One line per file, fields separated by one space, numbers in decimal, md5
 * as 32 lowercase hex digits. The path (relative to the root) comes last so
 * that it may hold spaces; a backslash in it is written "\\" and a newline
 * "\n". The whole file is rewritten through a temp file + rename. It is only
 * a cache: a line that does not parse is ignored, and a file without the
 * header line is ignored as a whole.
 *
 * Decisions:
 *  - Racy mtimes (git's "racy git" problem): a file modified in the same mtime
 *    tick after it was hashed keeps its stat and would keep a stale md5. So a
 *    result is remembered only if the file's mtime is at least
 *    TR_RACY_NS (2 s: more than the mtime granularity of ext4, XFS, btrfs,
 *    NFS and FAT) older than the moment hashing started, and its stat did
 *    not change while it was read. Other results are returned, not
 *    remembered, and the file is read again next time. A file rewritten at
 *    every checkpoint changes anyway; one left alone is cached from the
 *    next checkpoint on.
 *  - Symbolic links: the path asked for is followed (a link to a file hashes
 *    the target's bytes, a link to a folder hashes the folder). Inside a
 *    folder, a link to a file is hashed by the target's content, as DVC's
 *    os.walk-based walk does; a link to a folder is not descended into (DVC
 *    does not follow them either, and this keeps cycles and the rest of the
 *    disk out); a dangling link has no content and is skipped (DVC 2.x
 *    failed on it; we would rather snapshot what exists). FIFOs, sockets and
 *    devices inside a folder are skipped too.
 *  - Cache objects: a file that live hashed itself while writing or copying
 *    it is remembered too, keyed by its path (".dvc/cache/ab/cdef..."): the
 *    staged copy of a large checkpoint out that becomes an object
 *    (tr_state_hash_own, tr_state_remember_object), and the objects a push or
 *    a pull checked (tr_state_remember). A file live wrote itself gets an
 *    mtime TR_RACY_NS in the past before it is hashed, a time no later write
 *    can give it, so that the racy rule lets it be remembered at once. A push
 *    copies what the stat cache vouches for without reading it
 *    (tr_state_vouches).
 *  - Size: the saved file keeps at most TR_STATE_MAX entries; beyond that only
 *    the entries used since tr_state_open are written, so paths that left the
 *    workspace age out.
 */
#define _GNU_SOURCE /* O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tracker.h"

#define TR_STATE_FILE ".dvc/tmp/live-md5s"
#define TR_STATE_HEADER "live-md5s 1\n"
#define TR_STATE_MAX 100000

typedef struct tr_state_entry {
	char *path; /* NULL: empty slot */
	uint64_t hash;
	unsigned long long dev, ino;
	long long mtime_ns, size;
	char md5[33]; /* "": forgotten (the slot stays as a tombstone) */
	int used;     /* looked up or stored since open */
} tr_state_entry;

struct tr_state {
	char *root;
	int rootfd;
	tr_state_entry *slots;
	size_t cap;   /* a power of two */
	size_t count; /* slots with a path */
	int dirty;
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static long long mtime_ns(const struct stat *sb)
{
	return (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

static tr_state_entry *lookup(tr_state *st, const char *path, uint64_t h)
{
	if (!st->cap)
		return NULL;
	for (size_t i = h & (st->cap - 1);; i = (i + 1) & (st->cap - 1)) {
		tr_state_entry *e = &st->slots[i];
		if (!e->path)
			return NULL;
		if (e->hash == h && strcmp(e->path, path) == 0)
			return e;
	}
}

static int grow(tr_state *st)
{
	size_t cap = st->cap ? st->cap * 2 : 1024;
	tr_state_entry *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return live__fail(LIVE_ENOMEM, "stat cache: out of memory");
	for (size_t i = 0; i < st->cap; i++) {
		tr_state_entry *e = &st->slots[i];
		if (!e->path)
			continue;
		size_t j = e->hash & (cap - 1);
		while (slots[j].path)
			j = (j + 1) & (cap - 1);
		slots[j] = *e;
	}
	free(st->slots);
	st->slots = slots;
	st->cap = cap;
	return 0;
}

/* The slot for `path`, created (with an empty md5) if absent. */
static int slot_for(tr_state *st, const char *path, tr_state_entry **out)
{
	uint64_t h = hash_path(path);
	tr_state_entry *e = lookup(st, path, h);
	if (!e) {
		if ((st->count + 1) * 2 > st->cap) {
			int rc = grow(st);
			if (rc)
				return rc;
		}
		size_t i = h & (st->cap - 1);
		while (st->slots[i].path)
			i = (i + 1) & (st->cap - 1);
		e = &st->slots[i];
		e->path = strdup(path);
		if (!e->path)
			return live__fail(LIVE_ENOMEM, "stat cache: out of memory");
		e->hash = h;
		e->md5[0] = 0;
		st->count++;
	}
	*out = e;
	return 0;
}

/* ---- the file ---------------------------------------------------------------- */

static int is_hex32(const char *s)
{
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static const char *parse_num(const char *p, const char *end, int allow_minus, long long *v)
{
	int neg = 0;
	if (allow_minus && p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	unsigned long long x = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (x > (~0ULL - 9) / 10)
			return NULL;
		x = x * 10 + (unsigned)(*p - '0');
	}
	if (p >= end || *p != ' ')
		return NULL;
	*v = neg ? -(long long)x : (long long)x;
	return p + 1;
}

/* One line (without its '\n'); returns 0 if it does not parse. */
static int parse_line(tr_state *st, const char *p, const char *end)
{
	long long dev, ino, mt, size;
	if (!(p = parse_num(p, end, 0, &dev)) || !(p = parse_num(p, end, 0, &ino)) ||
	    !(p = parse_num(p, end, 1, &mt)) || !(p = parse_num(p, end, 0, &size)))
		return 0;
	if (end - p < 34 || !is_hex32(p) || p[32] != ' ')
		return 0;
	const char *md5 = p;
	p += 33;
	char *path = malloc((size_t)(end - p) + 1);
	if (!path)
		return 0;
	size_t n = 0;
	for (; p < end; p++) {
		char c = *p;
		if (c == '\\') {
			if (++p == end || (*p != '\\' && *p != 'n'))
				break;
			c = *p == 'n' ? '\n' : '\\';
		} else if (c == 0) {
			break;
		}
		path[n++] = c;
	}
	path[n] = 0;
	tr_state_entry *e;
	if (p != end || n == 0 || slot_for(st, path, &e) != 0) {
		free(path);
		return 0;
	}
	free(path);
	e->dev = (unsigned long long)dev;
	e->ino = (unsigned long long)ino;
	e->mtime_ns = mt;
	e->size = size;
	memcpy(e->md5, md5, 32);
	e->md5[32] = 0;
	e->used = 0;
	return 1;
}

static int load(tr_state *st)
{
	int fd = openat(st->rootfd, TR_STATE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* no cache yet (or unreadable): start empty */
	live__buf b = {0};
	int rc = 0;
	for (;;) {
		if ((rc = live__buf_reserve(&b, 65536)) != 0)
			break;
		ssize_t r = read(fd, b.data + b.len, b.cap - b.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* a read error leaves what was read: still only a cache */
		b.len += (size_t)r;
	}
	close(fd);
	size_t hl = strlen(TR_STATE_HEADER);
	if (!rc && b.len >= hl && memcmp(b.data, TR_STATE_HEADER, hl) == 0) {
		const char *p = b.data + hl, *end = b.data + b.len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break; /* a torn last line */
			parse_line(st, p, nl);
			p = nl + 1;
		}
	}
	live__buf_free(&b);
	return rc;
}

int tr_state_open(const char *root, tr_state **out)
{
	*out = NULL;
	tr_state *st = calloc(1, sizeof(*st));
	if (!st || !(st->root = strdup(root))) {
		free(st);
		return live__fail(LIVE_ENOMEM, "stat cache: out of memory");
	}
	st->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->rootfd < 0) {
		int err = errno;
		tr_state_free(st);
		return live__fail_errno(err == ENOENT ? LIVE_ENOTFOUND : live__errno_code(err), err, "%s",
		                        root);
	}
	int rc = load(st);
	if (rc) {
		tr_state_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int put_entry(live__buf *b, const tr_state_entry *e)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "%llu %llu %lld %lld %s ", e->dev, e->ino, e->mtime_ns, e->size,
	                 e->md5);
	int rc = live__buf_append(b, head, (size_t)n);
	for (const char *p = e->path; *p && !rc; p++) {
		if (*p == '\\')
			rc = live__buf_append(b, "\\\\", 2);
		else if (*p == '\n')
			rc = live__buf_append(b, "\\n", 2);
		else
			rc = live__buf_append(b, p, 1);
	}
	return rc ? rc : live__buf_append(b, "\n", 1);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tr_state_save(tr_state *st)
{
	static atomic_uint counter;
	if (!st->dirty)
		return 0;
	size_t live_n = 0;
	for (size_t i = 0; i < st->cap; i++)
		live_n += st->slots[i].path && st->slots[i].md5[0];
	int only_used = live_n > TR_STATE_MAX;

	live__buf b = {0};
	int rc = live__buf_append(&b, TR_STATE_HEADER, strlen(TR_STATE_HEADER));
	for (size_t i = 0; i < st->cap && !rc; i++) {
		const tr_state_entry *e = &st->slots[i];
		if (e->path && e->md5[0] && (!only_used || e->used))
			rc = put_entry(&b, e);
	}
	if (rc) {
		live__buf_free(&b);
		return rc;
	}
	if ((mkdirat(st->rootfd, ".dvc", 0755) != 0 && errno != EEXIST) ||
	    (mkdirat(st->rootfd, ".dvc/tmp", 0755) != 0 && errno != EEXIST)) {
		int err = errno;
		live__buf_free(&b);
		return live__fail_errno(live__errno_code(err), err, "%s/.dvc/tmp: mkdir", st->root);
	}
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", TR_STATE_FILE, (long)getpid(),
	         atomic_fetch_add(&counter, 1));
	int fd = openat(st->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;
		live__buf_free(&b);
		return live__fail_errno(live__errno_code(err), err, "%s/%s: create", st->root, tmp);
	}
	int failed = write_all(fd, b.data, b.len) != 0;
	int err = errno;
	live__buf_free(&b);
	if (close(fd) != 0 && !failed) {
		failed = 1;
		err = errno;
	}
	if (!failed && renameat(st->rootfd, tmp, st->rootfd, TR_STATE_FILE) != 0) {
		failed = 2;
		err = errno;
	}
	if (failed) {
		unlinkat(st->rootfd, tmp, 0);
		return live__fail_errno(live__errno_code(err), err, "%s/%s: %s", st->root,
		                        failed == 2 ? TR_STATE_FILE : tmp, failed == 2 ? "rename" : "write");
	}
	st->dirty = 0;
	return 0;
}

void tr_state_free(tr_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->cap; i++)
		free(st->slots[i].path);
	free(st->slots);
	if (st->rootfd >= 0 && st->root)
		close(st->rootfd);
	free(st->root);
	free(st);
}

/* ---- hashing ------------------------------------------------------------------ */

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       mtime_ns(a) == mtime_ns(b) && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * The md5 of the regular file `name` in `dirfd` (links followed), known as
 * `key` (its path from the root), whose stat is `sb`: from the cache when the
 * stat matches, else read and remembered (see the racy-mtime rule above).
 * LIVE_ENOTFOUND when it vanished.
 */
static int hash_file(tr_state *st, int dirfd, const char *name, const char *key, const struct stat *sb,
                     char md5[33], long long *size)
{
	tr_state_entry *e = lookup(st, key, hash_path(key));
	if (e && e->md5[0] && e->dev == (unsigned long long)sb->st_dev &&
	    e->ino == (unsigned long long)sb->st_ino && e->mtime_ns == mtime_ns(sb) &&
	    e->size == (long long)sb->st_size) {
		memcpy(md5, e->md5, 33);
		*size = e->size;
		e->used = 1;
		return 0;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			return live__fail(LIVE_ENOTFOUND, "%s: No such file or directory", key);
		return live__fail_errno(live__errno_code(err), err, "%s: open", key);
	}
	struct stat before, after;
	if (fstat(fd, &before) != 0) {
		int err = errno;
		close(fd);
		return live__fail_errno(live__errno_code(err), err, "%s: stat", key);
	}
	if (!S_ISREG(before.st_mode)) {
		close(fd);
		return live__fail(LIVE_EINVALID, "%s: not a regular file or a folder", key);
	}
	int rc = tr_md5_fd(fd, key, md5, size);
	int stable = !rc && fstat(fd, &after) == 0 && same_stat(&before, &after);
	close(fd);
	if (rc)
		return rc;
	long long now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
	if (stable && mtime_ns(&before) <= now_ns - TR_RACY_NS && *size == (long long)before.st_size) {
		if ((rc = slot_for(st, key, &e)) != 0)
			return rc;
		e->dev = (unsigned long long)before.st_dev;
		e->ino = (unsigned long long)before.st_ino;
		e->mtime_ns = mtime_ns(&before);
		e->size = (long long)before.st_size;
		memcpy(e->md5, md5, 33);
		e->used = 1;
		st->dirty = 1;
	} else if (e && e->md5[0]) {
		e->md5[0] = 0; /* stale: never hand it out again */
		st->dirty = 1;
	}
	return 0;
}

int tr_state_vouches(tr_state *st, const char *key, const tr_filestat *fs, const char *md5)
{
	tr_state_entry *e = lookup(st, key, hash_path(key));
	if (!e || !e->md5[0] || strncmp(e->md5, md5, 32) || e->dev != fs->dev || e->ino != fs->ino ||
	    e->mtime_ns != fs->mtime_ns || e->size != fs->size)
		return 0;
	e->used = 1;
	return 1;
}

int tr_state_remember(tr_state *st, const char *key, const tr_filestat *fs, const char *md5, long long since_ns)
{
	tr_state_entry *e;
	if (fs->mtime_ns > since_ns - TR_RACY_NS) { /* racy: it could change unseen */
		e = lookup(st, key, hash_path(key));
		if (e && e->md5[0]) {
			e->md5[0] = 0;
			st->dirty = 1;
		}
		return 0;
	}
	int rc = slot_for(st, key, &e);
	if (rc)
		return rc;
	e->dev = fs->dev;
	e->ino = fs->ino;
	e->mtime_ns = fs->mtime_ns;
	e->size = fs->size;
	snprintf(e->md5, sizeof(e->md5), "%.32s", md5);
	e->used = 1;
	st->dirty = 1;
	return 0;
}

int tr_state_hash_own(int fd, const char *show, char md5[33], long long *size, tr_filestat *id, long long *since)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	*since = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
	long long past = *since - TR_RACY_NS;
	struct timespec times[2] = {{0, UTIME_OMIT}, {(time_t)(past / 1000000000LL), (long)(past % 1000000000LL)}};
	struct stat before, after;
	id->size = -1;
	int dated = futimens(fd, times) == 0 && fstat(fd, &before) == 0;
	int rc = tr_md5_fd(fd, show, md5, size);
	if (!rc && dated && fstat(fd, &after) == 0 && same_stat(&before, &after) &&
	    *size == (long long)before.st_size) {
		id->dev = (unsigned long long)before.st_dev;
		id->ino = (unsigned long long)before.st_ino;
		id->mtime_ns = mtime_ns(&before);
		id->size = (long long)before.st_size;
	}
	return rc;
}

int tr_state_remember_object(tr_state *st, const char *md5, const tr_filestat *id, long long since)
{
	char key[64];
	struct stat sb;
	if (!st || id->size < 0 || strlen(md5) < 32)
		return 0;
	snprintf(key, sizeof(key), ".dvc/cache/%.2s/%.30s", md5, md5 + 2);
	if (fstatat(st->rootfd, key, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
	    (unsigned long long)sb.st_dev != id->dev || (unsigned long long)sb.st_ino != id->ino ||
	    mtime_ns(&sb) != id->mtime_ns || (long long)sb.st_size != id->size)
		return 0; /* not the file that was hashed: the object was there before */
	return tr_state_remember(st, key, id, md5, since);
}

typedef struct walk_ctx {
	tr_state *st;
	live__buf path; /* "<folder>/<sub>/", NUL-terminated after each name */
	size_t base;    /* length of "<folder>/" */
	tr_manifest *m;
	size_t cap;
} walk_ctx;

static int add_entry(walk_ctx *w, const char *md5, long long size)
{
	if (w->m->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		tr_dir_entry *p = realloc(w->m->entries, cap * sizeof(*p));
		if (!p)
			return live__fail(LIVE_ENOMEM, "%.*s: out of memory", (int)w->base, w->path.data);
		w->m->entries = p;
		w->cap = cap;
	}
	tr_dir_entry *e = &w->m->entries[w->m->n];
	if (!(e->relpath = strdup(w->path.data + w->base)))
		return live__fail(LIVE_ENOMEM, "%.*s: out of memory", (int)w->base, w->path.data);
	memcpy(e->md5, md5, 33);
	e->size = size;
	w->m->n++;
	return 0;
}

/* Walk the folder open as `dirfd` (takes ownership), whose path is in w->path. */
static int walk(walk_ctx *w, int dirfd)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		int err = errno;
		close(dirfd);
		return live__fail_errno(live__errno_code(err), err, "%s: open folder", w->path.data);
	}
	size_t len = w->path.len;
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				int err = errno;
				w->path.data[len] = 0;
				rc = live__fail_errno(live__errno_code(err), err, "%s: read folder",
				                      w->path.data);
			}
			break;
		}
		const char *name = de->d_name;
		if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
			continue;
		w->path.len = len;
		if ((rc = live__buf_append(&w->path, name, strlen(name) + 1)) != 0)
			break;
		w->path.len--; /* keep the NUL out of the length */
		struct stat sb;
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue; /* vanished since readdir */
			int err = errno;
			rc = live__fail_errno(live__errno_code(err), err, "%s: stat", w->path.data);
			break;
		}
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				int err = errno;
				rc = live__fail_errno(live__errno_code(err), err, "%s: open folder",
				                      w->path.data);
				break;
			}
			if ((rc = live__buf_append(&w->path, "/", 2)) != 0) {
				close(fd);
				break;
			}
			w->path.len--;
			if ((rc = walk(w, fd)) != 0)
				break;
			continue;
		}
		if (S_ISLNK(sb.st_mode) && (fstatat(dirfd, name, &sb, 0) != 0 || !S_ISREG(sb.st_mode)))
			continue; /* dangling, or a link to a folder or a device */
		if (!S_ISREG(sb.st_mode))
			continue;
		char md5[33];
		long long size;
		rc = hash_file(w->st, dirfd, name, w->path.data, &sb, md5, &size);
		if (rc == LIVE_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc || (rc = add_entry(w, md5, size)) != 0)
			break;
	}
	closedir(d);
	w->path.len = len;
	return rc;
}

int tr_hash_path(tr_state *st, const char *rel, tr_hashinfo *out, tr_manifest *manifest)
{
	memset(out, 0, sizeof(*out));
	out->nfiles = -1;
	if (manifest)
		memset(manifest, 0, sizeof(*manifest));
	if (!rel[0] || rel[0] == '/')
		return live__fail(LIVE_EINVALID, "'%s': not a path relative to the repository root", rel);
	struct stat sb;
	if (fstatat(st->rootfd, rel, &sb, 0) != 0) {
		int err = errno;
		if (err == ENOENT || err == ENOTDIR) {
			tr_state_entry *e = lookup(st, rel, hash_path(rel));
			if (e && e->md5[0]) {
				e->md5[0] = 0;
				st->dirty = 1;
			}
			return live__fail(LIVE_ENOTFOUND, "%s: No such file or directory", rel);
		}
		return live__fail_errno(live__errno_code(err), err, "%s: stat", rel);
	}
	if (S_ISREG(sb.st_mode)) {
		char md5[33];
		int rc = hash_file(st, st->rootfd, rel, rel, &sb, md5, &out->size);
		if (!rc)
			memcpy(out->md5, md5, 33);
		return rc;
	}
	if (!S_ISDIR(sb.st_mode))
		return live__fail(LIVE_EINVALID, "%s: not a regular file or a folder", rel);

	int fd = openat(st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		return live__fail_errno(live__errno_code(err), err, "%s: open folder", rel);
	}
	tr_manifest m = {0};
	walk_ctx w = {.st = st, .m = &m};
	size_t n = strlen(rel);
	while (n > 1 && rel[n - 1] == '/')
		n--;
	int rc = live__buf_append(&w.path, rel, n);
	if (!rc)
		rc = live__buf_append(&w.path, "/", 2);
	if (rc) {
		close(fd);
	} else {
		w.path.len--;
		w.base = w.path.len;
		rc = walk(&w, fd);
	}
	live__buf_free(&w.path);
	if (!rc)
		rc = tr_manifest_finish(&m, out);
	if (rc || !manifest)
		tr_manifest_free(&m);
	else
		*manifest = m;
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->nfiles = -1;
	}
	return rc;
}
