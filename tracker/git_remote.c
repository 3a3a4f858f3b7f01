/*
 * Git remotes for `live exp push/pull/list <remote>` (issue #8): experiment
 * refs travel through libgit2's transports (a local path, file://, git://,
 * ssh, https). Nothing here moves a local ref: the caller compares the
 * remote's refs with its own and decides, so that a diverged experiment is
 * reported by name and the others still travel.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "git_internal.h"

struct tr_git_remote {
	tr_git *g;
	git_remote *remote;
	char *label;     /* "'origin' (url)" or "'url'" */
	const char *url; /* the URL of the current connection (fetch or push) */
	int auth_tries;  /* the credentials callback offers credentials once per connection */
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

/* git's scp-like syntax, [user@]host:path: a ':' before any '/'. */
static int is_scp_like(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');
	return colon && colon != s && (!slash || colon < slash);
}

/* A local path that is not absolute: git takes it from the work tree's root. */
static int is_relative_path(const char *url)
{
	return url && *url && url[0] != '/' && !tr_url_has_scheme(url) && !is_scp_like(url);
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
	if (!tr_url_has_scheme(spec) && !strchr(spec, '/')) {
		gerr = git_remote_lookup(&r->remote, g->repo, spec);
		if (gerr == 0)
			url = 0;
		else if (gerr == GIT_ENOTFOUND || gerr == GIT_EINVALIDSPEC)
			git_error_clear();
		else
			rc = fail_git(spec);
	}
	struct stat st;
	if (!rc && url && !tr_url_has_scheme(spec) && !is_scp_like(spec) && !strchr(spec, '/') && stat(spec, &st) != 0)
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
		if ((gerr = git_remote_create_anonymous(&r->remote, g->repo, abs ? abs : spec)) != 0) {
			char shown[1024];
			tr_url_shown(spec, shown, sizeof(shown));
			rc = live__fail(LIVE_EINVALID, "Git remote '%s': %s", shown,
			                git_error_last() && git_error_last()->message ? git_error_last()->message
			                                                               : "not a URL");
		}
		free(abs);
	}
	if (!rc) { /* a password in a URL is shown as *** (as git does) */
		const char *u = git_remote_url(r->remote);
		size_t n = strlen(spec) + (u ? strlen(u) : 0) + 16;
		char *spec_shown = malloc(n), *u_shown = malloc(n);
		if (!(r->label = malloc(n)) || !spec_shown || !u_shown) {
			rc = live__fail(LIVE_ENOMEM, "out of memory");
		} else {
			tr_url_shown(spec, spec_shown, n);
			tr_url_shown(u ? u : "", u_shown, n);
			if (url || !u)
				snprintf(r->label, n, "'%s'", spec_shown);
			else
				snprintf(r->label, n, "'%s' (%s)", spec_shown, u_shown);
		}
		free(spec_shown);
		free(u_shown);
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

/* The parts of an ssh or http(s) URL that a message names; "" where the URL has none. */
typedef struct url_parts {
	char user[128], host[256], port[16];
	int has_password;
} url_parts;

static void url_split(const char *url, url_parts *u)
{
	memset(u, 0, sizeof(*u));
	const char *a, *end;
	if (url && tr_url_has_scheme(url)) {
		a = strstr(url, "://") + 3;
		end = a + strcspn(a, "/?#");
	} else if (url && is_scp_like(url)) {
		a = url;
		end = strchr(url, ':');
	} else {
		return;
	}
	const char *at = NULL;
	for (const char *p = a; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		const char *colon = memchr(a, ':', (size_t)(at - a));
		snprintf(u->user, sizeof(u->user), "%.*s", (int)((colon ? colon : at) - a), a);
		u->has_password = colon != NULL;
		a = at + 1;
	}
	const char *hend = end, *colon = NULL;
	if (*a == '[' && memchr(a, ']', (size_t)(end - a))) {
		const char *rb = memchr(a, ']', (size_t)(end - a));
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(rb - a - 1), a + 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(a, ':', (size_t)(end - a));
		hend = colon ? colon : end;
		snprintf(u->host, sizeof(u->host), "%.*s", (int)(hend - a), a);
	}
	if (colon)
		snprintf(u->port, sizeof(u->port), "%.*s", (int)(end - colon - 1), colon + 1);
}

static int scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return url && !strncasecmp(url, scheme, n) && !strncmp(url + n, "://", 3);
}

static int is_ssh_url(const char *url)
{
	return scheme_is(url, "ssh") || scheme_is(url, "ssh+git") || scheme_is(url, "git+ssh") ||
	       (url && !tr_url_has_scheme(url) && is_scp_like(url));
}

/* The local login name: the user ssh logs in as when the URL names none, as OpenSSH does. */
static const char *login_name(void)
{
	const struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name && *pw->pw_name)
		return pw->pw_name;
	const char *u = getenv("USER");
	return u && *u ? u : "git";
}

/* libgit2's error for a refused or impossible authentication. */
static int auth_error(const char *msg)
{
	git_error_set_str(GIT_ERROR_NET, msg);
	return GIT_EAUTH;
}

/*
 * ssh: the keys of ssh-agent (SSH_AUTH_SOCK), as the user the URL names, else
 * the local login name. http(s): libgit2 presents the user and password of
 * the URL by itself; asked here means there were none, or they were refused.
 * Credentials are offered once per connection: asked again means refused, and
 * the answer is a message rather than a loop.
 */
static int credentials(git_credential **out, const char *url, const char *user, unsigned int allowed,
                       void *payload)
{
	tr_git_remote *r = payload;
	(void)url;
	const char *login = user && *user ? user : login_name();
	char msg[768];
	if (allowed == GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, login);
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		const char *sock = getenv("SSH_AUTH_SOCK");
		struct stat st;
		if (!sock || !*sock)
			return auth_error("no ssh-agent to log in with (SSH_AUTH_SOCK is not set): start one with "
			                  "`eval \"$(ssh-agent)\"` and add the key with ssh-add");
		if (stat(sock, &st) != 0) {
			snprintf(msg, sizeof(msg), "no ssh-agent at SSH_AUTH_SOCK (%s): %s", sock, strerror(errno));
			return auth_error(msg);
		}
		if (r->auth_tries++ > 0) {
			snprintf(msg, sizeof(msg), "the server accepted none of ssh-agent's keys for user '%s' "
			                           "(`ssh-add -l` lists them, ssh-add adds one)", login);
			return auth_error(msg);
		}
		return git_credential_ssh_key_from_agent(out, login);
	}
	if (allowed & GIT_CREDENTIAL_DEFAULT && r->auth_tries++ == 0)
		return git_credential_default_new(out);
	url_parts u;
	url_split(r->url, &u);
	if (u.has_password)
		return auth_error("the server refused the user name and password of the URL");
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		snprintf(msg, sizeof(msg), "the server asks for a user name and password: put them in the URL "
		                           "(%s://user:password@%s/...); live does not prompt",
		         scheme_is(r->url, "http") ? "http" : "https", *u.host ? u.host : "host");
		return auth_error(msg);
	}
	return auth_error("the server asks for credentials that live cannot give (it logs in with ssh-agent's "
	                  "keys over ssh, with the URL's user and password over http)");
}

/*
 * Trust: the server's key or certificate is accepted only when libgit2 found
 * it valid: an ssh host key recorded in ~/.ssh/known_hosts (libgit2 1.5.1
 * reads it), a TLS certificate signed by a trusted authority for that name.
 * Anything else is refused, naming the host and what to do.
 */
static int certificate_check(git_cert *cert, int valid, const char *host, void *payload)
{
	tr_git_remote *r = payload;
	if (valid)
		return 0;
	url_parts u;
	url_split(r->url, &u);
	const char *h = host && *host ? host : u.host;
	char where[300], msg[1024];
	snprintf(where, sizeof(where), "%.255s%s%s", h, *u.port ? ":" : "", u.port);
	if (cert && cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		char how[512];
		snprintf(how, sizeof(how), "ssh%s%s %s%s%.255s", *u.port ? " -p " : "", u.port, u.user, *u.user ? "@" : "",
		         h);
		snprintf(msg, sizeof(msg),
		         "the ssh host key of %s is not in ~/.ssh/known_hosts, or differs from the one recorded "
		         "there: connect once with `%s` to check its fingerprint and record it",
		         where, how);
	} else {
		snprintf(msg, sizeof(msg),
		         "the TLS certificate of %s is not trusted: if the server's certificate authority is your "
		         "own, name its certificate in GIT_SSL_CAINFO or `git config http.sslCAInfo <file>`",
		         where);
	}
	git_error_set_str(GIT_ERROR_NET, msg);
	return GIT_ECERTIFICATE;
}

/*
 * https: the certificate authorities to trust, as git takes them: the
 * GIT_SSL_CAINFO file and GIT_SSL_CAPATH folder, else http.sslCAInfo and
 * http.sslCAPath of the repository's (and the global) git config; they
 * replace the system's. Neither set: the system's.
 */
static int tls_trust(tr_git_remote *r)
{
	const char *file = getenv("GIT_SSL_CAINFO"), *dir = getenv("GIT_SSL_CAPATH");
	const char *file_from = "GIT_SSL_CAINFO", *dir_from = "GIT_SSL_CAPATH";
	git_buf fb = {0}, db = {0};
	git_config *cfg = NULL;
	if (file && !*file)
		file = NULL;
	if (dir && !*dir)
		dir = NULL;
	if ((!file || !dir) && git_repository_config_snapshot(&cfg, r->g->repo) == 0) {
		if (!file && git_config_get_path(&fb, cfg, "http.sslCAInfo") == 0 && fb.ptr && *fb.ptr) {
			file = fb.ptr;
			file_from = "http.sslCAInfo";
		}
		if (!dir && git_config_get_path(&db, cfg, "http.sslCAPath") == 0 && db.ptr && *db.ptr) {
			dir = db.ptr;
			dir_from = "http.sslCAPath";
		}
	}
	git_error_clear();
	int rc = 0;
	struct stat st;
	if (file && stat(file, &st) != 0)
		rc = live__fail(LIVE_EGIT, "Git remote %s: %s: %s: %s", r->label, file_from, file, strerror(errno));
	else if (file && !S_ISREG(st.st_mode))
		rc = live__fail(LIVE_EGIT, "Git remote %s: %s: %s is not a file", r->label, file_from, file);
	else if (dir && stat(dir, &st) != 0)
		rc = live__fail(LIVE_EGIT, "Git remote %s: %s: %s: %s", r->label, dir_from, dir, strerror(errno));
	else if (dir && !S_ISDIR(st.st_mode))
		rc = live__fail(LIVE_EGIT, "Git remote %s: %s: %s is not a folder", r->label, dir_from, dir);
	else if ((file || dir) && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir) != 0) {
		const git_error *e = git_error_last();
		rc = live__fail(LIVE_EGIT, "Git remote %s: %s: %s", r->label, file ? file_from : dir_from,
		                e && e->message ? e->message : "cannot load the certificates");
	}
	git_buf_dispose(&fb);
	git_buf_dispose(&db);
	git_config_free(cfg);
	return rc;
}

/*
 * Before a connection: the URL it uses (a configured remote may push to its
 * pushurl), what this libgit2 cannot do, https's certificate authorities.
 */
static int prepare(tr_git_remote *r, int for_push, git_remote_callbacks *cb)
{
	const char *push = git_remote_pushurl(r->remote);
	r->url = for_push && push ? push : git_remote_url(r->remote);
	r->auth_tries = 0;
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = credentials;
	cb->certificate_check = certificate_check;
	cb->payload = r;
	int features = git_libgit2_features();
	if (is_ssh_url(r->url) && !(features & GIT_FEATURE_SSH))
		return live__fail(LIVE_EGIT, "Git remote %s: this libgit2 has no ssh support (it was built without "
		                             "libssh2): use an https://, git:// or file remote",
		                  r->label);
	if (scheme_is(r->url, "https") && !(features & GIT_FEATURE_HTTPS))
		return live__fail(LIVE_EGIT, "Git remote %s: this libgit2 has no https support (it was built without "
		                             "a TLS library): use an ssh://, git:// or file remote",
		                  r->label);
	return scheme_is(r->url, "https") ? tls_trust(r) : 0;
}

/* ---- listing and fetching ---------------------------------------------------- */

int tr_git_remote_refs(tr_git_remote *r, int for_push, const char *prefix, char ***names, char ***shas,
		       size_t *n)
{
	*names = *shas = NULL;
	*n = 0;
	git_remote_callbacks cb;
	int rc = prepare(r, for_push, &cb);
	if (rc)
		return rc;
	int gerr = git_remote_connect(r->remote, for_push ? GIT_DIRECTION_PUSH : GIT_DIRECTION_FETCH, &cb, NULL,
	                              NULL);
	if (gerr)
		return fail_remote(r);
	const git_remote_head **heads;
	size_t nheads, cap_a = 0, cap_b = 0, nb = 0;
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
	git_fetch_options fo;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	if (!rc)
		rc = prepare(r, 0, &fo.callbacks);
	if (!rc) {
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
	git_push_options po;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	if (!rc)
		rc = prepare(r, 1, &po.callbacks);
	if (!rc) {
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
