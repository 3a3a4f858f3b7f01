/*
 * The repository handle, shared by git.c (commits, refs) and git_query.c
 * (reading history and the work tree). Only tracker/git*.c include git2.h.
 */
#ifndef LIVE_GIT_INTERNAL_H
#define LIVE_GIT_INTERNAL_H

#include <git2.h>

#include "tracker.h"

struct tr_git {
	git_repository *repo;
	git_odb *odb;   /* held so that the object database stays open across commits */
	char *root;     /* the work tree, absolute, no trailing '/' */
	int trust_exec; /* core.fileMode: the work tree's executable bit is meaningful */
};

/*
 * git.c's helpers for the other git files. tr__git_fail: set this thread's
 * message (control characters in it shown as '?', one line) and return
 * `code`; tr__git_fail_git: "<what>: <libgit2's message>"; tr__git_init:
 * libgit2 initialised once per process; tr__git_parse_sha: a 40-hex id
 * given by the caller, `what` naming it in the message.
 */
/* libgit2's last message for `gerr`, on one line, in buf. */
void tr__git_message(int gerr, char *buf, size_t size);
int tr__git_fail(int code, const char *fmt, ...) LIVE__PRINTF(2, 3);
int tr__git_fail_git(int code, int gerr, const char *fmt, ...) LIVE__PRINTF(3, 4);
int tr__git_init(void);
int tr__git_is_hex40(const char *s);
int tr__git_parse_sha(const char *hex, git_oid *out, const char *what);

/* Append a copy of `s` to the string array *v of *n (capacity *cap, grown as needed) (git_query.c). */
int tr__strv_push(char ***v, size_t *n, size_t *cap, const char *s);

/* Why `ref` leads to no commit (git_log.c): b->name and b->msg malloc'd, b->kind. */
int tr__git_badref_describe(tr_git *g, git_reference *ref, tr_badref *b);

#endif
