/*
 * Helpers shared by the libFuzzer targets in tests/fuzz: a scratch folder per
 * process for the parsers that read from a path, and a check that turns a
 * broken invariant into a crash libFuzzer reports (with the input saved).
 */
#ifndef LIVE_FUZZ_H
#define LIVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points, declared here for -Wmissing-prototypes. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * This process's scratch folder, made on first use under $TMPDIR (else
 * /dev/shm, else /tmp) and removed at exit. A failure to make it aborts: a
 * fuzzer without a place to write its input tests nothing.
 */
const char *fz_dir(void);

/* "<fz_dir()>/<name>" into buf; aborts if it does not fit. */
void fz_path(char *buf, size_t size, const char *name);

/* Replace the file at `path` with `len` bytes (parent folders must exist); aborts on failure. */
void fz_write(const char *path, const void *data, size_t len);

/* Read a whole file into a malloc'd buffer (NUL-terminated); NULL if it cannot be read. */
char *fz_read(const char *path, size_t *len);

/* Remove `path` and everything below it, if it exists (symlinks are not followed). */
void fz_rm_tree(const char *path);

/* mkdir -p; aborts on failure. */
void fz_mkdirs(const char *path);

/*
 * Unset the environment that changes how liblive opens a run or finds
 * params.yaml (DVCLIVE_*, LIVE_*, DVC_*, the MPI/Slurm rank variables), so a
 * fuzzer started from a stage's environment behaves as one started anywhere.
 */
void fz_clean_env(void);

/* An invariant of the code under test: print what broke and abort, so libFuzzer keeps the input. */
#define FZ_CHECK(cond, ...)                                                                                  \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                     \
	} while (0)

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
        __attribute__((noreturn, format(printf, 4, 5)));

#endif /* LIVE_FUZZ_H */
