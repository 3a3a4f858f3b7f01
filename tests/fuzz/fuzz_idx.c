/*
 * IDX files (examples/mnist/idx.c): idx_load_set on an images file and a
 * labels file, both gzip.
 *
 * Input: a flags byte, a 2-byte little-endian length L, then L bytes for the
 * images file and the rest for the labels file. Flags:
 *   bit 0  gzip the images bytes here (so the fuzzer shapes the IDX header and
 *          payload); else they are the file as is (the gzip layer is fuzzed)
 *   bit 1  the same for the labels bytes
 *   bit 2  cut the last byte off the gzipped images (a truncated stream)
 *   bit 3  append a second gzip member holding the byte 7 to the labels (gzip
 *          members concatenate: the reader must see one stream)
 *
 * A set that loads must hold what its header says and labels 0..9; a set
 * that does not must come with a message and nothing to free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "idx.h"

static char images[4096], labels[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_path(images, sizeof(images), "images.gz");
	fz_path(labels, sizeof(labels), "labels.gz");
	return 0;
}

/* A gzip member of `len` bytes into out (malloc'd); returns its size. */
static size_t gzip_bytes(const uint8_t *data, size_t len, uint8_t **out)
{
	z_stream z;
	size_t cap = len + len / 100 + 64;

	memset(&z, 0, sizeof(z));
	*out = malloc(cap);
	FZ_CHECK(*out && deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
	         "zlib init");
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	FZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
	size_t n = z.total_out;
	deflateEnd(&z);
	return n;
}

static void write_part(const char *path, const uint8_t *data, size_t len, int zip, int cut, int member)
{
	uint8_t *z = NULL, *z2 = NULL;

	if (!zip) {
		fz_write(path, data, len);
		return;
	}
	size_t n = gzip_bytes(data, len, &z);
	if (cut && n)
		n--;
	if (member) {
		static const uint8_t one = 7;
		size_t n2 = gzip_bytes(&one, 1, &z2);
		uint8_t *both = realloc(z, n + n2);
		FZ_CHECK(both, "out of memory");
		z = both;
		memcpy(z + n, z2, n2);
		n += n2;
	}
	fz_write(path, z, n);
	free(z);
	free(z2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	unsigned flags = data[0];
	size_t len = (size_t)data[1] | (size_t)data[2] << 8;
	const uint8_t *rest = data + 3;
	size_t nrest = size - 3;
	if (len > nrest)
		len = nrest;

	write_part(images, rest, len, flags & 1, flags & 4, 0);
	write_part(labels, rest + len, nrest - len, flags & 2, 0, flags & 8);

	mnist_set set;
	char err[512] = "";
	int rc = idx_load_set(images, labels, &set, err, sizeof(err));
	if (rc) {
		FZ_CHECK(rc == -1 && err[0], "failed with %d and no message", rc);
		FZ_CHECK(!set.images && !set.labels, "a failed load left data");
		return 0;
	}
	FZ_CHECK(!((flags & 1) && (flags & 4)), "a cut-off gzip stream loaded");
	FZ_CHECK(set.n >= 1 && set.rows >= 1 && set.rows <= 1024 && set.cols >= 1 && set.cols <= 1024,
	         "loaded %d images of %dx%d", set.n, set.rows, set.cols);
	FZ_CHECK(!(flags & 1) || len == 16 + (size_t)set.n * (size_t)set.rows * (size_t)set.cols,
	         "the images file holds %zu bytes for %d images of %dx%d", len, set.n, set.rows, set.cols);
	FZ_CHECK(!(flags & 1) || !memcmp(set.images, rest + 16, (size_t)set.n * set.rows * set.cols),
	         "the pixels differ from the file's");
	for (int i = 0; i < set.n; i++)
		FZ_CHECK(set.labels[i] <= 9, "label %d at %d", set.labels[i], i);
	if (flags & 2) {
		/* the labels stream: the bytes here, then the second member's 7 */
		size_t nl = nrest - len, extra = !!(flags & 8);
		FZ_CHECK(nl + extra == 8 + (size_t)set.n, "the labels stream holds %zu bytes for %d labels",
		         nl + extra, set.n);
		FZ_CHECK(!memcmp(set.labels, rest + len + 8, nl - 8) &&
		                 (!extra || set.labels[set.n - 1] == 7),
		         "the labels differ from the file's");
	}
	idx_free_set(&set);
	return 0;
}
