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
 * `name` for a message (git.c): control characters as \xNN, cut with "..."
 * to fit `size`, so that a message quoting it stays one printable line.
 */
void tr__git_shown(const char *name, char *out, size_t size);

/* Append a copy of `s` to the string array *v of *n (capacity *cap, grown as needed) (git_query.c). */
int tr__strv_push(char ***v, size_t *n, size_t *cap, const char *s);

/* Why `ref` leads to no commit (git_log.c): b->name and b->msg malloc'd, b->kind. */
int tr__git_badref_describe(tr_git *g, git_reference *ref, tr_badref *b);

#endif
