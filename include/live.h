/*
 * live.h - training-loop logging for C and C++ programs.
 *
 * A training loop adds two calls and gets dvclive's outputs:
 *
 *     #include <live.h>
 *     for (int epoch = 0; epoch < n; epoch++) {
 *         ...
 *         live_log("loss", loss);
 *         live_log("acc", acc);
 *         live_next_step();
 *     }
 *
 * which writes, for the default directory "dvclive":
 *
 *     dvclive.json          summary: {"step": k, "loss": ..., "acc": ...}
 *     dvclive/loss.tsv      history: timestamp<TAB>step<TAB>loss, one row per log
 *     dvclive/acc.tsv
 *     dvclive.html          report: summary, params, one chart per metric, divergence
 *
 * Conventions (every declaration below follows them):
 *  - Calls that can fail return int: 0 on success or a negative LIVE_E* code.
 *    live_errmsg() then gives this thread's detailed message, naming the file
 *    or key and the cause. The library never exits, aborts or prints, except
 *    the warnings listed under "Warnings" below.
 *  - Input strings are copied; the caller keeps ownership of what it passes.
 *  - Functions that free or close accept NULL.
 *  - Thread rules: the process-wide default run (live_log, live_next_step, ...)
 *    is guarded by a lock and may be called from several threads at once. A
 *    live_run handle must be used by one thread at a time; different handles
 *    are independent. live_errmsg() is per thread.
 *
 * Warnings: the only text the library prints (one line each, on stderr, prefixed
 * "live: ") is a params value of the wrong type falling back to its default,
 * and a watched metric found diverging (once per metric and run, see
 * live_run_set_direction()):
 *
 *     live: val/loss is diverging since step 31 (best 0.214 at step 20)
 *     live: train/loss is diverging since step 12 (nan; best 0.93 at step 11)
 */
#ifndef LIVE_H
#define LIVE_H

#include <stddef.h>

#define LIVE_VERSION_MAJOR 0
#define LIVE_VERSION_MINOR 1
#define LIVE_VERSION_PATCH 0
#define LIVE_VERSION_STRING "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH, for compile-time checks. */
#define LIVE_VERSION_NUMBER \
	(LIVE_VERSION_MAJOR * 10000 + LIVE_VERSION_MINOR * 100 + LIVE_VERSION_PATCH)

#if defined(_WIN32)
#define LIVE_EXTERN __declspec(dllimport)
#elif defined(__GNUC__)
#define LIVE_EXTERN __attribute__((visibility("default")))
#else
#define LIVE_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Errors. The numbers are frozen: new codes are only appended.              */

typedef enum live_error {
	LIVE_OK = 0,
	LIVE_ERROR = -1,      /**< unexpected failure (see live_errmsg()) */
	LIVE_EINVALID = -2,   /**< bad argument: hostile or clashing metric name, bad option */
	LIVE_EIO = -3,        /**< the file system refused: full disk, read-only dir, ... */
	LIVE_ENOMEM = -4,     /**< out of memory */
	LIVE_ECONFIG = -5,    /**< options contradict the environment (DVCLIVE_PATH, ...) */
	LIVE_EPARSE = -6,     /**< a file or variable is malformed (summary, TSV, params.yaml) */
	LIVE_ENOTFOUND = -7,  /**< a params key or file does not exist */
	LIVE_ETYPE = -8,      /**< a params value has another type than asked for */
	LIVE_ECLOSED = -9,    /**< the run was already closed */
	LIVE_ECHECKPOINT = -10, /**< the checkpoint channel failed (the runner is gone) */
	LIVE_EGIT = -11,        /**< git refused (the message is libgit2's) */
	LIVE_ELOCKED = -12      /**< another `live exp run` holds the repository */
} live_error;

/**
 * The calling thread's last error message: names the file or key and the cause,
 * e.g. "summary: rename dvclive.json.tmp: No space left on device". Never NULL;
 * "no error" before any failure. Valid until this thread's next live_ call.
 */
LIVE_EXTERN const char *live_errmsg(void);

/** Fixed text of an error code ("invalid argument", ...). Never NULL. */
LIVE_EXTERN const char *live_strerror(int code);

/** The library's version, "MAJOR.MINOR.PATCH". */
LIVE_EXTERN const char *live_version_string(void);

/* ------------------------------------------------------------------------ */
/* Options.                                                                  */

/** Tri-state switches: 0 means "the default, or what the environment says". */
enum { LIVE_DEFAULT = 0, LIVE_ON = 1, LIVE_OFF = 2 };

/** Output layouts. */
enum {
	LIVE_LAYOUT_DEFAULT = 0, /**< $LIVE_LAYOUT, else classic */
	LIVE_LAYOUT_CLASSIC = 1, /**< dvclive 0.x: <dir>.json + <dir>/<name>.tsv */
	LIVE_LAYOUT_V3 = 2       /**< dvclive 3: <dir>/metrics.json + <dir>/plots/metrics/<name>.tsv */
};

/** A summary interval that asks for a rewrite at every step. */
#define LIVE_EVERY_STEP (-1)

#define LIVE_OPTIONS_VERSION 1

/**
 * How a run is opened. Start from LIVE_OPTIONS_INIT (or live_options_init()):
 * every zero field means "default". Fields are only ever appended; `version`
 * tells the library which fields the caller knows about.
 *
 * The environment that `live exp run` and DVC set for a stage wins over these
 * fields (see the README): DVCLIVE_PATH, DVCLIVE_SUMMARY, DVCLIVE_HTML,
 * DVCLIVE_RESUME, LIVE_LAYOUT, LIVE_SUMMARY_INTERVAL_MS. An explicit `dir`
 * that differs from DVCLIVE_PATH is an error (LIVE_ECONFIG), never silently
 * misplaced output.
 */
typedef struct live_options {
	unsigned int version;    /**< LIVE_OPTIONS_VERSION */
	const char *dir;         /**< output directory; NULL = $DVCLIVE_PATH or "dvclive" */
	int resume;              /**< LIVE_ON: continue the existing run; default: fresh start */
	int summary;             /**< LIVE_OFF: write no summary JSON; default on */
	int html;                /**< LIVE_OFF: no HTML report; default on (see live_run_open) */
	int layout;              /**< LIVE_LAYOUT_* */
	int summary_interval_ms; /**< rewrite the summary at most this often in fast loops:
	                              0 = default (100 ms), LIVE_EVERY_STEP = every step */
	int per_rank;            /**< LIVE_ON: ranks other than 0 write to <dir>_rank<N> */
	int timestamp;           /**< v3 layout: LIVE_ON adds the timestamp column (classic always has it) */
} live_options;

#define LIVE_OPTIONS_INIT { LIVE_OPTIONS_VERSION, NULL, 0, 0, 0, 0, 0, 0, 0 }

/** Fill `opts` with the defaults (same as LIVE_OPTIONS_INIT). NULL is ignored. */
LIVE_EXTERN void live_options_init(live_options *opts);

/* ------------------------------------------------------------------------ */
/* Explicit runs: for programs that keep several runs, or want no globals.   */

/** An open run: one output directory, one step counter. Opaque. */
typedef struct live_run live_run;

/**
 * Open a run. `opts` may be NULL (defaults + environment). On success *out
 * owns a new run, to be closed with live_run_close().
 *
 * A fresh start (no resume) removes only the files the library writes (the
 * summary, every *.tsv under the history folder, the report), never other
 * files. A resume continues at the step after the last one on disk, taken from
 * the summary and from the last complete row of each TSV (a torn last row left
 * by a crash is cut off).
 *
 * The report (html on, the default; off with options.html = LIVE_OFF or
 * DVCLIVE_HTML=0) is one self-contained HTML file, <dir>.html in the classic
 * layout and <dir>/report.html in v3: no script, no external URL, readable
 * from file:// offline, in light and dark mode. It holds the summary, the
 * params the program read through live_param_*, one chart per metric with
 * history (downsampled in memory to at most 2 points per 256 buckets, extremes
 * and the last value exact, non-finite values marked) and the divergence
 * section. It is rewritten atomically at most once a second during the run
 * (refreshing itself in the browser every 5 s), at every checkpoint, at
 * live_run_sync() and at close (then without the refresh). On resume the
 * charts and the divergence watches are rebuilt from the history files, read
 * once at open.
 *
 * On a process whose rank ($RANK, $OMPI_COMM_WORLD_RANK, $PMI_RANK,
 * $SLURM_PROCID) is not 0 the run is inert: every call succeeds and nothing is
 * written, unless `per_rank` is on.
 *
 * Errors: LIVE_EINVALID (bad option), LIVE_ECONFIG (dir contradicts
 * DVCLIVE_PATH), LIVE_EPARSE (bad environment value; on resume a malformed
 * summary or TSV, with file and line), LIVE_EIO, LIVE_ENOMEM. Nothing on disk
 * is changed when opening fails because of a malformed file.
 */
LIVE_EXTERN int live_run_open(live_run **out, const live_options *opts);

/**
 * Record `value` for metric `name` at the current step. The row reaches the
 * history file at the next live_run_next_step() (or sync/close); the summary
 * keeps the latest value. Logging a name twice in one step writes two rows.
 *
 * `name` is untrusted: "train/loss" nests (a sub-folder and a nested summary
 * key). Rejected with LIVE_EINVALID: empty names, absolute paths, "." or ".."
 * parts, empty parts, backslashes, control characters, invalid UTF-8, parts
 * longer than 250 bytes, names longer than 1024 bytes, the reserved top-level
 * keys "step" and "divergence", and names that clash with another metric
 * (one metric "a" and another "a/b"). Nothing is ever written outside the
 * run's directory.
 *
 * Non-finite values are allowed: "nan", "inf", "-inf" in the history and as
 * strings in the summary. The first log of a name creates its history file
 * (with the header); later logs allocate nothing.
 */
LIVE_EXTERN int live_run_log(live_run *run, const char *name, double value);

/** Like live_run_log(), for an integer: printed as an integer everywhere. */
LIVE_EXTERN int live_run_log_int(live_run *run, const char *name, long long value);

/** Flags for live_run_log_flags(). */
enum {
	LIVE_LOG_NO_HISTORY = 1 /**< summary only: no history row (dvclive's plot=False) */
};

/** live_run_log() with LIVE_LOG_* flags. */
LIVE_EXTERN int live_run_log_flags(live_run *run, const char *name, double value, unsigned flags);

/** live_run_log_int() with LIVE_LOG_* flags. */
LIVE_EXTERN int live_run_log_int_flags(live_run *run, const char *name, long long value,
				       unsigned flags);

/**
 * End the current step: append its rows to the history files, rewrite the
 * summary (at most once per summary interval in fast loops; always exact at
 * close and sync), then move to the next step.
 *
 * On a write failure (full disk, ...) the step still advances, the rows that
 * could not be written are kept and retried at the next step, and no file is
 * left with a partial row.
 *
 * The largest step is 2^62 (4611686018427387904): there this call fails
 * with LIVE_EINVALID and does nothing (and a run whose history ends at 2^62
 * cannot be resumed: opening it fails with LIVE_EINVALID); the step stays, its rows stay pending and reach the files at sync
 * or close. Errors: LIVE_EIO, LIVE_ECLOSED, LIVE_EINVALID (at the largest step).
 */
LIVE_EXTERN int live_run_next_step(live_run *run);

/**
 * Move to step `step` without writing anything. `step` is 0 to 2^62
 * (4611686018427387904) included; outside that it fails with LIVE_EINVALID
 * and the step does not change. Errors: LIVE_EINVALID, LIVE_ECLOSED.
 */
LIVE_EXTERN int live_run_set_step(live_run *run, long long step);

/** The current step (0 for a new run); -1 for NULL. */
LIVE_EXTERN long long live_run_get_step(const live_run *run);

/** Write pending rows, the exact summary and the report now, without ending the step. */
LIVE_EXTERN int live_run_sync(live_run *run);

/** The run's output directory as resolved (options, environment). Owned by the run. */
LIVE_EXTERN const char *live_run_dir(const live_run *run);

/**
 * Take a checkpoint now, without ending the step: write the pending rows and
 * the exact summary, then, under `live exp run` (or DVC 2.x with
 * DVC_CHECKPOINT=1), wait until the runner has snapshotted the outputs. Do not
 * rewrite checkpointed files (model.pt) while this call blocks. Without a
 * runner it only syncs. Errors: LIVE_ECHECKPOINT (the runner is gone or
 * failed: the call returns, it never hangs on a dead runner), LIVE_EIO.
 *
 * live_run_next_step() does the same at every step end when checkpoints are on.
 */
LIVE_EXTERN int live_run_checkpoint(live_run *run);

/**
 * Write what is pending (rows, exact summary) and free the run. The summary's
 * "step" is the last step that has rows (closing does not add a step).
 * Returns the write error if the final write failed; the run is freed anyway.
 * NULL is accepted.
 */
LIVE_EXTERN int live_run_close(live_run *run);

/* ------------------------------------------------------------------------ */
/* Divergence (SPEC 5): a watched metric that turns bad is reported once.    */

/** How a metric is watched; see live_run_set_direction(). */
enum {
	LIVE_DIRECTION_AUTO = 0, /**< by name (the default) */
	LIVE_MINIMIZE = 1,       /**< lower is better (a loss) */
	LIVE_MAXIMIZE = 2,       /**< higher is better (an accuracy) */
	LIVE_UNWATCHED = 3       /**< never reported as diverging */
};

/**
 * Set how metric `name` is watched (it may be called before the first log).
 * By default (LIVE_DIRECTION_AUTO) the last part of the name decides, ignoring
 * case: containing "loss" or "error" it is minimised; else containing "acc",
 * "auc", "f1", "precision" or "recall" it is maximised; any other metric is
 * not watched.
 *
 * The rule, applied to each value logged with history, as the step's rows are
 * written (live_run_next_step, sync, close), in O(1) per value:
 *  - a non-finite value (nan, inf, -inf) is a divergence at its step;
 *  - otherwise values are smoothed (the median of the last three, then an
 *    exponential moving average with weight 0.3 for the newest) and the
 *    metric diverges when `patience` consecutive smoothed values (default
 *    10, see live_run_set_patience) are worse than the best smoothed value
 *    so far by more than a tolerance: the largest of 10% of that best,
 *    5 x the metric's noise (a moving average, weight 0.05, of
 *    |x - 2 x' + x''| / sqrt(3) over consecutive values x'', x', x: about
 *    the standard deviation of white noise, and not raised by a steady
 *    trend), and 1e-12. It diverged "since" the first step of that stretch.
 * The "best" reported is the best value as logged, and its step (the
 * checkpoint to go back to).
 *
 * A divergence is recorded once per metric and stays: one warning line on
 * stderr (see "Warnings" above), a "divergence" entry in the summary,
 *     "divergence": {"val/loss": {"since": 31, "best_step": 20, "best": 0.214, "reason": "worse"}}
 * ("reason" is "worse", "nan", "inf" or "-inf"; "best_step" and "best" are
 * left out when no finite value came before), and a section with a marked
 * chart in the report. The report also notes, without a warning, a watched
 * metric that has converged: its smoothed value improved by no more than 1%
 * over the last tenth of its values (and at least 5 x patience values).
 *
 * A resumed run reads the entries of its summary back and replays the history
 * files through the rule, so the best value survives a restart. Changing a
 * metric's direction (or unwatching it) starts its watch over and forgets its
 * divergence.
 *
 * Errors: LIVE_EINVALID (bad name or direction), LIVE_ECLOSED, LIVE_ENOMEM.
 * Thread rules as for every live_run call.
 */
LIVE_EXTERN int live_run_set_direction(live_run *run, const char *name, int direction);

/**
 * Patience of metric `name`: consecutive clearly-worse values before it is
 * called diverging (1 to 1000000; default 10). A NULL `name` sets the run's
 * default for every metric without a patience of its own. It counts values
 * logged, which are steps for a metric logged once per step. Errors:
 * LIVE_EINVALID (bad name or patience), LIVE_ECLOSED, LIVE_ENOMEM.
 */
LIVE_EXTERN int live_run_set_patience(live_run *run, const char *name, int patience);

/**
 * Whether metric `name` (NULL: any metric) is diverging: 1, filling the
 * non-NULL outputs with the step the divergence began, the best step (-1
 * when none) and the best value (NaN when none); for a NULL name, the metric
 * whose divergence began first. 0 when it is not, or was never logged.
 * Errors: LIVE_EINVALID (NULL run, bad name), LIVE_ECLOSED.
 */
LIVE_EXTERN int live_run_get_divergence(const live_run *run, const char *name, long long *since,
					long long *best_step, double *best);

/* ------------------------------------------------------------------------ */
/* The process-wide default run: dvclive's calls, one-line wrappers over a   */
/* run the library keeps. Thread-safe (one lock).                            */

/**
 * Open the default run (closing one that is open). Optional: the first
 * live_log / live_next_step / live_get_step opens it from the environment and
 * defaults. A default run still open at exit is closed by an atexit handler,
 * so the last step's rows are not lost.
 */
LIVE_EXTERN int live_init(const live_options *opts);

/** live_run_log() on the default run. */
LIVE_EXTERN int live_log(const char *name, double value);
/** live_run_log_int() on the default run. */
LIVE_EXTERN int live_log_int(const char *name, long long value);
/** live_run_log_flags() on the default run. */
LIVE_EXTERN int live_log_flags(const char *name, double value, unsigned flags);
/** live_run_next_step() on the default run (fails at the largest step, 2^62). */
LIVE_EXTERN int live_next_step(void);
/** live_run_set_step() on the default run (0 to 2^62). */
LIVE_EXTERN int live_set_step(long long step);
/** The default run's current step; opens it if needed; -1 if that fails. */
LIVE_EXTERN long long live_get_step(void);
/** live_run_sync() on the default run. */
LIVE_EXTERN int live_sync(void);
/** live_run_checkpoint() on the default run. */
LIVE_EXTERN int live_checkpoint(void);
/** live_run_set_direction() on the default run. */
LIVE_EXTERN int live_set_direction(const char *name, int direction);
/** live_run_set_patience() on the default run. */
LIVE_EXTERN int live_set_patience(const char *name, int patience);
/** live_run_get_divergence() on the default run. */
LIVE_EXTERN int live_get_divergence(const char *name, long long *since, long long *best_step, double *best);

/**
 * 1 when the user asked the run to stop (Ctrl+C or SIGTERM under `live exp
 * run`), else 0. A loop that checks it after each step ends cleanly, with
 * every checkpoint kept:
 *
 *     while (!live_stop_requested()) { train_epoch(); live_log(...); live_next_step(); }
 *
 * liblive catches SIGINT/SIGTERM only when the runner asks for it (it sets
 * LIVE_STOP_SIGNALS=1), never otherwise. A trainer that never calls this is
 * ended by the signal right after its current step's checkpoint; a second
 * signal ends it at once. Thread-safe.
 */
LIVE_EXTERN int live_stop_requested(void);
/**
 * Close the default run. A later live_log opens it again *resuming*, so what
 * was written is never wiped by a lazy re-open.
 */
LIVE_EXTERN int live_close(void);

/* ------------------------------------------------------------------------ */
/* Parameters from params.yaml (the file DVC's `params:` section tracks).    */
/*                                                                           */
/* The file is $LIVE_PARAMS_FILE, else "params.yaml" in the current          */
/* directory; it is read once, on first use, and the outcome is kept (a      */
/* failed read too) until live_params_load() or live_params_free(). Keys     */
/* nest with dots: "train.lr" is `lr` inside the mapping `train` (a flat key */
/* "train.lr" wins over the nested one), "layers.0" indexes a list. A null   */
/* value (`lr:` or `lr: ~`) counts as missing. YAML 1.2 number rules; quoted */
/* values are strings. Thread-safe.                                          */

/**
 * Load (or reload) the params file at `path` (NULL = the default above).
 * Errors: LIVE_ENOTFOUND (no such file), LIVE_EPARSE ("params.yaml:3:5: ..."
 * with line and column), LIVE_EIO, LIVE_ENOMEM.
 */
LIVE_EXTERN int live_params_load(const char *path);

/**
 * The value at `key` as a number. A missing file or key gives `def`. A value
 * that is not a number, a malformed or unreadable file, or a NULL key also
 * gives `def` and prints one warning line naming the file, key and what was
 * expected: "live: params.yaml: key 'lr': expected a number, got 'abc'; using
 * the default 0.001".
 */
LIVE_EXTERN double live_param_double(const char *key, double def);

/** Like live_param_double() for an integer (a value with a fraction is a type error). */
LIVE_EXTERN long long live_param_int(const char *key, long long def);

/**
 * The value at `key` as text (scalars only). Returns `def` when missing. The
 * returned string is owned by the library and valid until the next
 * live_params_load() or live_params_free().
 */
LIVE_EXTERN const char *live_param_string(const char *key, const char *def);

/** Strict lookups: 0, LIVE_ENOTFOUND, LIVE_ETYPE, LIVE_EPARSE, LIVE_EIO. Nothing printed. */
LIVE_EXTERN int live_param_get_double(const char *key, double *out);
LIVE_EXTERN int live_param_get_int(const char *key, long long *out);
LIVE_EXTERN int live_param_get_string(const char *key, const char **out);

/** Forget the loaded params (the next lookup reads the file again). */
LIVE_EXTERN void live_params_free(void);

#ifdef __cplusplus
}
#endif

#endif /* LIVE_H */
