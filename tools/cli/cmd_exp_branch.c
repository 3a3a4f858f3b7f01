/*
 * live exp branch <exp> <branch>: a git branch at the tip of the experiment
 * that <exp> names or lies on, carrying its whole chain of checkpoint
 * commits (reference/dvc-checkpoints.md 6.5).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_exp_manage.h"

/* The experiment of the hits: the only one, else the only one made from HEAD (as DVC prefers). */
static int pick(tr_git *g, const exp_refs *refs, const unsigned char *hit, int nhits, const char *rev,
                size_t *out)
{
	if (nhits == 0)
		return cli_error("'%s' does not appear to be an experiment commit.", rev);
	char head[41] = "";
	tr_git_head(g, head);
	size_t chosen = 0;
	for (size_t i = 0; i < refs->n; i++) {
		if (hit[i] && (nhits == 1 || !strcmp(refs->v[i].baseline, head)) && !chosen++)
			*out = i;
	}
	if (chosen == 1)
		return 0;
	int is_name = 0;
	for (size_t i = 0; i < refs->n; i++)
		is_name |= hit[i] && !strcmp(refs->v[i].name, rev);
	if (is_name)
		fprintf(stderr,
		        "ERROR: Ambiguous experiment name '%s' can refer to multiple experiments. To create "
		        "a branch use a full experiment ref:\n\n",
		        rev);
	else
		fprintf(stderr,
		        "ERROR: '%s' is in several experiments. To create a branch use a full experiment "
		        "ref:\n\n",
		        rev);
	for (size_t i = 0; i < refs->n; i++)
		if (hit[i])
			fprintf(stderr, "%s\n", refs->v[i].ref);
	return 1;
}

int cmd_exp_branch(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] == '-')
		return cli_error("usage: live exp branch <exp> <branch>");
	const char *rev = argv[1], *branch = argv[2];
	/* By git's rules (libgit2's let a DEL through), before anything is read. */
	if (tr_git_branch_name_check(branch))
		return cli_error("%s", live_errmsg());
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 0))
		return 1;
	tr_git *g = NULL;
	exp_refs refs = {0};
	unsigned char *hit = NULL;
	char sha[41], ref[1024], existing[41];
	int rc = tr_git_open(root, &g);
	if (!rc)
		rc = exp_refs_load(g, &refs);
	if (!rc && !(hit = calloc(refs.n + 1, 1)))
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	int nhits = rc ? 0 : exp_lookup(g, &refs, rev, sha, hit);
	if (!rc && nhits < 0)
		rc = nhits;
	if (rc) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	size_t k = 0;
	if ((rc = pick(g, &refs, hit, nhits, rev, &k)))
		goto out;
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	if (tr_git_ref_get(g, ref, existing) == 0) {
		rc = cli_error("Git branch '%s' already exists.", branch);
		goto out;
	}
	char message[512];
	snprintf(message, sizeof(message), "dvc: Created from experiment '%s'", refs.v[k].name);
	if ((rc = tr_git_branch_create(g, branch, refs.v[k].tip, message))) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	printf("Git branch '%s' has been created from experiment '%s'.\n"
	       "To switch to the new branch run:\n\n\tgit checkout %s\n",
	       branch, refs.v[k].name, branch);
out:
	free(hit);
	exp_refs_free(&refs);
	tr_git_free(g);
	return rc ? 1 : 0;
}
