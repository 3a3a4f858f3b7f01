/*
 * live init: create .dvc/ as DVC 2.x's `dvc init` does, so that DVC itself
 * (and the tutorial's commands) recognise the repository.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tracker.h"

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return cli_error("cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return cli_error("cannot create %s: %s", path, strerror(errno));
	return 0;
}

int cmd_init(int argc, char **argv)
{
	int force = 0, no_scm = 0, quiet = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--no-scm"))
			no_scm = 1;
		else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = 1;
		else
			return cli_error("live init: unknown option '%s' (expected -f, --no-scm, -q)", argv[i]);
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_error("cannot read the current directory");
	if (!no_scm) {
		tr_git *g;
		if (tr_git_open(".", &g) != 0) {
			/* not a repository: DVC's words; anything else (another user's, unreadable): why */
			if (!strstr(live_errmsg(), "not a git repository"))
				return cli_error("failed to initiate DVC - %s", live_errmsg());
			return cli_error("failed to initiate DVC - '%s' is not tracked by any supported SCM tool "
					 "(e.g. Git). Run `git init` first, or use `--no-scm` to work without git",
					 cwd);
		}
		int at_root = !strcmp(tr_git_root(g), cwd);
		tr_git_free(g);
		if (!at_root)
			return cli_error("failed to initiate DVC - '%s' is not the root of its git repository: "
					 "run `live init` there",
					 cwd);
	}
	struct stat st;
	if (stat(".dvc", &st) == 0 && !force)
		return cli_error("failed to initiate DVC - '.dvc' exists. Use `-f` to force.");
	if (make_dir(".dvc") || make_dir(".dvc/tmp") || make_dir(".dvc/cache") ||
	    write_file(".dvc/config", no_scm ? "[core]\n    no_scm = True\n" : "") ||
	    write_file(".dvc/.gitignore", "/config.local\n/tmp\n/cache\n") ||
	    write_file(".dvcignore", "# Add patterns of files dvc should ignore, which could improve\n"
				     "# the performance. Learn more at\n"
				     "# https://dvc.org/doc/user-guide/dvcignore\n"))
		return 1;
	if (!quiet) {
		printf("Initialized DVC repository.\n\n");
		if (!no_scm)
			printf("You can now commit the changes to git.\n\n"
			       "\tgit add .dvc .dvcignore && git commit -m \"Initialize DVC\"\n");
	}
	return 0;
}
