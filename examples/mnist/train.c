/*
 * train - the DVC checkpoints tutorial's `train` stage, in C.
 *
 * Trains the small CNN of cnn.h on data/MNIST (IDX files, as `download`
 * leaves them) and, after every epoch:
 *   - writes model.pt (model_file.h) and predictions.json, each atomically;
 *   - prints "Epoch 1: loss=..." and "Epoch 1: acc=..." as the tutorial does,
 *     plus a line with the epoch's wall time;
 *   - logs `loss` (mean cross-entropy on the test set, what the tutorial's
 *     evaluate() reports) and `acc` (test accuracy) with live_log, then ends
 *     the step with live_next_step, so that steps and epochs stay equal.
 *
 * params.yaml (README.md has the table): seed, lr, weight_decay, epochs (the
 * total to reach; 0 = train until max_minutes), batch_size, lr_decay (the
 * step size of epoch k is lr * lr_decay^k), augment_shift (random shifts of
 * the training images, in pixels), max_minutes (default 10), data_dir
 * (default data/MNIST).
 *
 * An existing model.pt is picked up: training continues from its epoch count
 * with its weights and RNG state, and the live run resumes. SIGINT or SIGTERM
 * stop the run after the current epoch, with every file consistent (exit 0),
 * whether the trainer catches them itself or liblive does for `live exp run`
 * (live_stop_requested); a second signal stops it at once (model.pt is still
 * whole: it is replaced atomically).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <live.h>

#include "cnn.h"
#include "idx.h"
#include "model_file.h"

#define MODEL_PATH "model.pt"
#define PREDICTIONS_PATH "predictions.json"
#define MAX_BATCH 4096

/* params.yaml; the defaults are the tuned values that examples/mnist/params.yaml also holds. */
typedef struct params {
	long long seed, epochs, batch_size, augment_shift;
	double lr, weight_decay, lr_decay, max_minutes;
	const char *data_dir;
} params;

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/*
 * The first SIGINT/SIGTERM asks to stop after this epoch; SA_RESETHAND lets a
 * second one kill. When a runner sets LIVE_STOP_SIGNALS=1, liblive installs
 * its own handlers over these and reports through live_stop_requested().
 */
static int catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
		fprintf(stderr, "train: sigaction: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The shortest %g that reads back as the same double, as Python's repr prints it. */
static void format_repr(double v, char *buf, size_t len)
{
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, len, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (isfinite(v) && !strpbrk(buf, ".e"))
		strncat(buf, ".0", len - strlen(buf) - 1);
}

static int read_params(params *p)
{
	p->seed = live_param_int("seed", 473987);
	p->lr = live_param_double("lr", 0.1);
	p->weight_decay = live_param_double("weight_decay", 0.0005);
	p->epochs = live_param_int("epochs", 10);
	p->batch_size = live_param_int("batch_size", 16);
	p->lr_decay = live_param_double("lr_decay", 0.8);
	p->augment_shift = live_param_int("augment_shift", 1);
	p->max_minutes = live_param_double("max_minutes", 10.0);
	p->data_dir = live_param_string("data_dir", "data/MNIST");

	const char *bad = NULL;
	if (!(p->lr > 0) || !isfinite(p->lr))
		bad = "lr must be a number > 0";
	else if (!(p->weight_decay >= 0) || !isfinite(p->weight_decay))
		bad = "weight_decay must be a number >= 0";
	else if (p->epochs < 0 || p->epochs > 1000000000)
		bad = "epochs must be 0 (train until max_minutes) or a count up to 1e9";
	else if (p->batch_size < 1 || p->batch_size > MAX_BATCH)
		bad = "batch_size must be 1..4096";
	else if (!(p->lr_decay > 0 && p->lr_decay <= 1))
		bad = "lr_decay must be a number in (0, 1]";
	else if (p->augment_shift < 0 || p->augment_shift > 8)
		bad = "augment_shift must be 0..8";
	else if (!(p->max_minutes > 0) || !isfinite(p->max_minutes))
		bad = "max_minutes must be a number > 0";
	if (bad) {
		fprintf(stderr,
			"train: params: %s (lr=%g, weight_decay=%g, epochs=%lld, batch_size=%lld, "
			"lr_decay=%g, augment_shift=%lld, max_minutes=%g)\n",
			bad, p->lr, p->weight_decay, p->epochs, p->batch_size, p->lr_decay, p->augment_shift,
			p->max_minutes);
		return -1;
	}
	return 0;
}

static int load_data(const char *dir, mnist_set *train, mnist_set *test)
{
	char err[1024];
	if (idx_load_dir(dir, train, test, err, sizeof(err)) != 0) {
		fprintf(stderr, "train: %s\n", err);
		return -1;
	}
	const mnist_set *sets[2] = {train, test};
	for (int i = 0; i < 2; i++) {
		if (sets[i]->rows != CNN_ROWS || sets[i]->cols != CNN_COLS) {
			fprintf(stderr, "train: %s: %s images are %dx%d; this network takes %dx%d\n", dir,
				i ? "test" : "train", sets[i]->rows, sets[i]->cols, CNN_ROWS, CNN_COLS);
			return -1;
		}
	}
	return 0;
}

/* model.pt if there is one, else a fresh network from the seed. 1 = resumed, 0 = fresh, -1 = error. */
static int load_or_init(const params *p, model_state *m)
{
	char err[512];
	int rc = model_load(MODEL_PATH, m, err, sizeof(err));

	if (rc == MODEL_MISSING) {
		m->seed = (uint64_t)p->seed;
		m->rng = cnn_rng_seed(m->seed);
		m->epochs = 0;
		cnn_init(&m->net, &m->rng);
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "train: %s (move it away to train from scratch)\n", err);
		return -1;
	}
	printf("Resuming from %s: %u epochs done\n", MODEL_PATH, (unsigned)m->epochs);
	if (m->seed != (uint64_t)p->seed)
		printf("Note: %s was started with seed %lld; params.yaml's seed %lld applies to fresh runs "
		       "only\n",
		       MODEL_PATH, (long long)m->seed, p->seed);
	return 1;
}

/* Open the live run: resuming when model.pt was, and with its step equal to the epochs done. */
static int open_live(int resumed, uint32_t epochs_done)
{
	live_options opts = LIVE_OPTIONS_INIT;
	opts.resume = resumed ? LIVE_ON : LIVE_DEFAULT;
	if (live_init(&opts) != 0) {
		fprintf(stderr, "train: live_init: %s\n", live_errmsg());
		return -1;
	}
	long long step = live_get_step();
	if (step < 0) {
		fprintf(stderr, "train: live_get_step: %s\n", live_errmsg());
		return -1;
	}
	if (step != (long long)epochs_done && live_set_step(epochs_done) != 0) {
		fprintf(stderr, "train: live_set_step: %s\n", live_errmsg());
		return -1;
	}
	return 0;
}

static int write_predictions(const unsigned char *actual, const unsigned char *predicted, int n)
{
	static const char row[] = "  {\"actual\": 0, \"predicted\": 0},\n";
	size_t cap = 4 + (size_t)n * (sizeof(row) - 1), len = 0;
	char *buf = malloc(cap);
	char err[512];

	if (!buf) {
		fprintf(stderr, "train: %s: out of memory\n", PREDICTIONS_PATH);
		return -1;
	}
	buf[len++] = '[';
	buf[len++] = '\n';
	for (int i = 0; i < n; i++) {
		memcpy(buf + len, row, sizeof(row) - 1);
		buf[len + 13] = (char)('0' + actual[i]);
		buf[len + 29] = (char)('0' + predicted[i]);
		len += sizeof(row) - 1;
	}
	if (n > 0)
		len -= 2; /* no comma after the last object */
	else
		len--;
	buf[len++] = '\n';
	buf[len++] = ']';
	buf[len++] = '\n';
	int rc = model_write_atomic(PREDICTIONS_PATH, buf, len, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "train: %s\n", err);
	free(buf);
	return rc;
}

/* Log the epoch's metrics and end the step; adds the time spent to *live_seconds. */
static int log_epoch(double loss, double acc, double *live_seconds)
{
	double t0 = now();
	if (live_log("loss", loss) != 0 || live_log("acc", acc) != 0) {
		fprintf(stderr, "train: live_log: %s\n", live_errmsg());
		return -1;
	}
	if (live_next_step() != 0) {
		fprintf(stderr, "train: live_next_step: %s\n", live_errmsg());
		return -1;
	}
	*live_seconds += now() - t0;
	return 0;
}

int main(void)
{
	params p;
	mnist_set train = {0}, test = {0};
	static model_state m; /* 594 KB: off the stack */
	cnn_trainer *trainer = NULL;
	int *order = NULL;
	unsigned char *predicted = NULL;
	int status = 1;

	if (read_params(&p) != 0 || load_data(p.data_dir, &train, &test) != 0)
		goto out;
	int resumed = load_or_init(&p, &m);
	if (resumed < 0)
		goto out;
	if (p.epochs > 0 && m.epochs >= p.epochs) {
		printf("%s already has %u epochs (epochs: %lld): nothing to train\n", MODEL_PATH,
		       (unsigned)m.epochs, p.epochs);
		status = 0;
		goto out;
	}

	int batch = p.batch_size < train.n ? (int)p.batch_size : train.n;
	trainer = cnn_trainer_new(batch);
	order = malloc(sizeof(int) * (size_t)train.n);
	predicted = malloc((size_t)test.n);
	if (!trainer || !order || !predicted) {
		fprintf(stderr, "train: out of memory\n");
		goto out;
	}
	if (catch_stop_signals() != 0 || open_live(resumed, m.epochs) != 0)
		goto out;
	if (cnn_threads() > 1)
		printf("OpenMP: %d threads\n", cnn_threads());
	if (p.epochs == 0)
		printf("epochs: 0: training until %g minutes have passed\n", p.max_minutes);
	fflush(stdout);

	double start = now(), limit = p.max_minutes * 60.0, last_epoch = 0, busy = 0, live_seconds = 0;
	int run_epochs = 0;
	const char *why = NULL;
	for (;;) {
		if (p.epochs > 0 && m.epochs >= p.epochs)
			break;
		if (stop_signal) {
			why = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
			break;
		}
		/* under `live exp run` (LIVE_STOP_SIGNALS=1) liblive catches the signals instead of us */
		if (live_stop_requested()) {
			why = "a stop request (SIGINT or SIGTERM, caught by live)";
			break;
		}
		/* with no epoch count, start an epoch only if it should end within the limit */
		if (p.epochs == 0 && run_epochs > 0 && now() - start + last_epoch > limit) {
			why = "the time limit";
			break;
		}
		double t0 = now();
		/* the order depends only on the RNG state, which model.pt keeps: resuming is exact */
		for (int i = 0; i < train.n; i++)
			order[i] = i;
		cnn_rng_shuffle(&m.rng, order, train.n);
		/* the step size of this epoch: lr * lr_decay^(epochs done), so resuming keeps the schedule */
		cnn_sgd sgd = {(float)(p.lr * pow(p.lr_decay, m.epochs)), (float)p.weight_decay,
			       (int)p.augment_shift};
		double train_loss = 0;
		for (int s = 0; s < train.n; s += batch) {
			int n = train.n - s < batch ? train.n - s : batch;
			double batch_loss = cnn_train_step(&m.net, trainer, train.images, train.labels,
							   order + s, n, &sgd, &m.rng);
			train_loss += n * batch_loss;
		}
		train_loss /= train.n;
		double t1 = now(), loss, acc;
		cnn_evaluate(&m.net, test.images, test.labels, test.n, predicted, &loss, &acc);
		double t2 = now();

		m.epochs++;
		char err[512];
		if (model_save(MODEL_PATH, &m, err, sizeof(err)) != 0) {
			fprintf(stderr, "train: %s\n", err);
			goto out;
		}
		if (write_predictions(test.labels, predicted, test.n) != 0)
			goto out;
		double t3 = now();

		char loss_text[40], acc_text[40];
		format_repr(loss, loss_text, sizeof(loss_text));
		format_repr(acc, acc_text, sizeof(acc_text));
		printf("Epoch %u: loss=%s\n", (unsigned)m.epochs, loss_text);
		printf("Epoch %u: acc=%s\n", (unsigned)m.epochs, acc_text);
		if (log_epoch(loss, acc, &live_seconds) != 0)
			goto out;
		last_epoch = now() - t0;
		busy += last_epoch;
		run_epochs++;
		printf("Epoch %u: %.2f s (train %.2f s, test %.2f s, save %.3f s), train loss %.4f\n",
		       (unsigned)m.epochs, last_epoch, t1 - t0, t2 - t1, t3 - t2, train_loss);
		fflush(stdout);
	}

	if (live_close() != 0) {
		fprintf(stderr, "train: live_close: %s\n", live_errmsg());
		goto out;
	}
	if (why)
		printf("Stopped by %s after epoch %u\n", why, (unsigned)m.epochs);
	if (run_epochs > 0)
		printf("live: %.3f ms of %.2f s per epoch (%.4f%%)\n", 1e3 * live_seconds / run_epochs,
		       busy / run_epochs, 100.0 * live_seconds / busy);
	status = 0;
out:
	free(predicted);
	free(order);
	cnn_trainer_free(trainer);
	idx_free_set(&train);
	idx_free_set(&test);
	return status;
}
