/*
 * live exp list / exp remove, and what the experiment-managing commands
 * share (cmd_exp_manage.h): the experiment refs, which experiment a
 * revision belongs to, the repository lock (reference/dvc-checkpoints.md 1.1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_exp_manage.h"

/* ---- the experiment refs ------------------------------------------------------ */

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* refs/exps/<2 hex>/<38 hex>/<name>, as DVC's ExpRefInfo.from_ref reads it. */
static int parse_exp_ref(const char *ref, char baseline[41], const char **name)
{
	const char *p = ref + strlen("refs/exps/");
	if (strncmp(ref, "refs/exps/", 10) || strlen(p) < 43 || !is_hex(p, 2) || p[2] != '/' ||
	    !is_hex(p + 3, 38) || p[41] != '/' || !p[42] || strchr(p + 42, '/'))
		return 0;
	memcpy(baseline, p, 2);
	memcpy(baseline + 2, p + 3, 38);
	baseline[40] = 0;
	*name = p + 42;
	return 1;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const exp_ref *)a)->ref, ((const exp_ref *)b)->ref);
}

/*
 * The experiment refs among names[i] -> shas[i] (of DVC's shape; exec/,
 * stash and others left out), into out->v, sorted; the names kept are
 * taken (set to NULL in `names`).
 */
static int take_exp_refs(char **names, size_t n, char **shas, exp_refs *out)
{
	out->n = 0;
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v)
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		exp_ref *r = &out->v[out->n];
		const char *name;
		if (!parse_exp_ref(names[i], r->baseline, &name))
			continue;
		r->ref = names[i];
		names[i] = NULL;
		r->name = r->ref + (name - r->ref);
		snprintf(r->tip, sizeof(r->tip), "%s", shas[i]);
		out->n++;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_ref);
	return 0;
}

int exp_refs_from(char **names, char **shas, size_t n, exp_refs *out)
{
	int rc = take_exp_refs(names, n, shas, out);
	tr_strv_free(names, n);
	tr_strv_free(shas, n);
	return rc;
}

/*
 * The experiment refs that lead to commits (tags peeled), and in *bad (when
 * not NULL) those of an experiment's shape that lead to no commit: a blob, a
 * tree, a missing object. Those are no experiments; live never moves or
 * deletes them on its own.
 */
static int load_refs(tr_git *g, exp_refs *out, tr_badref **bad, size_t *nbad)
{
	char **names, **shas;
	tr_badref *b = NULL;
	size_t n, nb = 0;
	out->v = NULL;
	out->n = 0;
	int rc = tr_git_ref_commits_ex(g, "refs/exps/", &names, &shas, &n, &b, &nb);
	if (rc)
		return rc;
	rc = take_exp_refs(names, n, shas, out);
	/* Keep only the bad refs that look like experiments. */
	size_t kept = 0;
	for (size_t i = 0; i < nb; i++) {
		char base[41];
		const char *name;
		if (bad && parse_exp_ref(b[i].name, base, &name)) {
			b[kept++] = b[i];
		} else {
			free(b[i].name);
			free(b[i].msg);
		}
	}
	if (bad && !rc) {
		*bad = b;
		*nbad = kept;
	} else {
		tr_badrefs_free(b, kept);
	}
	tr_strv_free(names, n);
	tr_strv_free(shas, n);
	if (rc)
		exp_refs_free(out);
	return rc;
}

int exp_refs_load(tr_git *g, exp_refs *out)
{
	return load_refs(g, out, NULL, NULL);
}

void exp_refs_free(exp_refs *r)
{
	for (size_t i = 0; r->v && i < r->n; i++)
		free(r->v[i].ref);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

int exp_ref_contains(tr_git *g, const exp_ref *r, const char *sha)
{
	if (!strcmp(sha, r->baseline))
		return 0;
	int below_tip = tr_git_descends(g, r->tip, sha);
	if (below_tip <= 0)
		return below_tip;
	int in_baseline = tr_git_descends(g, r->baseline, sha);
	return in_baseline < 0 ? in_baseline : !in_baseline;
}

int exp_lookup(tr_git *g, const exp_refs *all, const char *rev, char sha[41], unsigned char *hit)
{
	int count = 0;
	char head[41] = "";
	tr_git_head(g, head);
	if (!strncmp(rev, "refs/exps/", 10)) {
		for (size_t i = 0; i < all->n; i++)
			if (!strcmp(all->v[i].ref, rev)) {
				memcpy(sha, all->v[i].tip, 41);
				hit[i] = 1;
				return 1;
			}
		/* Not an experiment: say what it is if git knows it (a ref to a blob, ...). */
		int rc = tr_git_resolve(g, rev, sha);
		return rc ? rc : live__fail(LIVE_ENOTFOUND, "'%s' is not an experiment ref", rev);
	}
	/* An experiment name; with several, the tip of the one made from HEAD. */
	for (size_t i = 0; i < all->n; i++) {
		if (strcmp(all->v[i].name, rev))
			continue;
		if (!count++ || !strcmp(all->v[i].baseline, head))
			memcpy(sha, all->v[i].tip, 41);
		hit[i] = 1;
	}
	if (count)
		return count;
	int rc = tr_git_resolve(g, rev, sha);
	if (rc)
		return rc;
	for (size_t i = 0; i < all->n; i++) {
		int in = exp_ref_contains(g, &all->v[i], sha);
		if (in < 0)
			return in;
		hit[i] = (unsigned char)in;
		count += in;
	}
	return count;
}

int exp_is_result_path(const tr_pipeline *p, const char *path)
{
	size_t pl = strlen(path);
	if (!strcmp(path, "dvc.lock") || !strcmp(path, ".gitignore") ||
	    (pl >= 11 && !strcmp(path + pl - 11, "/.gitignore")))
		return 1;
	for (size_t i = 0; p && i < p->n; i++) {
		const tr_stage *s = &p->stages[i];
		for (size_t k = 0; k < s->nouts; k++) {
			const char *o = s->outs[k].path;
			size_t n = strlen(o);
			if (strncmp(path, o, n))
				continue;
			if (path[n] == 0 || path[n] == '/')
				return 1;
			if (s->outs[k].kind == TR_LIVE &&
			    (!strcmp(path + n, ".json") || !strcmp(path + n, ".html")))
				return 1;
		}
	}
	return 0;
}

int exp_lock_repo(const char *root, int *fd_out)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/.dvc/tmp", root);
	mkdir(path, 0755); /* git ignores .dvc/tmp: a fresh clone has none */
	snprintf(path, sizeof(path), "%s/.dvc/tmp/live-exp-run.lock", root);
	*fd_out = -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return cli_error("cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char who[64] = "";
		ssize_t n = pread(fd, who, sizeof(who) - 1, 0);
		who[n > 0 ? n : 0] = 0;
		who[strcspn(who, "\n")] = 0;
		close(fd);
		return cli_error("a `live exp run` (%s) is running in this repository (lock: "
		                 ".dvc/tmp/live-exp-run.lock); wait for it or stop it first",
		                 who[0] ? who : "pid unknown");
	}
	*fd_out = fd;
	return 0;
}

/* 1 if `sha` lies on an experiment that `removed` marks (want 1) or does not mark (want 0). */
static int on_experiments(tr_git *g, const exp_refs *all, const unsigned char *removed, int want,
                          const char *sha)
{
	for (size_t i = 0; i < all->n; i++)
		if (!!removed[i] == want && exp_ref_contains(g, &all->v[i], sha) == 1)
			return 1;
	return 0;
}

int exp_clear_exec_refs(tr_git *g, const exp_refs *all, const unsigned char *removed)
{
	static const char *const refs[] = {EXP_EXEC "EXEC_APPLY", EXP_EXEC "EXEC_CHECKPOINT"};
	for (size_t k = 0; k < 2; k++) {
		char sha[41];
		if (tr_git_ref_get(g, refs[k], sha) != 0)
			continue;
		if (on_experiments(g, all, removed, 1, sha) && !on_experiments(g, all, removed, 0, sha)) {
			int rc = tr_git_ref_delete(g, refs[k]);
			if (rc)
				return rc;
		}
	}
	/* A symbolic EXEC_BRANCH whose experiment is gone (a run holds the lock while it lives). */
	char sha[41];
	if (tr_git_ref_get(g, EXP_EXEC "EXEC_BRANCH", sha) != 0)
		return tr_git_ref_delete(g, EXP_EXEC "EXEC_BRANCH");
	return 0;
}

/* ---- live exp list ------------------------------------------------------------- */

/*
 * How `dvc exp list` names a baseline: the first ref under refs/tags/ that
 * points at it, printed whole ("refs/tags/v1", as DVC's scm.describe returns
 * it); else a branch at it, by the last part of its name; else its sha7.
 * Refs are compared unpeeled, as DVC does, so an annotated tag never matches.
 */
static void baseline_label(tr_git *g, const char *baseline, char *out, size_t size)
{
	static const char *const prefixes[] = {"refs/tags/", "refs/heads/"};
	snprintf(out, size, "%.7s", baseline);
	for (size_t k = 0; k < 2; k++) {
		char **names, **shas;
		size_t n;
		if (tr_git_refs_under(g, prefixes[k], &names, &shas, &n) != 0)
			continue;
		int found = 0;
		for (size_t i = 0; !found && i < n; i++) {
			if (strcmp(shas[i], baseline))
				continue;
			snprintf(out, size, "%s", k == 0 ? names[i] : strrchr(names[i], '/') + 1);
			found = 1;
		}
		tr_strv_free(names, n);
		tr_strv_free(shas, n);
		if (found)
			return;
	}
}

int cmd_exp_list(int argc, char **argv)
{
	int all = 0, names_only = 0;
	const char *rev = NULL, *git_remote = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all") || !strcmp(argv[i], "-A"))
			all = 1;
		else if (!strcmp(argv[i], "--names-only"))
			names_only = 1;
		else if (!strcmp(argv[i], "--rev") && i + 1 < argc)
			rev = argv[++i];
		else if (argv[i][0] != '-' && !git_remote)
			git_remote = argv[i]; /* list that Git remote's experiments */
		else
			return cli_error("live exp list: unknown option '%s' (expected --all, --names-only, "
			                 "--rev <rev>, a Git remote)",
			                 argv[i]);
	}
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 0))
		return 1;
	tr_git *g = NULL;
	exp_refs refs = {0};
	tr_badref *bad = NULL;
	size_t nbad = 0;
	char want[41] = "";
	int rc = tr_git_open(root, &g);
	if (!rc && !all)
		rc = rev ? tr_git_resolve(g, rev, want) : tr_git_head(g, want);
	if (!rc)
		rc = git_remote ? exp_refs_load_remote(g, git_remote, &refs) : load_refs(g, &refs, &bad, &nbad);
	if (rc) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	for (size_t i = 0; i < nbad; i++)
		fprintf(stderr, "WARNING: %s: not an experiment, not listed\n", bad[i].msg);
	/* Baselines in ref order (their sha), each with its experiments' names. */
	const char *shown = NULL;
	for (size_t i = 0; i < refs.n; i++) {
		const exp_ref *r = &refs.v[i];
		if (!all && strcmp(r->baseline, want))
			continue;
		if (!names_only && (!shown || strcmp(shown, r->baseline))) {
			char label[256];
			baseline_label(g, r->baseline, label, sizeof(label));
			printf("%s:\n", label);
		}
		shown = r->baseline;
		printf("%s%s\n", names_only ? "" : "\t", r->name);
	}
out:
	tr_badrefs_free(bad, nbad);
	exp_refs_free(&refs);
	tr_git_free(g);
	return rc ? 1 : 0;
}

/* ---- live exp remove ------------------------------------------------------------ */

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/*
 * Mark the experiment named `name` (or the full ref): one made from HEAD when
 * several share it. A ref of that name that leads to no commit is refused:
 * it is no experiment, and only the user knows what it holds.
 */
static int mark_by_name(tr_git *g, const exp_refs *refs, const tr_badref *bad, size_t nbad, const char *name,
                        unsigned char *removed)
{
	char head[41] = "";
	tr_git_head(g, head);
	size_t count = 0, pick = 0, from_head = 0;
	for (size_t i = 0; i < refs->n; i++) {
		const exp_ref *r = &refs->v[i];
		if (strcmp(r->ref, name) && strcmp(r->name, name))
			continue;
		if (!strcmp(r->baseline, head)) {
			if (!from_head++)
				pick = i;
		} else if (!count && !from_head) {
			pick = i;
		}
		count++;
	}
	for (size_t i = 0; count == 0 && i < nbad; i++) {
		const char *last = strrchr(bad[i].name, '/') + 1;
		if (strcmp(bad[i].name, name) && strcmp(last, name))
			continue;
		if (has_control(bad[i].name))
			return cli_error("%s: not an experiment, so not removed", bad[i].msg);
		return cli_error("%s: not an experiment, so not removed (delete the ref with `git "
		                 "update-ref -d %s` if you do not need it)",
		                 bad[i].msg, bad[i].name);
	}
	if (count == 0)
		return cli_error("'%s' is not a valid experiment name", name);
	if (count > 1 && from_head != 1) {
		fprintf(stderr,
		        "ERROR: Ambiguous name '%s' refers to multiple experiments. Use full refname to "
		        "remove it:\n\n",
		        name);
		for (size_t i = 0; i < refs->n; i++)
			if (!strcmp(refs->v[i].name, name))
				fprintf(stderr, "%s\n", refs->v[i].ref);
		return 1;
	}
	removed[pick] = 1;
	return 0;
}

int cmd_exp_remove(int argc, char **argv)
{
	int all = 0, nnames = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all") || !strcmp(argv[i], "-A"))
			all = 1;
		else if (argv[i][0] == '-')
			return cli_error(
			        "live exp remove: unknown option '%s' (expected experiment names, or --all)",
			        argv[i]);
		else
			nnames++;
	}
	if (!all && !nnames)
		return cli_error("live exp remove: name the experiments to remove (or --all)");
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	int lockfd = -1;
	if (exp_lock_repo(root, &lockfd))
		return 1;
	tr_git *g = NULL;
	exp_refs refs = {0};
	tr_badref *bad = NULL;
	size_t nbad = 0;
	unsigned char *removed = NULL;
	int rc = tr_git_open(root, &g);
	if (!rc)
		rc = load_refs(g, &refs, &bad, &nbad);
	if (!rc && !(removed = calloc(refs.n + 1, 1)))
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	if (rc) {
		cli_error("%s", live_errmsg());
		goto out;
	}
	/* Every name is checked before any ref goes. */
	for (int i = 1; i < argc && !rc; i++)
		if (argv[i][0] != '-')
			rc = mark_by_name(g, &refs, bad, nbad, argv[i], removed);
	for (size_t i = 0; !rc && all && i < refs.n; i++)
		removed[i] = 1;
	for (size_t i = 0; !rc && all && i < nbad; i++)
		fprintf(stderr, "WARNING: %s: not an experiment, left alone\n", bad[i].msg);
	if (rc)
		goto out;
	live__buf names = {0};
	for (size_t i = 0; !rc && i < refs.n; i++) {
		if (!removed[i])
			continue;
		rc = tr_git_ref_delete(g, refs.v[i].ref);
		if (!rc && names.len)
			rc = live__buf_append(&names, ", ", 2);
		if (!rc)
			rc = live__buf_append(&names, refs.v[i].name, strlen(refs.v[i].name));
	}
	if (!rc)
		rc = exp_clear_exec_refs(g, &refs, removed);
	if (!rc && names.len)
		printf("Removed experiments: %.*s\n", (int)names.len, names.data);
	else if (!rc)
		printf("No experiments to remove.\n");
	live__buf_free(&names);
	if (rc)
		cli_error("%s", live_errmsg());
out:
	free(removed);
	tr_badrefs_free(bad, nbad);
	exp_refs_free(&refs);
	tr_git_free(g);
	if (lockfd >= 0)
		close(lockfd);
	return rc ? 1 : 0;
}

int exp_parse_dvc_bytes(const live__buf *b, const char *tag, tr_pipeline *p, tr_lock *l)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), ".dvc/tmp/live-%.200s-%ld", tag, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return live__fail_errno(LIVE_EIO, errno, "%s", tmp);
	size_t w = b->len ? fwrite(b->data, 1, b->len, f) : 0;
	int rc = 0;
	if ((fclose(f) != 0 || w != b->len))
		rc = live__fail_errno(LIVE_EIO, errno, "%s: write", tmp);
	if (!rc)
		rc = p ? tr_dvcyaml_load(tmp, p) : tr_lock_load(tmp, l);
	unlink(tmp);
	return rc;
}
