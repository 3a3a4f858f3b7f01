/*
 * Resume: read a previous run back so that the new one continues it (SPEC 2).
 *
 * The step to continue from is one past the newest step on disk, taken both
 * from the summary and from the last complete row of every TSV: the summary is
 * rate-limited and may be one interval behind the histories after a crash.
 * Checking a TSV reads only its tail. A torn last row (a writer killed
 * mid-write) is cut off; anything else malformed stops the resume with file
 * and line, and then nothing on disk has been changed.
 *
 * The report's charts and the divergence watches live in memory, so a resume
 * rebuilds them: every complete row of a history is replayed through them,
 * once, here at open (never per step), when the report is on or the metric
 * is watched; that is the only part of resuming that grows with the run. The
 * divergences already found are read back from the summary's "divergence"
 * entry, so none is reported twice and none set through the API is lost.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "run.h"

#define SUMMARY_MAX (64u << 20)
#define TAIL 4096
#define REPLAY_BUF (64 * 1024)

/* A TSV whose torn last row must be cut once every file has been checked. */
typedef struct cut {
	char *name;
	off_t size;
} cut;

typedef struct scan {
	live_run *r;
	long long max_step;
	cut *cuts;
	size_t ncuts, capcuts;
} scan;

static int read_all(int dirfd, const char *name, const char *show, char **out, size_t *len)
{
	*out = NULL;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return live__fail_errno(live__errno_code(errno), errno, "%s: open", show);
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > SUMMARY_MAX) {
		close(fd);
		return live__fail(LIVE_EPARSE, "%s: not a regular file of at most 64 MiB", show);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return live__fail(LIVE_ENOMEM, "out of memory");
	}
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	int err = errno;
	close(fd);
	if (n < 0) {
		free(buf);
		return live__fail_errno(LIVE_EIO, err, "%s: read", show);
	}
	buf[n] = 0;
	*out = buf;
	*len = (size_t)n;
	return 0;
}

static void line_col(const char *text, size_t pos, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < pos && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int live__parse_value(const char *s, size_t n, live__value *v)
{
	char buf[64];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!strcmp(buf, "True") || !strcmp(buf, "False")) {
		v->kind = LIVE__INT;
		v->u.i = buf[0] == 'T';
		return 0;
	}
	char *end;
	errno = 0;
	size_t digits = buf[0] == '-' ? 1 : 0;
	while (buf[digits] >= '0' && buf[digits] <= '9')
		digits++;
	if (digits == n && n > (buf[0] == '-' ? 1u : 0u)) {
		long long i = strtoll(buf, &end, 10);
		if (!errno && !*end) {
			v->kind = LIVE__INT;
			v->u.i = i;
			return 0;
		}
	}
	double d = strtod(buf, &end);
	if (*end)
		return -1;
	v->kind = LIVE__DOUBLE;
	v->u.d = d;
	return 0;
}

/* A summary value: a number, or "nan", "inf", "-inf"; 0 or -1. */
static int json_value(const cJSON *item, live__value *v)
{
	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;
		/* cJSON keeps no int/float distinction; integral values read back as ints. The range
		 * check comes first: converting a double beyond long long is undefined. */
		if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d) {
			v->kind = LIVE__INT;
			v->u.i = (long long)d;
		} else {
			v->kind = LIVE__DOUBLE;
			v->u.d = d;
		}
		return 0;
	}
	if (cJSON_IsString(item) && live__parse_value(item->valuestring, strlen(item->valuestring), v) == 0 &&
	    v->kind == LIVE__DOUBLE && (v->u.d != v->u.d || v->u.d - v->u.d != 0))
		return 0; /* "nan", "inf", "-inf" */
	return -1;
}

/* A summary member that must be an integer >= 0. */
static int json_step(const cJSON *item, long long *out)
{
	double d = cJSON_IsNumber(item) ? item->valuedouble : -1;
	if (!(d >= 0 && d <= (double)LIVE__STEP_MAX) || d != (double)(long long)d)
		return -1;
	*out = (long long)d;
	return 0;
}

static int summary_metric(live_run *r, const char *name)
{
	long idx = live__metric_get(r, name);
	if (idx < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", live_errmsg());
		return live__fail(LIVE_EPARSE, "%s: %s", r->sumshow, why);
	}
	return (int)idx;
}

static int set_from_summary(live_run *r, const char *name, const cJSON *item)
{
	live__value v;
	if (json_value(item, &v) != 0)
		return live__fail(LIVE_EPARSE, "%s: key '%s': expected a number (or \"nan\", \"inf\", \"-inf\")",
				  r->sumshow, name);
	long idx = summary_metric(r, name);
	if (idx < 0)
		return (int)idx;
	r->metrics[idx].last = v;
	return 0;
}

/* One entry of "divergence": {"since": s, "best_step": b, "best": v, "reason": "worse"}. */
static int load_divergence(live_run *r, const cJSON *e)
{
	static const char *const reasons[] = { "worse", "nan", "inf", "-inf" };
	static const int codes[] = { LIVE__DIV_WORSE, LIVE__DIV_NAN, LIVE__DIV_PINF, LIVE__DIV_NINF };
	const cJSON *since = cJSON_GetObjectItemCaseSensitive(e, "since");
	const cJSON *best_step = cJSON_GetObjectItemCaseSensitive(e, "best_step");
	const cJSON *best = cJSON_GetObjectItemCaseSensitive(e, "best");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
	live__watch w = { 0 };
	w.best_step = -1;
	w.at = -1;
	w.diverged = reason ? 0 : LIVE__DIV_WORSE;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons) && cJSON_IsString(reason); i++)
		if (!strcmp(reason->valuestring, reasons[i]))
			w.diverged = codes[i];
	if (!cJSON_IsObject(e) || json_step(since, &w.since) != 0 || !w.diverged || !best != !best_step ||
	    (best && (json_step(best_step, &w.best_step) != 0 || json_value(best, &w.best_v) != 0)))
		return live__fail(LIVE_EPARSE,
				  "%s: key 'divergence' / '%s': expected {\"since\": <step>, \"best_step\": <step>, "
				  "\"best\": <number>, \"reason\": \"worse\", \"nan\", \"inf\" or \"-inf\"}",
				  r->sumshow, e->string);
	long idx = summary_metric(r, e->string);
	if (idx < 0)
		return (int)idx;
	live__watch *mine = &r->metrics[idx].watch;
	w.direction = mine->direction;
	w.patience = mine->patience;
	*mine = w;
	return 0;
}

static int walk_summary(live_run *r, const cJSON *obj, const char *prefix)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (!prefix[0] && (!strcmp(c->string, "step") || !strcmp(c->string, "divergence")))
			continue;
		size_t n = strlen(prefix) + strlen(c->string) + 2;
		char *name = malloc(n);
		if (!name)
			return live__fail(LIVE_ENOMEM, "out of memory");
		snprintf(name, n, "%s%s%s", prefix, prefix[0] ? "/" : "", c->string);
		int rc = cJSON_IsObject(c) ? walk_summary(r, c, name) : set_from_summary(r, name, c);
		free(name);
		if (rc)
			return rc;
	}
	return 0;
}

static int load_summary(live_run *r, long long *step)
{
	char *text;
	size_t len;
	int rc = read_all(r->sumdirfd, r->sumname, r->sumshow, &text, &len);
	if (rc || !text)
		return rc;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root || !cJSON_IsObject(root)) {
		int line, col;
		line_col(text, root ? 0 : (size_t)(end ? end - text : 0), &line, &col);
		rc = live__fail(LIVE_EPARSE, "%s:%d:%d: %s", r->sumshow, line, col,
				root ? "expected a JSON object" : "malformed JSON");
	} else {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "step");
		if (s) {
			double d = cJSON_IsNumber(s) ? s->valuedouble : -1;
			if (!(d >= 0 && d <= (double)LIVE__STEP_MAX) || d != (double)(long long)d)
				rc = live__fail(LIVE_EPARSE, "%s: key 'step': expected an integer >= 0", r->sumshow);
			else
				*step = (long long)d;
		}
		if (!rc)
			rc = walk_summary(r, root, "");
		const cJSON *div = cJSON_GetObjectItemCaseSensitive(root, "divergence");
		if (!rc && div && !cJSON_IsObject(div))
			rc = live__fail(LIVE_EPARSE, "%s: key 'divergence': expected an object", r->sumshow);
		for (const cJSON *e = div ? div->child : NULL; e && !rc; e = e->next)
			rc = load_divergence(r, e);
	}
	cJSON_Delete(root);
	free(text);
	return rc;
}

static int tsv_error(const char *show, int fd, off_t pos, const char *what)
{
	/* Count lines only on this error path: resuming reads just the tail. */
	int line = 1;
	char buf[8192];
	off_t at = 0;
	while (at < pos) {
		size_t want = (size_t)(pos - at) < sizeof(buf) ? (size_t)(pos - at) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, at);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			line += buf[i] == '\n';
		at += n;
	}
	return live__fail(LIVE_EPARSE, "%s:%d: %s", show, line, what);
}

static int expected_header(const live_run *r, const char *name, int ts, char *buf, size_t size)
{
	const char *col = name;
	if (r->cfg.layout == LIVE_LAYOUT_V3) {
		const char *slash = strrchr(name, '/');
		col = slash ? slash + 1 : name;
	}
	int quote = strchr(col, '"') != NULL;
	size_t n = (size_t)snprintf(buf, size, "%s%s", ts ? "timestamp\tstep\t" : "step\t", quote ? "\"" : "");
	for (const char *p = col; *p && n + 3 < size; p++) {
		buf[n++] = *p;
		if (*p == '"')
			buf[n++] = '"';
	}
	if (quote)
		buf[n++] = '"';
	buf[n] = 0;
	return (int)n;
}

static int add_cut(scan *s, const char *name, off_t size)
{
	if (s->ncuts == s->capcuts) {
		size_t n = s->capcuts ? s->capcuts * 2 : 8;
		cut *c = realloc(s->cuts, n * sizeof(*c));
		if (!c)
			return live__fail(LIVE_ENOMEM, "out of memory");
		s->cuts = c;
		s->capcuts = n;
	}
	s->cuts[s->ncuts].name = strdup(name);
	if (!s->cuts[s->ncuts].name)
		return live__fail(LIVE_ENOMEM, "out of memory");
	s->cuts[s->ncuts++].size = size;
	return 0;
}

/* Split a row (NUL-terminated, no newline) into step and value; 0 or -1. */
static int parse_row(char *row, int ts, long long *step, live__value *v)
{
	char *fields[3];
	int nf = 0;
	fields[nf++] = row;
	for (char *p = row; *p && nf < 3; p++)
		if (*p == '\t') {
			*p = 0;
			fields[nf++] = p + 1;
		}
	if (nf != (ts ? 3 : 2))
		return -1;
	char *stepf = fields[ts ? 1 : 0];
	char *valf = fields[ts ? 2 : 1];
	char *e;
	errno = 0;
	*step = strtoll(stepf, &e, 10);
	if (errno || *e || e == stepf || *step < 0 || *step > LIVE__STEP_MAX ||
	    live__parse_value(valf, strlen(valf), v) != 0)
		return -1;
	return 0;
}

static const char *row_format(int ts)
{
	return ts ? "expected <timestamp> <step> <value> separated by tabs" : "expected <step> <value> separated by tabs";
}

/*
 * Feed every complete row of a history, bytes [body, end), to the metric's
 * series and watch (quietly: a divergence found again was reported by the run
 * that logged it).
 */
static int replay_tsv(live_run *r, long idx, int fd, off_t body, off_t end, int ts, const char *show)
{
	live__metric *m = &r->metrics[idx];
	int rc = r->cfg.html ? live__series_init(&m->series) : 0;
	if (rc || (!r->cfg.html && !m->watch.direction) || body >= end)
		return rc;
	char *buf = malloc(REPLAY_BUF + 1);
	if (!buf)
		return live__fail(LIVE_ENOMEM, "out of memory");
	size_t have = 0;
	int line = 2;
	for (off_t at = body; at < end && !rc;) {
		size_t want = REPLAY_BUF - have;
		if ((off_t)want > end - at)
			want = (size_t)(end - at);
		ssize_t n = pread(fd, buf + have, want, at);
		if (n <= 0) {
			rc = live__fail_errno(LIVE_EIO, n < 0 ? errno : EIO, "%s: read", show);
			break;
		}
		at += n;
		have += (size_t)n;
		char *row = buf, *nl;
		while (!rc && (nl = memchr(row, '\n', have - (size_t)(row - buf)))) {
			*nl = 0;
			if (nl > row && nl[-1] == '\r')
				nl[-1] = 0;
			long long step;
			live__value v;
			if (parse_row(row, ts, &step, &v) != 0)
				rc = live__fail(LIVE_EPARSE, "%s:%d: %s", show, line, row_format(ts));
			else
				live__observe(r, (uint32_t)idx, step, &v, 1);
			line++;
			row = nl + 1;
		}
		have -= (size_t)(row - buf);
		memmove(buf, row, have);
		if (!rc && have == REPLAY_BUF)
			rc = live__fail(LIVE_EPARSE, "%s:%d: row longer than 64 KiB", show, line);
	}
	free(buf);
	return rc;
}

/* Check one TSV's header, read its last complete row. */
static int scan_tsv(scan *s, int fd, const char *name, const char *show)
{
	live_run *r = s->r;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return live__fail_errno(LIVE_EIO, errno, "%s: stat", show);
	if (st.st_size == 0)
		return 0; /* made but never written: gets its header at the first log */

	char head[1400];
	ssize_t hn = pread(fd, head, sizeof(head) - 1, 0);
	if (hn < 0)
		return live__fail_errno(LIVE_EIO, errno, "%s: read", show);
	head[hn] = 0;
	char *nl = memchr(head, '\n', (size_t)hn);
	char want[1400];
	int ts = r->cfg.layout == LIVE_LAYOUT_CLASSIC;
	if (r->cfg.layout == LIVE_LAYOUT_V3)
		ts = !strncmp(head, "timestamp\t", 10);
	int wn = expected_header(r, name, ts, want, sizeof(want));
	if (!nl) {
		/* A header torn by a kill while it was being written. */
		if ((size_t)hn <= (size_t)wn && !memcmp(head, want, (size_t)hn) && st.st_size == hn)
			return add_cut(s, name, 0);
		return live__fail(LIVE_EPARSE, "%s:1: expected the header '%s' and a newline", show, want);
	}
	size_t hlen = (size_t)(nl - head);
	if (hlen && head[hlen - 1] == '\r')
		hlen--;
	if (hlen != (size_t)wn || memcmp(head, want, hlen))
		return live__fail(LIVE_EPARSE, "%s:1: expected the header '%s'", show, want);
	off_t body = (nl - head) + 1;

	char tail[TAIL + 1];
	off_t from = st.st_size > TAIL ? st.st_size - TAIL : 0;
	if (from < body)
		from = body;
	ssize_t tn = pread(fd, tail, (size_t)(st.st_size - from), from);
	if (tn < 0)
		return live__fail_errno(LIVE_EIO, errno, "%s: read", show);
	tail[tn] = 0;
	/* Drop a torn last row: everything after the last newline. */
	ssize_t end = tn;
	while (end > 0 && tail[end - 1] != '\n')
		end--;
	if (end < tn) {
		int rc = add_cut(s, name, from + end);
		if (rc)
			return rc;
	}
	long idx = live__metric_get(r, name);
	if (idx < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", live_errmsg());
		return live__fail(LIVE_EPARSE, "%s: %s", show, why);
	}
	r->metrics[idx].ts_col = ts;
	if (end == 0)
		return 0; /* header only */
	ssize_t start = end - 1;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	if (start == 0 && from > body)
		return tsv_error(show, fd, from, "row longer than 4 KiB");
	char *row = tail + start;
	size_t rowlen = (size_t)(end - 1 - start);
	if (rowlen && row[rowlen - 1] == '\r')
		rowlen--;
	row[rowlen] = 0;

	long long step;
	live__value v;
	if (parse_row(row, ts, &step, &v) != 0)
		return tsv_error(show, fd, from + start, row_format(ts));
	if (step > s->max_step)
		s->max_step = step;
	r->metrics[idx].last = v;
	return replay_tsv(r, idx, fd, body, from + end, ts, show);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.tsv below dirfd, in sorted order so the summary order is stable. */
static int scan_dir(scan *s, int dirfd, const char *prefix, int depth)
{
	if (depth > 600)
		return live__fail(LIVE_EPARSE, "%s%s: folders nested too deep", s->r->histshow, prefix);
	int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return live__fail_errno(LIVE_EIO, errno, "%s%s: read folder", s->r->histshow, prefix);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p) {
				rc = live__fail(LIVE_ENOMEM, "out of memory");
				break;
			}
			names = p;
		}
		if (!(names[n++] = strdup(e->d_name))) {
			n--;
			rc = live__fail(LIVE_ENOMEM, "out of memory");
			break;
		}
	}
	closedir(d);
	if (!rc && n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *ent = names[i];
		struct stat st;
		if (fstatat(dirfd, ent, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		size_t len = strlen(prefix) + strlen(ent) + 2;
		char *rel = malloc(len);
		if (!rel) {
			rc = live__fail(LIVE_ENOMEM, "out of memory");
			break;
		}
		snprintf(rel, len, "%s%s", prefix, ent);
		size_t el = strlen(ent);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, ent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				strcat(rel, "/");
				rc = scan_dir(s, sub, rel, depth + 1);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode) && el > 4 && !strcmp(ent + el - 4, ".tsv")) {
			char show[2200];
			snprintf(show, sizeof(show), "%s%s", s->r->histshow, rel);
			rel[strlen(rel) - 4] = 0;
			int fd = openat(dirfd, ent, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				rc = live__fail_errno(LIVE_EIO, errno, "%s: open", show);
			} else {
				rc = scan_tsv(s, fd, rel, show);
				close(fd);
			}
		}
		free(rel);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int apply_cuts(scan *s)
{
	live_run *r = s->r;
	for (size_t i = 0; i < s->ncuts; i++) {
		const char *name = s->cuts[i].name;
		const char *slash = strrchr(name, '/');
		int pfd = r->histfd;
		int rc = 0;
		if (slash) {
			char *dir = strndup(name, (size_t)(slash - name));
			rc = dir ? live__open_subdir(r->histfd, dir, 0, &pfd) : live__fail(LIVE_ENOMEM, "out of memory");
			free(dir);
			if (rc)
				return rc;
		}
		char file[260];
		snprintf(file, sizeof(file), "%s.tsv", slash ? slash + 1 : name);
		int fd = openat(pfd, file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || ftruncate(fd, s->cuts[i].size) != 0)
			rc = live__fail_errno(LIVE_EIO, errno, "%s%s.tsv: cut the torn last row", r->histshow, name);
		if (fd >= 0)
			close(fd);
		if (pfd != r->histfd)
			close(pfd);
		if (rc)
			return rc;
	}
	return 0;
}

/* A history that ends at the largest step cannot continue (live.h: steps end at 2^62). */
static int check_last_step(const live_run *r, long long last)
{
	if (last < LIVE__STEP_MAX)
		return 0;
	return live__fail(LIVE_EINVALID, "%s: step %lld is the largest (2^62): the run cannot continue "
	                  "(start a new one, or remove the history)", r->cfg.dir, last);
}

int live__resume_load(live_run *r)
{
	long long sum_step = -1;
	int rc = load_summary(r, &sum_step);
	if (rc)
		return rc;
	scan s = { r, -1, NULL, 0, 0 };
	rc = live__hist_dir(r, 0);
	if (rc && r->cfg.layout == LIVE_LAYOUT_V3) {
		rc = 0; /* no plots/metrics yet: nothing to scan */
	} else if (!rc) {
		rc = scan_dir(&s, r->histfd, "", 0);
		if (!rc)
			rc = check_last_step(r, sum_step > s.max_step ? sum_step : s.max_step);
		if (!rc) /* only now: a refused resume changes nothing on disk */
			rc = apply_cuts(&s);
	}
	for (size_t i = 0; i < s.ncuts; i++)
		free(s.cuts[i].name);
	free(s.cuts);
	if (rc)
		return rc;
	/* JSON keeps no int/float distinction: a best read back as 1 was 1.0 if the history says so. */
	for (size_t i = 0; i < r->nmetrics; i++) {
		live__metric *m = &r->metrics[i];
		if (m->watch.diverged && m->watch.best_v.kind == LIVE__INT && m->last.kind == LIVE__DOUBLE) {
			m->watch.best_v.kind = LIVE__DOUBLE;
			m->watch.best_v.u.d = (double)m->watch.best_v.u.i;
		}
	}
	long long last = sum_step > s.max_step ? sum_step : s.max_step;
	rc = check_last_step(r, last); /* a v3 run with no histories yet: the summary's step */
	if (rc)
		return rc;
	if (last >= 0) {
		r->step = last + 1;
		r->step_known = 1;
	}
	r->summary_dirty = 1;
	return 0;
}
