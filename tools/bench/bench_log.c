/*
 * live_bench: what live_run_log and live_run_next_step cost, early and late
 * in a long run, and whether the hot path allocates.
 *
 * One run of 1e6 steps (--steps N), 10 metrics logged per step, the report
 * off, then the same run with the report on (html = LIVE_ON: the series and
 * divergence watches fed at every step, the HTML rewritten once a second),
 * compared step for step. Every call is timed with clock_gettime(CLOCK_MONOTONIC), but samples
 * are kept only in windows of 1000 steps starting at 1e3, 1e5 and N-1000, so
 * a growing cost (O(history) work per step) shows up as a ratio between the
 * first and the last window. A second, shorter run (--every-steps, default
 * 20000: each step then pays a file replacement) rewrites the summary at
 * every step for comparison.
 *
 * Heap allocations are counted by defining malloc/calloc/realloc/free here:
 * the executable's definitions win over glibc's for liblive.so too, and they
 * forward to glibc's __libc_* entry points. Sanitizer builds keep their own
 * allocator, so counting is off there.
 *
 * A measurement, not a test: it exits 0 whether the goals are met or not
 * (1 if it cannot run at all, 2 on bad usage). Everything is written to a
 * temporary folder under /tmp that is removed afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <live.h>

#ifndef LIVE_BENCH_BUILD_TYPE
#define LIVE_BENCH_BUILD_TYPE "unknown"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#ifndef BENCH_SANITIZED
#define BENCH_SANITIZED 0
#endif

/* ---- allocation counting --------------------------------------------------- */

static unsigned long long n_allocs; /* malloc + calloc + realloc calls */

#if !BENCH_SANITIZED
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

void *malloc(size_t size)
{
	n_allocs++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	n_allocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	n_allocs++;
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}
#endif

/* ---- timing ---------------------------------------------------------------- */

static inline long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Sorts `v` in place. */
static long long median(long long *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_ll);
	return v[n / 2];
}

/* `v` sorted; the smallest sample that 99% of the samples do not exceed. */
static long long p99(const long long *v, size_t n)
{
	if (!n)
		return 0;
	size_t i = (n * 99 + 99) / 100;
	return v[i ? i - 1 : 0];
}

/* ---- the benchmark --------------------------------------------------------- */

#define NMETRICS 10
#define WINDOW 1000LL
#define MAX_WINDOWS 3

static const char *const names[NMETRICS] = {
	"train/loss", "train/acc", "train/lr", "train/grad_norm", "val/loss",
	"val/acc", "val/f1", "val/precision", "val/recall", "epoch_time",
};

typedef struct window {
	long long start; /* first step of the window */
	long long *log_ns;   /* NMETRICS * WINDOW samples */
	long long *next_ns;  /* WINDOW samples */
	long long *step_ns;  /* WINDOW samples: the 10 logs + next_step */
	long long log_med, log_p99, next_med, next_p99, step_med;
} window;

typedef struct result {
	const char *label;
	long long steps;
	window w[MAX_WINDOWS];
	int nw;
	int counted;                /* allocation counting worked */
	unsigned long long allocs;  /* during steps 1000 .. steps-1 */
	long long files, bytes;     /* what the run left on disk */
	long long log_med, next_med; /* over all windows */
	double ratio;               /* step median: last window / first window */
	double mean_us;             /* wall time of the whole loop / steps */
} result;

static char tmpdir[64];
static volatile sig_atomic_t interrupted; /* Ctrl-C: stop, clean up, exit */

static void on_signal(int sig)
{
	interrupted = sig;
}

static long long walk_files, walk_bytes;

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		walk_files++;
		walk_bytes += st->st_size;
	}
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

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Windows of WINDOW steps at 1e3, 1e5 and the end, those that fit and do not overlap. */
static void plan_windows(result *res)
{
	long long starts[MAX_WINDOWS] = { 1000, 100000, res->steps - WINDOW };
	long long end = 0;
	res->nw = 0;
	for (int i = 0; i < MAX_WINDOWS; i++) {
		long long s = starts[i];
		if (s < end || s + WINDOW > res->steps)
			continue;
		res->w[res->nw++].start = s;
		end = s + WINDOW;
	}
}

static double metric_value(long long step, int i)
{
	/* Values that need all their digits, as a real loss does; the accuracies (maximised
	 * by the divergence watch, like the losses are minimised) improve too. */
	static const int higher[NMETRICS] = { 0, 1, 0, 0, 0, 1, 1, 1, 1, 0 };
	double v = (1.0 + i) / (double)(step + 1) + 0.001 * i;
	return higher[i] ? 1.0 - v : v;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "live_bench: %s: %s (%s)\n", what, live_errmsg(), live_strerror(rc));
	return 1;
}

/* The run under test: an explicit handle, or the default run behind live_log (its lock included). */
static live_run *run;
static int use_default;
static int use_html; /* the report on */

static int do_log(const char *name, double v)
{
	return use_default ? live_log(name, v) : live_run_log(run, name, v);
}

static int do_next(void)
{
	return use_default ? live_next_step() : live_run_next_step(run);
}

static int do_close(void)
{
	return use_default ? live_close() : live_run_close(run);
}

static int bench_run(result *res, const char *sub, int interval_ms)
{
	for (int i = 0; i < res->nw; i++) {
		window *w = &res->w[i];
		w->log_ns = malloc(sizeof(long long) * NMETRICS * WINDOW);
		w->next_ns = malloc(sizeof(long long) * WINDOW);
		w->step_ns = malloc(sizeof(long long) * WINDOW);
		if (!w->log_ns || !w->next_ns || !w->step_ns) {
			fprintf(stderr, "live_bench: out of memory\n");
			return 1;
		}
	}

	char dir[128];
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	if (mkdir(dir, 0755) != 0) {
		fprintf(stderr, "live_bench: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char rundir[160];
	snprintf(rundir, sizeof(rundir), "%s/dvclive", dir);

	live_options opts = LIVE_OPTIONS_INIT;
	opts.dir = rundir;
	opts.html = use_html ? LIVE_ON : LIVE_OFF;
	opts.summary_interval_ms = interval_ms;
	unsigned long long before_open = n_allocs;
	int rc = use_default ? live_init(&opts) : live_run_open(&run, &opts);
	if (rc)
		return fail("live_run_open", rc);
	res->counted = !BENCH_SANITIZED && n_allocs > before_open;

	int wi = 0;
	unsigned long long alloc_start = 0;
	const char *what = NULL; /* the call that failed */
	long long loop_start = now_ns();
	for (long long step = 0; step < res->steps && !what; step++) {
		if (interrupted) {
			do_close();
			remove_tree(dir);
			fprintf(stderr, "live_bench: interrupted\n");
			return 1;
		}
		if (step == 1000)
			alloc_start = n_allocs;
		window *w = wi < res->nw ? &res->w[wi] : NULL;
		if (w && step >= w->start) {
			long long k = step - w->start;
			long long t0 = now_ns(), prev = t0, t;
			for (int i = 0; i < NMETRICS && !what; i++) {
				rc = do_log(names[i], metric_value(step, i));
				t = now_ns();
				w->log_ns[k * NMETRICS + i] = t - prev;
				prev = t;
				if (rc)
					what = "live_run_log";
			}
			if (!what) {
				rc = do_next();
				t = now_ns();
				w->next_ns[k] = t - prev;
				w->step_ns[k] = t - t0;
				if (rc)
					what = "live_run_next_step";
			}
			if (k == WINDOW - 1)
				wi++;
			continue;
		}
		for (int i = 0; i < NMETRICS && !what; i++)
			if ((rc = do_log(names[i], metric_value(step, i))))
				what = "live_run_log";
		if (!what && (rc = do_next()))
			what = "live_run_next_step";
	}
	if (what) {
		fail(what, rc);
		do_close();
		return 1;
	}
	res->mean_us = (double)(now_ns() - loop_start) / 1e3 / (double)res->steps;
	res->allocs = res->steps > 1000 ? n_allocs - alloc_start : 0;
	if ((rc = do_close()))
		return fail("live_run_close", rc);

	walk_files = walk_bytes = 0;
	nftw(dir, count_entry, 16, FTW_PHYS);
	res->files = walk_files;
	res->bytes = walk_bytes;
	remove_tree(dir);

	/* Statistics, now that nothing is counted any more (qsort may allocate). */
	long long *all_log = malloc(sizeof(long long) * NMETRICS * WINDOW * MAX_WINDOWS);
	long long *all_next = malloc(sizeof(long long) * WINDOW * MAX_WINDOWS);
	if (!all_log || !all_next) {
		fprintf(stderr, "live_bench: out of memory\n");
		return 1;
	}
	size_t nlog = 0, nnext = 0;
	for (int i = 0; i < res->nw; i++) {
		window *w = &res->w[i];
		memcpy(all_log + nlog, w->log_ns, sizeof(long long) * NMETRICS * WINDOW);
		memcpy(all_next + nnext, w->next_ns, sizeof(long long) * WINDOW);
		nlog += NMETRICS * WINDOW;
		nnext += WINDOW;
		w->log_med = median(w->log_ns, NMETRICS * WINDOW);
		w->log_p99 = p99(w->log_ns, NMETRICS * WINDOW);
		w->next_med = median(w->next_ns, WINDOW);
		w->next_p99 = p99(w->next_ns, WINDOW);
		w->step_med = median(w->step_ns, WINDOW);
	}
	res->log_med = median(all_log, nlog);
	res->next_med = median(all_next, nnext);
	res->ratio = res->nw >= 2 && res->w[0].step_med > 0
			     ? (double)res->w[res->nw - 1].step_med / (double)res->w[0].step_med
			     : 0.0;
	free(all_log);
	free(all_next);
	return 0;
}

static void free_result(result *res)
{
	for (int i = 0; i < res->nw; i++) {
		free(res->w[i].log_ns);
		free(res->w[i].next_ns);
		free(res->w[i].step_ns);
	}
}

/* Mean µs per step of log(loss) + log(acc) + next_step: the anchor's loop. */
static int dvclive_loop(long long steps, const char *sub, double *us_per_step)
{
	char dir[160];
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	live_options opts = LIVE_OPTIONS_INIT;
	opts.dir = dir;
	opts.html = LIVE_OFF;
	live_run *r;
	int rc = live_run_open(&r, &opts);
	if (rc)
		return fail("live_run_open", rc);
	long long t0 = now_ns();
	for (long long step = 0; step < steps; step++) {
		if ((rc = live_run_log(r, "loss", 1.0 / (double)(step + 1))) ||
		    (rc = live_run_log(r, "acc", 1.0 - 1.0 / (double)(step + 2))) ||
		    (rc = live_run_next_step(r))) {
			live_run_close(r);
			return fail("dvclive-style loop", rc);
		}
	}
	long long t1 = now_ns();
	if ((rc = live_run_close(r)))
		return fail("live_run_close", rc);
	*us_per_step = (double)(t1 - t0) / 1e3 / (double)steps;
	return 0;
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

static void print_rows(const result *res)
{
	for (int i = 0; i < res->nw; i++) {
		const window *w = &res->w[i];
		char span[48];
		snprintf(span, sizeof(span), "%lld..%lld", w->start, w->start + WINDOW - 1);
		printf("%-22s %-16s %8lld %8lld %10.1f %10.1f %10.1f\n", i ? "" : res->label, span, w->log_med,
		       w->log_p99, (double)w->next_med / 1e3, (double)w->next_p99 / 1e3,
		       (double)w->step_med / 1e3);
	}
}

static const char *verdict(int ok)
{
	return ok ? "ok" : "MISSED";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: live_bench [--steps N] [--every-steps N] [--compare-dvclive]\n"
		   "  --steps N          steps in the main run (default 1000000, at least 2000)\n"
		   "  --every-steps N    steps in the LIVE_EVERY_STEP run (default min(20000, --steps))\n"
		   "  --compare-dvclive  also time dvclive's 2-metric loop and print the anchor numbers\n");
}

int main(int argc, char **argv)
{
	long long steps = 1000000, every_steps = 0;
	int compare = 0;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--steps") || !strcmp(argv[i], "--every-steps")) && i + 1 < argc) {
			char *end;
			errno = 0;
			long long n = strtoll(argv[i + 1], &end, 10);
			if (errno || *end || n < 2000) {
				fprintf(stderr, "live_bench: %s %s: expected an integer >= 2000\n", argv[i], argv[i + 1]);
				return 2;
			}
			*(!strcmp(argv[i], "--steps") ? &steps : &every_steps) = n;
			i++;
		} else if (!strcmp(argv[i], "--compare-dvclive")) {
			compare = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

	/* Measure the configuration the options say, not one a caller's environment sets. */
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

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/live_bench.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "live_bench: mkdtemp /tmp/live_bench.XXXXXX: %s\n", strerror(errno));
		return 1;
	}

	result def = { .label = "default (100 ms)", .steps = steps };
	if (!every_steps)
		every_steps = steps < 20000 ? steps : 20000;
	result every = { .label = "LIVE_EVERY_STEP", .steps = every_steps };
	result deflt = { .label = "live_log (default run)", .steps = steps };
	result html = { .label = "report on (html)", .steps = steps };
	plan_windows(&def);
	plan_windows(&every);
	plan_windows(&deflt);
	plan_windows(&html);
	long long overhead = clock_overhead();
	double dv[2] = { 0, 0 };
	int rc = bench_run(&def, "default", 0);
	if (!rc)
		rc = bench_run(&every, "every", LIVE_EVERY_STEP);
	use_default = 1;
	if (!rc)
		rc = bench_run(&deflt, "deflt", 0);
	use_default = 0;
	use_html = 1;
	if (!rc)
		rc = bench_run(&html, "html", 0);
	use_html = 0;
	if (!rc && compare)
		rc = dvclive_loop(1000, "dvc1000", &dv[0]) || dvclive_loop(10000, "dvc10000", &dv[1]);
	remove_tree(tmpdir);
	if (rc) {
		free_result(&def);
		free_result(&every);
		free_result(&deflt);
		free_result(&html);
		return 1;
	}

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("live_bench: liblive %s, %s build, %ld CPUs; %d metrics per step, report off\n"
	       "(html = LIVE_OFF) unless said, classic layout, files in a temp folder under /tmp; %lld steps\n"
	       "with the default summary interval, %lld with LIVE_EVERY_STEP; samples kept in windows of %lld\n"
	       "steps; every sample includes one clock_gettime (median overhead %lld ns)\n\n",
	       live_version_string(), LIVE_BENCH_BUILD_TYPE, cpus, NMETRICS, steps, every_steps, WINDOW,
	       overhead);

	printf("%-22s %-16s %17s %21s %10s\n", "summary interval", "window (steps)", "live_run_log ns",
	       "live_run_next_step us", "step us");
	printf("%-22s %-16s %8s %8s %10s %10s %10s\n", "", "", "median", "p99", "median", "p99", "median");
	print_rows(&def);
	print_rows(&every);
	print_rows(&deflt);
	print_rows(&html);

	const window *first = &def.w[0], *last = &def.w[def.nw - 1];
	char measured[64], label[96];
	printf("\n%-44s %14s  %-12s %s\n", "goal (default interval, all windows)", "measured", "goal", "");
	snprintf(measured, sizeof(measured), "%lld ns", def.log_med);
	printf("%-44s %14s  %-12s %s\n", "live_run_log median", measured, "<= 200 ns",
	       verdict(def.log_med <= 200));
	snprintf(measured, sizeof(measured), "%lld ns", deflt.log_med);
	printf("%-44s %14s  %-12s %s\n", "live_log median (default run, with its lock)", measured, "<= 200 ns",
	       verdict(deflt.log_med <= 200));
	snprintf(measured, sizeof(measured), "%.1f us", (double)deflt.next_med / 1e3);
	printf("%-44s %14s  %-12s %s\n", "live_next_step median (default run)", measured, "<= 30 us",
	       verdict(deflt.next_med <= 30000));
	snprintf(measured, sizeof(measured), "%.1f us", (double)def.next_med / 1e3);
	printf("%-44s %14s  %-12s %s\n", "live_run_next_step median (10 metrics)", measured, "<= 30 us",
	       verdict(def.next_med <= 30000));
	snprintf(label, sizeof(label), "step cost at %lld / at %lld (median)", last->start, first->start);
	snprintf(measured, sizeof(measured), "%.3fx", def.ratio);
	printf("%-44s %14s  %-12s %s\n", label, measured, "<= 1.20x",
	       def.nw >= 2 ? verdict(def.ratio <= 1.20) : "n/a");
	double on_off = def.next_med > 0 ? (double)html.next_med / (double)def.next_med : 0.0;
	snprintf(measured, sizeof(measured), "%.2fx", on_off);
	printf("%-44s %14s  %-12s %s\n", "next_step median, report on / off", measured, "<= 2.00x",
	       verdict(on_off > 0 && on_off <= 2.0));
	double mean_ratio = def.mean_us > 0 ? html.mean_us / def.mean_us : 0.0;
	snprintf(label, sizeof(label), "mean step, report on / off (%.2f / %.2f us)", html.mean_us, def.mean_us);
	snprintf(measured, sizeof(measured), "%.2fx", mean_ratio);
	printf("%-44s %14s  %-12s %s\n", label, measured, "<= 2.00x", verdict(mean_ratio > 0 && mean_ratio <= 2.0));
	snprintf(label, sizeof(label), "report on: step at %lld / at %lld (median)", html.w[html.nw - 1].start,
		 html.w[0].start);
	snprintf(measured, sizeof(measured), "%.3fx", html.ratio);
	printf("%-44s %14s  %-12s %s\n", label, measured, "<= 1.20x",
	       html.nw >= 2 ? verdict(html.ratio <= 1.20) : "n/a");
	snprintf(label, sizeof(label), "heap allocations per step (1000..%lld)", steps - 1);
	if (def.counted) {
		/* The goal is the printed figure: a buffer that grows once, late,
		 * is no per-step cost; the total is shown whenever it is not 0. */
		double per = (double)def.allocs / (double)(steps - 1000);
		snprintf(measured, sizeof(measured), "%.3f", per);
		printf("%-44s %14s  %-12s %s\n", label, measured, "0.000", verdict(per < 0.0005));
		if (def.allocs)
			printf("%-44s %14llu\n", "  allocation calls in those steps", def.allocs);
	} else {
		printf("%-44s %14s  %-12s %s\n", label, "n/a", "0",
		       BENCH_SANITIZED ? "(sanitizer build: not counted)" : "(interposition inactive)");
	}
	if (html.counted) {
		/* Rendering reuses one buffer: allocations once a second at most, none per step. */
		double per = (double)html.allocs / (double)(steps - 1000);
		snprintf(measured, sizeof(measured), "%.3f", per);
		snprintf(label, sizeof(label), "  same, report on (1000..%lld)", steps - 1);
		printf("%-44s %14s  %-12s %s\n", label, measured, "0.000", verdict(per < 0.0005));
		if (html.allocs)
			printf("%-44s %14llu\n", "  allocation calls in those steps", html.allocs);
	}
	if (every.counted) {
		double per = (double)every.allocs / (double)(every_steps - 1000);
		snprintf(measured, sizeof(measured), "%.3f", per);
		snprintf(label, sizeof(label), "  same, LIVE_EVERY_STEP (1000..%lld)", every_steps - 1);
		printf("%-44s %14s  %-12s %s\n", label, measured, "0.000", verdict(per < 0.0005));
		if (every.allocs)
			printf("%-44s %14llu\n", "  allocation calls in those steps", every.allocs);
	}
	printf("\ntotals: default interval: %lld files, %lld bytes; LIVE_EVERY_STEP: %lld files, %lld bytes;\n"
	       "report on: %lld files, %lld bytes\n",
	       def.files, def.bytes, every.files, every.bytes, html.files, html.bytes);

	if (compare) {
		printf("\ncompared with dvclive (anchor: Python 3.11, 2-core Debian 12, report off, one step =\n"
		       "log(loss) + log(acc) + next_step(), mean us per step; "
		       "dvclive 0.4.6: ~780-910 us/step report off)\n");
		printf("%-8s %12s %14s %14s %14s\n", "steps", "live us", "dvclive 0.4.6", "2.0.0", "3.49.0");
		printf("%-8d %12.2f %14d %14d %14d\n", 1000, dv[0], 779, 1354, 7866);
		printf("%-8d %12.2f %14d %14d %14d\n", 10000, dv[1], 910, 1563, 26760);
		if (dv[0] > 0 && dv[1] > 0)
			printf("live is %.0fx / %.0fx faster than dvclive 0.4.6 at 1000 / 10000 steps\n",
			       779.0 / dv[0], 910.0 / dv[1]);
	}
	free_result(&def);
	free_result(&every);
	free_result(&deflt);
	free_result(&html);
	return 0;
}
