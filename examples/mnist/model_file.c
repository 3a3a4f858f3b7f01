/* model.pt: write and validate the checkpoint format described in model_file.h. */
#include "model_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert(sizeof(float) == 4, "parameters are stored as 32-bit IEEE-754 floats");

#define ARCH_FIELDS 7

/* This trainer's architecture, in header order (offsets 16..40). */
static const uint32_t our_arch[ARCH_FIELDS] = {
	CNN_ROWS, CNN_COLS, CNN_FILTERS, CNN_KERNEL, CNN_POOL, CNN_HIDDEN, CNN_CLASSES,
};

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc_of(const unsigned char *p, size_t len)
{
	/* zlib's crc32 takes uInt lengths; the file is far below 4 GiB */
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

/* ---- atomic writes ---------------------------------------------------------- */

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the folder holding `path`, so that the rename itself is durable. */
static int sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int model_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	const char *what = "open";

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		goto fail;
	what = "write";
	if (write_all(fd, data, len) != 0)
		goto fail_open;
	what = "fsync";
	if (fsync(fd) != 0)
		goto fail_open;
	what = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail_open;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: rename to %s: %s", tmp, path, strerror(e));
		unlink(tmp);
		return -1;
	}
	if (sync_parent(path) != 0) {
		snprintf(err, errlen, "%s: fsync of its folder: %s", path, strerror(errno));
		return -1;
	}
	return 0;
fail_open: {
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
}
fail:
	snprintf(err, errlen, "%s: %s: %s", tmp, what, strerror(errno));
	return -1;
}

/* ---- save ------------------------------------------------------------------- */

int model_save(const char *path, const model_state *m, char *err, size_t errlen)
{
	unsigned char *buf = malloc(MODEL_FILE_SIZE);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memcpy(buf, MODEL_MAGIC, 8);
	put32(buf + 8, MODEL_VERSION);
	put32(buf + 12, MODEL_HEADER_LEN);
	for (int i = 0; i < ARCH_FIELDS; i++)
		put32(buf + 16 + 4 * i, our_arch[i]);
	put64(buf + 44, m->seed);
	put64(buf + 52, m->rng);
	put32(buf + 60, m->epochs);
	put32(buf + 64, CNN_NPARAMS);
	for (int i = 0; i < CNN_NPARAMS; i++) {
		uint32_t bits;
		memcpy(&bits, &m->net.w[i], 4);
		put32(buf + MODEL_HEADER_LEN + 4 * i, bits);
	}
	put32(buf + MODEL_FILE_SIZE - 4, crc_of(buf, MODEL_FILE_SIZE - 4));
	int rc = model_write_atomic(path, buf, MODEL_FILE_SIZE, err, errlen);
	free(buf);
	return rc;
}

/* ---- load ------------------------------------------------------------------- */

/* Files larger than this are not models of any architecture we would read. */
#define MODEL_MAX_BYTES (64u << 20)

/* Read all of fd (at most MODEL_MAX_BYTES + 1 bytes) into a malloc'd buffer. */
static unsigned char *read_all(int fd, size_t *len)
{
	size_t cap = MODEL_FILE_SIZE + 1, got = 0;
	unsigned char *buf = malloc(cap);

	while (buf) {
		if (got == cap) {
			if (cap > MODEL_MAX_BYTES)
				break;
			unsigned char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return buf;
}

/* "16x5x5", plus every other field in which `a` and `b` differ. */
static void arch_string(const uint32_t *a, const uint32_t *b, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%ux%ux%u", a[2], a[3], a[3]);
	if (n < len && (a[0] != b[0] || a[1] != b[1]))
		n += (size_t)snprintf(buf + n, len - n, ", %ux%u input", a[0], a[1]);
	if (n < len && a[4] != b[4])
		n += (size_t)snprintf(buf + n, len - n, ", %ux%u pool", a[4], a[4]);
	if (n < len && a[5] != b[5] && a[5] == 0)
		n += (size_t)snprintf(buf + n, len - n, ", no hidden layer");
	else if (n < len && a[5] != b[5])
		n += (size_t)snprintf(buf + n, len - n, ", %u hidden units", a[5]);
	if (n < len && a[6] != b[6])
		snprintf(buf + n, len - n, ", %u classes", a[6]);
}

/* Validate the bytes of a whole file (see the order in model_file.h). */
static int parse(const char *path, const unsigned char *buf, uint64_t size, model_state *m, char *err,
		 size_t errlen)
{
	uint64_t want = MODEL_FILE_SIZE;

	if (memcmp(buf, MODEL_MAGIC, size < 8 ? (size_t)size : 8) != 0) {
		snprintf(err, errlen, "%s: not a live model file (bad magic)", path);
		return MODEL_ERROR;
	}
	if (size >= 12 && get32(buf + 8) != MODEL_VERSION) {
		snprintf(err, errlen,
			 "%s: format version %u is not supported (this trainer reads version %u)", path,
			 get32(buf + 8), MODEL_VERSION);
		return MODEL_ERROR;
	}
	if (size >= 16 && get32(buf + 12) != MODEL_HEADER_LEN) {
		snprintf(err, errlen, "%s: header length %u is not version %u's %u (the file is corrupt)",
			 path, get32(buf + 12), MODEL_VERSION, MODEL_HEADER_LEN);
		return MODEL_ERROR;
	}
	if (size >= MODEL_HEADER_LEN)
		want = MODEL_HEADER_LEN + 4 * (uint64_t)get32(buf + 64) + 4;
	/* a file of exactly our size whose count field disagrees: the checksum tells */
	if (size != want && !(size == MODEL_FILE_SIZE && crc_of(buf, size - 4) != get32(buf + size - 4))) {
		if (size < want)
			snprintf(err, errlen, "%s: truncated: expected %llu bytes, got %llu", path,
				 (unsigned long long)want, (unsigned long long)size);
		else
			snprintf(err, errlen, "%s: trailing data: expected %llu bytes, got %llu", path,
				 (unsigned long long)want, (unsigned long long)size);
		return MODEL_ERROR;
	}
	if (size != want || crc_of(buf, size - 4) != get32(buf + size - 4)) {
		snprintf(err, errlen, "%s: checksum mismatch (the file is corrupt)", path);
		return MODEL_ERROR;
	}

	uint32_t arch[ARCH_FIELDS];
	for (int i = 0; i < ARCH_FIELDS; i++)
		arch[i] = get32(buf + 16 + 4 * i);
	if (memcmp(arch, our_arch, sizeof(arch)) != 0) {
		char theirs[128], ours[128];
		arch_string(arch, our_arch, theirs, sizeof(theirs));
		arch_string(our_arch, arch, ours, sizeof(ours));
		snprintf(err, errlen, "%s: architecture %s differs from this trainer's %s", path, theirs,
			 ours);
		return MODEL_ERROR;
	}
	if (get32(buf + 64) != CNN_NPARAMS) {
		snprintf(err, errlen, "%s: %u parameters, but the architecture has %u (the file is corrupt)",
			 path, get32(buf + 64), (unsigned)CNN_NPARAMS);
		return MODEL_ERROR;
	}

	m->seed = get64(buf + 44);
	m->rng = get64(buf + 52);
	m->epochs = get32(buf + 60);
	for (int i = 0; i < CNN_NPARAMS; i++) {
		uint32_t bits = get32(buf + MODEL_HEADER_LEN + 4 * i);
		memcpy(&m->net.w[i], &bits, 4);
	}
	return 0;
}

int model_load(const char *path, model_state *m, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? MODEL_MISSING : MODEL_ERROR;
	}
	size_t size = 0;
	unsigned char *buf = read_all(fd, &size);
	int e = errno;
	close(fd);
	if (!buf) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return MODEL_ERROR;
	}
	if (size > MODEL_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %u MiB: not a model file", path,
			 MODEL_MAX_BYTES >> 20);
		free(buf);
		return MODEL_ERROR;
	}

	/* parse into a copy, so that *m is untouched on error */
	model_state *tmp = malloc(sizeof(*tmp));
	int rc = MODEL_ERROR;
	if (!tmp)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		rc = parse(path, buf, size, tmp, err, errlen);
	if (rc == 0)
		*m = *tmp;
	free(tmp);
	free(buf);
	return rc;
}
