/*
 * A small trainer for the CLI's end-to-end tests: reads params.yaml, and at
 * each step rewrites model.pt (its bytes depend on the step and the params),
 * writes predictions.json, logs loss and acc, and ends the step. It resumes
 * from model.pt's step, as the tutorial's trainer does.
 *
 * params: epochs (steps to reach), lr, model_bytes (size of model.pt),
 *         step_ms (sleep per step, for interruption tests),
 *         diverge_at (from this step on the loss rises: divergence tests).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <live.h>

/* With TINY_TIMING=1: the time each live_next_step blocked, for the stall benchmark. */
static double stall_ms[100000];
static long long nstall;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void print_stalls(void)
{
	if (!getenv("TINY_TIMING") || nstall == 0)
		return;
	/* first and last 10% windows show drift */
	long long w = nstall / 10 > 0 ? nstall / 10 : 1;
	double *early = malloc(sizeof(double) * (size_t)w), *late = malloc(sizeof(double) * (size_t)w);
	memcpy(early, stall_ms + (nstall > 10 ? 10 : 0), sizeof(double) * (size_t)w);
	memcpy(late, stall_ms + nstall - w, sizeof(double) * (size_t)w);
	qsort(early, (size_t)w, sizeof(double), cmp_double);
	qsort(late, (size_t)w, sizeof(double), cmp_double);
	qsort(stall_ms, (size_t)nstall, sizeof(double), cmp_double);
	fprintf(stderr, "stall: %lld checkpoints, median %.2f ms, p99 %.2f ms; early median %.2f ms, late median %.2f ms\n",
		nstall, stall_ms[nstall / 2], stall_ms[nstall * 99 / 100], early[w / 2], late[w / 2]);
	free(early);
	free(late);
}

static int write_model(long long step, double lr, long long bytes)
{
	FILE *f = fopen("model.pt.tmp", "wb");
	if (!f)
		return -1;
	fprintf(f, "step=%lld lr=%.17g\n", step, lr);
	unsigned long long x = (unsigned long long)step * 2654435761u + 1;
	unsigned long long block[512];
	for (long long done = 0; done < bytes; done += (long long)sizeof(block)) {
		for (int i = 0; i < 512; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			block[i] = x;
		}
		size_t n = bytes - done < (long long)sizeof(block) ? (size_t)(bytes - done) : sizeof(block);
		fwrite(block, 1, n, f);
	}
	if (fclose(f) != 0)
		return -1;
	return rename("model.pt.tmp", "model.pt");
}

static long long model_step(void)
{
	FILE *f = fopen("model.pt", "rb");
	long long step = -1;
	if (f) {
		if (fscanf(f, "step=%lld", &step) != 1)
			step = -1;
		fclose(f);
	}
	return step;
}

int main(void)
{
	long long epochs = live_param_int("epochs", 5);
	double lr = live_param_double("lr", 0.001);
	long long bytes = live_param_int("model_bytes", 1000);
	long long step_ms = live_param_int("step_ms", 0);
	long long diverge_at = live_param_int("diverge_at", -1);
	long long start = model_step() + 1;
	if (start > 0 && live_get_step() != start)
		live_set_step(start);
	for (long long step = start; step < epochs; step++) {
		if (live_stop_requested())
			break;
		if (step_ms > 0) {
			struct timespec ts = { step_ms / 1000, (step_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (write_model(step, lr, bytes) != 0) {
			perror("model.pt");
			return 1;
		}
		FILE *p = fopen("predictions.json", "w");
		fprintf(p, "[{\"actual\": %lld, \"predicted\": %lld}]\n", step % 10, (step + 1) % 10);
		fclose(p);
		double loss = 1.0 / (double)(step + 1) + lr;
		if (diverge_at >= 0 && step >= diverge_at)
			loss = 1.0 / (double)(diverge_at + 1) + lr + 0.5 * (double)(step - diverge_at + 1);
		printf("Epoch %lld: loss=%.6g\n", step + 1, loss);
		fflush(stdout);
		live_log("loss", loss);
		live_log("acc", 1.0 - loss / 2);
		double t0 = now_ms();
		int rc = live_next_step();
		if (nstall < 100000)
			stall_ms[nstall++] = now_ms() - t0;
		if (rc != 0) {
			fprintf(stderr, "trainer: %s\n", live_errmsg());
			return 1;
		}
	}
	print_stalls();
	return live_close() == 0 ? 0 : 1;
}
