/*
 * live exp gc: remove the experiments whose baseline is not kept
 * (reference/dvc-checkpoints.md 6.4). The keep set is HEAD, plus branch
 * tips (-a), tags (-T) or every commit of the branches, tags and remotes
 * (-A). Their commits become unreachable; git's own gc drops them later.
 *
 * DVC leaves the cache alone and points to `dvc gc`. live has no `gc`
 * command, so `--cache` does that part: it removes the cache objects that no
 * dvc.lock or .dvc file names, among the workspace's and those in every
 * commit reachable from HEAD, the remaining experiments (and the branches,
 * tags, or all refs with -a, -T, -A).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_exp_manage.h"

typedef struct gc_opts {
	int workspace, branches, tags, commits, force, cache;
} gc_opts;

/* A list of 40-hex commit ids. */
typedef struct shas {
	char (*v)[41];
	size_t n, cap;
} shas;

static int shas_add(shas *s, const char *sha)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		char(*v)[41] = realloc(s->v, s->cap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		s->v = v;
	}
	snprintf(s->v[s->n++], 41, "%s", sha);
	return 0;
}

static int shas_has(const shas *s, const char *sha)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], sha))
			return 1;
	return 0;
}

/*
 * The commits every ref under `prefix` leads to (tags peeled). A ref to a
 * blob or a tree keeps no experiment; a ref whose object is missing might
 * keep any, so then nothing is removed.
 */
static int add_ref_tips(tr_git *g, const char *prefix, shas *out)
{
	char **names, **targets;
	tr_badref *bad;
	size_t n, nbad;
	int rc = tr_git_ref_commits_ex(g, prefix, &names, &targets, &n, &bad, &nbad);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < n; i++)
		rc = shas_add(out, targets[i]);
	for (size_t i = 0; !rc && i < nbad; i++)
		if (bad[i].kind == TR_BADREF_MISSING)
			rc = live__fail(LIVE_EGIT,
			                "%s: live exp gc cannot tell which experiments it keeps, so it "
			                "removes nothing",
			                bad[i].msg);
	tr_strv_free(names, n);
	tr_strv_free(targets, n);
	tr_badrefs_free(bad, nbad);
	return rc;
}

/* HEAD and the refs the flags name: the commits whose experiments (and cache) stay. */
static int keep_tips(tr_git *g, const gc_opts *o, shas *tips)
{
	char head[41];
	int rc = tr_git_head(g, head);
	if (!rc)
		rc = shas_add(tips, head);
	if (!rc && (o->branches || o->commits))
		rc = add_ref_tips(g, "refs/heads/", tips);
	if (!rc && (o->tags || o->commits))
		rc = add_ref_tips(g, "refs/tags/", tips);
	if (!rc && o->commits)
		rc = add_ref_tips(g, "refs/remotes/", tips);
	return rc;
}

/*
 * What lies under refs/exps/ (experiments, EXEC_*, DVC's stash), peeled to
 * commits. A ref there that leads to no commit is never removed: each is
 * named in a warning (not a dangling EXEC_BRANCH, which a killed run leaves
 * and gc clears). With --cache, one whose object is missing stops gc before
 * it removes anything: the cache files it needs cannot be known.
 */
typedef struct under_exps {
	char **names, **tips;
	size_t n;
	int stash; /* refs/exps/stash leads to a commit: DVC's queue, removed by gc */
} under_exps;

static int load_under_exps(tr_git *g, const gc_opts *o, under_exps *u)
{
	tr_badref *bad;
	size_t nbad;
	int rc = tr_git_ref_commits_ex(g, "refs/exps/", &u->names, &u->tips, &u->n, &bad, &nbad);
	if (rc)
		return rc;
	for (size_t i = 0; i < u->n; i++)
		u->stash |= !strcmp(u->names[i], "refs/exps/stash");
	for (size_t i = 0; !rc && i < nbad; i++) {
		if (o->cache && bad[i].kind == TR_BADREF_MISSING)
			rc = live__fail(LIVE_EGIT,
			                "%s: live exp gc --cache cannot tell which cache files it needs, so "
			                "it removes nothing",
			                bad[i].msg);
	}
	for (size_t i = 0; !rc && i < nbad; i++) {
		if (bad[i].kind != TR_BADREF_DANGLING || strncmp(bad[i].name, EXP_EXEC, strlen(EXP_EXEC)))
			fprintf(stderr, "WARNING: %s: not an experiment, left alone\n", bad[i].msg);
	}
	tr_badrefs_free(bad, nbad);
	return rc;
}

static void under_exps_free(under_exps *u)
{
	tr_strv_free(u->names, u->n);
	tr_strv_free(u->tips, u->n);
}

/* 1 if an experiment made from `baseline` stays. */
static int kept(tr_git *g, const gc_opts *o, const shas *tips, const char *baseline)
{
	if (!o->commits)
		return shas_has(tips, baseline);
	for (size_t i = 0; i < tips->n; i++)
		if (tr_git_descends(g, tips->v[i], baseline) == 1)
			return 1;
	return 0;
}

/* ---- the cache ------------------------------------------------------------------- */

/* The md5s still named somewhere: sorted, unique once gc_cache sorts them. */
typedef struct md5s {
	char (*v)[37];
	size_t n, cap;
	const char *root;
} md5s;

static int md5s_add(md5s *s, const char *md5)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		char(*v)[37] = realloc(s->v, s->cap * sizeof(*v));
		if (!v)
			return live__fail(LIVE_ENOMEM, "out of memory");
		s->v = v;
	}
	snprintf(s->v[s->n++], 37, "%s", md5);
	return 0;
}

static int is_hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * Every "md5: <hash>" of a dvc.lock or .dvc file, and for a folder the files
 * of its manifest. The text is scanned rather than parsed so that any such
 * file counts, whatever else it holds: a line that only looks like a hash can
 * keep an object too many, never remove one too many.
 */
static int collect_md5s(const char *rel, const void *data, size_t len, void *ctx)
{
	md5s *s = ctx;
	const char *p = data, *end = p + len;
	for (; p + 4 < end; p++) {
		if (memcmp(p, "md5:", 4) != 0)
			continue;
		const char *h = p + 4;
		while (h < end && (*h == ' ' || *h == '\'' || *h == '"'))
			h++;
		size_t n = 0;
		while (h + n < end && n < 32 && is_hexdigit(h[n]))
			n++;
		if (n != 32 || (h + n < end && is_hexdigit(h[n])))
			continue;
		char md5[37];
		int dir = h + 36 <= end && !memcmp(h + 32, ".dir", 4);
		snprintf(md5, sizeof(md5), "%.32s%s", h, dir ? ".dir" : "");
		int rc = md5s_add(s, md5);
		if (rc)
			return rc;
		if (!dir)
			continue;
		tr_manifest m;
		char show[PATH_MAX];
		snprintf(show, sizeof(show), "a folder of %s", rel);
		rc = tr_cache_read_manifest(s->root, show, md5, &m);
		if (rc == LIVE_ENOTFOUND)
			continue; /* already gone: nothing of it to keep */
		if (rc) { /* unreadable: what it lists cannot be told, so nothing is removed */
			char why[1024];
			snprintf(why, sizeof(why), "%s", live_errmsg());
			return live__fail(rc, "%s; nothing removed from the cache", why);
		}
		for (size_t i = 0; !rc && i < m.n; i++)
			rc = md5s_add(s, m.entries[i].md5);
		tr_manifest_free(&m);
		if (rc)
			return rc;
	}
	return 0;
}

static int cmp_md5(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The workspace's dvc.lock and .dvc files, as they are on disk now. */
static int collect_workspace(tr_git *g, md5s *keep)
{
	char **paths = NULL;
	size_t n = 0;
	int rc = tr_git_worktree_dvc_files(g, &paths, &n);
	for (size_t i = 0; !rc && i <= n; i++) {
		/* dvc.lock is usually ignored by no one but untracked: read it in any case. */
		const char *rel = i < n ? paths[i] : "dvc.lock";
		FILE *f = fopen(rel, "rb");
		if (!f)
			continue;
		live__buf b = {0};
		char chunk[65536];
		size_t got;
		while (!rc && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			rc = live__buf_append(&b, chunk, got);
		if (!rc && ferror(f))
			rc = live__fail_errno(LIVE_EIO, errno, "%s: read", rel);
		fclose(f);
		if (!rc)
			rc = collect_md5s(rel, b.data ? b.data : "", b.len, keep);
		live__buf_free(&b);
	}
	tr_strv_free(paths, n);
	return rc;
}

/* Remove the objects of .dvc/cache/<2>/<30> that `keep` does not name. */
static int sweep(const char *root, const md5s *keep, size_t *removed, long long *bytes)
{
	char dir[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/.dvc/cache", root);
	DIR *top = opendir(dir);
	if (!top)
		return errno == ENOENT ? 0 : live__fail_errno(LIVE_EIO, errno, "%s", dir);
	int rc = 0;
	struct dirent *d;
	while (!rc && (d = readdir(top))) {
		if (strlen(d->d_name) != 2 || !is_hexdigit(d->d_name[0]) || !is_hexdigit(d->d_name[1]))
			continue;
		char sub[PATH_MAX + 64];
		snprintf(sub, sizeof(sub), "%s/%.2s", dir, d->d_name);
		DIR *s = opendir(sub);
		if (!s)
			continue;
		struct dirent *o;
		while (!rc && (o = readdir(s))) {
			size_t n = strlen(o->d_name), k = 0;
			while (k < n && is_hexdigit(o->d_name[k]))
				k++;
			if (k != 30 || (n != 30 && strcmp(o->d_name + 30, ".dir")))
				continue; /* not an object: a temp file of a copy in progress, or not ours */
			char md5[40];
			snprintf(md5, sizeof(md5), "%.2s%.34s", d->d_name, o->d_name);
			if (bsearch(md5, keep->v, keep->n, sizeof(*keep->v), cmp_md5))
				continue;
			char path[PATH_MAX + 128];
			struct stat st;
			snprintf(path, sizeof(path), "%s/%.34s", sub, o->d_name);
			if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
				continue;
			if (unlink(path) != 0 && errno != ENOENT) {
				rc = live__fail_errno(LIVE_EIO, errno, "%s", path);
			} else {
				(*removed)++;
				*bytes += st.st_size;
			}
		}
		closedir(s);
	}
	closedir(top);
	return rc;
}

static int gc_cache(tr_git *g, const char *root, const gc_opts *o)
{
	md5s keep = {.root = root};
	shas tips = {0};
	under_exps left = {0};
	int rc = keep_tips(g, o, &tips);
	/* What is left under refs/exps/: the experiments, EXEC_*, DVC's stash. (load_under_exps
	 * refused a ref with a missing object; one to a blob or a tree names no dvc.lock.) */
	if (!rc)
		rc = tr_git_ref_commits(g, "refs/exps/", &left.names, &left.tips, &left.n);
	for (size_t i = 0; !rc && i < left.n; i++)
		rc = shas_add(&tips, left.tips[i]);
	under_exps_free(&left);
	if (!rc) {
		char **list = malloc((tips.n ? tips.n : 1) * sizeof(*list));
		if (!list)
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		for (size_t i = 0; list && i < tips.n; i++)
			list[i] = tips.v[i];
		if (list)
			rc = tr_git_each_dvc_file(g, list, tips.n, collect_md5s, &keep);
		free(list);
	}
	if (!rc)
		rc = collect_workspace(g, &keep);
	size_t removed = 0;
	long long bytes = 0;
	if (!rc) {
		qsort(keep.v, keep.n, sizeof(*keep.v), cmp_md5);
		rc = sweep(root, &keep, &removed, &bytes);
	}
	if (!rc && removed)
		printf("Removed %zu objects (%lld bytes) from the cache.\n", removed, bytes);
	else if (!rc)
		printf("No unused cache to remove.\n");
	free(keep.v);
	free(tips.v);
	return rc;
}

/* ---- the command ------------------------------------------------------------------- */

static int parse(int argc, char **argv, gc_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--workspace"))
			o->workspace = 1;
		else if (!strcmp(a, "--all-branches"))
			o->branches = 1;
		else if (!strcmp(a, "--all-tags"))
			o->tags = 1;
		else if (!strcmp(a, "--all-commits"))
			o->commits = 1;
		else if (!strcmp(a, "--force"))
			o->force = 1;
		else if (!strcmp(a, "--cache"))
			o->cache = 1;
		else if (a[0] == '-' && a[1] != '-' && a[1]) {
			for (const char *c = a + 1; *c; c++) {
				switch (*c) {
				case 'w': o->workspace = 1; break;
				case 'a': o->branches = 1; break;
				case 'T': o->tags = 1; break;
				case 'A': o->commits = 1; break;
				case 'f': o->force = 1; break;
				default: return cli_error("live exp gc: unknown option '-%c'", *c);
				}
			}
		} else {
			return cli_error(
			        "live exp gc: unknown option '%s' (expected -w, -a, -T, -A, -f, --cache)", a);
		}
	}
	if (!o->workspace && !o->branches && !o->tags && !o->commits)
		return cli_error("Either of `-w|--workspace`, `-a|--all-branches`, `-T|--all-tags` or "
		                 "`-A|--all-commits` needs to be set.");
	return 0;
}

/* DVC's warning, and its question unless --force. 0 to go on. */
static int confirm(const gc_opts *o)
{
	const char *more = o->commits               ? " and all git commits"
	                   : o->branches && o->tags ? " and all git branches and tags"
	                   : o->branches            ? " and all git branches"
	                   : o->tags                ? " and all git tags"
	                                            : "";
	fprintf(stderr,
	        "WARNING: This will remove all experiments except those derived from the workspace%s of the "
	        "current repo.\n",
	        more);
	if (o->force)
		return 0;
	if (!isatty(STDIN_FILENO))
		return cli_error(
		        "cannot remove experiments without a confirmation from the user. Use `-f` to "
		        "force.");
	for (;;) {
		char line[64];
		fprintf(stderr, "Are you sure you want to proceed? [y/n] ");
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin))
			break;
		line[strcspn(line, "\r\n")] = 0;
		if (!strcmp(line, "y") || !strcmp(line, "yes"))
			return 0;
		if (!strcmp(line, "n") || !strcmp(line, "no"))
			break;
	}
	return cli_error(
	        "cannot remove experiments without a confirmation from the user. Use `-f` to force.");
}

int cmd_exp_gc(int argc, char **argv)
{
	gc_opts o = {0};
	if (parse(argc, argv, &o) || confirm(&o))
		return 1;
	char root[PATH_MAX];
	if (cli_find_root(root, sizeof(root), 1))
		return 1;
	if (chdir(root) != 0)
		return cli_error("cannot enter %s: %s", root, strerror(errno));
	int lockfd = -1;
	if (exp_lock_repo(root, &lockfd))
		return 1;
	tr_git *g = NULL;
	exp_refs refs = {0};
	under_exps under = {0};
	shas tips = {0};
	unsigned char *removed = NULL;
	size_t count = 0;
	int rc = tr_git_open(root, &g);
	if (!rc)
		rc = keep_tips(g, &o, &tips);
	if (!rc)
		rc = load_under_exps(g, &o, &under);
	if (!rc)
		rc = exp_refs_load(g, &refs);
	if (!rc && !(removed = calloc(refs.n + 1, 1)))
		rc = live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < refs.n; i++) {
		if (kept(g, &o, &tips, refs.v[i].baseline))
			continue;
		rc = tr_git_ref_delete(g, refs.v[i].ref);
		removed[i] = 1;
		count++;
	}
	/* DVC's queue of experiments not yet run: every entry goes (as without --queued). */
	if (!rc && under.stash) {
		size_t entries = 0;
		tr_git_reflog_count(g, "refs/exps/stash", &entries);
		rc = tr_git_ref_delete(g, "refs/exps/stash");
		count += entries ? entries : 1;
	}
	if (!rc)
		rc = exp_clear_exec_refs(g, &refs, removed);
	if (!rc && count)
		printf("Removed %zu experiments.%s\n", count,
		       o.cache ? "" : " To remove unused cache files use 'live exp gc --cache'.");
	else if (!rc)
		printf("No experiments to remove.\n");
	if (!rc && o.cache)
		rc = gc_cache(g, root, &o);
	if (rc)
		cli_error("%s", live_errmsg());
	free(removed);
	free(tips.v);
	under_exps_free(&under);
	exp_refs_free(&refs);
	tr_git_free(g);
	close(lockfd);
	return rc ? 1 : 0;
}
