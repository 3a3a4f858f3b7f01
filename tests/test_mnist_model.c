/*
 * examples/mnist: model.pt (save, load, every rejection with its exact
 * message) and the network of cnn.h (the generator, the gradient, and that a
 * step is deterministic).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cnn.h"
#include "model_file.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

/* A state with every parameter distinct, and awkward floats among them. */
static model_state *sample_state(void)
{
	model_state *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	uint64_t rng = cnn_rng_seed(7);
	for (int i = 0; i < CNN_NPARAMS; i++)
		m->net.w[i] = (float)((int64_t)(cnn_rng_next(&rng) >> 40) - (1 << 23)) * 1e-7f;
	m->net.w[0] = -0.0f;
	m->net.w[1] = 1e-45f; /* the smallest subnormal */
	m->net.w[2] = INFINITY;
	m->net.w[3] = NAN;
	m->net.w[CNN_NPARAMS - 1] = 3.4028235e38f;
	m->seed = 473987;
	m->rng = 0x0123456789ABCDEFULL;
	m->epochs = 42;
	return m;
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void write_bytes(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Recompute the trailing CRC after a deliberate edit, so only the edit is wrong. */
static void fix_crc(unsigned char *buf, size_t len)
{
	put32(buf + len - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4)));
}

/* Save a sample model to model.pt and return its bytes. */
static unsigned char *saved_bytes(size_t *len)
{
	model_state *m = sample_state();
	char err[256];
	assert_int_equal(model_save("model.pt", m, err, sizeof(err)), 0);
	free(m);
	return read_bytes("model.pt", len);
}

/* Loading model.pt fails with exactly `want`, and leaves the output untouched. */
static void assert_rejected(const char *want)
{
	model_state *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->epochs = 12345;
	char err[256] = "";
	assert_int_equal(model_load("model.pt", m, err, sizeof(err)), MODEL_ERROR);
	assert_string_equal(err, want);
	assert_int_equal(m->epochs, 12345);
	assert_true(m->net.w[0] == 0.0f);
	free(m);
}

/* ---- model.pt ---------------------------------------------------------------- */

static void test_model_round_trip_is_bit_exact(void **state)
{
	(void)state;
	model_state *a = sample_state(), *b = calloc(1, sizeof(*b));
	char err[256];

	assert_int_equal(model_save("model.pt", a, err, sizeof(err)), 0);
	assert_false(tu_exists("model.pt.tmp"));
	assert_int_equal(model_load("model.pt", b, err, sizeof(err)), 0);
	assert_true(a->seed == b->seed);
	assert_true(a->rng == b->rng);
	assert_int_equal(a->epochs, b->epochs);
	assert_memory_equal(a->net.w, b->net.w, sizeof(a->net.w)); /* NaN, -0 and subnormals too */

	/* saving again over the file gives the same bytes */
	size_t len1, len2;
	unsigned char *first = read_bytes("model.pt", &len1);
	assert_int_equal(model_save("model.pt", b, err, sizeof(err)), 0);
	unsigned char *second = read_bytes("model.pt", &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(first, second, len1);
	free(first);
	free(second);
	free(a);
	free(b);
}

static void test_model_layout_is_the_documented_one(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = saved_bytes(&len);

	assert_int_equal(len, MODEL_FILE_SIZE);
	assert_int_equal(len, 72 + 4 * CNN_NPARAMS);
	assert_int_equal(len, 594416);
	assert_memory_equal(buf, "LIVEMDL1", 8);
	assert_int_equal(get32(buf + 8), 1);
	assert_int_equal(get32(buf + 12), 68);
	const uint32_t arch[7] = {28, 28, 16, 5, 2, 64, 10};
	for (int i = 0; i < 7; i++)
		assert_int_equal(get32(buf + 16 + 4 * i), arch[i]);
	assert_int_equal(get32(buf + 44), 473987); /* seed, low half */
	assert_int_equal(get32(buf + 48), 0);
	assert_int_equal(get32(buf + 52), 0x89ABCDEF); /* rng, little-endian */
	assert_int_equal(get32(buf + 56), 0x01234567);
	assert_int_equal(get32(buf + 60), 42);
	assert_int_equal(get32(buf + 64), CNN_NPARAMS);
	assert_int_equal(get32(buf + 68), 0x80000000); /* w[0] = -0.0f */
	assert_int_equal(get32(buf + 72), 1);          /* w[1] = the smallest subnormal */
	assert_int_equal(get32(buf + len - 4), (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4)));
	free(buf);
}

static void test_model_missing_file(void **state)
{
	(void)state;
	model_state *m = calloc(1, sizeof(*m));
	char err[256];
	assert_int_equal(model_load("model.pt", m, err, sizeof(err)), MODEL_MISSING);
	assert_string_equal(err, "model.pt: No such file or directory");
	free(m);
}

static void test_model_truncated_is_rejected(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = saved_bytes(&len);

	write_bytes("model.pt", buf, 1000);
	assert_rejected("model.pt: truncated: expected 594416 bytes, got 1000");
	write_bytes("model.pt", buf, len - 1);
	assert_rejected("model.pt: truncated: expected 594416 bytes, got 594415");
	write_bytes("model.pt", buf, 10); /* inside the header */
	assert_rejected("model.pt: truncated: expected 594416 bytes, got 10");
	write_bytes("model.pt", buf, 0);
	assert_rejected("model.pt: truncated: expected 594416 bytes, got 0");
	free(buf);
}

static void test_model_trailing_data_is_rejected(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = saved_bytes(&len);
	buf[len] = 0;
	write_bytes("model.pt", buf, len + 1);
	assert_rejected("model.pt: trailing data: expected 594416 bytes, got 594417");
	free(buf);
}

static void test_model_flipped_byte_is_rejected(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = saved_bytes(&len);
	const size_t where[] = {68 + 4 * 1000 + 2, len - 1 /* the CRC itself */, 60 /* epochs */,
				64 /* parameter count */, 44 /* seed */};

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		buf[where[i]] ^= 0x10;
		write_bytes("model.pt", buf, len);
		assert_rejected("model.pt: checksum mismatch (the file is corrupt)");
		buf[where[i]] ^= 0x10;
	}
	free(buf);
}

static void test_model_bad_magic_is_rejected(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = saved_bytes(&len);
	buf[0] = 'X';
	write_bytes("model.pt", buf, len);
	assert_rejected("model.pt: not a live model file (bad magic)");
	tu_write_file("model.pt", "PK\003\004 a PyTorch zip archive, say");
	assert_rejected("model.pt: not a live model file (bad magic)");
	tu_write_file("model.pt", "LIVX"); /* short, and not a prefix of the magic */
	assert_rejected("model.pt: not a live model file (bad magic)");
	free(buf);
}

static void test_model_other_version_is_rejected(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = saved_bytes(&len);
	put32(buf + 8, 2);
	fix_crc(buf, len);
	write_bytes("model.pt", buf, len);
	assert_rejected("model.pt: format version 2 is not supported (this trainer reads version 1)");
	put32(buf + 8, 1);
	put32(buf + 12, 60);
	fix_crc(buf, len);
	write_bytes("model.pt", buf, len);
	assert_rejected("model.pt: header length 60 is not version 1's 68 (the file is corrupt)");
	free(buf);
}

/* A valid file for another architecture: other dims, its own parameter count. */
static void write_other_arch(const uint32_t arch[7], uint32_t nparams)
{
	size_t len = 72 + 4 * (size_t)nparams;
	unsigned char *buf = calloc(1, len);
	memcpy(buf, "LIVEMDL1", 8);
	put32(buf + 8, 1);
	put32(buf + 12, 68);
	for (int i = 0; i < 7; i++)
		put32(buf + 16 + 4 * i, arch[i]);
	put32(buf + 64, nparams);
	fix_crc(buf, len);
	write_bytes("model.pt", buf, len);
	free(buf);
}

static void test_model_other_architecture_is_rejected(void **state)
{
	(void)state;
	const uint32_t eight[7] = {28, 28, 8, 5, 2, 64, 10};
	write_other_arch(eight, 8 * 25 + 8 + 64 * 8 * 144 + 64 + 10 * 64 + 10);
	assert_rejected("model.pt: architecture 8x5x5 differs from this trainer's 16x5x5");

	const uint32_t flat[7] = {32, 32, 16, 3, 2, 0, 10};
	write_other_arch(flat, 1000);
	assert_rejected("model.pt: architecture 16x3x3, 32x32 input, no hidden layer differs from this "
			"trainer's 16x5x5, 28x28 input, 64 hidden units");
}

static void test_model_save_failure_names_the_file(void **state)
{
	(void)state;
	model_state *m = sample_state();
	char err[256];
	assert_int_equal(model_save("no/such/dir/model.pt", m, err, sizeof(err)), -1);
	assert_string_equal(err, "no/such/dir/model.pt.tmp: open: No such file or directory");
	free(m);
}

/* ---- the network --------------------------------------------------------------- */

static void test_rng_is_pinned(void **state)
{
	(void)state;
	/* model.pt stores the generator state: its sequence must never change
	 * (the constants come from a separate Python splitmix64 + xorshift64*) */
	uint64_t s = cnn_rng_seed(0);
	assert_true(s != 0);
	uint64_t a = cnn_rng_next(&s), b = cnn_rng_next(&s);
	uint64_t t = cnn_rng_seed(0);
	assert_true(cnn_rng_next(&t) == a && cnn_rng_next(&t) == b);
	assert_true(cnn_rng_seed(473987) == 0x8EE37B483C0CF854ULL);
	uint64_t u = cnn_rng_seed(473987);
	assert_true(cnn_rng_next(&u) == 0x89349A93C956B99CULL);

	int idx[50], seen[50] = {0};
	for (int i = 0; i < 50; i++)
		idx[i] = i;
	cnn_rng_shuffle(&u, idx, 50);
	for (int i = 0; i < 50; i++)
		seen[idx[i]]++;
	for (int i = 0; i < 50; i++)
		assert_int_equal(seen[i], 1);
}

static void test_shift_image_moves_and_fills_with_zeros(void **state)
{
	(void)state;
	unsigned char src[CNN_PIXELS], dst[CNN_PIXELS];
	for (int i = 0; i < CNN_PIXELS; i++)
		src[i] = (unsigned char)(1 + i % 250);

	cnn_shift_image(src, dst, 0, 0);
	assert_memory_equal(src, dst, CNN_PIXELS);
	cnn_shift_image(src, dst, 2, -1); /* 2 right, 1 up */
	for (int y = 0; y < CNN_ROWS; y++)
		for (int x = 0; x < CNN_COLS; x++) {
			int sy = y + 1, sx = x - 2;
			int want = sy < CNN_ROWS && sx >= 0 ? src[sy * CNN_COLS + sx] : 0;
			assert_int_equal(dst[y * CNN_COLS + x], want);
		}
	cnn_shift_image(src, dst, -CNN_COLS, 0); /* all the way out */
	for (int i = 0; i < CNN_PIXELS; i++)
		assert_int_equal(dst[i], 0);
}

/* A little image set: a bright block whose place is the class, over noise. */
static void make_images(unsigned char *images, unsigned char *labels, int n, uint64_t seed)
{
	uint64_t rng = cnn_rng_seed(seed);
	for (int i = 0; i < n; i++) {
		int c = (int)cnn_rng_below(&rng, 10);
		unsigned char *img = images + (size_t)i * CNN_PIXELS;
		labels[i] = (unsigned char)c;
		for (int p = 0; p < CNN_PIXELS; p++)
			img[p] = (unsigned char)cnn_rng_below(&rng, 60);
		for (int y = 4 + 12 * (c / 5); y < 12 + 12 * (c / 5); y++)
			for (int x = 1 + 5 * (c % 5); x < 6 + 5 * (c % 5); x++)
				img[y * CNN_COLS + x] = 255;
	}
}

static double loss_of(const cnn *net, const unsigned char *images, const unsigned char *labels, int n)
{
	double loss, acc;
	cnn_evaluate(net, images, labels, n, NULL, &loss, &acc);
	return loss;
}

/* The gradient of one SGD step (lr 1, no decay) matches central differences of the loss. */
static void test_gradient_matches_finite_differences(void **state)
{
	(void)state;
	enum { N = 8 };
	static unsigned char images[N * CNN_PIXELS], labels[N];
	static cnn net, stepped, probe;
	int idx[N];
	uint64_t rng = cnn_rng_seed(1);

	make_images(images, labels, N, 3);
	for (int i = 0; i < N; i++)
		idx[i] = i;
	cnn_init(&net, &rng);
	for (int i = CNN_CONV_B; i < CNN_FC1_W; i++)
		net.w[i] = 0.05f; /* biases off zero, so the ReLUs are not all at the kink */
	for (int i = CNN_FC1_B; i < CNN_FC2_W; i++)
		net.w[i] = 0.05f;
	stepped = net;
	cnn_trainer *t = cnn_trainer_new(N);
	assert_non_null(t);
	const cnn_sgd sgd = {1.0f, 0.0f, 0};
	double loss = cnn_train_step(&stepped, t, images, labels, idx, N, &sgd, &rng);
	assert_true(fabs(loss - loss_of(&net, images, labels, N)) < 1e-6);

	const int which[] = {CNN_CONV_W + 0,      CNN_CONV_W + 12, CNN_CONV_W + 7 * 25 + 24,
			     CNN_CONV_B + 3,      CNN_FC1_W + 100, CNN_FC1_W + 5 * CNN_FEATURES + 1234,
			     CNN_FC1_B + 7,       CNN_FC2_W + 0,   CNN_FC2_W + 9 * CNN_HIDDEN + 63,
			     CNN_FC2_B + 0,       CNN_FC2_B + 9};
	int checked = 0;
	for (size_t k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
		int i = which[k];
		double analytic = (double)net.w[i] - (double)stepped.w[i];
		float h = 1e-3f;
		probe = net;
		probe.w[i] = net.w[i] + h;
		double up = loss_of(&probe, images, labels, N);
		probe.w[i] = net.w[i] - h;
		double down = loss_of(&probe, images, labels, N);
		double numeric = (up - down) / (2.0 * h);
		double scale = fmax(fabs(numeric), 1e-3);
		if (fabs(analytic - numeric) / scale > 0.05)
			fail_msg("parameter %d: analytic gradient %g, finite differences %g", i, analytic,
				 numeric);
		checked++;
	}
	assert_int_equal(checked, 11);
	cnn_trainer_free(t);
}

/* Same start, same batch: the same bits; and training lowers the loss. */
static void test_training_is_deterministic_and_learns(void **state)
{
	(void)state;
	enum { N = 100 };
	static unsigned char images[N * CNN_PIXELS], labels[N];
	static cnn a, b;
	int idx[N], idx_b[N];
	uint64_t ra = cnn_rng_seed(5), rb = cnn_rng_seed(5);

	make_images(images, labels, N, 9);
	cnn_init(&a, &ra);
	cnn_init(&b, &rb);
	assert_memory_equal(&a, &b, sizeof(a));
	double before = loss_of(&a, images, labels, N);
	cnn_trainer *t = cnn_trainer_new(10);
	const cnn_sgd sgd = {0.05f, 1e-4f, 1};
	for (int epoch = 0; epoch < 5; epoch++) {
		for (int i = 0; i < N; i++)
			idx[i] = idx_b[i] = i;
		cnn_rng_shuffle(&ra, idx, N);
		cnn_rng_shuffle(&rb, idx_b, N);
		assert_memory_equal(idx, idx_b, sizeof(idx));
		for (int s = 0; s < N; s += 10) {
			double la = cnn_train_step(&a, t, images, labels, idx + s, 10, &sgd, &ra);
			double lb = cnn_train_step(&b, t, images, labels, idx_b + s, 10, &sgd, &rb);
			assert_memory_equal(&la, &lb, sizeof(la));
		}
	}
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(ra == rb);
	double loss, acc;
	unsigned char predicted[N];
	cnn_evaluate(&a, images, labels, N, predicted, &loss, &acc);
	assert_true(loss < before / 2);
	assert_true(acc > 0.9);
	float probs[CNN_CLASSES];
	assert_int_equal(cnn_predict(&a, images, probs), predicted[0]);
	cnn_trainer_free(t);
}

#define IN_TMPDIR(test) cmocka_unit_test_setup_teardown(test, tu_enter_tmpdir, tu_leave_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		IN_TMPDIR(test_model_round_trip_is_bit_exact),
		IN_TMPDIR(test_model_layout_is_the_documented_one),
		IN_TMPDIR(test_model_missing_file),
		IN_TMPDIR(test_model_truncated_is_rejected),
		IN_TMPDIR(test_model_trailing_data_is_rejected),
		IN_TMPDIR(test_model_flipped_byte_is_rejected),
		IN_TMPDIR(test_model_bad_magic_is_rejected),
		IN_TMPDIR(test_model_other_version_is_rejected),
		IN_TMPDIR(test_model_other_architecture_is_rejected),
		IN_TMPDIR(test_model_save_failure_names_the_file),
		cmocka_unit_test(test_rng_is_pinned),
		cmocka_unit_test(test_shift_image_moves_and_fills_with_zeros),
		cmocka_unit_test(test_gradient_matches_finite_differences),
		cmocka_unit_test(test_training_is_deterministic_and_learns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
