/*
 * live_log_vs_fprintf: live_log / live_next_step against the obvious
 * alternative, a plain stdio loop writing the same TSV rows, in one process
 * and interleaved, so that the ratio holds on a noisy machine.
 *
 * Both sides log the same 10 metrics with the same values at every step:
 *  - live:  live_log(name, v) x 10, then live_next_step() (the default run,
 *           with its lock; report off, classic layout, default summary
 *           interval);
 *  - plain: one FILE per metric, opened once (header written), then
 *           fprintf(f, "%lld\t%lld\t%.17g\n", unix_ms, step, v) per value
 *           and fflush() of the 10 files per step. "%.17g" is the obvious
 *           round-trip format; it writes no summary.
 * The steps run in blocks (default 1000 steps), alternating which side goes
 * first, and every call is timed with clock_gettime(CLOCK_MONOTONIC).
 *
 * Prints key=value lines (medians over all steps; the log figures are per
 * call, the step figures are the 10 logs plus the end of the step):
 *   live_log_ns, live_next_us, live_step_us, live_mean_step_us,
 *   plain_log_ns, plain_flush_us, plain_step_us, plain_mean_step_us,
 *   clock_ns, steps, bytes_live, bytes_plain
 *
 * A measurement: exits 0 whatever the numbers (1 if it cannot run, 2 on bad
 * usage). Its files go to a temporary folder under $TMPDIR (default /tmp),
 * removed afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <live.h>

#define NMETRICS 10

static const char *const names[NMETRICS] = {
	"train/loss", "train/acc", "train/lr", "train/grad_norm", "val/loss",
	"val/acc", "val/f1", "val/precision", "val/recall", "epoch_time",
};

static inline long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long long unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static long long median(long long *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_ll);
	return v[n / 2];
}

/* live_bench's values: all their digits, losses falling, accuracies rising. */
static double metric_value(long long step, int i)
{
	static const int higher[NMETRICS] = { 0, 1, 0, 0, 0, 1, 1, 1, 1, 0 };
	double v = (1.0 + i) / (double)(step + 1) + 0.001 * i;
	return higher[i] ? 1.0 - v : v;
}

static char tmpdir[1024];
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static long long walk_bytes;

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		walk_bytes += st->st_size;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static long long tree_bytes(const char *path)
{
	walk_bytes = 0;
	nftw(path, count_entry, 16, FTW_PHYS);
	return walk_bytes;
}

typedef struct side {
	long long *log_ns;  /* NMETRICS per step */
	long long *next_ns; /* per step: live_next_step, or the 10 fflush calls */
	long long *step_ns; /* per step: the 10 logs + the end of the step */
	long long total_ns; /* wall time of all its steps */
	long long done;     /* steps run */
} side;

static FILE *plain_f[NMETRICS];

static int plain_open(const char *root)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/dvclive", root);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dvclive/train", root);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dvclive/val", root);
	if (mkdir(path, 0755) != 0)
		return -1;
	for (int i = 0; i < NMETRICS; i++) {
		snprintf(path, sizeof(path), "%s/dvclive/%s.tsv", root, names[i]);
		if (!(plain_f[i] = fopen(path, "w")))
			return -1;
		fprintf(plain_f[i], "timestamp\tstep\t%s\n", names[i]);
	}
	return 0;
}

static int run_live_block(side *s, long long from, long long to)
{
	long long t_block = now_ns();
	for (long long step = from; step < to; step++) {
		long long k = s->done++;
		long long t0 = now_ns(), prev = t0, t;
		for (int i = 0; i < NMETRICS; i++) {
			int rc = live_log(names[i], metric_value(step, i));
			t = now_ns();
			s->log_ns[k * NMETRICS + i] = t - prev;
			prev = t;
			if (rc)
				return rc;
		}
		int rc = live_next_step();
		t = now_ns();
		s->next_ns[k] = t - prev;
		s->step_ns[k] = t - t0;
		if (rc)
			return rc;
	}
	s->total_ns += now_ns() - t_block;
	return 0;
}

static int run_plain_block(side *s, long long from, long long to)
{
	long long t_block = now_ns();
	for (long long step = from; step < to; step++) {
		long long k = s->done++;
		long long t0 = now_ns(), prev = t0, t;
		for (int i = 0; i < NMETRICS; i++) {
			int n = fprintf(plain_f[i], "%lld\t%lld\t%.17g\n", unix_ms(), step, metric_value(step, i));
			t = now_ns();
			s->log_ns[k * NMETRICS + i] = t - prev;
			prev = t;
			if (n < 0)
				return -1;
		}
		int bad = 0;
		for (int i = 0; i < NMETRICS; i++)
			bad |= fflush(plain_f[i]);
		t = now_ns();
		s->next_ns[k] = t - prev;
		s->step_ns[k] = t - t0;
		if (bad)
			return -1;
	}
	s->total_ns += now_ns() - t_block;
	return 0;
}

static int alloc_side(side *s, long long steps)
{
	s->log_ns = malloc(sizeof(long long) * NMETRICS * (size_t)steps);
	s->next_ns = malloc(sizeof(long long) * (size_t)steps);
	s->step_ns = malloc(sizeof(long long) * (size_t)steps);
	return s->log_ns && s->next_ns && s->step_ns ? 0 : -1;
}

static long long clock_overhead(void)
{
	enum { N = 10001 };
	static long long d[N];
	for (int i = 0; i < N; i++) {
		long long a = now_ns();
		d[i] = now_ns() - a;
	}
	return median(d, N);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: live_log_vs_fprintf [--steps N] [--block B]\n"
		   "  --steps N   steps on each side (default 200000, at least 1000)\n"
		   "  --block B   steps per block; the sides alternate block by block (default 1000)\n");
}

int main(int argc, char **argv)
{
	long long steps = 200000, block = 1000;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--steps") || !strcmp(argv[i], "--block")) && i + 1 < argc) {
			char *end;
			errno = 0;
			long long n = strtoll(argv[i + 1], &end, 10);
			int is_steps = !strcmp(argv[i], "--steps");
			if (errno || *end || n < (is_steps ? 1000 : 1)) {
				fprintf(stderr, "live_log_vs_fprintf: %s %s: bad number\n", argv[i], argv[i + 1]);
				return 2;
			}
			*(is_steps ? &steps : &block) = n;
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	static const char *const env[] = { "DVCLIVE_PATH", "DVCLIVE_SUMMARY", "DVCLIVE_HTML",
					   "DVCLIVE_RESUME", "LIVE_LAYOUT", "LIVE_SUMMARY_INTERVAL_MS",
					   "RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID" };
	for (size_t i = 0; i < sizeof(env) / sizeof(*env); i++)
		unsetenv(env[i]);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	const char *base = getenv("TMPDIR");
	if (base && strlen(base) > 900)
		base = NULL;
	snprintf(tmpdir, sizeof(tmpdir), "%s/live_log_vs_fprintf.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "live_log_vs_fprintf: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	char live_root[1040], live_dir[1060], plain_root[1040];
	snprintf(live_root, sizeof(live_root), "%s/live", tmpdir);
	snprintf(live_dir, sizeof(live_dir), "%s/dvclive", live_root);
	snprintf(plain_root, sizeof(plain_root), "%s/plain", tmpdir);

	side L = { 0 }, P = { 0 };
	int rc = 0;
	const char *what = NULL;
	long long overhead = clock_overhead();
	if (mkdir(live_root, 0755) != 0 || mkdir(plain_root, 0755) != 0 || plain_open(plain_root) != 0) {
		fprintf(stderr, "live_log_vs_fprintf: %s: %s\n", tmpdir, strerror(errno));
		what = "setup";
	} else if (alloc_side(&L, steps) || alloc_side(&P, steps)) {
		fprintf(stderr, "live_log_vs_fprintf: out of memory\n");
		what = "setup";
	}
	live_options opts = LIVE_OPTIONS_INIT;
	opts.dir = live_dir;
	opts.html = LIVE_OFF;
	if (!what && (rc = live_init(&opts)))
		what = "live_init";
	for (long long from = 0, b = 0; !what && from < steps; from += block, b++) {
		long long to = from + block < steps ? from + block : steps;
		if (interrupted) {
			what = "interrupted";
			break;
		}
		if (b % 2 == 0) {
			if ((rc = run_live_block(&L, from, to)))
				what = "live";
			else if (run_plain_block(&P, from, to))
				what = "fprintf";
		} else {
			if (run_plain_block(&P, from, to))
				what = "fprintf";
			else if ((rc = run_live_block(&L, from, to)))
				what = "live";
		}
	}
	int crc = live_close();
	for (int i = 0; i < NMETRICS; i++)
		if (plain_f[i])
			fclose(plain_f[i]);
	long long bytes_live = tree_bytes(live_root), bytes_plain = tree_bytes(plain_root);
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (what) {
		if (!strcmp(what, "live") || !strcmp(what, "live_init"))
			fprintf(stderr, "live_log_vs_fprintf: %s: %s (%s)\n", what, live_errmsg(), live_strerror(rc));
		else if (strcmp(what, "setup"))
			fprintf(stderr, "live_log_vs_fprintf: %s failed\n", what);
		return 1;
	}
	if (crc) {
		fprintf(stderr, "live_log_vs_fprintf: live_close: %s\n", live_errmsg());
		return 1;
	}
	double l_mean = (double)L.total_ns / 1e3 / (double)L.done, p_mean = (double)P.total_ns / 1e3 / (double)P.done;
	printf("steps=%lld\nblock=%lld\nclock_ns=%lld\n", steps, block, overhead);
	printf("live_log_ns=%lld\n", median(L.log_ns, (size_t)(L.done * NMETRICS)));
	printf("live_next_us=%.2f\n", (double)median(L.next_ns, (size_t)L.done) / 1e3);
	printf("live_step_us=%.2f\n", (double)median(L.step_ns, (size_t)L.done) / 1e3);
	printf("live_mean_step_us=%.2f\n", l_mean);
	printf("plain_log_ns=%lld\n", median(P.log_ns, (size_t)(P.done * NMETRICS)));
	printf("plain_flush_us=%.2f\n", (double)median(P.next_ns, (size_t)P.done) / 1e3);
	printf("plain_step_us=%.2f\n", (double)median(P.step_ns, (size_t)P.done) / 1e3);
	printf("plain_mean_step_us=%.2f\n", p_mean);
	printf("bytes_live=%lld\nbytes_plain=%lld\n", bytes_live, bytes_plain);
	free(L.log_ns);
	free(L.next_ns);
	free(L.step_ns);
	free(P.log_ns);
	free(P.next_ns);
	free(P.step_ns);
	return 0;
}
