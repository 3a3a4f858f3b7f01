/* A tiny learnable MNIST for the trainer tests (test_mnist_train, test_mnist_mpi). */
#ifndef LIVE_TESTS_MNISTFIX_H
#define LIVE_TESTS_MNISTFIX_H

#include <stdint.h>

#include "idx.h"

/* n 28x28 images (malloc'd, free with idx_free_set): a bright block whose place is the class, over noise. */
void mnistfix_make_set(mnist_set *s, int n, uint64_t seed);

/*
 * <dir>/data/MNIST/ with the four IDX files: n_train and n_test 28x28
 * images (seeds 1 and 2), each a bright block whose place is the class,
 * over noise: learnable in an epoch or two. <dir>/data may exist already.
 */
void mnistfix_write_data(const char *dir, int n_train, int n_test);

#endif
