#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char tmpdir[512];
static char olddir[4096];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	chmod(path, 0700); /* undo read-only dirs made by tests */
	return remove(path);
}

int tu_enter_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/livetest.XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	assert_non_null(getcwd(olddir, sizeof(olddir)));
	assert_int_equal(chdir(tmpdir), 0);
	return 0;
}

int tu_leave_tmpdir(void **state)
{
	(void)state;
	assert_int_equal(chdir(olddir), 0);
	/* make every dir writable again before removing (depth-first) */
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t n;
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	s[len] = 0;
	return s;
}

void tu_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

int tu_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- a locale with a decimal comma ------------------------------------------ */

/* Set LC_NUMERIC to `name`; 1 if that worked and its decimal point is ','. */
static int numeric_comma(const char *name)
{
	if (!setlocale(LC_NUMERIC, name))
		return 0;
	if (strcmp(localeconv()->decimal_point, ",") == 0)
		return 1;
	setlocale(LC_NUMERIC, "C");
	return 0;
}

static char locdir[512]; /* the private LOCPATH dir, once made */
static pid_t locdir_owner;

static void remove_locdir(void)
{
	if (getpid() == locdir_owner) /* not in forked children that call exit() */
		nftw(locdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Compile de_DE.UTF-8 into a fresh temp dir (locdir); 1 if localedef ran. */
static int compile_comma_locale(void)
{
	static const char source[] = "/usr/share/i18n/locales/de_DE";
	const char *base = getenv("TMPDIR");
	char out[600];
	int status;

	if (access(source, R_OK) != 0) {
		print_message("no %s (Debian: apt-get install locales)\n", source);
		return 0;
	}
	snprintf(locdir, sizeof(locdir), "%s/livelocale.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(locdir)) {
		print_message("mkdtemp %s failed\n", locdir);
		return 0;
	}
	locdir_owner = getpid();
	atexit(remove_locdir);
	/* A path with a slash: localedef writes the locale there, not into the archive. */
	snprintf(out, sizeof(out), "%s/de_DE.UTF-8", locdir);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		execlp("localedef", "localedef", "-i", "de_DE", "-f", "UTF-8", out, (char *)NULL);
		fprintf(stderr, "cannot run localedef (Debian package libc-bin)\n");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 0;
	/* localedef exits 1 after mere warnings; whether setlocale loads it decides. */
	return WEXITSTATUS(status) <= 1;
}

const char *tu_comma_locale(void)
{
	static const char *const names[] = {
		"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
		"nl_NL.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8", "ru_RU.UTF-8", "pt_BR.UTF-8",
	};
	static int compiled = -1; /* not tried yet */

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (numeric_comma(names[i]))
			return names[i];
	}
	if (compiled < 0)
		compiled = compile_comma_locale();
	if (!compiled)
		return NULL;

	/*
	 * glibc reads LOCPATH on every setlocale call (unless the program is
	 * setuid), so setting it now works; while it is set only that dir is
	 * searched, hence it is put back right after. The loaded data stays.
	 */
	const char *prev = getenv("LOCPATH");
	char *saved = prev ? strdup(prev) : NULL;
	int ok;

	assert_int_equal(setenv("LOCPATH", locdir, 1), 0);
	ok = numeric_comma("de_DE.UTF-8");
	if (saved) {
		setenv("LOCPATH", saved, 1);
		free(saved);
	} else {
		unsetenv("LOCPATH");
	}
	if (!ok)
		print_message("de_DE.UTF-8 compiled into %s does not load\n", locdir);
	return ok ? "de_DE.UTF-8" : NULL;
}
