/*
 * A run: the step counter, the metrics seen so far, and the public
 * live_run_* calls.
 *
 * Hot path: live_run_log finds the metric in an open-addressing table and
 * stores the raw value in a row array that is reused from step to step;
 * live_run_next_step hands the rows to history.c and, at most once per
 * summary interval, rewrites the summary. Neither allocates once the run has
 * seen its metrics and its largest step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

static char *concat(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);
	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

static int grow_slots(live_run *r)
{
	size_t n = r->nslots ? r->nslots * 2 : 64;
	uint32_t *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->nmetrics; i++) {
		size_t s = r->metrics[i].hash & (n - 1);
		while (slots[s])
			s = (s + 1) & (n - 1);
		slots[s] = (uint32_t)i + 1;
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = n;
	return 0;
}

static int grow_metrics(live_run *r)
{
	size_t n = r->capmetrics ? r->capmetrics * 2 : 16;
	live__metric *m = realloc(r->metrics, n * sizeof(*m));
	if (!m)
		return live__fail(LIVE_ENOMEM, "out of memory");
	r->metrics = m;
	uint32_t *d = realloc(r->dirty, n * sizeof(*d));
	if (!d)
		return live__fail(LIVE_ENOMEM, "out of memory");
	r->dirty = d;
	r->capmetrics = n;
	return 0;
}

static long find(const live_run *r, const char *name, size_t len, uint32_t h)
{
	if (r->nslots) {
		for (size_t s = h & (r->nslots - 1); r->slots[s]; s = (s + 1) & (r->nslots - 1)) {
			const live__metric *m = &r->metrics[r->slots[s] - 1];
			if (m->hash == h && m->name_len == len && !memcmp(m->name, name, len))
				return (long)(r->slots[s] - 1);
		}
	}
	return -1;
}

long live__metric_find(const live_run *r, const char *name)
{
	size_t len = strlen(name);
	return find(r, name, len, live__name_hash(name, len));
}

long live__metric_get(live_run *r, const char *name)
{
	if (!name)
		return live__fail(LIVE_EINVALID, "metric name is NULL");
	size_t len = strlen(name);
	uint32_t h = live__name_hash(name, len);
	long found = find(r, name, len, h);
	if (found >= 0)
		return found;

	/* First sight of this name: check it, then register it. */
	int rc = live__name_check(name, NULL);
	if (rc)
		return rc;
	if (r->nmetrics == r->capmetrics && (rc = grow_metrics(r)))
		return rc;
	if (2 * (r->nmetrics + 1) > r->nslots && (rc = grow_slots(r)))
		return rc;
	live__metric *m = &r->metrics[r->nmetrics];
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->name = malloc(len + 1);
	if (!m->name)
		return live__fail(LIVE_ENOMEM, "out of memory");
	memcpy(m->name, name, len + 1);
	m->name_len = len;
	m->hash = h;
	m->ts_col = r->cfg.layout == LIVE_LAYOUT_CLASSIC || r->cfg.timestamp;
	m->watch.direction = live__watch_auto(m->name);
	m->watch.best_step = -1;
	if ((rc = live__summary_insert(r, (uint32_t)r->nmetrics))) {
		free(m->name);
		return rc;
	}
	r->sumbound += live__watch_bound(len); /* its divergence entry: finding one never grows the buffer */
	size_t s = h & (r->nslots - 1);
	while (r->slots[s])
		s = (s + 1) & (r->nslots - 1);
	r->slots[s] = (uint32_t)r->nmetrics + 1;
	return (long)r->nmetrics++;
}

int live__hist_dir(live_run *r, int create)
{
	if (r->histfd >= 0)
		return 0;
	int rc = live__open_subdir(r->dirfd, "plots/metrics", create, &r->histfd);
	if (rc) {
		char why[512];
		snprintf(why, sizeof(why), "%s", live_errmsg());
		return live__fail(rc, "%s: %s", r->histshow, why);
	}
	return 0;
}

/* Split "a/b/logs" into parent "a/b" and base "logs". */
static int split_dir(const char *dir, char **parent, char **base)
{
	const char *slash = strrchr(dir, '/');
	const char *b = slash ? slash + 1 : dir;
	if (!*b || !strcmp(b, ".") || !strcmp(b, ".."))
		return live__fail(LIVE_EINVALID,
				  "dir '%s': the classic layout needs a folder name (the summary is <dir>.json)", dir);
	*base = strdup(b);
	if (slash == dir)
		*parent = strdup("/");
	else if (slash)
		*parent = strndup(dir, (size_t)(slash - dir));
	else
		*parent = strdup(".");
	if (!*base || !*parent)
		return live__fail(LIVE_ENOMEM, "out of memory");
	return 0;
}

static int open_dir_fd(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return live__fail_errno(live__errno_code(errno), errno, "open folder %s", path);
	return 0;
}

static int open_files(live_run *r)
{
	const char *dir = r->cfg.dir;
	int rc;
	if ((rc = live__mkdirs(dir)) || (rc = open_dir_fd(dir, &r->dirfd)))
		return rc;
	if (r->cfg.layout == LIVE_LAYOUT_CLASSIC) {
		char *parent = NULL, *base = NULL;
		rc = split_dir(dir, &parent, &base);
		if (!rc)
			rc = open_dir_fd(parent, &r->sumdirfd);
		if (!rc) {
			r->sumname = concat(base, ".json");
			r->sumtmp = concat(base, ".json.tmp");
			r->sumshow = concat(dir, ".json");
			r->histshow = concat(dir, "/");
			r->repname = concat(base, ".html");
			r->reptmp = concat(base, ".html.tmp");
			r->repshow = concat(dir, ".html");
			if (!r->sumname || !r->sumtmp || !r->sumshow || !r->histshow || !r->repname ||
			    !r->reptmp || !r->repshow)
				rc = live__fail(LIVE_ENOMEM, "out of memory");
		}
		free(parent);
		free(base);
		if (!rc)
			rc = live__open_subdir(r->dirfd, "", 0, &r->histfd);
	} else {
		r->sumdirfd = fcntl(r->dirfd, F_DUPFD_CLOEXEC, 0);
		r->sumname = strdup("metrics.json");
		r->sumtmp = strdup("metrics.json.tmp");
		r->sumshow = concat(dir, "/metrics.json");
		r->histshow = concat(dir, "/plots/metrics/");
		r->repname = strdup("report.html");
		r->reptmp = strdup("report.html.tmp");
		r->repshow = concat(dir, "/report.html");
		if (r->sumdirfd < 0)
			rc = live__fail_errno(LIVE_EIO, errno, "dup");
		else if (!r->sumname || !r->sumtmp || !r->sumshow || !r->histshow || !r->repname || !r->reptmp ||
			 !r->repshow)
			rc = live__fail(LIVE_ENOMEM, "out of memory");
	}
	if (rc)
		return rc;
	/* Temp files left by a killed writer are garbage by definition. */
	if ((rc = live__unlink_if(r->sumdirfd, r->sumtmp, r->sumshow)))
		return rc;
	return live__unlink_if(live__report_dirfd(r), r->reptmp, r->repshow);
}

/* A fresh start removes only what this library writes (SPEC 2). */
static int clean_previous(live_run *r)
{
	int rc;
	if (r->cfg.layout == LIVE_LAYOUT_V3) {
		rc = live__hist_dir(r, 0);
		if (rc == 0) {
			rc = live__remove_tsvs(r->histfd, r->histshow);
			close(r->histfd);
			r->histfd = -1;
			if (rc)
				return rc;
		}
	} else if ((rc = live__remove_tsvs(r->histfd, r->histshow))) {
		return rc;
	}
	if ((rc = live__unlink_if(live__report_dirfd(r), r->repname, r->repshow)))
		return rc;
	return live__unlink_if(r->sumdirfd, r->sumname, r->sumshow);
}

static void run_free(live_run *r)
{
	for (size_t i = 0; i < r->nmetrics; i++) {
		live__hist_close(r, &r->metrics[i]);
		free(r->metrics[i].name);
		live__buf_free(&r->metrics[i].out);
		live__series_free(&r->metrics[i].series);
	}
	free(r->metrics);
	free(r->slots);
	free(r->dirty);
	free(r->rows);
	live__summary_free(&r->root);
	live__buf_free(&r->sumbuf);
	if (r->dirfd >= 0)
		close(r->dirfd);
	if (r->histfd >= 0)
		close(r->histfd);
	if (r->sumdirfd >= 0)
		close(r->sumdirfd);
	free(r->sumname);
	free(r->sumtmp);
	free(r->sumshow);
	free(r->histshow);
	free(r->repname);
	free(r->reptmp);
	free(r->repshow);
	live__buf_free(&r->repbuf);
	live__config_free(&r->cfg);
	free(r);
}

int live__run_open(live_run **out, const live_options *opts, int force_resume)
{
	if (!out)
		return live__fail(LIVE_EINVALID, "live_run_open: out is NULL");
	*out = NULL;
	live_run *r = calloc(1, sizeof(*r));
	if (!r)
		return live__fail(LIVE_ENOMEM, "out of memory");
	r->dirfd = r->histfd = r->sumdirfd = -1;
	r->root.metric = -1;
	int rc = live__config_resolve(opts, &r->cfg);
	if (!rc && force_resume)
		r->cfg.resume = 1;
	/* Set up the checkpoint channel (and the runner's stop signals) now,
	 * not at the first step: a Ctrl+C in the first epoch must not kill. */
	if (!rc)
		live__ckpt_enabled();
	if (!rc && !r->cfg.inert) {
		rc = open_files(r);
		if (!rc)
			rc = r->cfg.resume ? live__resume_load(r) : clean_previous(r);
	}
	if (rc) {
		run_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int live_run_open(live_run **out, const live_options *opts)
{
	return live__run_open(out, opts, 0);
}

static int log_value(live_run *r, const char *name, live__value v, unsigned flags)
{
	if (!r)
		return live__fail(LIVE_EINVALID, "live_run_log: run is NULL");
	if (r->closed)
		return live__fail(LIVE_ECLOSED, "live_run_log: the run is closed");
	if (flags & ~(unsigned)LIVE_LOG_NO_HISTORY)
		return live__fail(LIVE_EINVALID, "live_run_log: unknown flags 0x%x", flags);
	if (r->cfg.inert)
		return live__name_check(name, NULL);

	long idx = live__metric_get(r, name);
	if (idx < 0)
		return (int)idx;
	live__metric *m = &r->metrics[idx];
	if (!(flags & LIVE_LOG_NO_HISTORY)) {
		if (!m->created) {
			int rc = live__hist_dir(r, 1);
			if (!rc)
				rc = live__hist_open(r, m);
			if (!rc && r->cfg.html)
				rc = live__series_init(&m->series);
			if (rc)
				return rc;
			m->created = 1;
		}
		if (r->nrows == r->caprows) {
			size_t n = r->caprows ? r->caprows * 2 : 64;
			live__row *rows = realloc(r->rows, n * sizeof(*rows));
			if (!rows)
				return live__fail(LIVE_ENOMEM, "out of memory");
			r->rows = rows;
			r->caprows = n;
		}
		live__row *row = &r->rows[r->nrows++];
		row->metric = (uint32_t)idx;
		row->step = r->step;
		row->ms = m->ts_col ? live__now_ms() : 0;
		row->v = v;
		r->step_touched = 1; /* a summary-only value has no step of its own */
	}
	m->last = v;
	r->summary_dirty = 1;
	return 0;
}

int live_run_log(live_run *r, const char *name, double value)
{
	live__value v = { LIVE__DOUBLE, { .d = value } };
	return log_value(r, name, v, 0);
}

int live_run_log_int(live_run *r, const char *name, long long value)
{
	live__value v = { LIVE__INT, { .i = value } };
	return log_value(r, name, v, 0);
}

int live_run_log_flags(live_run *r, const char *name, double value, unsigned flags)
{
	live__value v = { LIVE__DOUBLE, { .d = value } };
	return log_value(r, name, v, flags);
}

int live_run_log_int_flags(live_run *r, const char *name, long long value, unsigned flags)
{
	live__value v = { LIVE__INT, { .i = value } };
	return log_value(r, name, v, flags);
}

/* The summary describes the last step that has data: closing or syncing
 * never invents a step (dvclive 3's end() rule), and resume continues after it. */
static int write_summary(live_run *r)
{
	if (!r->cfg.summary)
		return 0;
	int any = r->step_touched || r->step > 0;
	long long step = r->step_touched ? r->step : r->step > 0 ? r->step - 1 : 0;
	int with_step = r->cfg.layout == LIVE_LAYOUT_V3 ? r->step_known : 1;
	if (r->cfg.layout == LIVE_LAYOUT_CLASSIC && !any && r->nmetrics == 0)
		return 0;
	return live__summary_write(r, step, with_step);
}

static int check_open(live_run *r, const char *what)
{
	if (!r)
		return live__fail(LIVE_EINVALID, "%s: run is NULL", what);
	if (r->closed)
		return live__fail(LIVE_ECLOSED, "%s: the run is closed", what);
	return 0;
}

int live_run_next_step(live_run *r)
{
	int rc = check_open(r, "live_run_next_step");
	if (rc)
		return rc;
	if (r->step >= LIVE__STEP_MAX)
		return live__fail(LIVE_EINVALID, "live_run_next_step: step %lld is the largest (2^62)",
				  r->step);
	if (r->cfg.inert) {
		r->step++;
		return 0;
	}
	live__report_observe(r);
	rc = live__hist_flush(r);
	r->step_touched = 1; /* the step being ended has data, even if nothing was logged */
	r->step_known = 1;
	r->summary_dirty = 1;
	/* A summary or report naming rows that did not reach the histories would be ahead of them. */
	int checkpoint = live__ckpt_enabled();
	int clocked = !checkpoint && (r->cfg.html || (r->cfg.summary && r->cfg.interval_ms >= 0));
	long long now = clocked ? live__mono_ns() : 0;
	if (r->cfg.summary && !rc) {
		if (checkpoint || r->cfg.interval_ms < 0 || r->summary_ns == 0 ||
		    now - r->summary_ns >= r->cfg.interval_ms * 1000000LL)
			rc = write_summary(r);
	}
	/* Before a checkpoint, so that the snapshot holds a current report. */
	if (r->cfg.html && !rc)
		rc = live__report_step(r, now, checkpoint);
	/* A checkpoint always sees the exact summary and every row of the step. */
	if (!rc && checkpoint)
		rc = live__ckpt_signal(r->step);
	r->step++;
	r->step_touched = 0;
	if (checkpoint)
		live__ckpt_after_step();
	return rc;
}

int live_run_checkpoint(live_run *r)
{
	int rc = check_open(r, "live_run_checkpoint");
	if (rc || r->cfg.inert)
		return rc;
	if ((rc = live_run_sync(r)))
		return rc;
	long long step = r->step_touched ? r->step : r->step > 0 ? r->step - 1 : 0;
	return live__ckpt_signal(step);
}

int live_run_set_step(live_run *r, long long step)
{
	int rc = check_open(r, "live_run_set_step");
	if (rc)
		return rc;
	if (step < 0)
		return live__fail(LIVE_EINVALID, "live_run_set_step: step %lld is negative", step);
	if (step > LIVE__STEP_MAX)
		return live__fail(LIVE_EINVALID, "live_run_set_step: step %lld is above the largest, 2^62",
				  step);
	r->step = step;
	r->step_touched = 1;
	r->step_known = 1;
	r->summary_dirty = 1;
	return 0;
}

long long live_run_get_step(const live_run *r)
{
	return r ? r->step : -1;
}

const char *live_run_dir(const live_run *r)
{
	return r ? r->cfg.dir : NULL;
}

int live_run_sync(live_run *r)
{
	int rc = check_open(r, "live_run_sync");
	if (rc || r->cfg.inert)
		return rc;
	live__report_observe(r);
	rc = live__hist_flush(r);
	if (!rc && r->summary_dirty)
		rc = write_summary(r);
	if (!rc && r->cfg.html)
		rc = live__report_write(r);
	return rc;
}

int live_run_close(live_run *r)
{
	if (!r)
		return 0;
	r->closing = 1; /* the final report stops refreshing itself */
	int rc = r->closed ? 0 : live_run_sync(r);
	run_free(r);
	return rc;
}
