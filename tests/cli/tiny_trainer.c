/*
 * A small trainer for the CLI's end-to-end tests: reads params.yaml, and at
 * each step rewrites model.pt (its bytes depend on the step and the params),
 * writes predictions.json, logs loss and acc, and ends the step. It resumes
 * from model.pt's step, as the tutorial's trainer does.
 *
 * params: epochs (steps to reach), lr, model_bytes (size of model.pt),
 *         step_ms (sleep per step, for interruption tests).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <live.h>

static int write_model(long long step, double lr, long long bytes)
{
	FILE *f = fopen("model.pt.tmp", "wb");
	if (!f)
		return -1;
	fprintf(f, "step=%lld lr=%.17g\n", step, lr);
	unsigned long long x = (unsigned long long)step * 2654435761u + 1;
	for (long long i = 0; i < bytes; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		fputc((int)(x & 0xFF), f);
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
		printf("Epoch %lld: loss=%.6g\n", step + 1, loss);
		fflush(stdout);
		live_log("loss", loss);
		live_log("acc", 1.0 - loss / 2);
		if (live_next_step() != 0) {
			fprintf(stderr, "trainer: %s\n", live_errmsg());
			return 1;
		}
	}
	return live_close() == 0 ? 0 : 1;
}
