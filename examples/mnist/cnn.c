/*
 * The network of cnn.h: forward pass, backward pass, SGD step, evaluation.
 *
 * Speed comes from the shapes being compile-time constants and every inner
 * loop running over contiguous floats (24 output columns, 2304 features), so
 * that -O2 vectorises them; no im2col, no allocation per image.
 *
 * The backward pass is sparse where the network is: only the winning input of
 * each 2x2 window gets a gradient, and only when it passed the ReLU, so the
 * convolution's weight gradient costs a quarter of its forward pass; hidden
 * units whose ReLU is off (about half) are skipped in both the gradient of
 * the features and the hidden layer's weight gradient.
 */
#include "cnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define CNN_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
#define CNN_PARALLEL_FOR
#endif

#define CONV_PARAMS (CNN_FC1_W - CNN_CONV_W) /* convolution weights and biases */

_Static_assert(CNN_FEATURES % 8 == 0 && CNN_HIDDEN % 8 == 0, "dot() takes multiples of 8");
_Static_assert(CNN_CONV_ROWS % CNN_POOL == 0 && CNN_CONV_COLS % CNN_POOL == 0, "pool must tile the map");
_Static_assert(CNN_POOL == 2, "forward() pools 2x2 windows");
_Static_assert(CNN_PIXELS < 65536, "window positions are kept in 16 bits");

/* ---- random numbers --------------------------------------------------------- */

uint64_t cnn_rng_seed(uint64_t seed)
{
	/* splitmix64 spreads any seed over all bits; xorshift needs a nonzero state */
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 0x9E3779B97F4A7C15ULL;
}

uint64_t cnn_rng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

uint32_t cnn_rng_below(uint64_t *state, uint32_t n)
{
	/* reject the top partial block so that every residue is equally likely */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = cnn_rng_next(state);
	while (x >= limit);
	return (uint32_t)(x % n);
}

void cnn_rng_shuffle(uint64_t *state, int *idx, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)cnn_rng_below(state, (uint32_t)i + 1);
		int t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* A standard normal number (Box-Muller; u in (0, 1] keeps log finite). */
static double rng_gaussian(uint64_t *state)
{
	double u = ((cnn_rng_next(state) >> 11) + 1) * 0x1p-53;
	double v = (cnn_rng_next(state) >> 11) * 0x1p-53;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void cnn_init(cnn *net, uint64_t *rng)
{
	/* He where a ReLU follows; LeCun for the output layer */
	double conv_std = sqrt(2.0 / (CNN_KERNEL * CNN_KERNEL));
	double fc1_std = sqrt(2.0 / CNN_FEATURES);
	double fc2_std = sqrt(1.0 / CNN_HIDDEN);

	memset(net, 0, sizeof(*net));
	for (int i = CNN_CONV_W; i < CNN_CONV_B; i++)
		net->w[i] = (float)(conv_std * rng_gaussian(rng));
	for (int i = CNN_FC1_W; i < CNN_FC1_B; i++)
		net->w[i] = (float)(fc1_std * rng_gaussian(rng));
	for (int i = CNN_FC2_W; i < CNN_FC2_B; i++)
		net->w[i] = (float)(fc2_std * rng_gaussian(rng));
}

/* ---- forward ---------------------------------------------------------------- */

/* What one image leaves behind for its backward pass. */
typedef struct activations {
	float feat[CNN_FEATURES];     /* pooled ReLU outputs: the hidden layer's input */
	uint16_t where[CNN_FEATURES]; /* input offset of the winning window's top-left tap */
	float hidden[CNN_HIDDEN];     /* ReLU outputs of the hidden layer */
	float prob[CNN_CLASSES];
} activations;

static inline float pixel(unsigned char v)
{
	return (float)v * (1.0f / 255.0f);
}

/* One output row of one filter: out[x] = b + sum over taps of w * in. */
static void conv_row(const float *restrict in, const float *restrict w, float b, float *restrict out)
{
	for (int x = 0; x < CNN_CONV_COLS; x++)
		out[x] = b;
	for (int ky = 0; ky < CNN_KERNEL; ky++) {
		for (int kx = 0; kx < CNN_KERNEL; kx++) {
			float wv = w[ky * CNN_KERNEL + kx];
			const float *src = in + ky * CNN_COLS + kx;
			for (int x = 0; x < CNN_CONV_COLS; x++)
				out[x] += wv * src[x];
		}
	}
}

/* Sum of a[i] * b[i] in eight fixed lanes (vectorisable, and the same order every time). */
static float dot(const float *restrict a, const float *restrict b, int n)
{
	float acc[8] = {0};
	for (int i = 0; i < n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += a[i + j] * b[i + j];
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* y += a * x over the features (vectorised). */
static void axpy_features(float *restrict y, float a, const float *restrict x)
{
	for (int i = 0; i < CNN_FEATURES; i++)
		y[i] += a * x[i];
}

/* Softmax of the logits into prob; returns the cross-entropy for `label` (-1: none). */
static double softmax(const float *logit, float *prob, int label)
{
	float top = logit[0];
	for (int o = 1; o < CNN_CLASSES; o++)
		top = logit[o] > top ? logit[o] : top;
	float sum = 0;
	for (int o = 0; o < CNN_CLASSES; o++) {
		prob[o] = expf(logit[o] - top);
		sum += prob[o];
	}
	for (int o = 0; o < CNN_CLASSES; o++)
		prob[o] /= sum;
	return label < 0 ? 0.0 : log((double)sum) - ((double)logit[label] - top);
}

/* Convolution, ReLU, max-pool, FC and softmax; returns the loss for `label`. */
static double forward(const cnn *net, const unsigned char *image, int label, activations *a)
{
	float in[CNN_PIXELS];
	float row0[CNN_CONV_COLS], row1[CNN_CONV_COLS];
	float logit[CNN_CLASSES];

	for (int i = 0; i < CNN_PIXELS; i++)
		in[i] = pixel(image[i]);
	for (int f = 0; f < CNN_FILTERS; f++) {
		const float *w = net->w + CNN_CONV_W + f * CNN_KERNEL * CNN_KERNEL;
		float b = net->w[CNN_CONV_B + f];
		for (int py = 0; py < CNN_POOL_ROWS; py++) {
			int y = 2 * py;
			conv_row(in + y * CNN_COLS, w, b, row0);
			conv_row(in + (y + 1) * CNN_COLS, w, b, row1);
			float *feat = a->feat + (f * CNN_POOL_ROWS + py) * CNN_POOL_COLS;
			uint16_t *where = a->where + (f * CNN_POOL_ROWS + py) * CNN_POOL_COLS;
			for (int px = 0; px < CNN_POOL_COLS; px++) {
				int x = 2 * px, best = y * CNN_COLS + x;
				float v = row0[x];
				if (row0[x + 1] > v)
					v = row0[x + 1], best = y * CNN_COLS + x + 1;
				if (row1[x] > v)
					v = row1[x], best = (y + 1) * CNN_COLS + x;
				if (row1[x + 1] > v)
					v = row1[x + 1], best = (y + 1) * CNN_COLS + x + 1;
				feat[px] = v > 0 ? v : 0; /* ReLU after the max = max after the ReLU */
				where[px] = (uint16_t)best;
			}
		}
	}
	for (int j = 0; j < CNN_HIDDEN; j++) {
		const float *row = net->w + CNN_FC1_W + j * CNN_FEATURES;
		float v = net->w[CNN_FC1_B + j] + dot(row, a->feat, CNN_FEATURES);
		a->hidden[j] = v > 0 ? v : 0;
	}
	for (int o = 0; o < CNN_CLASSES; o++) {
		const float *row = net->w + CNN_FC2_W + o * CNN_HIDDEN;
		logit[o] = net->w[CNN_FC2_B + o] + dot(row, a->hidden, CNN_HIDDEN);
	}
	return softmax(logit, a->prob, label);
}

static int argmax(const float *p)
{
	int best = 0;
	for (int o = 1; o < CNN_CLASSES; o++)
		if (p[o] > p[best])
			best = o;
	return best;
}

int cnn_predict(const cnn *net, const unsigned char *image, float probs[CNN_CLASSES])
{
	activations a;
	forward(net, image, -1, &a);
	memcpy(probs, a.prob, sizeof(a.prob));
	return argmax(a.prob);
}

/* ---- training --------------------------------------------------------------- */

/* One image's share of a batch: its activations, output error and conv gradient. */
typedef struct sample {
	const unsigned char *input;        /* the image, or `shifted` */
	unsigned char shifted[CNN_PIXELS]; /* the shifted copy, when shifting */
	activations a;
	float dz[CNN_CLASSES];     /* d loss / d logit = prob - onehot */
	float dhidden[CNN_HIDDEN]; /* d loss / d hidden pre-activation (0 where the ReLU is off) */
	float gconv[CONV_PARAMS];  /* this image's gradient of the convolution */
	double loss;
} sample;

struct cnn_trainer {
	int max_batch;
	sample *samples;
	float *grad; /* CNN_NPARAMS: the batch's summed gradient */
};

cnn_trainer *cnn_trainer_new(int max_batch)
{
	cnn_trainer *t = calloc(1, sizeof(*t));
	if (!t || max_batch < 1)
		goto fail;
	t->max_batch = max_batch;
	t->samples = malloc(sizeof(sample) * (size_t)max_batch);
	t->grad = malloc(sizeof(float) * CNN_NPARAMS);
	if (!t->samples || !t->grad)
		goto fail;
	return t;
fail:
	cnn_trainer_free(t);
	return NULL;
}

void cnn_trainer_free(cnn_trainer *t)
{
	if (!t)
		return;
	free(t->samples);
	free(t->grad);
	free(t);
}

/* Forward and backward for one image, down to its own convolution gradient. */
static void backward_one(const cnn *net, int label, sample *s)
{
	const unsigned char *image = s->input;
	float dfeat[CNN_FEATURES];

	s->loss = forward(net, image, label, &s->a);
	for (int o = 0; o < CNN_CLASSES; o++)
		s->dz[o] = s->a.prob[o] - (o == label ? 1.0f : 0.0f);

	/* through the output layer and the hidden ReLU */
	for (int j = 0; j < CNN_HIDDEN; j++) {
		float d = 0;
		if (s->a.hidden[j] > 0)
			for (int o = 0; o < CNN_CLASSES; o++)
				d += s->dz[o] * net->w[CNN_FC2_W + o * CNN_HIDDEN + j];
		s->dhidden[j] = d;
	}
	/* through the hidden layer: dfeat = W1^T dhidden, one contiguous row at a time */
	memset(dfeat, 0, sizeof(dfeat));
	for (int j = 0; j < CNN_HIDDEN; j++)
		if (s->dhidden[j] != 0)
			axpy_features(dfeat, s->dhidden[j], net->w + CNN_FC1_W + j * CNN_FEATURES);

	/* through pool and ReLU to the winning tap only, then into the filter's gradient */
	memset(s->gconv, 0, sizeof(s->gconv));
	for (int f = 0; f < CNN_FILTERS; f++) {
		float *gw = s->gconv + f * CNN_KERNEL * CNN_KERNEL;
		float gb = 0;
		for (int c = 0; c < CNN_POOL_ROWS * CNN_POOL_COLS; c++) {
			int i = f * CNN_POOL_ROWS * CNN_POOL_COLS + c;
			if (!(s->a.feat[i] > 0))
				continue;
			float g = dfeat[i];
			const unsigned char *src = image + s->a.where[i];
			gb += g;
			for (int ky = 0; ky < CNN_KERNEL; ky++)
				for (int kx = 0; kx < CNN_KERNEL; kx++)
					gw[ky * CNN_KERNEL + kx] += g * pixel(src[ky * CNN_COLS + kx]);
		}
		s->gconv[CNN_CONV_B - CNN_CONV_W + f] = gb;
	}
}

void cnn_shift_image(const unsigned char *src, unsigned char *dst, int dx, int dy)
{
	memset(dst, 0, CNN_PIXELS);
	for (int y = 0; y < CNN_ROWS; y++) {
		int sy = y - dy;
		if (sy < 0 || sy >= CNN_ROWS)
			continue;
		int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? CNN_COLS + dx : CNN_COLS;
		if (x1 > x0)
			memcpy(dst + y * CNN_COLS + x0, src + sy * CNN_COLS + x0 - dx, (size_t)(x1 - x0));
	}
}

double cnn_train_grad(const cnn *net, cnn_trainer *t, const unsigned char *images, const unsigned char *labels,
		      const int *idx, int n, int lo, int hi, int shift, uint64_t *rng)
{
	float *grad = t->grad;
	int m = hi - lo;

	if (n < 1 || lo < 0 || lo > hi || hi > n || m > t->max_batch)
		return NAN;
	/* Draw the shifts in image order before any thread starts, for the whole
	 * batch: the same numbers for any thread count and any shard. */
	for (int k = 0; k < n; k++) {
		int dx = 0, dy = 0;
		if (shift > 0) {
			uint32_t span = 2 * (uint32_t)shift + 1;
			dx = (int)cnn_rng_below(rng, span) - shift;
			dy = (int)cnn_rng_below(rng, span) - shift;
		}
		if (k < lo || k >= hi)
			continue;
		sample *s = &t->samples[k - lo];
		s->input = images + (size_t)idx[k] * CNN_PIXELS;
		if (shift > 0) {
			cnn_shift_image(s->input, s->shifted, dx, dy);
			s->input = s->shifted;
		}
	}
	const int *mine = idx + lo;
	CNN_PARALLEL_FOR
	for (int k = 0; k < m; k++)
		backward_one(net, labels[mine[k]], &t->samples[k]);

	/* Reduce in image order, whatever the threads: bit-identical results. */
	double loss = 0;
	memset(grad, 0, sizeof(float) * CNN_NPARAMS);
	for (int k = 0; k < m; k++) {
		loss += t->samples[k].loss;
		for (int i = 0; i < CONV_PARAMS; i++)
			grad[CNN_CONV_W + i] += t->samples[k].gconv[i];
	}
	CNN_PARALLEL_FOR
	for (int j = 0; j < CNN_HIDDEN; j++) {
		for (int k = 0; k < m; k++) {
			const sample *sk = &t->samples[k];
			if (sk->dhidden[j] == 0)
				continue; /* the ReLU was off: nothing to add */
			axpy_features(grad + CNN_FC1_W + j * CNN_FEATURES, sk->dhidden[j], sk->a.feat);
			grad[CNN_FC1_B + j] += sk->dhidden[j];
		}
	}
	for (int k = 0; k < m; k++) {
		const sample *sk = &t->samples[k];
		for (int o = 0; o < CNN_CLASSES; o++) {
			for (int j = 0; j < CNN_HIDDEN; j++)
				grad[CNN_FC2_W + o * CNN_HIDDEN + j] += sk->dz[o] * sk->a.hidden[j];
			grad[CNN_FC2_B + o] += sk->dz[o];
		}
	}
	return loss;
}

float *cnn_trainer_grad(cnn_trainer *t)
{
	return t->grad;
}

void cnn_sgd_apply(cnn *net, const float *grad, int n, const cnn_sgd *sgd)
{
	float scale = 1.0f / (float)n, lr = sgd->lr, decay = sgd->weight_decay;
	float *restrict w = net->w;
	for (int i = 0; i < CNN_NPARAMS; i++)
		w[i] -= lr * (grad[i] * scale + decay * w[i]);
}

double cnn_train_step(cnn *net, cnn_trainer *t, const unsigned char *images, const unsigned char *labels,
		      const int *idx, int n, const cnn_sgd *sgd, uint64_t *rng)
{
	double loss = cnn_train_grad(net, t, images, labels, idx, n, 0, n, sgd->shift, rng);
	if (isnan(loss))
		return NAN;
	cnn_sgd_apply(net, t->grad, n, sgd);
	return loss / n;
}

void cnn_evaluate_sums(const cnn *net, const unsigned char *images, const unsigned char *labels, int n,
		       unsigned char *predicted, double *loss_sum, int *right_out)
{
	double sum = 0;
	int right = 0;

	/* blocks of images in parallel; sums in image order */
	enum { BLOCK = 256 };
	double block_loss[BLOCK];
	unsigned char block_pred[BLOCK];
	for (int start = 0; start < n; start += BLOCK) {
		int m = n - start < BLOCK ? n - start : BLOCK;
		CNN_PARALLEL_FOR
		for (int k = 0; k < m; k++) {
			activations a;
			int i = start + k;
			block_loss[k] = forward(net, images + (size_t)i * CNN_PIXELS, labels[i], &a);
			block_pred[k] = (unsigned char)argmax(a.prob);
		}
		for (int k = 0; k < m; k++) {
			sum += block_loss[k];
			right += block_pred[k] == labels[start + k];
			if (predicted)
				predicted[start + k] = block_pred[k];
		}
	}
	*loss_sum = sum;
	*right_out = right;
}

void cnn_evaluate(const cnn *net, const unsigned char *images, const unsigned char *labels, int n,
		  unsigned char *predicted, double *loss, double *acc)
{
	double sum;
	int right;
	cnn_evaluate_sums(net, images, labels, n, predicted, &sum, &right);
	*loss = n ? sum / n : 0.0;
	*acc = n ? (double)right / n : 0.0;
}

int cnn_threads(void)
{
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}
