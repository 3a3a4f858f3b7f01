/*
 * The install test's consumer: uses only the installed <live.h> and library.
 * Opens a run in a fresh temp folder (below argv[1], else $TMPDIR or /tmp),
 * logs two steps, closes, and checks the files that dvclive's classic layout
 * promises. Prints one line and exits 0 when all is well.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, unsetenv */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <live.h>

static int failed;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "consumer: FAILED: %s\n", what);
		failed = 1;
	}
}

static int call(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "consumer: %s: %s (%s)\n", what, live_errmsg(), live_strerror(rc));
		failed = 1;
	}
	return rc;
}

/* Number of lines in a file, or -1 if it cannot be read. */
static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int file_contains(const char *path, const char *needle)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	/* The environment a DVC stage sets would move the output elsewhere. */
	const char *vars[] = { "DVCLIVE_PATH", "DVCLIVE_RESUME", "DVCLIVE_SUMMARY", "LIVE_LAYOUT", "RANK" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
		unsetenv(vars[i]);

	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
	char tmp[1024], dir[1100], path[1200];
	snprintf(tmp, sizeof(tmp), "%s/live-consumer.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("consumer: mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/dvclive", tmp);

	live_options opts = LIVE_OPTIONS_INIT;
	opts.dir = dir;
	opts.html = LIVE_OFF;
	live_run *run = NULL;
	if (call(live_run_open(&run, &opts), "live_run_open") == 0) {
		for (int step = 0; step < 2; step++) {
			call(live_run_log(run, "loss", 1.0 / (step + 1)), "live_run_log loss");
			call(live_run_log(run, "train/acc", 0.5 + 0.25 * step), "live_run_log train/acc");
			call(live_run_next_step(run), "live_run_next_step");
		}
		check(live_run_get_step(run) == 2, "live_run_get_step() == 2 after two steps");
		call(live_run_close(run), "live_run_close");

		snprintf(path, sizeof(path), "%s.json", dir);
		check(file_contains(path, "\"loss\": 0.5"), "dvclive.json holds \"loss\": 0.5");
		check(file_contains(path, "\"acc\": 0.75"), "dvclive.json holds \"acc\": 0.75 under train");
		snprintf(path, sizeof(path), "%s/loss.tsv", dir);
		check(count_lines(path) == 3, "dvclive/loss.tsv has a header and 2 rows");
		snprintf(path, sizeof(path), "%s/train/acc.tsv", dir);
		check(count_lines(path) == 3, "dvclive/train/acc.tsv has a header and 2 rows");
	}
	check(strcmp(live_version_string(), LIVE_VERSION_STRING) == 0,
	      "live_version_string() matches the installed header's LIVE_VERSION_STRING");

	nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (failed)
		return 1;
	printf("consumer ok: live %s (header %s)\n", live_version_string(), LIVE_VERSION_STRING);
	return 0;
}
