/*
 * IDX files through zlib's gz* interface. A file is read in one pass: the
 * header, then the payload into a buffer that grows as bytes arrive (so a
 * header that claims terabytes over a short file ends as "truncated", not as
 * a failed allocation), then a check that nothing follows.
 */
#include "idx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IMAGES_MAGIC 0x00000803u
#define LABELS_MAGIC 0x00000801u
#define MAX_SIDE 1024u
#define MAX_COUNT 10000000u
#define CHUNK (1u << 20)

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* gzerror's text without the "<fd:3>: " that zlib puts before it for a gzdopen'ed file. */
static const char *gz_message(gzFile gz, int *zerr)
{
	const char *msg = gzerror(gz, zerr);
	const char *sep = msg[0] == '<' ? strstr(msg, ": ") : NULL;

	if (*zerr == Z_ERRNO)
		return strerror(errno);
	return sep ? sep + 2 : msg;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Open a file for reading as gzip; refuses files that are not gzip (zlib would pass them through). */
static gzFile open_gz(const char *path, char *err, size_t errlen)
{
	unsigned char magic[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	ssize_t got = read(fd, magic, 2);
	if (got < 0) {
		fail(err, errlen, "%s: read: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (got == 0) {
		fail(err, errlen, "%s: empty file, expected a gzip file", path);
		close(fd);
		return NULL;
	}
	if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
		fail(err, errlen, "%s: not a gzip file", path);
		close(fd);
		return NULL;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		fail(err, errlen, "%s: seek: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	gzFile gz = gzdopen(fd, "rb");
	if (!gz) {
		fail(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	gzbuffer(gz, 128 * 1024);
	return gz;
}

/*
 * Read up to len bytes. Returns the count (short only at the end of the
 * data), or -1 with err set when the gzip stream is corrupt or cut off.
 */
static long long read_full(gzFile gz, const char *path, unsigned char *buf, size_t len, char *err,
                           size_t errlen)
{
	size_t done = 0;
	int zerr;

	while (done < len) {
		size_t want = len - done > CHUNK ? CHUNK : len - done;
		int got = gzread(gz, buf + done, (unsigned)want);
		if (got < 0) {
			fail(err, errlen, "%s: corrupt gzip data (%s)", path, gz_message(gz, &zerr));
			return -1;
		}
		if (got == 0)
			break;
		done += (size_t)got;
	}
	if (done < len) {
		gzerror(gz, &zerr);
		/* Z_BUF_ERROR at the end: the file stops inside the compressed stream. */
		if (zerr == Z_BUF_ERROR) {
			fail(err, errlen, "%s: the gzip stream is cut off (truncated file)", path);
			return -1;
		}
	}
	return (long long)done;
}

/* Count what is left in the stream; -1 on a gzip error. */
static long long count_rest(gzFile gz, const char *path, char *err, size_t errlen)
{
	unsigned char buf[16384];
	long long total = 0, got;

	while ((got = read_full(gz, path, buf, sizeof(buf), err, errlen)) > 0)
		total += got;
	return got < 0 ? -1 : total;
}

/*
 * Read a payload of len bytes into *out. Returns 0, 1 if the data ends early
 * (*got says after how many bytes: the caller words that in its own units),
 * or -1 with err set.
 */
static int read_payload(gzFile gz, const char *path, uint64_t len, unsigned char **out, uint64_t *got,
                        char *err, size_t errlen)
{
	size_t cap = len < 16u * CHUNK ? (size_t)len : 16u * CHUNK;
	unsigned char *buf = malloc(cap);
	size_t done = 0;

	*out = NULL;
	*got = 0;
	if (!buf) {
		fail(err, errlen, "%s: out of memory (%zu bytes)", path, cap);
		return -1;
	}
	for (;;) {
		long long n = read_full(gz, path, buf + done, cap - done, err, errlen);
		if (n < 0) {
			free(buf);
			return -1;
		}
		done += (size_t)n;
		*got = done;
		if (done < cap) {
			free(buf);
			return 1;
		}
		if (done == len) {
			*out = buf;
			return 0;
		}
		size_t next = len - cap < cap ? (size_t)len : cap * 2;
		unsigned char *grown = realloc(buf, next);
		if (!grown) {
			free(buf);
			fail(err, errlen, "%s: out of memory (%zu bytes)", path, next);
			return -1;
		}
		buf = grown;
		cap = next;
	}
}

/*
 * Read one IDX file: want_images picks the images layout (magic 0x803, count,
 * rows, cols) or the labels one (0x801, count). Fills *n (and *rows, *cols)
 * and returns the payload, or NULL with err set.
 */
static unsigned char *load_idx(const char *path, int want_images, int *n, int *rows, int *cols, char *err,
                               size_t errlen)
{
	unsigned char head[16];
	size_t headlen = want_images ? 16 : 8;
	uint32_t magic = want_images ? IMAGES_MAGIC : LABELS_MAGIC;
	const char *what = want_images ? "images" : "labels";
	unsigned char *data = NULL;
	uint64_t got;
	long long len;

	gzFile gz = open_gz(path, err, errlen);
	if (!gz)
		return NULL;
	len = read_full(gz, path, head, headlen, err, errlen);
	if (len < 0)
		goto out;
	if (len >= 4 && get_be32(head) != magic) {
		fail(err, errlen, "%s: bad magic 0x%08x, expected 0x%08x (%s)", path,
		     (unsigned)get_be32(head), (unsigned)magic,
		     want_images ? "an images file" : "a labels file");
		goto out;
	}
	if ((size_t)len < headlen) {
		fail(err, errlen, "%s: truncated header: %lld of %zu bytes", path, len, headlen);
		goto out;
	}
	uint32_t count = get_be32(head + 4);
	uint32_t r = want_images ? get_be32(head + 8) : 1, c = want_images ? get_be32(head + 12) : 1;
	if (count < 1 || count > MAX_COUNT) {
		fail(err, errlen, "%s: header says %u %s, expected 1..%u", path, (unsigned)count, what,
		     MAX_COUNT);
		goto out;
	}
	if (r < 1 || r > MAX_SIDE || c < 1 || c > MAX_SIDE) {
		fail(err, errlen, "%s: header says %u rows and %u cols, expected 1..%u each", path,
		     (unsigned)r, (unsigned)c, MAX_SIDE);
		goto out;
	}
	uint64_t each = (uint64_t)r * c, total = each * count;
	if (total > SIZE_MAX) {
		fail(err, errlen, "%s: %llu bytes of %s do not fit in memory here", path,
		     (unsigned long long)total, what);
		goto out;
	}
	int rc = read_payload(gz, path, total, &data, &got, err, errlen);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		if (want_images)
			fail(err, errlen,
			     "%s: truncated: header says %u images of %ux%u, file ends after %llu of them",
			     path, (unsigned)count, (unsigned)r, (unsigned)c,
			     (unsigned long long)(got / each));
		else
			fail(err, errlen,
			     "%s: truncated: header says %u labels, file ends after %llu of them", path,
			     (unsigned)count, (unsigned long long)got);
		goto out;
	}
	long long rest = count_rest(gz, path, err, errlen);
	if (rest != 0) {
		if (rest > 0)
			fail(err, errlen, "%s: %lld bytes of trailing data after %u %s", path, rest,
			     (unsigned)count, what);
		free(data);
		data = NULL;
		goto out;
	}
	*n = (int)count;
	if (want_images) {
		*rows = (int)r;
		*cols = (int)c;
	}
out:
	gzclose(gz);
	return data;
}

int idx_load_set(const char *images_path, const char *labels_path, mnist_set *out, char *err, size_t errlen)
{
	mnist_set set = {0};
	int nlabels = 0, unused;

	memset(out, 0, sizeof(*out));
	set.images = load_idx(images_path, 1, &set.n, &set.rows, &set.cols, err, errlen);
	if (!set.images)
		return -1;
	set.labels = load_idx(labels_path, 0, &nlabels, &unused, &unused, err, errlen);
	if (!set.labels) {
		idx_free_set(&set);
		return -1;
	}
	if (nlabels != set.n) {
		fail(err, errlen, "%s: %d labels but the images file has %d images", labels_path, nlabels,
		     set.n);
		idx_free_set(&set);
		return -1;
	}
	for (int i = 0; i < set.n; i++) {
		if (set.labels[i] > 9) {
			fail(err, errlen, "%s: label %d at index %d is out of range 0..9", labels_path,
			     set.labels[i], i);
			idx_free_set(&set);
			return -1;
		}
	}
	*out = set;
	return 0;
}

static void join(char *buf, size_t len, const char *dir, const char *name)
{
	size_t n = strlen(dir);
	snprintf(buf, len, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

int idx_load_dir(const char *dir, mnist_set *train, mnist_set *test, char *err, size_t errlen)
{
	char images[4096], labels[4096];

	memset(test, 0, sizeof(*test));
	join(images, sizeof(images), dir, MNIST_TRAIN_IMAGES);
	join(labels, sizeof(labels), dir, MNIST_TRAIN_LABELS);
	if (idx_load_set(images, labels, train, err, errlen) != 0)
		return -1;
	join(images, sizeof(images), dir, MNIST_TEST_IMAGES);
	join(labels, sizeof(labels), dir, MNIST_TEST_LABELS);
	if (idx_load_set(images, labels, test, err, errlen) != 0) {
		idx_free_set(train);
		return -1;
	}
	return 0;
}

/* Write header + payload as gzip to path, through a temp file in the same folder and a rename. */
static int write_gz(const char *path, const unsigned char *head, size_t headlen, const unsigned char *data,
                    size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	int zerr;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		fail(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fail(err, errlen, "%s: create temp file: %s", path, strerror(errno));
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask); /* mkstemp makes 0600; give it what a plain create would */

	int gzfd = dup(fd);
	gzFile gz = gzfd < 0 ? NULL : gzdopen(gzfd, "wb6");
	if (!gz) {
		fail(err, errlen, "%s: %s", path, gzfd < 0 ? strerror(errno) : "out of memory");
		if (gzfd >= 0)
			close(gzfd);
		goto fail;
	}
	const unsigned char *part[2] = {head, data};
	size_t partlen[2] = {headlen, len};
	for (int i = 0; i < 2; i++) {
		for (size_t done = 0; done < partlen[i];) {
			size_t want = partlen[i] - done > CHUNK ? CHUNK : partlen[i] - done;
			if (gzwrite(gz, part[i] + done, (unsigned)want) != (int)want) {
				fail(err, errlen, "%s: write: %s", path, gz_message(gz, &zerr));
				gzclose(gz);
				goto fail;
			}
			done += want;
		}
	}
	zerr = gzclose(gz);
	if (zerr != Z_OK) {
		fail(err, errlen, "%s: write: %s", path, zerr == Z_ERRNO ? strerror(errno) : "gzip error");
		goto fail;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fail(err, errlen, "%s: write: %s", path, strerror(errno));
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		fail(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int idx_write_set(const mnist_set *set, const char *images_path, const char *labels_path, char *err,
                  size_t errlen)
{
	unsigned char head[16];

	if (set->n < 1 || (unsigned)set->n > MAX_COUNT || set->rows < 1 || (unsigned)set->rows > MAX_SIDE ||
	    set->cols < 1 || (unsigned)set->cols > MAX_SIDE) {
		fail(err, errlen, "%s: cannot write %d images of %dx%d", images_path, set->n, set->rows,
		     set->cols);
		return -1;
	}
	put_be32(head, IMAGES_MAGIC);
	put_be32(head + 4, (uint32_t)set->n);
	put_be32(head + 8, (uint32_t)set->rows);
	put_be32(head + 12, (uint32_t)set->cols);
	size_t len = (size_t)set->n * (size_t)set->rows * (size_t)set->cols;
	if (write_gz(images_path, head, 16, set->images, len, err, errlen) != 0)
		return -1;
	put_be32(head, LABELS_MAGIC);
	return write_gz(labels_path, head, 8, set->labels, (size_t)set->n, err, errlen);
}

void idx_free_set(mnist_set *set)
{
	if (!set)
		return;
	free(set->images);
	free(set->labels);
	memset(set, 0, sizeof(*set));
}
