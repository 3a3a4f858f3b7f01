/*
 * The run: in-memory step state shared by run.c (the public calls),
 * history.c (TSV files), summary.c (summary JSON) and resume.c (reading a
 * previous run back). Private to liblive.
 */
#ifndef LIVE_RUN_H
#define LIVE_RUN_H

#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

enum { LIVE__NONE = 0, LIVE__DOUBLE = 1, LIVE__INT = 2 };

/** A value as logged: the kind decides how it is printed. */
typedef struct live__value {
	int kind;
	union {
		double d;
		long long i;
	} u;
} live__value;

/* ---- series.c: a metric's values, downsampled for the report's charts ---- */

/** Buckets per series: a chart draws at most two points per bucket, plus the last value. */
#define LIVE__BUCKETS 256

enum { LIVE__BAD_NAN = 1, LIVE__BAD_PINF = 2, LIVE__BAD_NINF = 4 };

/** A run of consecutive values: their finite extremes and where the non-finite ones were. */
typedef struct live__bucket {
	double min, max;             /* finite values only */
	long long min_step, max_step;
	long long first_step, last_step;
	long long bad_step;          /* the first non-finite value's step */
	uint32_t count, finite;      /* values, and finite values, in the bucket */
	unsigned bad;                /* LIVE__BAD_* seen in the bucket */
} live__bucket;

/**
 * The values of one metric in at most LIVE__BUCKETS buckets of `width`
 * consecutive values each. When every bucket is full, neighbours merge
 * pairwise and the width doubles, so adding a value is O(1) amortised and
 * allocates nothing; extremes survive every merge, and the last value is kept
 * exactly.
 */
typedef struct live__series {
	live__bucket *b;     /* LIVE__BUCKETS, allocated by live__series_init */
	uint32_t nb;         /* buckets in use */
	uint64_t width;      /* values per bucket (a power of two) */
	uint64_t n;          /* values added */
	long long last_step;
	double last;
	int is_int;          /* every value came from an integer call */
} live__series;

/* ---- watch.c: divergence and convergence of one metric (SPEC 5) ---- */

enum { LIVE__DIV_NONE = 0, LIVE__DIV_WORSE, LIVE__DIV_NAN, LIVE__DIV_PINF, LIVE__DIV_NINF };

typedef struct live__watch {
	int direction;        /* LIVE_MINIMIZE, LIVE_MAXIMIZE, or 0: not watched */
	int patience;         /* values; 0 = the run's default */
	long long n;          /* finite values seen */
	double best;          /* best value, oriented (lower is better) */
	live__value best_v;   /* the same as logged, for display */
	long long best_step;
	double ema, ema_best; /* smoothed (median of 3, then moving average), and its best */
	double noise;         /* smoothed |x - 2 x' + x''| / sqrt(3) */
	double prev, prev2;   /* the two values before */
	long long streak;     /* consecutive values with ema clearly worse than ema_best */
	long long streak_step;
	double calm;          /* smoothed value at the last improvement of more than 1% */
	long long calm_step, calm_n;
	int diverged;         /* LIVE__DIV_* once a divergence was found; it stays */
	long long since;      /* first step of the divergence */
	long long at;         /* step at which it was found (-1 if read back from a summary) */
} live__watch;

/** A node of the nested summary: a group ("train") or a leaf (a metric). */
typedef struct live__node {
	char *key;
	struct live__node *child, *last_child, *next;
	int metric; /* index into run->metrics, or -1 for a group */
} live__node;

typedef struct live__metric {
	char *name;      /* full name, "train/loss" */
	size_t name_len;
	uint32_t hash;
	live__value last; /* latest value, for the summary */
	int created;      /* its TSV file is open or known to exist with a header */
	int ts_col;       /* its TSV has the timestamp column */
	int fd;           /* open TSV, or -1 (not opened, or over the fd budget) */
	off_t size;       /* bytes of complete rows in the file */
	live__buf out;    /* formatted rows not yet written */
	int dirty;        /* listed in run->dirty */
	live__series series; /* for the report (html on) */
	live__watch watch;
} live__metric;

/** A row logged in the current step, formatted only when written. */
typedef struct live__row {
	uint32_t metric;
	long long step;
	long long ms;
	live__value v;
} live__row;

/** The run's configuration, resolved from options and environment. */
typedef struct live__config {
	char *dir;
	int layout;       /* LIVE_LAYOUT_CLASSIC or LIVE_LAYOUT_V3 */
	int resume;
	int summary;
	int html;
	int timestamp;    /* v3: timestamp column */
	long long interval_ms; /* < 0: every step */
	int rank;
	int inert;        /* rank != 0 and not per_rank: write nothing */
} live__config;

struct live_run {
	live__config cfg;
	int closed;
	long long step;
	int step_touched; /* something was logged, or the step set, at `step` */
	int step_known;   /* v3: a step exists (next_step/set_step/resume) */

	int dirfd;        /* the run directory */
	int histfd;       /* where TSVs go: dirfd, or <dir>/plots/metrics */
	int sumdirfd;     /* where the summary goes: dir's parent, or dirfd */
	char *sumname;    /* file name of the summary inside sumdirfd */
	char *sumtmp;     /* its temp file name */
	char *sumshow;    /* summary path for messages */
	char *histshow;   /* history folder for messages, with trailing '/' */

	live__metric *metrics;
	size_t nmetrics, capmetrics;
	uint32_t *slots;  /* open addressing: metric index + 1, 0 = empty */
	size_t nslots;

	live__node root;

	live__row *rows;
	size_t nrows, caprows;
	uint32_t *dirty;
	size_t ndirty;
	int open_fds;

	int summary_dirty;
	long long summary_ns; /* monotonic time of the last summary write */
	live__buf sumbuf;
	size_t sumbound;  /* the summary's largest possible size, grown per node */

	char *repname;    /* the report: <base>.html beside the summary, or report.html inside dir */
	char *reptmp;
	char *repshow;
	live__buf repbuf;
	long long report_ns; /* monotonic time of the last report write */
	int closing;      /* the final report: no self-refresh */

	int patience;     /* default patience of watched metrics (live_run_set_patience(NULL)) */
};

/* names.c */
/** Validate an untrusted metric name; LIVE_EINVALID with a message. */
int live__name_check(const char *name, size_t *len_out);
uint32_t live__name_hash(const char *name, size_t len);

/* env.c */
/*
 * The largest step (2^62, live.h): set_step refuses more, next_step stops
 * there, and resume refuses a history past it, so a step and the one after
 * it always fit in a long long and every step written reads back.
 */
#define LIVE__STEP_MAX (1LL << 62)

int live__config_resolve(const live_options *opts, live__config *cfg);
/*
 * The rank a launcher gave this process: the first of $RANK,
 * $OMPI_COMM_WORLD_RANK, $PMI_RANK, $SLURM_PROCID that is set; -1 when none
 * is (env.c). LIVE_EPARSE naming the variable when its value is not a rank.
 */
int live__launcher_rank(int *rank);
void live__config_free(live__config *cfg);

/* fsutil.c */
/** mkdir -p for a path relative to the CWD (or absolute). */
int live__mkdirs(const char *path);
/** Open (creating) directory `rel` below `dirfd` without following links. */
int live__open_subdir(int dirfd, const char *rel, int create, int *out);
/** Remove every *.tsv below `dirfd` (recursively, no links), then empty folders. */
int live__remove_tsvs(int dirfd, const char *show);
/** Remove a file if it exists. */
int live__unlink_if(int dirfd, const char *name, const char *show);
long long live__now_ms(void);
long long live__mono_ns(void);
/** Test seam: replace the wall clock (ms); NULL restores it. */
void live__set_clock(long long (*fn)(void));

/* history.c */
int live__hist_open(live_run *r, live__metric *m);
int live__hist_flush(live_run *r);
void live__hist_close(live_run *r, live__metric *m);

/* summary.c */
int live__summary_insert(live_run *r, uint32_t metric);
int live__summary_write(live_run *r, long long step, int with_step);
void live__summary_free(live__node *n);

/* run.c */
/** Find or register metric `name`; returns its index or a negative error. */
long live__metric_get(live_run *r, const char *name);
/** Find metric `name` without registering it; its index or -1. */
long live__metric_find(const live_run *r, const char *name);
/** Open a run; `force_resume` overrides the environment (a lazy re-open). */
int live__run_open(live_run **out, const live_options *opts, int force_resume);
/** Open the history folder if it is not open yet (v3 makes it lazily). */
int live__hist_dir(live_run *r, int create);

/* checkpoint.c */
/** 1 when the runner asked for checkpoints at every step (DVC_CHECKPOINT). */
int live__ckpt_enabled(void);
/** Tell the runner step `step` is complete and wait for its snapshot. */
int live__ckpt_signal(long long step);
/** After a step: end a trainer that ignores a pending stop request. */
void live__ckpt_after_step(void);

/* resume.c */
int live__resume_load(live_run *r);
/** Parse a value as this library or dvclive prints it; 0 or -1. */
int live__parse_value(const char *s, size_t n, live__value *v);

/* series.c */
int live__series_init(live__series *s);
void live__series_add(live__series *s, long long step, const live__value *v);
void live__series_free(live__series *s);

/* watch.c */
/** The direction a name gets by default: LIVE_MINIMIZE, LIVE_MAXIMIZE or 0. */
int live__watch_auto(const char *name);
/** Feed one logged value; prints the divergence warning unless `quiet`. */
void live__watch_add(live_run *r, uint32_t metric, long long step, const live__value *v, int quiet);
/** Patience in effect for a watch. */
int live__watch_patience(const live_run *r, const live__watch *w);
/** 1 when the smoothed value gained no more than 1% over the last tenth of its values (>= 5 x patience). */
int live__watch_converged(const live_run *r, const live__watch *w);
/** Best value, as logged, or NULL when there is none. */
const live__value *live__watch_best(const live__watch *w);
/** Why the metric diverged: "worse", "nan", "inf", "-inf". */
const char *live__watch_reason(int diverged);
/** Room the summary's entry for a metric's divergence may take. */
size_t live__watch_bound(size_t name_len);

/* report.c */
/** Feed one value to its metric's series and watch. */
void live__observe(live_run *r, uint32_t metric, long long step, const live__value *v, int quiet);
/** Feed the step's rows to the series and watches: O(rows), no allocation. */
void live__report_observe(live_run *r);
/** The folder the report goes to: beside the summary (classic) or the run folder (v3). */
int live__report_dirfd(const live_run *r);
/** Write the report now (html on). */
int live__report_write(live_run *r);
/** A finished step: write the report if a second has passed (or `force`). */
int live__report_step(live_run *r, long long now_ns, int force);


#endif /* LIVE_RUN_H */
