/*
 * Declarations shared between the files behind expdata.h: exparena.c
 * (memory), expparse.c (bytes to nodes), expvalues.c (nodes to typed entries;
 * values as text), expdata.c (collecting a revision) and expwalk.c
 * (experiments for exp show); the plots_*.c files use the parsers and the
 * arena too. Shared functions use the xd__ prefix.
 */
#ifndef LIVE_CLI_EXPDATA_INTERNAL_H
#define LIVE_CLI_EXPDATA_INTERNAL_H

#include <stddef.h>

#include "expdata.h"

/* ---- exparena.c ---------------------------------------------------------- */

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
} chunk;

/* Memory freed all at once; zero-initialised is empty. */
typedef struct arena {
	chunk *head;
} arena;

/* NULL when out of memory (nothing recorded); blocks are 16-byte aligned. */
void *xd__arena_alloc(arena *a, size_t n);
char *xd__arena_strndup(arena *a, const char *s, size_t n);
char *xd__arena_strdup(arena *a, const char *s);
void *xd__arena_copy(arena *a, const void *p, size_t n);
void xd__arena_free(arena *a);

/* Strings to pointers; keys are copied into the arena. Never shrinks. */
typedef struct map {
	const char **keys;
	void **vals;
	size_t cap, n;
} map;

void *xd__map_get(const map *m, const char *key);
/* 0 or LIVE_ENOMEM. */
int xd__map_put(map *m, arena *a, const char *key, void *val);
/* Frees the table (not the keys, which are the arena's); the map is empty again. */
void xd__map_free(map *m);

/* A growable array of pointers, copied into the arena when done; the caller frees v. */
typedef struct vec {
	void **v;
	size_t n, cap;
} vec;

/* 0 or LIVE_ENOMEM. */
int xd__vec_push(vec *v, void *p);

/* ---- expparse.c ---------------------------------------------------------- */

typedef struct ynode {
	char kind;  /* 's' scalar, 'm' mapping, 'q' sequence */
	char plain; /* a scalar typed by its text (YAML plain, JSON literal); else a string */
	char aliased; /* a YAML alias occurs below: `expanded` may exceed the file's size */
	const char *text;
	struct ynode **kids; /* mapping: key, value, key, value...; sequence: items */
	size_t n;
	size_t expanded; /* nodes it stands for with its aliases expanded, itself included
	                    (saturates at SIZE_MAX) */
} ynode;

/*
 * A file's node tree, in the arena. On a syntax error NULL with the reason in
 * `err`. xd__parse_yaml() also returns NULL for an empty document, so *ok
 * tells the two apart. A YAML alias shares its anchor's node, so the tree is
 * as small as the file; a file whose aliases expand to more than
 * LIVE__YAML_EXPAND_MAX nodes (yaml_tree.h) is refused as an error naming the
 * key, since every reader of these trees walks whole values.
 */
const ynode *xd__parse_json(arena *a, const char *data, size_t len, char *err, size_t errsize);
const ynode *xd__parse_yaml(arena *a, const char *data, size_t len, char *err, size_t errsize, int *ok);

/* ---- expvalues.c --------------------------------------------------------- */

/*
 * A metrics (numeric_only) or params file from its bytes, JSON if the path
 * ends in .json, else YAML; an unparsable file keeps its error. 0 or LIVE_ENOMEM.
 */
int xd__parse_file(arena *a, const char *path, const char *data, size_t len, int numeric_only,
		   const xd_file **out);

/* ---- expdata.c ----------------------------------------------------------- */

struct xd_repo {
	tr_git *g;
	arena a;
	map blobs; /* "<m|p|s>:<path>:<blob id>" -> parsed file or spec */
	live__buf buf;
	map tags, heads, exps; /* commit -> name (exp show) */
};

#endif
