/*
 * The run whose report the browser test opens: 5 metrics logged for N steps
 * (default 1000000) into ./dvclive, with what the report must show: nested
 * names, a loss that diverges, an accuracy, a NaN in a metric whose name is
 * an HTML tag, an integer metric, and params read from ./params.yaml.
 *
 * usage: report_fixture [steps]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <live.h>

static int check(int rc, const char *what)
{
	if (rc)
		fprintf(stderr, "report_fixture: %s: %s\n", what, live_errmsg());
	return rc;
}

int main(int argc, char **argv)
{
	long long steps = argc > 1 ? atoll(argv[1]) : 1000000;
	if (steps < 100) {
		fprintf(stderr, "usage: report_fixture [steps >= 100]\n");
		return 2;
	}
	FILE *f = fopen("params.yaml", "w");
	if (!f)
		return 1;
	fputs("train:\n  lr: 0.001\n  epochs: 10\nmodel: \"cnn <small>\"\n", f);
	fclose(f);
	double lr = live_param_double("train.lr", 0.1);
	long long epochs = live_param_int("train.epochs", 1);
	const char *model = live_param_string("model", "");
	(void)model;

	live_options o = LIVE_OPTIONS_INIT;
	live_run *r;
	if (check(live_run_open(&r, &o), "open"))
		return 1;
	unsigned long long x = 42;
	long long turn = steps / 3;
	for (long long s = 0; s < steps; s++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		double u = (double)(x >> 11) / 9007199254740992.0 - 0.5;
		double t = (double)s / (double)steps;
		double val = s <= turn ? 1.0 / (1.0 + 30.0 * t) : 1.0 / (1.0 + 10.0) + 0.5 * (t - 1.0 / 3);
		if (check(live_run_log(r, "train/loss", exp(-5.0 * t) * (1.0 + 0.3 * u) + lr), "log") ||
		    check(live_run_log(r, "train/acc", 1.0 - 0.9 * exp(-6.0 * t) + 0.01 * u), "log") ||
		    check(live_run_log(r, "val/loss", val), "log") ||
		    check(live_run_log(r, "<script>alert(1)</script>", s == steps / 2 ? NAN : sin(20.0 * t)), "log") ||
		    check(live_run_log_int(r, "epoch", s * epochs / steps), "log") ||
		    check(live_run_next_step(r), "next_step"))
			return 1;
	}
	return check(live_run_close(r), "close") ? 1 : 0;
}
