/*
 * IDX files (the MNIST format), gzip-compressed, as the tutorial's
 * data/MNIST/ holds them: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 * t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz.
 *
 * Errors: functions return 0 or -1 and write one line into `err` naming the
 * file and what was expected ("data/MNIST/train-labels-idx1-ubyte.gz: label 12
 * at index 40 is out of range 0..9").
 */
#ifndef MNIST_IDX_H
#define MNIST_IDX_H

#include <stddef.h>

/* One split: n images of rows x cols bytes (0..255, row-major), n labels 0..9. */
typedef struct mnist_set {
	int n, rows, cols;
	unsigned char *images; /* n * rows * cols */
	unsigned char *labels; /* n */
} mnist_set;

/* The four file names inside a data folder. */
#define MNIST_TRAIN_IMAGES "train-images-idx3-ubyte.gz"
#define MNIST_TRAIN_LABELS "train-labels-idx1-ubyte.gz"
#define MNIST_TEST_IMAGES "t10k-images-idx3-ubyte.gz"
#define MNIST_TEST_LABELS "t10k-labels-idx1-ubyte.gz"

/*
 * Read an images file and a labels file into `out`. Validates: gzip stream,
 * magic numbers (0x00000803 images, 0x00000801 labels), dimensions (rows and
 * cols 1..1024, count 1..10,000,000), that the payload is exactly as long as
 * the header says (truncated or trailing data are errors), that both files
 * have the same count, and that every label is 0..9.
 */
int idx_load_set(const char *images_path, const char *labels_path, mnist_set *out, char *err,
		 size_t errlen);

/* Load dir/train-* into train and dir/t10k-* into test. */
int idx_load_dir(const char *dir, mnist_set *train, mnist_set *test, char *err, size_t errlen);

/* Write a set as two gzip IDX files, each atomically (temp file + rename). */
int idx_write_set(const mnist_set *set, const char *images_path, const char *labels_path, char *err,
		  size_t errlen);

void idx_free_set(mnist_set *set);

#endif
