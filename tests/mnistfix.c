/* A tiny learnable MNIST for the trainer tests (mnistfix.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cnn.h"
#include "idx.h"
#include "mnistfix.h"

void mnistfix_make_set(mnist_set *s, int n, uint64_t seed)
{
	uint64_t rng = cnn_rng_seed(seed);
	s->n = n;
	s->rows = 28;
	s->cols = 28;
	s->images = malloc((size_t)n * 784);
	s->labels = malloc((size_t)n);
	assert_true(s->images && s->labels);
	for (int i = 0; i < n; i++) {
		int c = (int)cnn_rng_below(&rng, 10);
		unsigned char *img = s->images + (size_t)i * 784;
		s->labels[i] = (unsigned char)c;
		for (int p = 0; p < 784; p++)
			img[p] = (unsigned char)cnn_rng_below(&rng, 60);
		for (int y = 4 + 12 * (c / 5); y < 12 + 12 * (c / 5); y++)
			for (int x = 1 + 5 * (c % 5); x < 6 + 5 * (c % 5); x++)
				img[y * 28 + x] = 255;
	}
}

void mnistfix_write_data(const char *dir, int n_train, int n_test)
{
	char a[512], b[512], err[512];
	mnist_set train, test;

	snprintf(a, sizeof(a), "%s/data", dir);
	mkdir(a, 0777);
	snprintf(a, sizeof(a), "%s/data/MNIST", dir);
	assert_int_equal(mkdir(a, 0777), 0);
	mnistfix_make_set(&train, n_train, 1);
	mnistfix_make_set(&test, n_test, 2);
	snprintf(a, sizeof(a), "%s/data/MNIST/%s", dir, MNIST_TRAIN_IMAGES);
	snprintf(b, sizeof(b), "%s/data/MNIST/%s", dir, MNIST_TRAIN_LABELS);
	if (idx_write_set(&train, a, b, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	snprintf(a, sizeof(a), "%s/data/MNIST/%s", dir, MNIST_TEST_IMAGES);
	snprintf(b, sizeof(b), "%s/data/MNIST/%s", dir, MNIST_TEST_LABELS);
	if (idx_write_set(&test, a, b, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	idx_free_set(&train);
	idx_free_set(&test);
}
