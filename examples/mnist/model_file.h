/*
 * model_file.h - model.pt, the trainer's checkpoint: the network's weights
 * plus what a resumed run needs to carry on exactly (epochs done, RNG state).
 *
 * The name follows the DVC checkpoints tutorial; the contents are our own
 * format, not PyTorch's. Format version 1, all integers little-endian:
 *
 *   offset  size  field
 *        0     8  magic "LIVEMDL1"
 *        8     4  u32 format version (1)
 *       12     4  u32 header length in bytes (68: where the parameters start)
 *       16     4  u32 input rows        (28)   \
 *       20     4  u32 input cols        (28)    |
 *       24     4  u32 conv filters      (16)    | the architecture: a file
 *       28     4  u32 conv kernel size  (5)     | made for another one is
 *       32     4  u32 pool size         (2)     | rejected with a message
 *       36     4  u32 hidden units      (64)    |
 *       40     4  u32 classes           (10)   /
 *       44     8  u64 seed the run started from
 *       52     8  u64 RNG state after the last finished epoch (xorshift64*)
 *       60     4  u32 epochs done
 *       64     4  u32 parameter count N (148,586)
 *       68   4*N  f32 parameters, IEEE-754 little-endian, in cnn.h's order
 *   68+4N      4  u32 CRC-32 (zlib's crc32) of every byte before it
 *
 * Total: 72 + 4N bytes (594,416 for this trainer). Loading checks, in this
 * order: the magic, the version, the header length, the size, the checksum,
 * the architecture and the parameter count. Nothing is half-loaded: on any
 * error the output is untouched.
 *
 * Saving writes <path>.tmp, fsyncs it, renames it over <path> and fsyncs the
 * folder: a crash at any point leaves either the old or the new file whole.
 */
#ifndef MNIST_MODEL_FILE_H
#define MNIST_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"

#define MODEL_MAGIC "LIVEMDL1"
#define MODEL_VERSION 1u
#define MODEL_HEADER_LEN 68u
#define MODEL_FILE_SIZE (MODEL_HEADER_LEN + 4u * CNN_NPARAMS + 4u)

/* A checkpoint: the weights and where the run stands. */
typedef struct model_state {
	uint64_t seed;   /* the params.yaml seed the run started from */
	uint64_t rng;    /* generator state after the last finished epoch */
	uint32_t epochs; /* epochs done */
	cnn net;
} model_state;

/* Return values of model_load besides 0. */
enum { MODEL_ERROR = -1, MODEL_MISSING = -2 };

/*
 * Write `m` to `path` atomically (see above). Returns 0, or -1 with one line
 * in err: "model.pt.tmp: write: No space left on device".
 */
int model_save(const char *path, const model_state *m, char *err, size_t errlen);

/*
 * Read and validate `path` into *m. Returns 0; MODEL_MISSING when the file
 * does not exist ("model.pt: No such file or directory"); MODEL_ERROR for an
 * unreadable or invalid file, with one line in err, e.g.
 *   "model.pt: not a live model file (bad magic)"
 *   "model.pt: format version 2 is not supported (this trainer reads version 1)"
 *   "model.pt: truncated: expected 594416 bytes, got 1000"
 *   "model.pt: checksum mismatch (the file is corrupt)"
 *   "model.pt: architecture 8x5x5 differs from this trainer's 16x5x5"
 */
int model_load(const char *path, model_state *m, char *err, size_t errlen);

/*
 * Replace `path` with `len` bytes atomically: write <path>.tmp, fsync,
 * rename, fsync the folder. model_save uses it; so does the trainer for
 * predictions.json. Returns 0, or -1 with one line in err.
 */
int model_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
