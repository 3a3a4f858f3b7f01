/*
 * Compiled, never run: <live.h> must compile as C11 with
 * -Wall -Wextra -Wpedantic -Werror (SPEC: one installed header, C11 and
 * C++-safe). tests/test_header.cpp does the same for C++.
 */
#include <live.h>
#include <live.h> /* the include guard holds */

#if LIVE_VERSION_NUMBER != LIVE_VERSION_MAJOR * 10000 + LIVE_VERSION_MINOR * 100 + LIVE_VERSION_PATCH
#error "LIVE_VERSION_NUMBER disagrees with its parts"
#endif

_Static_assert(LIVE_OK == 0 && LIVE_ECHECKPOINT == -10, "error codes are frozen");
_Static_assert(LIVE_EVERY_STEP < 0, "LIVE_EVERY_STEP is negative");

int header_use(void);

int header_use(void)
{
	live_options opts = LIVE_OPTIONS_INIT;
	static const live_options constant = LIVE_OPTIONS_INIT;
	live_options_init(&opts);
	opts.dir = "logs";
	opts.html = LIVE_OFF;
	opts.layout = LIVE_LAYOUT_V3;
	opts.summary_interval_ms = LIVE_EVERY_STEP;

	live_run *run = NULL;
	live_error rc = (live_error)live_run_open(&run, constant.version ? &opts : NULL);
	if (rc == LIVE_OK) {
		live_run_log(run, "train/loss", 0.5);
		live_run_log_int(run, "epoch", 1);
		live_run_log_flags(run, "lr", 1e-3, LIVE_LOG_NO_HISTORY);
		live_run_next_step(run);
		rc = (live_error)live_run_close(run);
	}
	live_log("loss", 0.25);
	live_next_step();
	double lr = live_param_double("train.lr", 0.01);
	long long epochs = live_param_int("train.epochs", 10);
	const char *name = live_param_string("model", "mlp");
	return (int)rc + (int)(lr * (double)epochs) + (name && live_errmsg()[0] ? 0 : 1) +
	       (live_strerror(LIVE_EIO)[0] != 0) + (live_version_string()[0] != 0);
}
