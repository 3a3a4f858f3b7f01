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
 *
 * The same file builds `train_mpi` (dist_mpi.c instead of dist_serial.c, see
 * dist.h): data-parallel training over MPI ranks. Every rank computes the
 * gradient of its share of each batch, the shares are summed across the ranks
 * (MPI_Allreduce) and every rank takes the same step, so the weights stay the
 * same everywhere; the test set is split the same way. Rank 0 alone reads the
 * files (params, data, model.pt; it broadcasts them), writes model.pt and
 * predictions.json, prints, and logs with live (liblive keeps the other
 * ranks inert). Whether to go on is decided together at the top of each
 * epoch (a bitwise OR over the ranks): a signal or a failure on any rank
 * stops them all at the same epoch. With one rank, `train_mpi` computes
 * exactly what `train` does.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <live.h>

#include "cnn.h"
#include "dist.h"
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

/* One line on stderr, "train: ...", naming the rank when it is not 0. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	char line[1200];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (dist_rank() > 0)
		fprintf(stderr, "train: rank %d: %s\n", dist_rank(), line);
	else
		fprintf(stderr, "train: %s\n", line);
}

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
		fail("sigaction: %s", strerror(errno));
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
		fail("params: %s (lr=%g, weight_decay=%g, epochs=%lld, batch_size=%lld, "
		     "lr_decay=%g, augment_shift=%lld, max_minutes=%g)",
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
		fail("%s", err);
		return -1;
	}
	const mnist_set *sets[2] = {train, test};
	for (int i = 0; i < 2; i++) {
		if (sets[i]->rows != CNN_ROWS || sets[i]->cols != CNN_COLS) {
			fail("%s: %s images are %dx%d; this network takes %dx%d", dir, i ? "test" : "train",
			     sets[i]->rows, sets[i]->cols, CNN_ROWS, CNN_COLS);
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
		fail("%s (move it away to train from scratch)", err);
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
		fail("live_init: %s", live_errmsg());
		return -1;
	}
	long long step = live_get_step();
	if (step < 0) {
		fail("live_get_step: %s", live_errmsg());
		return -1;
	}
	if (step != (long long)epochs_done && live_set_step(epochs_done) != 0) {
		fail("live_set_step: %s", live_errmsg());
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
		fail("%s: out of memory", PREDICTIONS_PATH);
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
		fail("%s", err);
	free(buf);
	return rc;
}

/* Log the epoch's metrics and end the step; adds the time spent to *live_seconds. */
static int log_epoch(double loss, double acc, double *live_seconds)
{
	double t0 = now();
	if (live_log("loss", loss) != 0 || live_log("acc", acc) != 0) {
		fail("live_log: %s", live_errmsg());
		return -1;
	}
	if (live_next_step() != 0) {
		fail("live_next_step: %s", live_errmsg());
		return -1;
	}
	*live_seconds += now() - t0;
	return 0;
}

/* What rank 0's setup tells the others. */
enum { SETUP_OK, SETUP_FAILED, SETUP_NOTHING_TO_DO };

/* Rank 0: params.yaml, the data, and model.pt or a fresh network. */
static int setup_rank0(params *p, mnist_set *train, mnist_set *test, model_state *m, int *resumed)
{
	if (read_params(p) != 0 || load_data(p->data_dir, train, test) != 0)
		return SETUP_FAILED;
	*resumed = load_or_init(p, m);
	if (*resumed < 0)
		return SETUP_FAILED;
	if (p->epochs > 0 && m->epochs >= p->epochs) {
		printf("%s already has %u epochs (epochs: %lld): nothing to train\n", MODEL_PATH,
		       (unsigned)m->epochs, p->epochs);
		return SETUP_NOTHING_TO_DO;
	}
	return SETUP_OK;
}

static int alloc_set(mnist_set *s, int n, int rows, int cols)
{
	s->n = n;
	s->rows = rows;
	s->cols = cols;
	s->images = malloc((size_t)n * (size_t)rows * (size_t)cols);
	s->labels = malloc((size_t)n);
	return s->images && s->labels ? 0 : -1;
}

/* Rank 0's parameters, model and data, to every rank (nothing to do on one). 0, or -1 on every rank. */
static int share(params *p, model_state *m, int *resumed, mnist_set *train, mnist_set *test)
{
	if (dist_size() == 1)
		return 0;
	dist_bcast(p, sizeof(*p));
	dist_bcast(resumed, sizeof(*resumed));
	dist_bcast(m, sizeof(*m));
	int shape[6] = {train->n, train->rows, train->cols, test->n, test->rows, test->cols};
	dist_bcast(shape, sizeof(shape));
	unsigned bad = 0;
	if (dist_rank() != 0) {
		p->data_dir = NULL; /* rank 0's pointer; only rank 0 reads files */
		if (alloc_set(train, shape[0], shape[1], shape[2]) != 0 ||
		    alloc_set(test, shape[3], shape[4], shape[5]) != 0) {
			fail("out of memory for the data");
			bad = 1;
		}
	}
	if (dist_or(bad))
		return -1;
	const mnist_set *sets[2] = {train, test};
	for (int i = 0; i < 2; i++) {
		dist_bcast(sets[i]->images, (size_t)sets[i]->n * (size_t)sets[i]->rows * (size_t)sets[i]->cols);
		dist_bcast(sets[i]->labels, (size_t)sets[i]->n);
	}
	return 0;
}

/*
 * Rank 0, after an epoch: model.pt, predictions.json, the tutorial's lines, the
 * live step (a checkpoint under `live exp run`). *saved is when the files were.
 */
static int finish_epoch(const model_state *m, const mnist_set *test, const unsigned char *predicted, double loss,
			double acc, double *saved, double *live_seconds)
{
	char err[512];
	if (model_save(MODEL_PATH, m, err, sizeof(err)) != 0) {
		fail("%s", err);
		return -1;
	}
	if (write_predictions(test->labels, predicted, test->n) != 0)
		return -1;
	*saved = now();

	char loss_text[40], acc_text[40];
	format_repr(loss, loss_text, sizeof(loss_text));
	format_repr(acc, acc_text, sizeof(acc_text));
	printf("Epoch %u: loss=%s\n", (unsigned)m->epochs, loss_text);
	printf("Epoch %u: acc=%s\n", (unsigned)m->epochs, acc_text);
	return log_epoch(loss, acc, live_seconds);
}

/* What the ranks decide together at the top of each epoch (an OR over the ranks). */
enum {
	GO_FAILED = 1u << 0,  /* rank 0 could not write or log the last epoch */
	GO_DONE = 1u << 1,    /* the model has its `epochs` */
	GO_SIGINT = 1u << 2,  /* caught by the trainer */
	GO_SIGTERM = 1u << 3, /* caught by the trainer */
	GO_LIVE = 1u << 4,    /* live_stop_requested(): caught by liblive under `live exp run` */
	GO_TIME = 1u << 5,    /* epochs: 0 and max_minutes is up (rank 0's clock) */
};

static unsigned local_flags(const params *p, const model_state *m, int run_epochs, double elapsed,
			    double last_epoch)
{
	unsigned f = 0;
	if (p->epochs > 0 && m->epochs >= p->epochs)
		f |= GO_DONE;
	if (stop_signal)
		f |= stop_signal == SIGINT ? GO_SIGINT : GO_SIGTERM;
	/* under `live exp run` (LIVE_STOP_SIGNALS=1) liblive catches the signals instead of us */
	if (live_stop_requested())
		f |= GO_LIVE;
	/* with no epoch count, start an epoch only if it should end within the limit */
	if (dist_rank() == 0 && p->epochs == 0 && run_epochs > 0 && elapsed + last_epoch > p->max_minutes * 60.0)
		f |= GO_TIME;
	return f;
}

/* Why the loop ends early, in the order the single-process trainer always checked; NULL: it does not. */
static const char *stop_reason(unsigned f)
{
	if (f & GO_SIGINT)
		return "SIGINT";
	if (f & GO_SIGTERM)
		return "SIGTERM";
	if (f & GO_LIVE)
		return "a stop request (SIGINT or SIGTERM, caught by live)";
	if (f & GO_TIME)
		return "the time limit";
	return NULL;
}

static int train_main(void)
{
	params p = {0};
	mnist_set train = {0}, test = {0};
	static model_state m; /* 594 KB: off the stack */
	cnn_trainer *trainer = NULL;
	int *order = NULL;
	unsigned char *predicted = NULL;
	int status = 1, rank = dist_rank(), size = dist_size(), resumed = 0;

	int setup = rank == 0 ? setup_rank0(&p, &train, &test, &m, &resumed) : SETUP_OK;
	dist_bcast(&setup, sizeof(setup));
	if (setup != SETUP_OK) {
		status = setup == SETUP_NOTHING_TO_DO ? 0 : 1;
		goto out;
	}
	if (share(&p, &m, &resumed, &train, &test) != 0)
		goto out;

	/* each rank computes its share of a batch: at most ceil(batch / ranks) images */
	int batch = p.batch_size < train.n ? (int)p.batch_size : train.n;
	trainer = cnn_trainer_new((batch + size - 1) / size);
	order = malloc(sizeof(int) * (size_t)train.n);
	predicted = malloc((size_t)test.n);
	unsigned bad = 0;
	if (!trainer || !order || !predicted) {
		fail("out of memory");
		bad = 1;
	} else if (catch_stop_signals() != 0 || open_live(resumed, m.epochs) != 0) {
		bad = 1;
	}
	if (dist_or(bad))
		goto out;
	if (rank == 0) {
		if (size > 1)
			printf("MPI: %d ranks share each batch of %d images\n", size, batch);
		if (cnn_threads() > 1)
			printf("OpenMP: %d threads\n", cnn_threads());
		if (p.epochs == 0)
			printf("epochs: 0: training until %g minutes have passed\n", p.max_minutes);
		fflush(stdout);
	}

	double start = now(), last_epoch = 0, busy = 0, live_seconds = 0;
	int run_epochs = 0;
	unsigned failed = 0;
	const char *why = NULL;
	for (;;) {
		unsigned go = dist_or(failed | local_flags(&p, &m, run_epochs, now() - start, last_epoch));
		if (go & GO_FAILED)
			goto out;
		if (go & GO_DONE)
			break;
		if ((why = stop_reason(go)) != NULL)
			break;
		double t0 = now();
		/* the order depends only on the RNG state, which model.pt keeps: resuming is exact */
		for (int i = 0; i < train.n; i++)
			order[i] = i;
		cnn_rng_shuffle(&m.rng, order, train.n);
		/* the step size of this epoch: lr * lr_decay^(epochs done), so resuming keeps the schedule */
		cnn_sgd sgd = {(float)(p.lr * pow(p.lr_decay, m.epochs)), (float)p.weight_decay,
			       (int)p.augment_shift};
		/* sums over this rank's images: test loss, test images right, train loss */
		double sums[3] = {0, 0, 0};
		for (int s = 0; s < train.n; s += batch) {
			int n = train.n - s < batch ? train.n - s : batch, lo, hi;
			dist_shard(n, &lo, &hi);
			sums[2] += cnn_train_grad(&m.net, trainer, train.images, train.labels, order + s, n, lo, hi,
						  sgd.shift, &m.rng);
			float *grad = cnn_trainer_grad(trainer);
			dist_sum_floats(grad, CNN_NPARAMS);
			cnn_sgd_apply(&m.net, grad, n, &sgd);
		}
		double t1 = now();
		int lo, hi, right;
		dist_shard(test.n, &lo, &hi);
		cnn_evaluate_sums(&m.net, test.images + (size_t)lo * CNN_PIXELS, test.labels + lo, hi - lo,
				  predicted + lo, &sums[0], &right);
		sums[1] = right;
		dist_sum_doubles(sums, 3);
		dist_gather_shards(predicted, test.n);
		double loss = sums[0] / test.n, acc = sums[1] / test.n, train_loss = sums[2] / train.n;
		double t2 = now(), t3 = t2;

		m.epochs++;
		if (rank == 0 && finish_epoch(&m, &test, predicted, loss, acc, &t3, &live_seconds) != 0)
			failed = GO_FAILED;
		/* every epoch starts from rank 0's model, as a resume from model.pt would */
		dist_bcast(&m, sizeof(m));
		last_epoch = now() - t0;
		busy += last_epoch;
		run_epochs++;
		if (rank == 0 && !failed) {
			printf("Epoch %u: %.2f s (train %.2f s, test %.2f s, save %.3f s), train loss %.4f\n",
			       (unsigned)m.epochs, last_epoch, t1 - t0, t2 - t1, t3 - t2, train_loss);
			fflush(stdout);
		}
	}

	if (live_close() != 0) {
		fail("live_close: %s", live_errmsg());
		goto out;
	}
	if (rank == 0) {
		if (why)
			printf("Stopped by %s after epoch %u\n", why, (unsigned)m.epochs);
		if (run_epochs > 0)
			printf("live: %.3f ms of %.2f s per epoch (%.4f%%)\n", 1e3 * live_seconds / run_epochs,
			       busy / run_epochs, 100.0 * live_seconds / busy);
	}
	status = 0;
out:
	free(predicted);
	free(order);
	cnn_trainer_free(trainer);
	idx_free_set(&train);
	idx_free_set(&test);
	return status;
}

int main(int argc, char **argv)
{
	if (dist_init(&argc, &argv) != 0)
		return 1;
	int status = train_main();
	fflush(stdout);
	dist_finalize();
	return status;
}
