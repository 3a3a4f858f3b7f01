/*
 * Capturing a checkpoint: the trainer is blocked only while its outputs are
 * copied out of its way (SPEC 3). Small files are read into memory, large
 * ones copied in the kernel (reflink or copy_file_range) to a staging folder
 * on the cache's file system. Hashing, caching, dvc.lock and the commit then
 * run from the captured copies while training goes on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tracker.h"

/* Files up to this size are captured in memory; larger ones are staged. */
#define IN_MEMORY_MAX (8u << 20)

static int read_fd(int fd, size_t size, unsigned char **out, const char *show)
{
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		return live__fail(LIVE_ENOMEM, "%s: out of memory", show);
	size_t got = 0;
	while (got < size) {
		ssize_t r = pread(fd, p + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			free(p);
			return live__fail_errno(live__errno_code(err), err, "%s: read", show);
		}
		if (r == 0)
			break; /* shrank under us: what was there is the capture */
		got += (size_t)r;
	}
	*out = p;
	return 0;
}

static int stage_copy(const char *root, int src, const char *show, char **staged)
{
	char dir[4200], path[4300];
	snprintf(dir, sizeof(dir), "%s/.dvc/tmp/live-stage", root);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return live__fail_errno(live__errno_code(errno), errno, "mkdir %s", dir);
	snprintf(path, sizeof(path), "%s/XXXXXX", dir);
	int dst = mkostemp(path, O_CLOEXEC);
	if (dst < 0)
		return live__fail_errno(live__errno_code(errno), errno, "%s: stage a copy", show);
	int rc = tr_copy_fd(src, dst, show);
	if (close(dst) != 0 && !rc)
		rc = live__fail_errno(live__errno_code(errno), errno, "%s: stage a copy", show);
	if (rc) {
		unlink(path);
		return rc;
	}
	if (!(*staged = strdup(path))) {
		unlink(path);
		return live__fail(LIVE_ENOMEM, "out of memory");
	}
	return 0;
}

static int capture_file(const char *root, tr_capture_out *o, const char *path, const char *relpath)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : live__fail_errno(live__errno_code(errno), errno, "%s: open", path);
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? live__fail_errno(LIVE_EIO, errno, "%s: stat", path) : 0;
	if (!rc && !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	tr_capture_file *f = NULL;
	if (!rc) {
		tr_capture_file *v = realloc(o->files, (o->n + 1) * sizeof(*v));
		if (!v)
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		else {
			o->files = v;
			f = &v[o->n];
			memset(f, 0, sizeof(*f));
			f->relpath = strdup(relpath);
			if (!f->relpath)
				rc = live__fail(LIVE_ENOMEM, "out of memory");
		}
	}
	if (!rc) {
		o->n++;
		f->size = (long long)st.st_size;
		if ((size_t)st.st_size <= IN_MEMORY_MAX) {
			rc = read_fd(fd, (size_t)st.st_size, &f->data, path);
			f->len = (size_t)st.st_size;
		} else {
			rc = stage_copy(root, fd, path, &f->staged);
		}
	}
	close(fd);
	return rc;
}

static int capture_dir(const char *root, tr_capture_out *o, const char *path, const char *prefix, int depth)
{
	if (depth > 64)
		return live__fail(LIVE_EIO, "%s: folders nested too deep", path);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : live__fail_errno(LIVE_EIO, errno, "%s: read folder", path);
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char child[4200], rel[4200];
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		snprintf(rel, sizeof(rel), "%s%s", prefix, e->d_name);
		struct stat st;
		if (lstat(child, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			strncat(rel, "/", sizeof(rel) - strlen(rel) - 1);
			rc = capture_dir(root, o, child, rel, depth + 1);
		} else {
			rc = capture_file(root, o, child, rel); /* a link to a file: its content */
		}
	}
	closedir(d);
	return rc;
}

int tr_capture_stage(const char *root, const tr_stage *s, tr_capture *cap)
{
	memset(cap, 0, sizeof(*cap));
	cap->outs = calloc(s->nouts + 1, sizeof(*cap->outs));
	if (!cap->outs)
		return live__fail(LIVE_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < s->nouts; i++) {
		const tr_out *out = &s->outs[i];
		tr_capture_out *o = &cap->outs[cap->n++];
		o->cached = out->cache;
		o->path = strdup(out->path);
		if (!o->path) {
			rc = live__fail(LIVE_ENOMEM, "out of memory");
			break;
		}
		char full[4200];
		snprintf(full, sizeof(full), "%s/%s", root, out->path);
		struct stat st;
		if (stat(full, &st) != 0) {
			o->missing = 1;
			continue;
		}
		o->is_dir = S_ISDIR(st.st_mode);
		rc = o->is_dir ? capture_dir(root, o, full, "", 0) : capture_file(root, o, full, "");
		if (!rc && out->kind == TR_LIVE && out->summary) {
			char sum[4300];
			snprintf(sum, sizeof(sum), "%s.json", full);
			int fd = open(sum, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				struct stat ss;
				if (fstat(fd, &ss) == 0 && (size_t)ss.st_size <= IN_MEMORY_MAX) {
					rc = read_fd(fd, (size_t)ss.st_size, &cap->summary, sum);
					cap->summary_len = (size_t)ss.st_size;
					if (!rc && asprintf(&cap->summary_rel, "%s.json", out->path) < 0)
						rc = live__fail(LIVE_ENOMEM, "out of memory");
				}
				close(fd);
			}
		}
	}
	if (rc)
		tr_capture_free(cap);
	return rc;
}

static int hash_file(tr_capture_file *f, char md5[33])
{
	if (!f->staged)
		return tr_md5_dvc_buf(f->data, f->len, md5);
	int fd = open(f->staged, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return live__fail_errno(LIVE_EIO, errno, "%s: open", f->staged);
	int rc = tr_state_hash_own(fd, f->staged, md5, &f->size, &f->id, &f->since);
	close(fd);
	return rc;
}

/* A staged copy becomes the object: the stat cache remembers it, for `live exp push`. */
static int store_file(const char *root, tr_state *st, tr_capture_file *f, const char *md5, const char *show)
{
	if (!f->staged)
		return tr_cache_add_bytes(root, md5, f->data, f->len, show);
	int rc = tr_cache_adopt(root, md5, f->staged, show);
	free(f->staged);
	f->staged = NULL;
	return rc ? rc : tr_state_remember_object(st, md5, &f->id, f->since);
}

static int hash_out(const char *root, tr_state *st, tr_capture_out *o, tr_lock_entry *e)
{
	memset(&e->h, 0, sizeof(e->h));
	e->h.nfiles = -1;
	if (!(e->path = strdup(o->path)))
		return live__fail(LIVE_ENOMEM, "out of memory");
	if (o->missing)
		return 0;
	int rc = 0;
	if (!o->is_dir) {
		if (o->n == 0)
			return 0;
		char md5[33];
		rc = hash_file(&o->files[0], md5);
		if (!rc && o->cached)
			rc = store_file(root, st, &o->files[0], md5, o->path);
		if (!rc) {
			memcpy(e->h.md5, md5, 33);
			e->h.size = o->files[0].size;
		}
		return rc;
	}
	tr_manifest m = { 0 };
	m.entries = calloc(o->n + 1, sizeof(*m.entries));
	if (!m.entries)
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < o->n; i++) {
		tr_dir_entry *d = &m.entries[m.n++];
		d->relpath = strdup(o->files[i].relpath);
		d->size = o->files[i].size;
		rc = d->relpath ? hash_file(&o->files[i], d->md5) : live__fail(LIVE_ENOMEM, "out of memory");
		if (!rc && o->cached) {
			char show[4300];
			snprintf(show, sizeof(show), "%s/%s", o->path, o->files[i].relpath);
			rc = store_file(root, st, &o->files[i], d->md5, show);
		}
	}
	if (!rc)
		rc = tr_manifest_finish(&m, &e->h);
	if (!rc && o->cached)
		rc = tr_cache_add_bytes(root, e->h.md5, m.json, m.json_len, o->path);
	tr_manifest_free(&m);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const tr_lock_entry *)a)->path, ((const tr_lock_entry *)b)->path);
}

int tr_capture_hash(const char *root, tr_state *st, const tr_stage *s, tr_capture *cap, tr_lock_stage *out)
{
	/* deps and params from the work tree (the trainer does not change them) */
	tr_stage no_outs = *s;
	no_outs.nouts = 0;
	int rc = tr_stage_hash(st, root, &no_outs, 1, 0, out);
	if (rc)
		return rc;
	tr_lock_entry *outs = calloc(cap->n + 1, sizeof(*outs));
	if (!outs) {
		tr_lock_stage_free(out);
		return live__fail(LIVE_ENOMEM, "out of memory");
	}
	free(out->outs);
	out->outs = outs;
	out->nouts = 0;
	for (size_t i = 0; !rc && i < cap->n; i++) {
		rc = hash_out(root, st, &cap->outs[i], &out->outs[out->nouts]);
		out->nouts++;
	}
	if (!rc)
		qsort(out->outs, out->nouts, sizeof(*out->outs), cmp_entry);
	if (rc)
		tr_lock_stage_free(out);
	return rc;
}

const tr_capture_file *tr_capture_find(const tr_capture *cap, const char *rel)
{
	for (size_t i = 0; cap && i < cap->n; i++) {
		const tr_capture_out *o = &cap->outs[i];
		size_t n = strlen(o->path);
		if (!o->is_dir) {
			if (o->n == 1 && o->files[0].data && !strcmp(o->path, rel))
				return &o->files[0];
			continue;
		}
		/* a file inside a folder out: "<out>/<relpath>" */
		if (strncmp(rel, o->path, n) || rel[n] != '/')
			continue;
		for (size_t k = 0; k < o->n; k++)
			if (o->files[k].data && !strcmp(o->files[k].relpath, rel + n + 1))
				return &o->files[k];
	}
	return NULL;
}

void tr_capture_free(tr_capture *cap)
{
	for (size_t i = 0; i < cap->n; i++) {
		tr_capture_out *o = &cap->outs[i];
		for (size_t k = 0; k < o->n; k++) {
			free(o->files[k].relpath);
			free(o->files[k].data);
			if (o->files[k].staged) {
				unlink(o->files[k].staged);
				free(o->files[k].staged);
			}
		}
		free(o->files);
		free(o->path);
	}
	free(cap->outs);
	free(cap->summary);
	free(cap->summary_rel);
	memset(cap, 0, sizeof(*cap));
}
