/*
 * cnn.h - the small convolutional network that examples/mnist/train fits.
 *
 *   28x28 image, bytes 0..255 scaled to 0..1
 *   -> convolution: 16 filters of 5x5, stride 1, no padding  -> 16 x 24x24
 *   -> ReLU -> 2x2 max-pool                                  -> 16 x 12x12 = 2304 features
 *   -> fully connected to 64 hidden units -> ReLU
 *   -> fully connected to 10 logits -> softmax, cross-entropy loss
 *
 * 148,586 parameters. Trained with mini-batch SGD:
 *   w -= lr * (mean gradient over the batch + weight_decay * w)
 * (PyTorch's SGD without momentum; the decay applies to every parameter),
 * each training image shifted by a random -shift..shift pixels in x and y
 * (zeros fill in). That augmentation, with the trainer's per-epoch lr decay,
 * is what lifts test accuracy on 8,000 MNIST digits from ~96.5% to ~98%.
 *
 * Determinism: results depend only on the parameters, the images and the
 * order of the batches, never on the number of threads. Every sum runs in a
 * fixed order: per-image gradients are reduced in image order, also when
 * built with OpenMP (MNIST_OPENMP), so a run is bit-identical with 1 or N
 * threads on the same machine and compiler.
 */
#ifndef MNIST_CNN_H
#define MNIST_CNN_H

#include <stdint.h>

#define CNN_ROWS 28 /* input image */
#define CNN_COLS 28
#define CNN_FILTERS 16
#define CNN_KERNEL 5
#define CNN_POOL 2
#define CNN_HIDDEN 64
#define CNN_CLASSES 10

#define CNN_CONV_ROWS (CNN_ROWS - CNN_KERNEL + 1) /* 24 */
#define CNN_CONV_COLS (CNN_COLS - CNN_KERNEL + 1)
#define CNN_POOL_ROWS (CNN_CONV_ROWS / CNN_POOL) /* 12 */
#define CNN_POOL_COLS (CNN_CONV_COLS / CNN_POOL)
#define CNN_PIXELS (CNN_ROWS * CNN_COLS)
#define CNN_FEATURES (CNN_FILTERS * CNN_POOL_ROWS * CNN_POOL_COLS) /* 2304: the pooled maps */

/* Where each tensor starts in cnn.w (all float32, row-major). */
#define CNN_CONV_W 0                                                    /* [filter][ky][kx] */
#define CNN_CONV_B (CNN_CONV_W + CNN_FILTERS * CNN_KERNEL * CNN_KERNEL) /* [filter] */
#define CNN_FC1_W (CNN_CONV_B + CNN_FILTERS)                            /* [hidden][feature] */
#define CNN_FC1_B (CNN_FC1_W + CNN_HIDDEN * CNN_FEATURES)               /* [hidden] */
#define CNN_FC2_W (CNN_FC1_B + CNN_HIDDEN)                              /* [class][hidden] */
#define CNN_FC2_B (CNN_FC2_W + CNN_CLASSES * CNN_HIDDEN)                /* [class] */
#define CNN_NPARAMS (CNN_FC2_B + CNN_CLASSES)

/* The network's parameters; feature index = (filter * 12 + pool row) * 12 + pool col. */
typedef struct cnn {
	float w[CNN_NPARAMS];
} cnn;

/*
 * The random generator (xorshift64*), its state seeded through splitmix64 so
 * that any seed, 0 included, gives a good nonzero state. The same numbers on
 * every platform.
 */
uint64_t cnn_rng_seed(uint64_t seed);
uint64_t cnn_rng_next(uint64_t *state);
/* A uniform integer in 0..n-1 (n >= 1), without modulo bias. */
uint32_t cnn_rng_below(uint64_t *state, uint32_t n);
/* Fisher-Yates shuffle of idx[0..n-1]. */
void cnn_rng_shuffle(uint64_t *state, int *idx, int n);

/* He initialisation (normal, std sqrt(2 / fan_in)) of the weights; biases 0. */
void cnn_init(cnn *net, uint64_t *rng);

/* Scratch space for training batches of up to max_batch images. */
typedef struct cnn_trainer cnn_trainer;

/* NULL when out of memory. */
cnn_trainer *cnn_trainer_new(int max_batch);
void cnn_trainer_free(cnn_trainer *t);

/* How a step learns. */
typedef struct cnn_sgd {
	float lr;           /* step size */
	float weight_decay; /* L2 penalty added to the gradient */
	int shift;          /* augmentation: random shift of up to this many pixels (0: none) */
} cnn_sgd;

/*
 * One SGD step on the n images images + idx[k] * CNN_PIXELS (labels[idx[k]]),
 * 1 <= n <= max_batch. The shifts are drawn from *rng, image by image, in
 * order (two draws per image when sgd->shift > 0, none otherwise). Returns the
 * batch's mean cross-entropy (of the shifted images) before the step.
 */
double cnn_train_step(cnn *net, cnn_trainer *t, const unsigned char *images, const unsigned char *labels,
		      const int *idx, int n, const cnn_sgd *sgd, uint64_t *rng);

/*
 * The two halves of cnn_train_step, for data-parallel training (train_mpi):
 * cnn_train_grad computes the summed gradient of a shard of a batch, the
 * ranks add their sums (MPI_Allreduce), and every rank applies the same step
 * with cnn_sgd_apply. cnn_train_step is exactly cnn_train_grad over the whole
 * batch followed by cnn_sgd_apply, so both give the same bits on one rank.
 *
 * cnn_train_grad: the batch is images idx[0..n-1]; only images lo..hi-1 are
 * computed (0 <= lo <= hi <= n, hi - lo <= max_batch), but the shifts of all
 * n are drawn from *rng, in order, so that every rank's generator stays in
 * step. The gradient summed over lo..hi-1 (not divided by anything; zeros
 * when lo == hi) goes into cnn_trainer_grad(t). Returns the summed
 * cross-entropy of those images, or NAN when the arguments are out of range.
 */
double cnn_train_grad(const cnn *net, cnn_trainer *t, const unsigned char *images, const unsigned char *labels,
		      const int *idx, int n, int lo, int hi, int shift, uint64_t *rng);

/* The trainer's gradient buffer: CNN_NPARAMS floats, as cnn_train_grad left them. */
float *cnn_trainer_grad(cnn_trainer *t);

/* One SGD step with a gradient summed over n images: w -= lr * (grad / n + weight_decay * w). */
void cnn_sgd_apply(cnn *net, const float *grad, int n, const cnn_sgd *sgd);

/* dst = src moved by dx columns right and dy rows down; the uncovered pixels are 0. */
void cnn_shift_image(const unsigned char *src, unsigned char *dst, int dx, int dy);

/* Class probabilities of one image; returns the predicted class (the first largest). */
int cnn_predict(const cnn *net, const unsigned char *image, float probs[CNN_CLASSES]);

/*
 * Evaluate n images (contiguous, CNN_PIXELS bytes each): the mean
 * cross-entropy into *loss, the fraction predicted right into *acc, and each
 * prediction into predicted[i] when predicted is not NULL.
 */
void cnn_evaluate(const cnn *net, const unsigned char *images, const unsigned char *labels, int n,
		  unsigned char *predicted, double *loss, double *acc);

/*
 * cnn_evaluate's sums, for a shard of the test set: the summed cross-entropy
 * into *loss_sum and the count predicted right into *right. cnn_evaluate is
 * loss_sum / n and right / n.
 */
void cnn_evaluate_sums(const cnn *net, const unsigned char *images, const unsigned char *labels, int n,
		       unsigned char *predicted, double *loss_sum, int *right);

/* Threads used by the OpenMP build (1 without it). */
int cnn_threads(void);

#endif
