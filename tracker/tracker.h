/*
 * libtracker: snapshots a stage's outputs into the DVC cache, writes dvc.lock
 * and makes checkpoint commits (SPEC 1, 3). Internal to the project: the CLI
 * in tools/ uses it; trainers never link it. The only code that includes
 * git2.h are tracker/git*.c (git.c, git_query.c, git_log.c, git_worktree.c,
 * through git_internal.h).
 *
 * Conventions: calls return 0 or a negative LIVE_E* code (include/live.h)
 * and set the thread's message through live__fail (live/internal.h), which
 * live_errmsg() returns: one line naming the file (and line) and the cause.
 * Paths called `rel` are relative to the repository root, POSIX, no "./".
 */
#ifndef LIVE_TRACKER_H
#define LIVE_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ---- hashes (md5.c, state.c) ---------------------------------------------- */

/* What dvc.lock records for a path: md5 (or "<md5>.dir"), size, nfiles (dirs). */
typedef struct tr_hashinfo {
	char md5[40];     /* 32 hex digits, plus ".dir" for a folder; "" = missing */
	long long size;   /* bytes; a folder: the sum of its files */
	long long nfiles; /* a folder: its number of files; -1 for a file */
} tr_hashinfo;

/* MD5 (RFC 1321). */
typedef struct tr_md5 {
	uint32_t a, b, c, d;
	uint64_t len;
	unsigned char buf[64];
} tr_md5;
void tr_md5_init(tr_md5 *m);
void tr_md5_update(tr_md5 *m, const void *data, size_t n);
void tr_md5_final(tr_md5 *m, char hex[33]);

/* SHA-256 of a buffer, as 64 hex digits (sha256.c). */
void tr_sha256(const void *data, size_t n, char hex[65]);

/*
 * DVC 2.x file md5 (reference/dvc-checkpoints.md 4.2): a file whose first
 * 512 bytes look like text is hashed with CRLF -> LF applied per 1 MiB chunk;
 * other files plainly. `size` is the size on disk.
 */
int tr_md5_fd(int fd, const char *show, char hex[33], long long *size);
/* The same rule on bytes in memory. */
int tr_md5_dvc_buf(const void *data, size_t len, char hex[33]);
/*
 * The same rule on a file fed in pieces of any sizes, in order (a copy that
 * hashes what it writes, in one pass): tr_md5_dvc_final gives what tr_md5_fd
 * gives on the bytes fed. The text test waits for the first 512 bytes (or the
 * end); CRLF pairs are joined within each 1 MiB chunk of the file, as
 * tr_md5_fd joins them, wherever the pieces break. The pieces are not changed.
 */
typedef struct tr_md5_dvc {
	tr_md5 m;
	uint64_t fed;  /* bytes fed */
	uint64_t done; /* bytes past the text test: hashed, or the held '\r' */
	int text;      /* 1 text, 0 binary, -1 not decided yet (the bytes wait in head) */
	int cr;        /* text: a '\r' ended the last piece inside a chunk; the next byte decides */
	unsigned char head[512];
} tr_md5_dvc;
void tr_md5_dvc_init(tr_md5_dvc *h);
void tr_md5_dvc_update(tr_md5_dvc *h, const void *data, size_t n);
/* The md5 of what was fed; *size (if not NULL) the number of bytes. */
void tr_md5_dvc_final(tr_md5_dvc *h, char hex[33], long long *size);

/* One file of a folder's .dir manifest. */
typedef struct tr_dir_entry {
	char *relpath; /* relative to the folder, POSIX */
	char md5[33];
	long long size;
} tr_dir_entry;

/* A folder's manifest: entries sorted by relpath (code point order). */
typedef struct tr_manifest {
	tr_dir_entry *entries;
	size_t n;
	char *json;  /* json.dumps(list, sort_keys=True): the bytes stored in the cache */
	size_t json_len;
} tr_manifest;
void tr_manifest_free(tr_manifest *m);
/*
 * Complete a manifest whose entries the caller filled (relpath malloc'd, md5,
 * size): sort them by relpath as Python sorts str (code points; a byte that is
 * not valid UTF-8 counts as U+DC00 + byte, like os.fsdecode), render `json`
 * (NUL-terminated, json_len excludes the NUL) and, if `out` is not NULL, fill
 * it with "<md5>.dir", the total size and the number of files.
 * 0 or LIVE_ENOMEM.
 */
int tr_manifest_finish(tr_manifest *m, tr_hashinfo *out);
/*
 * Read manifest text (`len` bytes, NUL-terminated) as DVC does: json.loads,
 * then each relpath to bytes by os.fsencode (a lone "\udc80".."\udcff" is
 * that raw byte, any other character its UTF-8), so that every name
 * tr_manifest_finish writes reads back as the same bytes. Entries in file
 * order, size -1; `json` is left NULL. Caller frees with tr_manifest_free.
 * LIVE_EPARSE "<show>: ..." when the text is not UTF-8, not a JSON list of
 * {"md5": <32 hex>, "relpath": <path inside the folder>}, holds a character
 * no file name can (\u0000, a lone surrogate other than \udc80..\udcff), or
 * names one file twice or a file that another entry needs as a folder.
 * The grammar is json.loads's, not cJSON's looser one: "<show>: not JSON at
 * byte N (...)" for a byte order mark, whitespace other than space/tab/CR/LF,
 * a raw control character or bad escape in a string, a leading zero, text
 * after the list; a repeated key's last value counts, as in Python's dict.
 */
int tr_manifest_parse(const char *text, size_t len, const char *show, tr_manifest *out);
/* 1 if `p` is a relative POSIX path that stays below its base (no "", ".", ".." parts), else 0. */
int tr_relpath_inside(const char *p);

/*
 * The stat cache: remembers (path, device, inode, mtime ns, size) -> md5 in
 * <root>/.dvc/tmp/live-md5s so that an unchanged file is never read twice.
 */
typedef struct tr_state tr_state;
int tr_state_open(const char *root, tr_state **out);
/* Save the cache (temp + rename). */
int tr_state_save(tr_state *st);
void tr_state_free(tr_state *st);

/*
 * Hash a file or a folder below the root. A folder yields "<md5>.dir" and, if
 * `manifest` is not NULL, its manifest (caller frees). A missing path gives
 * LIVE_ENOTFOUND.
 */
int tr_hash_path(tr_state *st, const char *rel, tr_hashinfo *out, tr_manifest *manifest);

/*
 * Files that live hashed itself while copying them, such as the cache
 * objects a push or a pull checked (remote.c), keyed by their path from the
 * root (".dvc/cache/ab/cdef..."). A file's identity: its stat, as the stat
 * cache keeps it.
 */
typedef struct tr_filestat {
	unsigned long long dev, ino;
	long long mtime_ns, size;
} tr_filestat;
/* A result is remembered only for a file whose mtime is this much older than when hashing began. */
#define TR_RACY_NS 2000000000LL
/* 1 when the stat cache holds `md5` (32 hex) for `key` with the identity `fs`, else 0. */
int tr_state_vouches(tr_state *st, const char *key, const tr_filestat *fs, const char *md5);
/*
 * `key`, whose identity was `fs` from before its bytes were read until after,
 * holds `md5`: remembered when its mtime is TR_RACY_NS older than `since_ns`
 * (CLOCK_REALTIME when the reading began), forgotten otherwise (as
 * tr_hash_path does with its own results). 0 or LIVE_ENOMEM.
 */
int tr_state_remember(tr_state *st, const char *key, const tr_filestat *fs, const char *md5, long long since_ns);
/*
 * tr_md5_fd of a file that live wrote itself and that is to become a cache
 * object (a staged copy): its mtime is first set TR_RACY_NS in the past, a
 * time no later write can give it, so that the stat cache may remember it at
 * once. *id gets its identity when it held still while read (else id->size
 * is -1), *since when hashing began.
 */
int tr_state_hash_own(int fd, const char *show, char md5[33], long long *size, tr_filestat *id, long long *since);
/* Remember the cache object `md5` if it is the file tr_state_hash_own hashed (identity `id`). 0 or LIVE_ENOMEM. */
int tr_state_remember_object(tr_state *st, const char *md5, const tr_filestat *id, long long since);

/* ---- the cache (cache.c) --------------------------------------------------- */

/* <root>/.dvc/cache/<md5[0:2]>/<md5[2:]> ("...dir" for manifests). */
int tr_cache_path(const char *root, const char *md5, char *buf, size_t size);
/* 1 if the object exists, 0 if not; LIVE_EINVALID if `md5` is not an md5. */
int tr_cache_has(const char *root, const char *md5);
/* 0 if the object exists and its bytes hash to its name; LIVE_ENOTFOUND, or LIVE_EPARSE "corrupt". */
int tr_cache_verify(const char *root, const char *md5, const char *show);
/*
 * Store the file `rel` under `md5` unless the object exists: reflink or
 * copy_file_range where the file system allows, temp file + rename, mode 0444.
 */
int tr_cache_add_file(const char *root, const char *rel, const char *md5);
/* Store bytes in memory as the object `md5` unless it exists. */
int tr_cache_add_bytes(const char *root, const char *md5, const void *data, size_t len, const char *show);
/*
 * Make the file at `path` (a staged copy, on the cache's file system) the
 * object `md5`: renamed into place, or removed when the object exists.
 */
int tr_cache_adopt(const char *root, const char *md5, const char *path, const char *show);
/* Store a folder: every file of the manifest, then the manifest itself. */
int tr_cache_add_dir(const char *root, const char *rel, const tr_manifest *m, const char *dir_md5);
/*
 * Restore `rel` from the cache as recorded by `h` (a file, or a folder from
 * its .dir manifest), writable, replacing what is there. LIVE_ENOTFOUND names
 * the missing object. No link is followed at or below `rel`: a link at `rel`
 * or inside the folder is replaced (a file, or a folder where the manifest
 * needs one); a link among the folders leading to `rel` is refused (LIVE_EIO
 * "<rel>: <folder> is a symbolic link; ...") before anything is written.
 */
int tr_cache_checkout(const char *root, const char *rel, const tr_hashinfo *h);
/*
 * Copy all of `src` into the empty file `dst` (both open, offsets unused):
 * reflink, else copy_file_range (in the kernel), else read/write. 0, or
 * LIVE_EIO/LIVE_ENOSPC/... "<show>: copy|read|write: <why>" (cache.c).
 */
int tr_copy_fd(int src, int dst, const char *show);
/*
 * Open the folder that holds `rel` (`root` itself for a name without '/'),
 * walking the folders leading to it without following a link or making
 * anything: *dirfd (the caller closes it) and *base, the last part of `rel`,
 * for the caller's *at() call. LIVE_EINVALID when `rel` is not inside the
 * repository (tr_path_inside); LIVE_ENOTFOUND when a folder is missing; LIVE_EIO "<rel>:
 * <folder> is a symbolic link; not <doing> through it (make it a folder)" or
 * "<rel>: <folder> is a file, not a folder". The same rule as
 * tr_cache_checkout's, for code that removes or writes an out.
 */
int tr_open_parent(const char *root, const char *rel, const char *doing, int *dirfd, const char **base);
/*
 * Read the .dir manifest `dir_md5` ("<md5>.dir" or "<md5>") of the folder
 * `rel` (named in messages) from the cache: entries in file order, with
 * size -1 (manifests record none), and json = the object's bytes. Caller
 * frees with tr_manifest_free. LIVE_ENOTFOUND "cache object <md5>.dir for
 * <rel> is missing"; LIVE_EPARSE "cache object <md5>.dir for <rel>: ..." as
 * tr_manifest_parse refuses it.
 */
int tr_cache_read_manifest(const char *root, const char *rel, const char *dir_md5, tr_manifest *out);

/* ---- dvc.yaml (dvcyaml.c) -------------------------------------------------- */

enum { TR_OUT = 0, TR_METRIC = 1, TR_PLOT = 2, TR_LIVE = 3 };

typedef struct tr_out {
	char *path;
	int kind;       /* TR_OUT, TR_METRIC, TR_PLOT, TR_LIVE */
	int cache;      /* default 1 */
	int checkpoint; /* default 0 */
	int persist;    /* default 0 */
	char *template_, *x, *y; /* plots; NULL when absent */
	int summary, html;       /* live; default 1 */
} tr_out;

typedef struct tr_param {
	char *file; /* "params.yaml" unless given as {file: [keys]} */
	char *key;
} tr_param;

typedef struct tr_stage {
	char *name;
	char *cmd;  /* one command (a list in dvc.yaml is joined with " && ") */
	char *wdir; /* NULL = the dvc.yaml's folder */
	char **deps;
	size_t ndeps;
	tr_param *params;
	size_t nparams;
	tr_out *outs; /* outs, metrics, plots and live, in file order */
	size_t nouts;
	int always_changed;
} tr_stage;

typedef struct tr_pipeline {
	tr_stage *stages;
	size_t n;
} tr_pipeline;

/* The params file of a params dependency that names none. */
#define TR_DEFAULT_PARAMS "params.yaml"
/* DVC's is_valid_name: no ASCII punctuation but '-' and '_', no control characters; 1 or 0. */
int tr_stage_name_valid(const char *name);
/* 1 if `cmd` is nothing but spaces, tabs and line breaks: no command the shell would run. */
int tr_cmd_blank(const char *cmd);
/* Why `cmd` cannot be a stage's command in dvc.yaml ("is empty", a Unicode line break), or NULL. */
const char *tr_cmd_flaw(const char *cmd);
/* Parse dvc.yaml; LIVE_EPARSE "dvc.yaml:12:5: ..." on anything malformed (dvcyaml.c). */
int tr_dvcyaml_load(const char *path, tr_pipeline *out);
/* Write dvc.yaml as DVC 2.x's serializer orders it (reference 5), atomically (dvcyaml_write.c). */
int tr_dvcyaml_write(const char *path, const tr_pipeline *p);
void tr_pipeline_free(tr_pipeline *p);
/* Free one stage's members (not the struct itself). */
void tr_stage_free(tr_stage *s);

/* ---- params values and dvc.lock (params_dep.c, lockfile.c, yaml_out.c) ----- */

/*
 * One params key's value, rendered as the YAML text dvc.lock holds: what
 * follows "key:" there, less the one separating space, with every line after
 * the first indented relative to the key's column (tr_lock_render adds the
 * key's indentation back). So a scalar is its YAML text ("0.0001", "true",
 * "'2.0'", "" for null) and a non-empty mapping or sequence is a block that
 * starts with a newline ("\n- 64\n- 32", "\n  depth: 3"). The value is
 * written as DVC records it (its type as YAML 1.2 reads it, then ruamel's
 * representation), so equal values give equal text. Long strings are folded
 * for the column params keys have in dvc.lock (8).
 */
typedef struct tr_param_value {
	char *key;
	char *yaml; /* a scalar's text, or a block for a mapping/sequence */
} tr_param_value;

typedef struct tr_lock_params {
	char *file;
	tr_param_value *values; /* sorted by key */
	size_t n;
} tr_lock_params;

typedef struct tr_lock_entry {
	char *path;
	tr_hashinfo h;
} tr_lock_entry;

typedef struct tr_lock_stage {
	char *name;
	char *cmd;
	tr_lock_entry *deps; /* sorted by path */
	size_t ndeps;
	tr_lock_params *params; /* params.yaml first, then sorted by file */
	size_t nparams;
	tr_lock_entry *outs; /* all outs, sorted by path */
	size_t nouts;
} tr_lock_stage;

typedef struct tr_lock {
	tr_lock_stage *stages; /* file order; new stages appended */
	size_t n;
} tr_lock;

/* Read the values of `keys` from a params file for dvc.lock (params_dep.c). */
int tr_params_read(const char *root, const char *file, const char *const *keys, size_t nkeys,
		   tr_lock_params *out);
/*
 * Render one value of a params file or of dvc.lock (a node of live's YAML
 * tree, yaml_tree.h) as tr_param_value.yaml holds it, for the key `key`.
 * *out is malloc'd. 0, LIVE_ENOMEM, or LIVE_EINVALID when a string is not
 * valid UTF-8, the value nests deeper than TR_YAML_DEPTH, or its tree's
 * budget of LIVE__YAML_EXPAND_MAX expanded values (aliases) is spent; sets no
 * message (params_dep.c).
 */
struct pnode;
int tr_params_value_text(const char *key, const struct pnode *value, char **out);
/* Free one params file's members and zero it (not the struct itself). */
void tr_lock_params_clear(tr_lock_params *p);
/* Parse dvc.lock (schema 2.0); a missing file is an empty lock. */
int tr_lock_load(const char *path, tr_lock *out);
/* Render dvc.lock bytes (ruamel style: 2-space indent, unindented dashes). */
int tr_lock_render(const tr_lock *lock, live__buf *out);
/* Replace or append one stage. */
int tr_lock_set_stage(tr_lock *lock, const tr_lock_stage *stage);
const tr_lock_stage *tr_lock_find(const tr_lock *lock, const char *name);
void tr_lock_free(tr_lock *lock);
void tr_lock_stage_free(tr_lock_stage *s);

/*
 * YAML text as DVC 2.x writes it through ruamel.yaml (yaml_out.c), shared by
 * dvc.yaml and dvc.lock: block style, mapping keys 2 spaces in, sequence
 * dashes level with their key, a string plain unless YAML 1.2 would read it as
 * something else or its characters need quotes (then single quotes, or double
 * quotes with escapes), lines folded past column 80 as ruamel folds them.
 *
 * One document is written by a stream of calls: tr_yaml_map / tr_yaml_seq open
 * a collection, tr_yaml_end closes the innermost one, tr_yaml_str and
 * tr_yaml_raw write a key or a value. The first error (bad UTF-8, a collection
 * as a key, nesting deeper than TR_YAML_DEPTH, out of memory) sticks;
 * tr_yaml_finish ends the document with a newline and returns it.
 */
#define TR_YAML_DEPTH 96

typedef struct tr_yaml {
	live__buf *out; /* appended to; not owned */
	int rc;
	int any;        /* something written: the next node starts on a new line */
	size_t column;  /* characters (code points) on the current line */
	int depth;
	struct tr_yaml_level {
		char kind;        /* 'm' mapping, 's' sequence */
		char want_value;  /* a mapping whose key was written */
		char inline_first; /* the first entry follows "- " or ": " on the same line */
		char long_key;    /* the current key was written as "? key" */
		size_t indent;    /* column of the keys or dashes */
		size_t count;     /* entries written */
	} level[TR_YAML_DEPTH];
} tr_yaml;

void tr_yaml_begin(tr_yaml *y, live__buf *out);
void tr_yaml_map(tr_yaml *y);
/*
 * Open the document's top-level mapping as if it stood at `column`: the first
 * key follows `column` spaces, the others start there (a params value is
 * rendered this way for its place in dvc.lock). Only first in a document.
 */
void tr_yaml_map_at(tr_yaml *y, size_t column);
void tr_yaml_seq(tr_yaml *y);
void tr_yaml_end(tr_yaml *y);
/* A string: plain, or quoted as ruamel would. */
void tr_yaml_str(tr_yaml *y, const char *s);
/* A scalar already in its YAML form ("true", "0.0001", "" for null): written as is. */
void tr_yaml_raw(tr_yaml *y, const char *s);
/* A null: "null" as a key, nothing as a value or a sequence item, as ruamel writes it. */
void tr_yaml_null(tr_yaml *y);
/*
 * A mapping value already rendered as tr_param_value.yaml is (a scalar's
 * text, or a block starting with a newline): written after "key:" with its
 * later lines indented to the key's column.
 */
void tr_yaml_text(tr_yaml *y, const char *text);
int tr_yaml_finish(tr_yaml *y);

/* What YAML 1.2 reads a plain scalar as (ruamel's VersionedResolver). */
enum tr_yaml_tag {
	TR_YAML_STR,
	TR_YAML_NULL,
	TR_YAML_BOOL,
	TR_YAML_INT,
	TR_YAML_FLOAT,
	TR_YAML_TIMESTAMP,
	TR_YAML_OTHER /* "<<", "=", "!", "&", "*" */
};
/* The tag of the plain scalar s[0..n), trying the resolvers in ruamel's order. */
enum tr_yaml_tag tr_yaml_resolve(const char *s, size_t n);

/* ---- saving a stage (snapshot.c) ------------------------------------------ */

/*
 * Hash a stage's deps, params and outs into a dvc.lock entry (sorted as DVC
 * sorts). A missing dep is LIVE_ENOTFOUND; a missing out too, unless it is a
 * checkpoint out or `missing_outs_ok`. With `store`, cached outs are copied
 * into the cache.
 */
int tr_stage_hash(tr_state *st, const char *root, const tr_stage *s, int missing_outs_ok, int store,
		  tr_lock_stage *out);
/* Same cmd, deps, params and outs. */
int tr_lock_stage_equal(const tr_lock_stage *a, const tr_lock_stage *b);
/* 1 if <root>/dvc.lock does not hold exactly these bytes (*created: it does not exist). */
int tr_lock_differs(const char *root, const char *data, size_t len, int *created);
/* Write <root>/dvc.lock if its bytes change; says whether it changed or was created. */
int tr_lock_write(const char *root, const tr_lock *lock, int *changed, int *created);
/*
 * 1 if `path` (relative to the stage's `wdir`, NULL = the root) names
 * something inside the repository and outside .git/ and .dvc/: not empty, not
 * absolute, no ".." above the root. Outs, wdir and -S files must pass.
 */
int tr_path_inside(const char *wdir, const char *path);
/* Ensure "/<name>" is in the .gitignore beside `rel`; `touched` gets that .gitignore's rel path. */
int tr_gitignore_add(const char *root, const char *rel, char *touched, size_t size);

/* ---- capturing a checkpoint (capture.c) ------------------------------------ */

/* One captured file: in memory, or a staged copy for a large one. */
typedef struct tr_capture_file {
	char *relpath;       /* inside a folder out; "" for a file out */
	unsigned char *data; /* small files */
	size_t len;
	char *staged;        /* large files: path of the staged copy */
	long long size;
	tr_filestat id;      /* large files: the staged copy once hashed (tr_state_hash_own) */
	long long since;
} tr_capture_file;

typedef struct tr_capture_out {
	char *path; /* as in dvc.yaml */
	int is_dir, cached, missing;
	tr_capture_file *files;
	size_t n;
} tr_capture_out;

typedef struct tr_capture {
	tr_capture_out *outs;
	size_t n;
	char *summary_rel; /* the live summary (<live>.json), committed to git */
	unsigned char *summary;
	size_t summary_len;
} tr_capture;

/* Copy a stage's outs (and its live summary) out of the trainer's way. Fast. */
int tr_capture_stage(const char *root, const tr_stage *s, tr_capture *cap);
/* Hash the captured outs, store cached ones, and describe the stage for dvc.lock. */
int tr_capture_hash(const char *root, tr_state *st, const tr_stage *s, tr_capture *cap, tr_lock_stage *out);
/* The captured bytes of a file out, if it was captured in memory. */
const tr_capture_file *tr_capture_find(const tr_capture *cap, const char *rel);
void tr_capture_free(tr_capture *cap);

/* ---- git (tracker/git*.c: the only files that include git2.h) ----------- */

typedef struct tr_git tr_git;

/* Open the repository containing `path`; LIVE_EGIT "not a git repository". */
/* Another user's repository (git's safe.directory check): LIVE_EGIT "<work tree>: the repository is
 * owned by someone else (<user>), ...; if you trust it, run `git config --global --add safe.directory
 * <work tree>`". */
int tr_git_open(const char *path, tr_git **out);
void tr_git_free(tr_git *g);
/* The work tree's root (absolute, no trailing '/'). */
const char *tr_git_root(const tr_git *g);
/* HEAD's commit id (40 hex); LIVE_EGIT when HEAD is unborn. */
int tr_git_head(tr_git *g, char sha[41]);
/* The committer identity, or LIVE_EGIT "Git username and email must be configured". */
int tr_git_check_identity(tr_git *g);

/* A file for a checkpoint commit: its path and bytes (read from the work tree if data is NULL). */
typedef struct tr_git_file {
	const char *rel;
	const void *data;
	size_t len;
	int remove; /* drop the path from the tree */
} tr_git_file;

/*
 * Make a commit whose tree is the tree of `parent` with `files` replaced,
 * added or removed, and whose parent is `parent` (40 hex). Neither HEAD, the
 * index nor any branch moves. Message "dvc: commit experiment <exp_hash>".
 */
int tr_git_commit(tr_git *g, const char *parent, const tr_git_file *files, size_t nfiles,
		  const char *exp_hash, char sha_out[41]);
/* Like tr_git_commit, but when the tree equals the parent's writes nothing and sets sha_out to "". */
int tr_git_commit_if_changed(tr_git *g, const char *parent, const tr_git_file *files, size_t nfiles,
			     const char *exp_hash, char sha_out[41]);
/* Create or move a ref to a commit; with `old` (40 hex) only if it still points there. */
int tr_git_ref_set(tr_git *g, const char *ref, const char *sha, const char *old, const char *log_message);
/* A symbolic ref (EXEC_BRANCH -> refs/exps/...). */
int tr_git_ref_set_symbolic(tr_git *g, const char *ref, const char *target, const char *log_message);
/* Read a ref (following a symbolic one): LIVE_ENOTFOUND when absent. */
int tr_git_ref_get(tr_git *g, const char *ref, char sha_out[41]);
int tr_git_ref_delete(tr_git *g, const char *ref);
/*
 * Paths tracked in `commit`'s tree whose work-tree file differs from it or is
 * gone (`git add -u` against that commit). *paths is a malloc'd array of
 * malloc'd strings; free with tr_strv_free.
 */
int tr_git_changed_paths(tr_git *g, const char *commit, char ***paths, size_t *n);
void tr_strv_free(char **v, size_t n);
/* Every ref under `prefix` ("refs/exps/ab/cdef.../"): names and targets. */
int tr_git_refs_under(tr_git *g, const char *prefix, char ***names, char ***shas, size_t *n);
/* 1 if `descendant` is `ancestor` or descends from it, 0 if not, <0 on error. */
int tr_git_descends(tr_git *g, const char *descendant, const char *ancestor);
/* 1 if two commits have the same tree. */
int tr_git_same_tree(tr_git *g, const char *a, const char *b);
/* The first parent of a commit (LIVE_ENOTFOUND for a root commit). */
int tr_git_parent(tr_git *g, const char *commit, char sha_out[41]);

/*
 * A revision as a user types it: sha (full or short), experiment name
 * (exp-4de2a), branch, tag, HEAD, HEAD~1. LIVE_ENOTFOUND "unknown revision 'x'".
 * Tags are peeled; what leads to no commit is LIVE_EINVALID "experiment 'x':
 * <ref> points at a blob, not a commit" or "revision 'x' is a tree, not a
 * commit". The revision is shown with control characters as \xNN.
 */
int tr_git_resolve(tr_git *g, const char *rev, char sha_out[41]);
/* The bytes of `path` in `commit`'s tree (LIVE_ENOTFOUND when absent). */
int tr_git_read_blob(tr_git *g, const char *commit, const char *path, live__buf *out);
/* Committer time (Unix seconds), first parent ("" for a root) and parent count. Any may be NULL. */
int tr_git_commit_info(tr_git *g, const char *commit, long long *time_out, char parent_out[41], int *nparents);

/* refs/exps/<B[:2]>/<B[2:]>/<name> */
int tr_exp_ref_name(const char *baseline, const char *name, char *buf, size_t size);

/*
 * Reading experiments back (git_log.c), a few small blobs per commit:
 * ids[i] gets the blob id (40 hex) of paths[i] in `commit`'s tree, or "" when
 * the path is absent or not a file. One tree lookup for all the paths.
 */
int tr_git_blob_ids(tr_git *g, const char *commit, const char *const *paths, size_t n, char (*ids)[41]);
/* The bytes of the blob `blob` (40 hex); `out` is overwritten. */
int tr_git_read_blob_id(tr_git *g, const char *blob, live__buf *out);
/*
 * Every ref under `prefix` ("refs/heads/", "refs/tags/") that leads to a
 * commit, with the commit's id (annotated tags peeled). Free both arrays with
 * tr_strv_free.
 */
int tr_git_ref_commits(tr_git *g, const char *prefix, char ***names, char ***shas, size_t *n);

/* How a ref fails to lead to a commit. */
typedef enum tr_badref_kind {
	TR_BADREF_NOT_COMMIT = 1, /* a blob, a tree, or a tag of one */
	TR_BADREF_DANGLING,       /* a symbolic ref to a ref that does not exist */
	TR_BADREF_MISSING         /* its object is absent or unreadable: the repository is damaged */
} tr_badref_kind;

/* A ref that leads to no commit. */
typedef struct tr_badref {
	char *name;          /* the ref's full name, as stored (malloc'd) */
	char *msg;           /* "<name> points at a blob, not a commit": one printable line (malloc'd) */
	tr_badref_kind kind;
} tr_badref;

/*
 * tr_git_ref_commits in the same walk, plus in *bad (an array of *nbad,
 * free with tr_badrefs_free) every ref under `prefix` that leads to no
 * commit. With bad == NULL they are left out silently.
 */
int tr_git_ref_commits_ex(tr_git *g, const char *prefix, char ***names, char ***shas, size_t *n,
			  tr_badref **bad, size_t *nbad);
void tr_badrefs_free(tr_badref *bad, size_t n);

/*
 * 0 if git would take `name` as a branch name (refs/heads/<name>, by
 * git-check-ref-format(1) with --branch: no control character, space, ~ ^ :
 * ? * [ \, "..", "@{", part starting with '.' or ending in ".lock", leading
 * or trailing or doubled '/', trailing '.', leading '-', "HEAD"). Else
 * LIVE_EINVALID "'<name>' is not a valid branch name: <rule> (see git
 * check-ref-format)", the name's control characters shown as \xNN. live
 * adds one rule: at most TR_BRANCH_NAME_MAX bytes.
 */
#define TR_BRANCH_NAME_MAX 1000
int tr_git_branch_name_check(const char *name);

/* ---- the work tree, branches, history's DVC files (git_worktree.c) ------- */

/* One path that restoring a commit's files into the work tree would touch. */
typedef struct tr_wt_change {
	char *rel;
	int remove;      /* tracked in HEAD, absent from the commit: deleted from the work tree */
	int user_change; /* the work-tree file differs from HEAD's and from the applied commit's */
} tr_wt_change;

/*
 * What restoring `commit`'s tracked files would change: every path of its
 * tree whose work-tree file differs from it (content as git stores it, mode,
 * missing), and every path of HEAD's tree that it lacks and the work tree
 * holds. `applied` (40 hex, or NULL/""): an earlier experiment commit whose
 * versions of files count as results, not as the user's own changes.
 * Untracked files the commit lacks are not touched. Free with tr_wt_changes_free.
 */
int tr_git_worktree_diff(tr_git *g, const char *commit, const char *applied, tr_wt_change **out, size_t *n);
void tr_wt_changes_free(tr_wt_change *c, size_t n);
/*
 * Make the work tree hold `commit`'s version of each change (through the
 * checkout filters; temp file + rename; executable bit and symlinks as
 * recorded), or delete it. Never writes through a symlink, never touches
 * HEAD or the index. Stops at the first failure (files already written stay).
 */
int tr_git_worktree_write(tr_git *g, const char *commit, const tr_wt_change *c, size_t n);
/*
 * Create refs/heads/<branch> at `sha` (never moves an existing one), with a
 * reflog entry. LIVE_EINVALID for a bad name or "Git branch 'b' already exists.".
 */
int tr_git_branch_create(tr_git *g, const char *branch, const char *sha, const char *log_message);
/* Number of entries in a ref's reflog (DVC's refs/exps/stash keeps its queue there). */
int tr_git_reflog_count(tr_git *g, const char *ref, size_t *n);
/*
 * Call `fn` once for each distinct blob named dvc.lock or *.dvc in the trees
 * of every commit reachable from `tips` (40 hex each); `rel` is one path it
 * has. Each tree is read once. A non-zero return of `fn` stops the walk.
 */
int tr_git_each_dvc_file(tr_git *g, char *const *tips, size_t ntips,
			 int (*fn)(const char *rel, const void *data, size_t len, void *ctx), void *ctx);
/* The work tree's dvc.lock and *.dvc files that git sees (tracked, or untracked and not ignored). */
int tr_git_worktree_dvc_files(tr_git *g, char ***paths, size_t *n);

/* ---- git remotes (git_remote.c): `live exp push/pull/list <remote>` -------- */

/*
 * A git remote as the user names it: a remote of .git/config ("origin"), or
 * a URL or path (a local path, file://, git://, ssh://, user@host:path,
 * https://). A relative path in .git/config is taken from the work tree's
 * root, as git does; one typed on the command line from the current folder.
 * ssh authenticates through ssh-agent, https through credentials in the URL.
 * Failures name the remote and give libgit2's message on one line:
 * LIVE_EGIT "Git remote 'origin' (/srv/x.git): could not find repository ...".
 */
typedef struct tr_git_remote tr_git_remote;

/* Resolve `spec` without connecting; LIVE_ENOTFOUND when it is neither a remote nor a URL/path. */
/*
 * `name` for a message (git_refs.c): control characters as \xNN, cut with "..."
 * to fit `size`, so that a message quoting it stays one printable line.
 */
void tr_name_shown(const char *name, char *out, size_t size);
/* 1 if `s` starts with "<scheme>://" (remote_config.c). */
int tr_url_has_scheme(const char *s);
/* `url` for messages: a password ("scheme://user:password@host...") shown as "***", as git does. */
void tr_url_shown(const char *url, char *out, size_t size);
int tr_git_remote_open(tr_git *g, const char *spec, tr_git_remote **out);
void tr_git_remote_free(tr_git_remote *r);
/* "'origin' (url)" or "'url'": how messages name it. */
const char *tr_git_remote_label(const tr_git_remote *r);
/*
 * The refs the remote advertises under `prefix`, with their targets (40
 * hex), in the remote's order. Connects (for pushing or fetching: the two can
 * have different URLs), lists, disconnects. Free both with tr_strv_free.
 */
int tr_git_remote_refs(tr_git_remote *r, int for_push, const char *prefix, char ***names, char ***shas,
		       size_t *n);
/*
 * Download the objects that the remote refs `refs` lead to (nothing already
 * here travels again). No local ref, FETCH_HEAD or tag changes: the caller
 * decides which refs move. *bytes (if not NULL): bytes received.
 */
int tr_git_remote_fetch(tr_git_remote *r, char *const *refs, size_t n, long long *bytes);
/*
 * Push each local ref refs[i] to the same name on the remote; force[i]
 * allows a non-fast-forward update. rejected[i] (the caller zeroes the
 * array) gets the remote's reason when it refused that ref, malloc'd; the
 * call still returns 0 then. LIVE_EGIT when the push as a whole failed.
 * *bytes (if not NULL): bytes of the pack sent.
 */
int tr_git_remote_push(tr_git_remote *r, char *const *refs, const int *force, size_t n, char **rejected,
		       long long *bytes);
/*
 * The commits reachable from `tip` and not from `hide` (NULL or "": none
 * hidden; a `hide` missing from the repository hides nothing), tip first.
 * Free with tr_strv_free (git_log.c).
 */
int tr_git_commits_between(tr_git *g, const char *tip, const char *hide, char ***shas, size_t *n);

/* ---- cache remotes: .dvc/config (remote_config.c), objects (remote.c) ----- */

/*
 * A DVC remote of .dvc/config (or .dvc/config.local, which wins), as DVC 2.x
 * writes them (configobj INI):
 *     [core]
 *         remote = storage
 *     ['remote "storage"']
 *         url = ../../storage
 * Only local folders can be used (a path, or file:///path): laid out like
 * the cache, <md5[0:2]>/<md5[2:]> with ".dir" manifests, as DVC 2.x's local
 * remote. A relative url is relative to .dvc/, where the config file is.
 */
typedef struct tr_remote {
	char *name;
	char *url;  /* as the config file has it */
	char *path; /* the folder, absolute; NULL when the url is not a local folder (s3://...) */
	int local;  /* from .dvc/config.local */
} tr_remote;

typedef struct tr_remote_config {
	tr_remote *v; /* .dvc/config's in file order, then those only config.local has */
	size_t n;
	char *default_name; /* core.remote, or NULL */
} tr_remote_config;

/* Read .dvc/config and .dvc/config.local (missing files are empty). LIVE_EPARSE ".dvc/config:3: ...". */
int tr_remote_config_load(const char *root, tr_remote_config *out);
void tr_remote_config_free(tr_remote_config *c);
/*
 * The remote called `name`, or the default one when `name` is NULL, usable
 * as a cache remote: LIVE_ENOTFOUND "no cache remote ..." / "cache remote
 * 'x' is not in .dvc/config", LIVE_EINVALID for a url live cannot use.
 */
int tr_remote_config_find(const tr_remote_config *c, const char *name, const tr_remote **out);
/*
 * `live remote add`: add the remote `name` to .dvc/config (config.local with
 * `local`), its `url` as typed: a relative path is taken from `cwd` and
 * stored relative to .dvc/, as DVC does; an absolute path or a URL as it is.
 * `make_default` sets core.remote there too. The rest of the file stays as it
 * was; it is replaced through a temp file + rename. An existing remote of
 * that file is an error unless `force`.
 */
int tr_remote_config_add(const char *root, const char *cwd, int local, const char *name, const char *url,
			 int make_default, int force);

/* What a transfer did. */
typedef struct tr_remote_stats {
	size_t copied;  /* objects copied */
	size_t present; /* objects already at the destination */
	long long bytes; /* bytes copied */
} tr_remote_stats;

/*
 * What the stat cache knows of the local copy of one object, and what a
 * transfer learnt of it (for tr_state_vouches / tr_state_remember, keyed
 * ".dvc/cache/<md5[0:2]>/<md5[2:]>").
 */
typedef struct tr_remote_local {
	int vouched;        /* in, pushing: the stat cache holds the object's md5 for the identity `fs` */
	int checked;        /* out: the local object was hashed (pushing: as it was read, and it held
	                       still; pulling: the new object, whose mtime is set TR_RACY_NS before
	                       `since_ns`); its identity is in `fs` */
	tr_filestat fs;     /* in and out */
	long long since_ns; /* out: when hashing began (CLOCK_REALTIME) */
} tr_remote_local;

/*
 * Copy the cache object `md5` ("<32 hex>" or "<32 hex>.dir") to the remote
 * unless it is there: into a temp file beside its place, then renamed (mode
 * 0444) once its bytes are known to hash to its name: hashed as they are
 * copied, unless `loc` vouches for the local object and its identity still
 * matches (then copied unread, in the kernel). `loc` may be NULL. `show`
 * names it in messages. LIVE_ENOTFOUND when the local cache lacks it,
 * LIVE_EPARSE when its bytes do not hash to its name or it is not a file.
 */
int tr_remote_push_object(const char *root, const tr_remote *r, const char *md5, const char *show,
			  tr_remote_local *loc, tr_remote_stats *st);
/*
 * Copy the object `md5` from the remote into the local cache unless it is
 * there, hashed as it is copied and renamed into place only when it matches.
 * LIVE_ENOTFOUND "cache remote 'storage' (/path) has no object <md5> for
 * <show>", LIVE_EPARSE "... is corrupt" (or "is not a file").
 */
int tr_remote_pull_object(const char *root, const tr_remote *r, const char *md5, const char *show,
			  tr_remote_local *loc, tr_remote_stats *st);

#endif /* LIVE_TRACKER_H */
