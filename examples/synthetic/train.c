/*
 * A tiny, real training loop: fit y = 3x + 2 (plus Gaussian noise) with
 * stochastic gradient descent, and log it with live.
 *
 * Reads `lr`, `epochs` and `seed` from params.yaml in the current directory
 * (defaults when the file or a key is missing). Each epoch logs train/loss and
 * val/loss (mean squared error) and val/r2 (coefficient of determination),
 * then ends the step; dvclive.json and dvclive/ appear in the current
 * directory (or in $DVCLIVE_PATH when run by `live exp run`/DVC).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <live.h>

#define N_TRAIN 160
#define N_VAL 40
#define TRUE_W 3.0
#define TRUE_B 2.0
#define NOISE 0.1

static unsigned long long rng_state;

/* xorshift64*: a reproducible generator, the same on every platform. */
static double uniform01(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double gaussian(void)
{
	/* Box-Muller; 1 - u keeps the logarithm away from 0. */
	double u = 1.0 - uniform01(), v = uniform01();
	return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

static void make_data(double *x, double *y, int n)
{
	for (int i = 0; i < n; i++) {
		x[i] = 2.0 * uniform01() - 1.0;
		y[i] = TRUE_W * x[i] + TRUE_B + NOISE * gaussian();
	}
}

static double mse(const double *x, const double *y, int n, double w, double b)
{
	double s = 0;
	for (int i = 0; i < n; i++) {
		double e = w * x[i] + b - y[i];
		s += e * e;
	}
	return s / n;
}

static double r2(const double *x, const double *y, int n, double w, double b)
{
	double mean = 0, tot = 0;
	for (int i = 0; i < n; i++)
		mean += y[i] / n;
	for (int i = 0; i < n; i++)
		tot += (y[i] - mean) * (y[i] - mean);
	return 1.0 - mse(x, y, n, w, b) * n / tot;
}

static void shuffle(int *idx, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(uniform01() * (i + 1));
		int t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* Log one metric; on failure say why. */
static int log_metric(const char *name, double value)
{
	int rc = live_log(name, value);
	if (rc)
		fprintf(stderr, "train: live_log %s: %s\n", name, live_errmsg());
	return rc;
}

int main(void)
{
	double lr = live_param_double("lr", 0.005);
	long long epochs = live_param_int("epochs", 20);
	rng_state = (unsigned long long)live_param_int("seed", 42) * 0x9E3779B97F4A7C15ULL + 1;
	if (lr <= 0 || epochs < 1) {
		fprintf(stderr, "train: params.yaml: need lr > 0 and epochs >= 1 (got lr=%g, epochs=%lld)\n", lr,
			epochs);
		return 1;
	}

	static double xt[N_TRAIN], yt[N_TRAIN], xv[N_VAL], yv[N_VAL];
	int idx[N_TRAIN];
	make_data(xt, yt, N_TRAIN);
	make_data(xv, yv, N_VAL);
	for (int i = 0; i < N_TRAIN; i++)
		idx[i] = i;

	double w = 0, b = 0;
	printf("fitting y = %gx + %g + noise: %d train / %d val points, lr=%g, %lld epochs\n", TRUE_W, TRUE_B,
	       N_TRAIN, N_VAL, lr, epochs);
	for (long long epoch = 0; epoch < epochs; epoch++) {
		shuffle(idx, N_TRAIN);
		for (int k = 0; k < N_TRAIN; k++) {
			int i = idx[k];
			double err = w * xt[i] + b - yt[i]; /* d(err^2)/dw = 2 err x */
			w -= lr * 2.0 * err * xt[i];
			b -= lr * 2.0 * err;
		}
		double train_loss = mse(xt, yt, N_TRAIN, w, b);
		double val_loss = mse(xv, yv, N_VAL, w, b);
		double val_r2 = r2(xv, yv, N_VAL, w, b);
		if (log_metric("train/loss", train_loss) || log_metric("val/loss", val_loss) ||
		    log_metric("val/r2", val_r2))
			return 1;
		int rc = live_next_step();
		if (rc) {
			fprintf(stderr, "train: live_next_step: %s\n", live_errmsg());
			return 1;
		}
		printf("epoch %3lld  train/loss %.6f  val/loss %.6f  val/r2 %.6f\n", epoch, train_loss, val_loss,
		       val_r2);
	}
	int rc = live_close();
	if (rc) {
		fprintf(stderr, "train: live_close: %s\n", live_errmsg());
		return 1;
	}
	printf("learned y = %.4fx + %.4f\n", w, b);
	return 0;
}
