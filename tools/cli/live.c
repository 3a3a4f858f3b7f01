/*
 * live: the command line of the DVC 2.x checkpoints tutorial, with `live` in
 * place of `dvc`. Each command is a file cmd_<name>.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "live.h"

int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ERROR: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

int cli_error_live(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ERROR: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", live_errmsg());
	va_end(ap);
	return 1;
}

int cli_find_root(char *root, size_t size, int need_dvc)
{
	if (!getcwd(root, size))
		return cli_error("cannot read the current directory");
	char probe[PATH_MAX + 16];
	for (;;) {
		struct stat st;
		snprintf(probe, sizeof(probe), "%s/%s", root, need_dvc ? ".dvc" : ".git");
		if (stat(probe, &st) == 0)
			return 0;
		/* A folder this user may not search hides what is there: say so, not "not a repository". */
		if (errno != ENOENT && errno != ENOTDIR)
			return cli_error("cannot look for %s: %s", probe, strerror(errno));
		char *slash = strrchr(root, '/');
		if (!slash || slash == root)
			break;
		*slash = 0;
	}
	if (need_dvc)
		return cli_error("you are not inside of a DVC repository (checked up to mount point '/'): "
				 "run `live init` first");
	return cli_error("not a git repository: run `git init` first");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: live <command> [options]\n\n"
		   "commands:\n"
		   "  init                 create .dvc/ in a git repository\n"
		   "  stage add            add a stage to dvc.yaml\n"
		   "  exp run              run the pipeline; a checkpoint commit at every step\n"
		   "  exp show             the experiments and their checkpoints, as a table\n"
		   "  exp apply <exp>      restore a checkpoint into the workspace\n"
		   "  exp branch <exp> <b> make a git branch from an experiment\n"
		   "  exp gc, list, remove tidy up experiments\n"
		   "  exp push/pull <git>  share experiments through a git remote and a cache remote\n"
		   "  remote add/list      the cache remotes of .dvc/config\n"
		   "  metrics show/diff    the metrics of revisions, and how they changed\n"
		   "  params diff          how the params changed between revisions\n"
		   "  plots show/diff      plots of the workspace or of revisions, as plots.html\n"
		   "  version              print the version\n");
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * Under ASan (the sanitized test build): libgit2 1.5 (Debian 12) leaks pcre2
 * match data when it parses a remote's URL (fixed in libgit2 1.6, #6382).
 * Nothing of ours uses pcre2; a leak of our own still fails the tests.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}
#endif

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("live %s\n", live_version_string());
		return 0;
	}
	if (!strcmp(cmd, "init"))
		return cmd_init(argc - 1, argv + 1);
	static const struct {
		const char *group, *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "stage", "add", cmd_stage_add },     { "exp", "run", cmd_exp_run },
		{ "exp", "show", cmd_exp_show },       { "exp", "apply", cmd_exp_apply },
		{ "exp", "branch", cmd_exp_branch },   { "exp", "gc", cmd_exp_gc },
		{ "exp", "list", cmd_exp_list },       { "exp", "remove", cmd_exp_remove },
		{ "metrics", "show", cmd_metrics_show }, { "metrics", "diff", cmd_metrics_diff },
		{ "params", "diff", cmd_params_diff }, { "plots", "show", cmd_plots_show },
		{ "plots", "diff", cmd_plots_diff },
		{ "exp", "push", cmd_exp_push },       { "exp", "pull", cmd_exp_pull },
		{ "remote", "add", cmd_remote_add },   { "remote", "list", cmd_remote_list },
	};
	for (size_t i = 0; argc >= 3 && i < sizeof(cmds) / sizeof(*cmds); i++)
		if (!strcmp(cmd, cmds[i].group) && !strcmp(argv[2], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "ERROR: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
