/*
 * Internal declarations shared between the files of liblive. Nothing here is
 * installed; symbols use the live__ prefix and hidden visibility.
 */
#ifndef LIVE_INTERNAL_H
#define LIVE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "live.h"

#if defined(__GNUC__)
#define LIVE__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LIVE__PRINTF(f, a)
#endif

/* ---- error.c ------------------------------------------------------------ */

/** Set this thread's message from a printf format; returns `code`. */
int live__fail(int code, const char *fmt, ...) LIVE__PRINTF(2, 3);

/** Like live__fail(), with ": <strerror(err)>" appended. */
int live__fail_errno(int code, int err, const char *fmt, ...) LIVE__PRINTF(3, 4);

/** LIVE_EIO for most errno values, LIVE_ENOMEM for ENOMEM. */
int live__errno_code(int err);

/* ---- numfmt.c ----------------------------------------------------------- */

/** Room that live__fmt_double / live__fmt_int need, NUL included. */
#define LIVE__NUM_MAX 32

/**
 * Write `v` as Python's repr(float) does: the shortest decimal that reads back
 * as the same double, "0.1", "1.0", "1e-05", "1e+16", "nan", "inf", "-inf",
 * "-0.0". Locale-independent. NUL-terminates; returns the length.
 */
size_t live__fmt_double(char *buf, double v);

/** Write a decimal integer. NUL-terminates; returns the length. */
size_t live__fmt_int(char *buf, long long v);

/* ---- buf.c -------------------------------------------------------------- */

/** A growable byte buffer. Zero-initialised is empty. */
typedef struct live__buf {
	char *data;
	size_t len;
	size_t cap;
} live__buf;

/** Make room for `extra` more bytes. 0 or LIVE_ENOMEM (message set). */
int live__buf_reserve(live__buf *b, size_t extra);
/** Append bytes; the caller has reserved room or accepts a grow. */
int live__buf_append(live__buf *b, const void *p, size_t n);
void live__buf_free(live__buf *b);

/* ---- fsutil.c ----------------------------------------------------------- */

/**
 * Replace file `name` inside folder `dirfd` with `len` bytes: written to
 * `tmp` (same folder) then renamed, so readers see the old or the new file,
 * never a mix. `show` names the file in messages.
 */
int live__write_atomic(int dirfd, const char *name, const char *tmp, const char *show, const char *data,
		       size_t len);

/* ---- params.c ----------------------------------------------------------- */

/**
 * Call `fn` with every params key the program read successfully and its text
 * as in the file, in first-read order, under the params lock; stops at the
 * first non-zero return, which it returns.
 */
int live__params_each(int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

#endif /* LIVE_INTERNAL_H */
