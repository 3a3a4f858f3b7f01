// Compiled, never run: <live.h> must compile as C++ (C++11 and C++17) with
// -Wall -Wextra -Wpedantic -Werror, its declarations with C linkage, and
// LIVE_OPTIONS_INIT usable as an initializer. tests/test_header.c does C11.
#include <live.h>
#include <live.h> // the include guard holds

static_assert(LIVE_VERSION_NUMBER ==
		      LIVE_VERSION_MAJOR * 10000 + LIVE_VERSION_MINOR * 100 + LIVE_VERSION_PATCH,
	      "LIVE_VERSION_NUMBER disagrees with its parts");
static_assert(LIVE_OK == 0 && LIVE_ECHECKPOINT == -10, "error codes are frozen");

// The header's functions have C linkage: their addresses fit extern "C" pointer types.
extern "C" typedef int log_fn(live_run *, const char *, double);
static log_fn *const log_ptr = &live_run_log;

int header_use();

int header_use()
{
	live_options opts = LIVE_OPTIONS_INIT;
	const live_options constant = LIVE_OPTIONS_INIT;
	live_options_init(&opts);
	opts.dir = "logs";
	opts.html = LIVE_OFF;
	opts.layout = LIVE_LAYOUT_CLASSIC;
	opts.summary_interval_ms = LIVE_EVERY_STEP;

	live_run *run = nullptr;
	int rc = live_run_open(&run, constant.version ? &opts : nullptr);
	if (rc == LIVE_OK) {
		log_ptr(run, "train/loss", 0.5);
		live_run_log_int(run, "epoch", 1);
		live_run_log_flags(run, "lr", 1e-3, LIVE_LOG_NO_HISTORY);
		live_run_next_step(run);
		rc = live_run_close(run);
	}
	live_log("loss", 0.25);
	live_next_step();
	double lr = live_param_double("train.lr", 0.01);
	long long epochs = live_param_int("train.epochs", 10);
	const char *name = live_param_string("model", "mlp");
	live_error code = static_cast<live_error>(rc);
	return static_cast<int>(code) + static_cast<int>(lr * static_cast<double>(epochs)) +
	       (name && live_errmsg()[0] ? 0 : 1) + (live_strerror(LIVE_EIO)[0] != 0) +
	       (live_version_string()[0] != 0);
}
