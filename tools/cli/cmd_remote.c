/*
 * live remote add / live remote list: the DVC remotes of .dvc/config, a
 * DVC-compatible subset of `dvc remote` so that nobody has to edit the file by
 * hand (tracker/remote.c reads and writes it). `live exp push/pull` copy the
 * cache objects of experiments to and from one of them.
 *
 *   live remote add [-d|--default] [-f|--force] [--local] <name> <url>
 *   live remote list
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tracker.h"

int cmd_remote_add(int argc, char **argv)
{
	int make_default = 0, force = 0, local = 0;
	const char *name = NULL, *url = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-d") || !strcmp(a, "--default"))
			make_default = 1;
		else if (!strcmp(a, "-f") || !strcmp(a, "--force"))
			force = 1;
		else if (!strcmp(a, "--local"))
			local = 1;
		else if (!strcmp(a, "--project"))
			local = 0;
		else if (a[0] == '-' && a[1])
			return cli_error("live remote add: unknown option '%s' (expected -d, -f, --local)", a);
		else if (!name)
			name = a;
		else if (!url)
			url = a;
		else
			return cli_error("live remote add: unexpected '%s' (usage: live remote add [-d] [-f] "
			                 "[--local] <name> <url>)",
			                 a);
	}
	if (!name || !url)
		return cli_error("live remote add: name the remote and its url (usage: live remote add [-d] [-f] "
		                 "[--local] <name> <url>)");
	char root[PATH_MAX], cwd[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_error("cannot read the current directory");
	if (tr_remote_config_add(root, cwd, local, name, url, make_default, force))
		return cli_error("%s", live_errmsg());
	if (make_default)
		printf("Setting '%s' as a default remote.\n", name);
	return 0;
}

int cmd_remote_list(int argc, char **argv)
{
	if (argc > 1)
		return cli_error("live remote list: unexpected '%s' (usage: live remote list)", argv[1]);
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	tr_remote_config cfg;
	if (tr_remote_config_load(root, &cfg))
		return cli_error("%s", live_errmsg());
	/* A relative folder is shown resolved, as DVC 2.x shows it. */
	for (size_t i = 0; i < cfg.n; i++)
		if (cfg.v[i].url)
			printf("%s\t%s\n", cfg.v[i].name, cfg.v[i].path ? cfg.v[i].path : cfg.v[i].url);
	tr_remote_config_free(&cfg);
	return 0;
}
