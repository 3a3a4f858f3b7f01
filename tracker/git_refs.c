/*
 * Refs (tracker.h): moving, reading and deleting them as `git update-ref`
 * does, and the names live gives them: experiment refs, branch names by
 * git-check-ref-format(1), names shown in messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "git_internal.h"

/*
 * The ref that an update of `ref` moves: `ref` itself, or, when it is
 * symbolic, the ref at the end of its chain (existing or not), as
 * `git update-ref` does. DVC moves the experiment branch through
 * EXEC_BRANCH this way.
 */
static int deref_name(tr_git *g, const char *ref, char **out)
{
	char *name = strdup(ref);
	int depth;

	if (!name)
		return tr__git_fail(LIVE_ENOMEM, "ref: out of memory");
	for (depth = 0; depth < 8; depth++) {
		git_reference *r = NULL;
		int rc = git_reference_lookup(&r, g->repo, name);
		if (rc == GIT_ENOTFOUND)
			break;
		if (rc < 0) {
			rc = tr__git_fail_git(rc == GIT_EINVALIDSPEC ? LIVE_EINVALID : LIVE_EGIT, rc,
			                      "ref %s", name);
			free(name);
			return rc;
		}
		if (git_reference_type(r) != GIT_REFERENCE_SYMBOLIC) {
			git_reference_free(r);
			break;
		}
		char *target = strdup(git_reference_symbolic_target(r));
		git_reference_free(r);
		free(name);
		if (!(name = target))
			return tr__git_fail(LIVE_ENOMEM, "ref: out of memory");
	}
	if (depth == 8) {
		free(name);
		return tr__git_fail(LIVE_EGIT, "ref %s: too many levels of symbolic refs", ref);
	}
	*out = name;
	return 0;
}

int tr_git_ref_set(tr_git *g, const char *ref, const char *sha, const char *old, const char *log_message)
{
	git_oid id, old_id, found;
	git_reference *r = NULL;
	char *name = NULL;
	int rc;

	if ((rc = tr__git_parse_sha(sha, &id, "ref: new value")) < 0 ||
	    (old && (rc = tr__git_parse_sha(old, &old_id, "ref: expected value")) < 0))
		return rc;
	if ((rc = deref_name(g, ref, &name)) < 0)
		return rc;
	if (old)
		rc = git_reference_create_matching(&r, g->repo, name, &id, 1, &old_id, log_message);
	else
		rc = git_reference_create(&r, g->repo, name, &id, 1, log_message);
	if (rc >= 0) {
		git_reference_free(r);
		free(name);
		return 0;
	}
	char why[512];
	tr__git_message(rc, why, sizeof(why)); /* before the lookup below replaces it */
	int code = rc == GIT_EINVALIDSPEC ? LIVE_EINVALID : LIVE_EGIT;
	if (old) {
		/* Name what is there instead (read after the fact: for the message only). */
		char buf[GIT_OID_HEXSZ + 1] = "no ref";
		int grc = git_reference_name_to_id(&found, g->repo, name);
		if (grc == 0 && !git_oid_equal(&found, &old_id))
			git_oid_tostr(buf, sizeof(buf), &found);
		if (grc == GIT_ENOTFOUND || (grc == 0 && !git_oid_equal(&found, &old_id))) {
			rc = tr__git_fail(LIVE_EGIT, "ref %s moved (expected %s, found %s)", name, old, buf);
			free(name);
			return rc;
		}
	}
	rc = tr__git_fail(code, "ref %s -> %s: %s", name, sha, why);
	free(name);
	return rc;
}

int tr_git_ref_set_symbolic(tr_git *g, const char *ref, const char *target, const char *log_message)
{
	git_reference *r = NULL;
	int rc = git_reference_symbolic_create(&r, g->repo, ref, target, 1, log_message);

	if (rc < 0)
		return tr__git_fail_git(rc == GIT_EINVALIDSPEC ? LIVE_EINVALID : LIVE_EGIT, rc,
		                        "ref %s -> %s", ref, target);
	git_reference_free(r);
	return 0;
}

int tr_git_ref_get(tr_git *g, const char *ref, char sha_out[41])
{
	git_oid id;
	int rc = git_reference_name_to_id(&id, g->repo, ref);

	if (rc == GIT_ENOTFOUND)
		return tr__git_fail(LIVE_ENOTFOUND, "ref %s: not found", ref);
	if (rc < 0)
		return tr__git_fail_git(rc == GIT_EINVALIDSPEC ? LIVE_EINVALID : LIVE_EGIT, rc, "ref %s",
		                        ref);
	git_oid_tostr(sha_out, 41, &id);
	return 0;
}

int tr_git_ref_delete(tr_git *g, const char *ref)
{
	int rc = git_reference_remove(g->repo, ref);

	if (rc == 0 || rc == GIT_ENOTFOUND)
		return 0;
	return tr__git_fail_git(rc == GIT_EINVALIDSPEC ? LIVE_EINVALID : LIVE_EGIT, rc,
	                        "ref %s: cannot delete", ref);
}

void tr_name_shown(const char *name, char *out, size_t size)
{
	size_t k = 0;
	const unsigned char *p = (const unsigned char *)name;

	if (size == 0)
		return;
	for (; *p && k + 8 < size; p++) {
		if (*p < 0x20 || *p == 0x7f)
			k += (size_t)snprintf(out + k, size - k, "\\x%02x", *p);
		else
			out[k++] = (char)*p;
	}
	if (*p && k + 3 < size) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

/*
 * Why git would refuse `ref` as (the end of) a ref name after "refs/...":
 * git-check-ref-format(1) as git's refs.c applies it. 0, or 1 with the rule
 * it breaks in `why`. (The rule against a refname that is just "@" concerns
 * whole refnames: git takes "@" as a branch name.) libgit2 1.5 lets a DEL
 * (0x7f) through, so the rules are checked here.
 */
static int refname_flaw(const char *ref, char *why, size_t size)
{
	size_t len = strlen(ref);
	const char *part = ref;

	if (len == 0)
		return snprintf(why, size, "it is empty"), 1;
	if (ref[0] == '/')
		return snprintf(why, size, "it starts with '/'"), 1;
	for (const char *p = ref;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/' || c == '\0') {
			size_t n = (size_t)(p - part);
			if (n == 0 && c == '\0')
				return snprintf(why, size, "it ends with '/'"), 1;
			if (n == 0)
				return snprintf(why, size, "it contains '//'"), 1;
			if (part[0] == '.')
				return snprintf(why, size, "a part starts with '.'"), 1;
			if (n >= 5 && !memcmp(p - 5, ".lock", 5))
				return snprintf(why, size, "a part ends with '.lock'"), 1;
			if (c == '\0')
				break;
			part = p + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return snprintf(why, size, "it contains the control character 0x%02x", c), 1;
		} else if (c == ' ') {
			return snprintf(why, size, "it contains a space"), 1;
		} else if (strchr("~^:?*[\\", c)) {
			return snprintf(why, size, "it contains '%c'", c), 1;
		} else if (c == '.' && p[1] == '.') {
			return snprintf(why, size, "it contains '..'"), 1;
		} else if (c == '@' && p[1] == '{') {
			return snprintf(why, size, "it contains '@{'"), 1;
		}
	}
	if (ref[len - 1] == '.')
		return snprintf(why, size, "it ends with '.'"), 1;
	return 0;
}

int tr_git_branch_name_check(const char *name)
{
	char why[64], shown[160];

	if (!name)
		return tr__git_fail(LIVE_EINVALID, "no branch name given");
	tr_name_shown(name, shown, sizeof(shown));
	/* What `git branch` adds to the rules (git check-ref-format --branch). */
	if (name[0] == '-')
		snprintf(why, sizeof(why), "it starts with '-'");
	else if (!strcmp(name, "HEAD"))
		snprintf(why, sizeof(why), "the name HEAD is reserved");
	else if (strlen(name) > TR_BRANCH_NAME_MAX)
		snprintf(why, sizeof(why), "it is longer than %d bytes", TR_BRANCH_NAME_MAX);
	else if (!refname_flaw(name, why, sizeof(why)))
		return 0;
	return tr__git_fail(LIVE_EINVALID, "'%s' is not a valid branch name: %s (see git check-ref-format)",
	                    shown, why);
}

int tr_exp_ref_name(const char *baseline, const char *name, char *buf, size_t size)
{
	if (name && name[0] == '-')
		return tr__git_fail(LIVE_EINVALID, "experiment name '%.64s': a name may not start with '-'",
		                    name);
	int valid = 0, n, rc;

	if (size > 0)
		buf[0] = '\0';
	if (!tr__git_is_hex40(baseline))
		return tr__git_fail(LIVE_EINVALID, "baseline '%s': not a 40-hex commit id",
		            baseline ? baseline : "(null)");
	if (!name || !*name)
		return tr__git_fail(LIVE_EINVALID, "experiment name is empty");
	if (strchr(name, '/'))
		return tr__git_fail(LIVE_EINVALID, "experiment name '%s': must not contain '/'", name);
	n = snprintf(buf, size, "refs/exps/%.2s/%s/%s", baseline, baseline + 2, name);
	if (n < 0 || (size_t)n >= size)
		return tr__git_fail(LIVE_EINVALID, "experiment name '%s': ref name longer than %zu bytes",
		                    name, size ? size - 1 : 0);
	if ((rc = tr__git_init()) < 0)
		return rc;
	char why[64], shown[160];
	if ((rc = git_reference_name_is_valid(&valid, buf)) < 0)
		return tr__git_fail_git(LIVE_EGIT, rc, "experiment name '%s'", name);
	/* git's rules first, for the reason; libgit2 writes the ref, so its word counts too. */
	int flawed = refname_flaw(buf, why, sizeof(why));
	if (!flawed && !valid) {
		snprintf(why, sizeof(why), "libgit2 refuses it");
		flawed = 1;
	}
	if (flawed) {
		buf[0] = '\0';
		tr_name_shown(name, shown, sizeof(shown));
		return tr__git_fail(LIVE_EINVALID,
		            "experiment name '%s': not a valid git ref name: %s (see git check-ref-format)",
		            shown, why);
	}
	return 0;
}

