/*
 * clitest: what the end-to-end tests of the `live` command share.
 *
 * Every CLI test builds git repositories in a fresh temp dir with the git
 * command line, runs the built `live` binary as a user would (fork/exec,
 * stdout, stderr and exit code captured apart) and reads the results back
 * with git and plain file reads, as an outside reader.
 *
 *   int main(void) {
 *           if (ct_begin("test_cli_x", LIVE_BIN, TINY_TRAINER, NULL))
 *                   return 1;
 *           ... cmocka_run_group_tests(tests, NULL, NULL) ...
 *           return ct_end(rc);
 *   }
 *
 * with ct_setup/ct_teardown as each case's fixtures (a temp dir per case;
 * the strings made by keep/fmt/sh/... are freed at teardown).
 *
 * Isolation (ct_begin): HOME and XDG_CONFIG_HOME point at an empty dir,
 * GIT_CONFIG_NOSYSTEM=1, and the variables that would change what git,
 * liblive or a trainer do (GIT_*, DVC*, LIVE_*, RANK, ...) are unset.
 *
 * Every run has a watchdog: past its time limit (or 1.5 GB of RSS) the
 * process group is killed and the case fails, and a death by signal or a
 * sanitizer report in stderr fails it too (unless `allow_signal`).
 */
#ifndef LIVE_TESTS_CLITEST_H
#define LIVE_TESTS_CLITEST_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

/* The process-wide temp dir, its home/ (HOME) and scratch/ (free for the test's use). */
extern char ct_base_dir[512];
extern char ct_home_dir[600];
extern char ct_scratch_dir[600];

/* main()'s first step: `need` are executables that must exist (NULL-terminated). 0 or 1. */
int ct_begin(const char *test_name, ...);
/* main()'s last: removes the temp dir; returns rc. */
int ct_end(int rc);
/* cmocka fixtures: a temp dir per case; teardown frees what keep() holds and kills ct_bg_pid. */
int ct_setup(void **state);
int ct_teardown(void **state);
/* A background process of the current case (-1: none), SIGKILLed at teardown. */
extern pid_t ct_bg_pid;
/*
 * `live <args>` (NULL-terminated) started in the background in the current
 * directory, stdout and stderr into the two files, stdin /dev/null; its pid,
 * also kept in ct_bg_pid (the caller sets it back to -1 once reaped).
 */
pid_t ct_live_bg(const char *out_path, const char *err_path, ...);

/* ---- memory that lives until the case's teardown */
void *keep(void *p);
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* ---- files */
/* A whole file (binary safe, NUL-terminated); NULL if missing. */
char *slurp(const char *path, size_t *len);
char *must_read(const char *path);
void write_bytes(const char *path, const void *data, size_t len);
int count_lines(const char *s);
int count_substr(const char *s, const char *needle);

#define assert_contains(hay, needle)                                                              \
	do {                                                                                      \
		const char *h_ = (hay), *n_ = (needle);                                           \
		if (!strstr(h_, n_))                                                              \
			fail_msg("expected to find [%s] in:\n%s", n_, h_);                        \
	} while (0)
#define assert_not_contains(hay, needle)                                                          \
	do {                                                                                      \
		const char *h_ = (hay), *n_ = (needle);                                           \
		if (strstr(h_, n_))                                                               \
			fail_msg("did not expect [%s] in:\n%s", n_, h_);                          \
	} while (0)

/* ---- running programs */
typedef struct run_opts {
	const char *const *env;  /* "NAME=value" added in the child; NULL-terminated */
	int timeout_ms;          /* the watchdog's limit; 0: 120 s */
	long long fsize_limit;   /* RLIMIT_FSIZE in the child when > 0 (SIGXFSZ ignored) */
	int as_nobody;           /* run as uid/gid 65534 (needs root) */
	int allow_signal;        /* a death by signal is a result (rc 128 + signal), not a failure */
} run_opts;

typedef struct result {
	int rc;          /* exit code, or 128 + signal */
	char *out, *err; /* what it wrote */
	char *cmd;       /* argv, shown quoted with control bytes escaped (for messages) */
	double secs;     /* wall time */
} result;

result run_ex(const run_opts *o, char *const argv[]);
/* One read of up to 4 KiB from fd into a growing NUL-terminated buffer; *open = 0 at EOF/error. */
void ct_drain(int fd, char **buf, size_t *len, size_t *cap, int *open);
result live_vo(const run_opts *o, const char *first, va_list ap);
result live_o(const run_opts *o, const char *first, ...);
result live_v(const char *first, ...);
result live_ok_v(const char *first, ...);
/* `live <args>`: LIVE (any exit), LIVE_OK (must exit 0), LIVE_O (with options). */
#define LIVE(...) live_v(__VA_ARGS__, (const char *)NULL)
#define LIVE_OK(...) live_ok_v(__VA_ARGS__, (const char *)NULL)
#define LIVE_O(o, ...) live_o((o), __VA_ARGS__, (const char *)NULL)

/* A shell command's stdout (stderr passes through); *status = its exit code. */
char *sh_status(int *status, const char *f, ...) __attribute__((format(printf, 2, 3)));
/* A shell command that must succeed; its stdout less one trailing newline. */
char *sh(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* ---- repositories */
#define CT_ID_NAME "Live Tester"
#define CT_ID_EMAIL "tester@example.com"
/* `git init` here (branch main), with the test identity in .git/config when `identity`. */
void git_init_repo(int identity);
/* `git add -A` and a commit (by a fixed author, whatever .git/config says). */
void commit_all(const char *msg);
/* refs/exps/<B[:2]>/<B[2:]>/ */
char *exp_prefix(const char *baseline);
/* The experiment names of a baseline, refname order; their count. */
int exp_names(const char *baseline, char names[][64], int max);
/* The sha a ref (or revision) names; NULL if none. */
char *ref_sha(const char *ref);
/* The md5 that dvc.lock text `lock` records for `path`; "" if none. */
char *lock_md5(const char *lock, const char *path);
/* .dvc/cache/<md5[:2]>/<md5[2:]> */
char *cache_path(const char *md5);

#endif
