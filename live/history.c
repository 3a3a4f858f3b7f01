/*
 * History files: one TSV per metric, appended at every step (SPEC 2).
 *
 * Rows are kept raw during a step (live_log stores numbers, nothing else) and
 * formatted here, once per step, into a per-metric buffer that is written
 * with one write() on a descriptor kept open. A failed or short write is cut
 * back with ftruncate, so a file never ends in half a row, and the rows stay
 * buffered for the next attempt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

/* Descriptors kept open; metrics beyond this open and close at each write. */
#define FD_BUDGET 200
/* Rows kept for retry after failed writes, per metric, before dropping. */
#define RETRY_MAX (1u << 20)

static void show_path(const live_run *r, const live__metric *m, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s.tsv", r->histshow, m->name);
}

/* csv QUOTE_MINIMAL, as dvclive's csv.DictWriter: quote only when needed. */
static int append_field(live__buf *b, const char *s, size_t n)
{
	if (!memchr(s, '"', n))
		return live__buf_append(b, s, n);
	int rc = live__buf_append(b, "\"", 1);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = live__buf_append(b, s + i, 1);
		if (!rc && s[i] == '"')
			rc = live__buf_append(b, "\"", 1);
	}
	return rc ? rc : live__buf_append(b, "\"", 1);
}

static int header(const live_run *r, const live__metric *m, live__buf *b)
{
	int rc;
	const char *col = m->name;
	if (r->cfg.layout == LIVE_LAYOUT_V3) {
		const char *slash = strrchr(m->name, '/');
		col = slash ? slash + 1 : m->name;
	}
	if (m->ts_col)
		rc = live__buf_append(b, "timestamp\tstep\t", 15);
	else
		rc = live__buf_append(b, "step\t", 5);
	if (!rc)
		rc = append_field(b, col, strlen(col));
	return rc ? rc : live__buf_append(b, "\n", 1);
}

static int write_all(int fd, const char *p, size_t n, int *err)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? errno : ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Open (creating, with its header) the metric's file; returns the fd. */
static int open_file(live_run *r, live__metric *m, int *fd_out)
{
	char show[1400];
	show_path(r, m, show, sizeof(show));

	const char *slash = strrchr(m->name, '/');
	int pfd = r->histfd;
	int rc;
	if (slash) {
		char dir[1100];
		size_t n = (size_t)(slash - m->name);
		memcpy(dir, m->name, n);
		dir[n] = 0;
		if ((rc = live__open_subdir(r->histfd, dir, 1, &pfd))) {
			char why[512];
			snprintf(why, sizeof(why), "%s", live_errmsg());
			return live__fail(rc, "%s: %s", show, why);
		}
	}
	char file[260];
	snprintf(file, sizeof(file), "%s.tsv", slash ? slash + 1 : m->name);
	int fd = openat(pfd, file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	int err = errno;
	if (fd < 0) {
		if (pfd != r->histfd)
			close(pfd);
		if (err == ELOOP || err == EISDIR)
			return live__fail(LIVE_EINVALID, "%s: exists as a %s, not a history file", show,
					  err == ELOOP ? "link" : "folder");
		return live__fail_errno(live__errno_code(err), err, "%s: open", show);
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		if (pfd != r->histfd)
			close(pfd);
		return live__fail(LIVE_EINVALID, "%s: not a regular file", show);
	}
	if (st.st_size == 0) {
		live__buf h = { 0 };
		rc = header(r, m, &h);
		if (!rc && write_all(fd, h.data, h.len, &err) != 0) {
			/* Leave no file with half a header behind. */
			unlinkat(pfd, file, 0);
			rc = live__fail_errno(live__errno_code(err), err, "%s: write header", show);
		}
		st.st_size = (off_t)h.len;
		live__buf_free(&h);
		if (rc) {
			close(fd);
			if (pfd != r->histfd)
				close(pfd);
			return rc;
		}
	}
	if (pfd != r->histfd)
		close(pfd);
	m->size = st.st_size;
	*fd_out = fd;
	return 0;
}

int live__hist_open(live_run *r, live__metric *m)
{
	int fd;
	int rc = open_file(r, m, &fd);
	if (rc)
		return rc;
	if (r->open_fds < FD_BUDGET) {
		m->fd = fd;
		r->open_fds++;
	} else {
		close(fd);
		m->fd = -1;
	}
	return 0;
}

void live__hist_close(live_run *r, live__metric *m)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		r->open_fds--;
	}
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static int format_row(live_run *r, const live__row *row)
{
	live__metric *m = &r->metrics[row->metric];
	int rc = live__buf_reserve(&m->out, 3 * LIVE__NUM_MAX + 4);
	if (rc)
		return rc;
	char num[LIVE__NUM_MAX];
	char *p = m->out.data + m->out.len;
	if (m->ts_col) {
		p = put(p, num, live__fmt_int(num, row->ms));
		*p++ = '\t';
	}
	p = put(p, num, live__fmt_int(num, row->step));
	*p++ = '\t';
	if (row->v.kind == LIVE__INT)
		p = put(p, num, live__fmt_int(num, row->v.u.i));
	else
		p = put(p, num, live__fmt_double(num, row->v.u.d));
	*p++ = '\n';
	m->out.len = (size_t)(p - m->out.data);
	if (!m->dirty) {
		m->dirty = 1;
		r->dirty[r->ndirty++] = row->metric;
	}
	return 0;
}

static int write_rows(live_run *r, live__metric *m)
{
	int fd = m->fd;
	int rc;
	if (fd < 0 && (rc = open_file(r, m, &fd)))
		return rc;
	int err = 0;
	rc = 0;
	if (write_all(fd, m->out.data, m->out.len, &err) != 0) {
		char show[1400];
		show_path(r, m, show, sizeof(show));
		/* Cut a partial row back off; the rows stay buffered. */
		if (ftruncate(fd, m->size) != 0)
			err = errno;
		rc = live__fail_errno(live__errno_code(err), err, "%s: write", show);
		if (m->out.len > RETRY_MAX) {
			m->out.len = 0;
			rc = live__fail_errno(live__errno_code(err), err,
					      "%s: write (more than 1 MiB of rows could not be written and were dropped)",
					      show);
		}
	} else {
		m->size += (off_t)m->out.len;
		m->out.len = 0;
	}
	if (m->fd < 0)
		close(fd);
	return rc;
}

int live__hist_flush(live_run *r)
{
	int first = 0;
	for (size_t i = 0; i < r->nrows; i++) {
		int rc = format_row(r, &r->rows[i]);
		if (rc && !first)
			first = rc;
	}
	r->nrows = 0;

	size_t keep = 0;
	for (size_t i = 0; i < r->ndirty; i++) {
		live__metric *m = &r->metrics[r->dirty[i]];
		int rc = m->out.len ? write_rows(r, m) : 0;
		if (rc && m->out.len) {
			r->dirty[keep++] = r->dirty[i];
		} else {
			m->dirty = 0;
		}
		if (rc && !first)
			first = rc;
	}
	r->ndirty = keep;
	return first;
}
