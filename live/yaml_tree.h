/*
 * The tree that yaml_tree.c reads a params.yaml into and params.c looks keys
 * up in. Private to liblive.
 */
#ifndef LIVE_YAML_TREE_H
#define LIVE_YAML_TREE_H

#include <stddef.h>

#include <yaml.h>

/** Longest excerpt of a value or key from the file quoted in a message. */
#define LIVE__EXCERPT_MAX 60

/**
 * Most nodes that may be copied or rendered whole out of one file, with its
 * aliases expanded (dvc.lock's params values, `live params diff`, `live exp
 * show`). The tree itself shares aliased nodes, so reading and looking up
 * stay cheap whatever the expansion.
 */
#define LIVE__YAML_EXPAND_MAX 1000000

/** What a node is. PK_NULL is a plain "~", "null" or empty scalar. */
enum pkind { PK_NULL, PK_SCALAR, PK_MAP, PK_SEQ };

/** What a plain scalar reads as. PN_BIGINT is an integer beyond long long. */
enum pnum { PN_NONE, PN_FLOAT, PN_INT, PN_BIGINT };

/** One entry of a mapping or a sequence; the nodes belong to the tree. */
struct pentry {
	const struct pnode *key; /* NULL in a sequence */
	const struct pnode *value;
	yaml_mark_t mark;        /* of the key, for the duplicate error */
};

/** A node. An alias shares its anchor's node, so one node may have several parents. */
struct pnode {
	struct pnode *next_alloc; /* every node of a tree is on one list, which owns it */
	enum pkind kind;
	yaml_scalar_style_t style;
	enum pnum num;
	char *text; /* scalars and nulls, NUL-terminated */
	size_t len;
	double d;
	long long i;
	struct pentry *items; /* mappings and sequences */
	size_t n, cap;
	yaml_mark_t mark; /* where the node starts in the file (an alias: its anchor's node) */
	size_t expanded;  /* nodes it stands for with every alias below expanded, itself and
	                     mapping keys included; saturates at SIZE_MAX */
	int aliased;      /* an alias occurs below it: `expanded` may exceed the file's size */
	size_t *budget;   /* the tree's, shared by its nodes: see live__yaml_spend() */
	size_t budget_store; /* the first node of a tree holds it */
};

/**
 * Read and parse the YAML file `path`. On success *root is its top-level
 * mapping (NULL for a file with no keys) and the caller owns *nodes, to be
 * freed with live__yaml_free(). On failure returns LIVE_ENOTFOUND, LIVE_EIO,
 * LIVE_ENOMEM or LIVE_EPARSE with the message set, and nothing is left to free.
 */
int live__yaml_read(const char *path, const struct pnode **root, struct pnode **nodes);

/** Free every node of a tree, given the `nodes` list of live__yaml_read(). NULL is fine. */
void live__yaml_free(struct pnode *nodes);

/**
 * Copy `len` bytes of `s` into `dst` for a one-line message: control bytes
 * become '?', and past size - 4 bytes it is cut at a UTF-8 boundary and ends
 * in "...". Needs `size` >= 4; LIVE__EXCERPT_MAX + 4 fits the longest excerpt.
 */
void live__yaml_excerpt(char *dst, size_t size, const char *s, size_t len);

/**
 * Describe `n` for a type error: "a mapping", "a sequence", or its quoted
 * excerpt with " (a quoted string)" or " (a block string)" as its style says.
 * LIVE__EXCERPT_MAX + 32 bytes fit every description.
 */
void live__yaml_describe(char *dst, size_t size, const struct pnode *n);

/**
 * Look up a dotted key below `root` as live_param_*() do: at each mapping the
 * longest key that exists wins ("train.lr" as one flat key before "train" ->
 * "lr"), a dead end falls back to the next shorter prefix, and in a sequence
 * the part up to the next dot is a 0-based index. NULL when there is none.
 */
const struct pnode *live__yaml_find(const struct pnode *root, const char *key);

/**
 * Charge `n` to its tree before copying or rendering it whole: every tree may
 * give out LIVE__YAML_EXPAND_MAX nodes in all, whichever values they come
 * from. 0 when n->expanded fits in what is left (which then shrinks), else -1
 * and nothing charged. Sets no message. Not for a tree shared by threads.
 */
int live__yaml_spend(const struct pnode *n);

/**
 * For readers that walk a whole file (dvc.lock, dvc.yaml): 0 when `root`
 * (NULL is fine) stands for at most LIVE__YAML_EXPAND_MAX nodes or has no
 * aliases, else LIVE_EPARSE with the message "<path>:<line>:<col>: key
 * '<dotted key>' expands to more than 1000000 values (YAML aliases)", naming
 * the deepest value that alone is too big (the whole document if none is).
 */
int live__yaml_check_expansion(const char *path, const struct pnode *root);

#endif /* LIVE_YAML_TREE_H */
