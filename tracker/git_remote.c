/*
 * Git remotes for `live exp push/pull/list <remote>` (issue #8): experiment
 * refs travel through libgit2's transports (a local path, file://, git://,
 * ssh, https). Nothing here moves a local ref: the caller compares the
 * remote's refs with its own and decides, so that a diverged experiment is
 * reported by name and the others still travel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "git_internal.h"

struct tr_git_remote {
	tr_git *g;
	git_remote *remote;
	char *label;    /* "'origin' (url)" or "'url'" */
	int auth_tries; /* the credentials callback answers once per connection */
	/* during a push */
	char *const *refs;
	size_t nrefs;
	char **rejected;
	long long sent;
};

/* The local folder a URL names ("/srv/x.git", "file:///srv/x.git"), or NULL. */
static const char *local_path(const char *url)
{
	if (url && !strncmp(url, "file://", 7))
		return url + 7;
	return url && url[0] == '/' ? url : NULL;
}

/*
 * One line: "Git remote <label>: <libgit2's message>". libgit2 calls a local
 * path that does not exist an "unsupported URL protocol": say what it is.
 */
static int fail_remote(const tr_git_remote *r)
{
	const char *path = local_path(git_remote_url(r->remote));
	struct stat st;
	if (path && stat(path, &st) != 0)
		return live__fail(LIVE_EGIT, "Git remote %s: %s: %s", r->label, path, strerror(errno));
	const git_error *e = git_error_last();
	char why[512];
	snprintf(why, sizeof(why), "%s", e && e->message && *e->message ? e->message : "libgit2 error");
	for (char *p = why; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(why);
	while (n > 0 && (why[n - 1] == ' ' || why[n - 1] == '.'))
		why[--n] = 0;
	return live__fail(LIVE_EGIT, "Git remote %s: %s", r->label, why);
}

static int fail_git(const char *what)
{
	const git_error *e = git_error_last();
	return live__fail(LIVE_EGIT, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* ---- naming the remote -------------------------------------------------------- */

/* "scheme://..." */
static int has_scheme(const char *s)
{
	const char *p = strstr(s, "://");
	if (!p || p == s)
		return 0;
	for (const char *c = s; c < p; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '+' || *c == '-' || *c == '.'))
			return 0;
	return 1;
}

/* git's scp-like syntax, [user@]host:path: a ':' before any '/'. */
static int is_scp_like(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');
	return colon && colon != s && (!slash || colon < slash);
}

/* A local path that is not absolute: git takes it from the work tree's root. */
static int is_relative_path(const char *url)
{
	return url && *url && url[0] != '/' && !has_scheme(url) && !is_scp_like(url);
}

/* Point a named remote whose URL is a relative path at <root>/<url> for this process. */
static int anchor_relative_urls(tr_git_remote *r)
{
	const char *urls[2] = {git_remote_url(r->remote), git_remote_pushurl(r->remote)};
	for (int k = 0; k < 2; k++) {
		if (!is_relative_path(urls[k]))
			continue;
		size_t n = strlen(r->g->root) + strlen(urls[k]) + 2;
		char *abs = malloc(n);
		if (!abs)
			return live__fail(LIVE_ENOMEM, "out of memory");
		snprintf(abs, n, "%s/%s", r->g->root, urls[k]);
		int gerr = k == 0 ? git_remote_set_instance_url(r->remote, abs)
		                  : git_remote_set_instance_pushurl(r->remote, abs);
		free(abs);
		if (gerr)
			return fail_remote(r);
	}
	return 0;
}

int tr_git_remote_open(tr_git *g, const char *spec, tr_git_remote **out)
{
	*out = NULL;
	if (!spec || !*spec)
		return live__fail(LIVE_EINVALID, "no Git remote given");
	tr_git_remote *r = calloc(1, sizeof(*r));
	if (!r)
		return live__fail(LIVE_ENOMEM, "out of memory");
	r->g = g;
	/* A configured remote first, as git does; then a URL or a path. */
	int url = 1, gerr = 0, rc = 0;
	if (!has_scheme(spec) && !strchr(spec, '/')) {
		gerr = git_remote_lookup(&r->remote, g->repo, spec);
		if (gerr == 0)
			url = 0;
		else if (gerr == GIT_ENOTFOUND || gerr == GIT_EINVALIDSPEC)
			git_error_clear();
		else
			rc = fail_git(spec);
	}
	struct stat st;
	if (!rc && url && !has_scheme(spec) && !is_scp_like(spec) && !strchr(spec, '/') && stat(spec, &st) != 0)
		rc = live__fail(LIVE_ENOTFOUND,
		                "'%s' is neither a Git remote of this repository (`git remote -v` lists them) "
		                "nor a URL or path",
		                spec);
	else if (!rc && url) {
		/* A relative path is the current folder's: fixed now, whatever folder the caller moves to. */
		char cwd[4096], *abs = NULL;
		if (is_relative_path(spec) && getcwd(cwd, sizeof(cwd))) {
			size_t n = strlen(cwd) + strlen(spec) + 2;
			if ((abs = malloc(n)) != NULL)
				snprintf(abs, n, "%s/%s", cwd, spec);
		}
		if ((gerr = git_remote_create_anonymous(&r->remote, g->repo, abs ? abs : spec)) != 0)
			rc = live__fail(LIVE_EINVALID, "Git remote '%s': %s", spec,
			                git_error_last() && git_error_last()->message ? git_error_last()->message
			                                                               : "not a URL");
		free(abs);
	}
	if (!rc) {
		const char *u = git_remote_url(r->remote);
		size_t n = strlen(spec) + (u ? strlen(u) : 0) + 8;
		if (!(r->label = malloc(n)))
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		else if (url || !u)
			snprintf(r->label, n, "'%s'", spec);
		else
			snprintf(r->label, n, "'%s' (%s)", spec, u);
	}
	if (!rc && !url)
		rc = anchor_relative_urls(r);
	if (rc) {
		tr_git_remote_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void tr_git_remote_free(tr_git_remote *r)
{
	if (!r)
		return;
	git_remote_free(r->remote);
	free(r->label);
	free(r);
}

const char *tr_git_remote_label(const tr_git_remote *r)
{
	return r->label;
}

/* ---- callbacks ------------------------------------------------------------------ */

/*
 * ssh through the agent, a username or the platform's default where the
 * transport asks only for that. Asked again means the first answer was
 * refused: stop rather than loop.
 */
static int credentials(git_credential **out, const char *url, const char *user, unsigned int allowed,
                       void *payload)
{
	tr_git_remote *r = payload;
	(void)url;
	if (r->auth_tries++ > 0) {
		git_error_set_str(GIT_ERROR_NET, "authentication failed (ssh: is the key loaded in ssh-agent? "
		                                 "https: put the credentials in the URL)");
		return GIT_EAUTH;
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user ? user : "git");
	if (allowed & GIT_CREDENTIAL_DEFAULT)
		return git_credential_default_new(out);
	git_error_set_str(GIT_ERROR_NET, "the remote asks for credentials: use ssh with ssh-agent, or put "
	                                 "them in the https URL");
	return GIT_EAUTH;
}

static void callbacks_init(tr_git_remote *r, git_remote_callbacks *cb)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = credentials;
	cb->payload = r;
	r->auth_tries = 0;
}

/* ---- listing and fetching ---------------------------------------------------- */

int tr_git_remote_refs(tr_git_remote *r, int for_push, const char *prefix, char ***names, char ***shas,
		       size_t *n)
{
	*names = *shas = NULL;
	*n = 0;
	git_remote_callbacks cb;
	callbacks_init(r, &cb);
	int gerr = git_remote_connect(r->remote, for_push ? GIT_DIRECTION_PUSH : GIT_DIRECTION_FETCH, &cb, NULL,
	                              NULL);
	if (gerr)
		return fail_remote(r);
	const git_remote_head **heads;
	size_t nheads, cap_a = 0, cap_b = 0, nb = 0;
	int rc = 0;
	if ((gerr = git_remote_ls(&heads, &nheads, r->remote)) != 0)
		rc = fail_remote(r);
	size_t plen = strlen(prefix);
	for (size_t i = 0; !rc && i < nheads; i++) {
		const char *name = heads[i]->name;
		size_t len = strlen(name);
		if (strncmp(name, prefix, plen) || (len > 3 && !strcmp(name + len - 3, "^{}")))
			continue;
		char hex[41];
		git_oid_tostr(hex, sizeof(hex), &heads[i]->oid);
		rc = tr__strv_push(names, n, &cap_a, name);
		if (!rc && (rc = tr__strv_push(shas, &nb, &cap_b, hex)) != 0) {
			free((*names)[--*n]);
		}
	}
	git_remote_disconnect(r->remote);
	if (rc) {
		tr_strv_free(*names, *n);
		tr_strv_free(*shas, nb);
		*names = *shas = NULL;
		*n = 0;
	}
	return rc;
}

/* "[+]<ref>:<ref>" for each ref. */
static int refspecs(char *const *refs, const int *force, size_t n, git_strarray *out)
{
	out->count = 0;
	out->strings = calloc(n ? n : 1, sizeof(char *));
	if (!out->strings)
		return live__fail(LIVE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t len = 2 * strlen(refs[i]) + 3;
		char *s = malloc(len);
		if (!s)
			return live__fail(LIVE_ENOMEM, "out of memory");
		snprintf(s, len, "%s%s:%s", force && force[i] ? "+" : "", refs[i], refs[i]);
		out->strings[out->count++] = s;
	}
	return 0;
}

static void refspecs_free(git_strarray *a)
{
	for (size_t i = 0; i < a->count; i++)
		free(a->strings[i]);
	free(a->strings);
}

int tr_git_remote_fetch(tr_git_remote *r, char *const *refs, size_t n, long long *bytes)
{
	if (bytes)
		*bytes = 0;
	if (n == 0)
		return 0;
	git_strarray specs;
	int rc = refspecs(refs, NULL, n, &specs);
	if (!rc) {
		git_fetch_options fo;
		git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
		callbacks_init(r, &fo.callbacks);
		fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
		fo.update_fetchhead = 0;
		/* Download only: update_tips would move refs by the refspecs, which is the caller's call. */
		int gerr = git_remote_download(r->remote, &specs, &fo);
		if (gerr)
			rc = fail_remote(r);
		else if (bytes)
			*bytes = (long long)git_remote_stats(r->remote)->received_bytes;
		git_remote_disconnect(r->remote);
	}
	refspecs_free(&specs);
	return rc;
}

/* ---- pushing ------------------------------------------------------------------ */

static int on_push_update(const char *refname, const char *status, void *data)
{
	tr_git_remote *r = data;
	for (size_t i = 0; status && i < r->nrefs; i++) {
		if (strcmp(r->refs[i], refname) || r->rejected[i])
			continue;
		if (!(r->rejected[i] = strdup(status)))
			return -1;
	}
	return 0;
}

static int on_push_progress(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
	tr_git_remote *r = payload;
	(void)current;
	(void)total;
	r->sent = (long long)bytes;
	return 0;
}

int tr_git_remote_push(tr_git_remote *r, char *const *refs, const int *force, size_t n, char **rejected,
		       long long *bytes)
{
	if (bytes)
		*bytes = 0;
	if (n == 0)
		return 0;
	git_strarray specs;
	int rc = refspecs(refs, force, n, &specs);
	if (!rc) {
		git_push_options po;
		git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
		callbacks_init(r, &po.callbacks);
		po.callbacks.push_update_reference = on_push_update;
		po.callbacks.push_transfer_progress = on_push_progress;
		r->refs = refs;
		r->nrefs = n;
		r->rejected = rejected;
		r->sent = 0;
		int gerr = git_remote_push(r->remote, &specs, &po);
		if (gerr)
			rc = fail_remote(r);
		else if (bytes)
			*bytes = r->sent;
		r->refs = NULL;
		r->rejected = NULL;
		r->nrefs = 0;
	}
	refspecs_free(&specs);
	return rc;
}

/* ---- history --------------------------------------------------------------------- */

int tr_git_commits_between(tr_git *g, const char *tip, const char *hide, char ***shas, size_t *n)
{
	*shas = NULL;
	*n = 0;
	git_oid id;
	if (!tip || strlen(tip) != 40 || git_oid_fromstr(&id, tip) != 0)
		return live__fail(LIVE_EINVALID, "'%.48s' is not a commit id", tip ? tip : "(null)");
	git_revwalk *walk = NULL;
	if (git_revwalk_new(&walk, g->repo) != 0)
		return fail_git("revwalk");
	int rc = 0;
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
	if (git_revwalk_push(walk, &id) != 0)
		rc = fail_git(tip);
	git_oid hid;
	if (!rc && hide && *hide && strlen(hide) == 40 && git_oid_fromstr(&hid, hide) == 0 &&
	    git_odb_exists(g->odb, &hid) && git_revwalk_hide(walk, &hid) != 0)
		rc = fail_git(hide);
	size_t cap = 0;
	int gerr = 0;
	while (!rc && (gerr = git_revwalk_next(&id, walk)) == 0) {
		char hex[41];
		git_oid_tostr(hex, sizeof(hex), &id);
		rc = tr__strv_push(shas, n, &cap, hex);
	}
	if (!rc && gerr != GIT_ITEROVER)
		rc = fail_git("revwalk");
	git_revwalk_free(walk);
	if (rc) {
		tr_strv_free(*shas, *n);
		*shas = NULL;
		*n = 0;
	}
	return rc;
}
