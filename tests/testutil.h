/* Helpers shared by the test programs: a fresh temp dir per test, file reads. */
#ifndef LIVE_TESTUTIL_H
#define LIVE_TESTUTIL_H

#include <stddef.h>

/* cmocka setup/teardown: make a fresh temp dir, chdir into it; remove it after. */
int tu_enter_tmpdir(void **state);
int tu_leave_tmpdir(void **state);

/* Read a whole file into a malloc'd NUL-terminated string; NULL if missing. */
char *tu_read_file(const char *path);
/* Write a whole file (creating parent dirs is the caller's job). */
void tu_write_file(const char *path, const char *text);
/* 1 if the path exists (lstat). */
int tu_exists(const char *path);

/*
 * Switch LC_NUMERIC to a locale whose decimal point is ',' and return its
 * name (for messages: pass it to setlocale again only through this function).
 * Tries installed locales first (de_DE.UTF-8, fr_FR.UTF-8, ...); if there is
 * none, compiles de_DE.UTF-8 with localedef (its sources come with Debian's
 * package `locales`) into a private temp dir, removed at exit, and loads it
 * from there through LOCPATH. Returns NULL, with LC_NUMERIC "C", only if no
 * such locale can be had. The caller sets LC_NUMERIC back to "C" when done.
 */
const char *tu_comma_locale(void);

#endif
