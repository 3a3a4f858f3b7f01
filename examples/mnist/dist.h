/*
 * dist.h - what train.c needs from its ranks, with two builds:
 *
 *   dist_serial.c  `train`: one process, rank 0 of 1; every call is a no-op
 *                  (the trainer keeps no MPI dependency);
 *   dist_mpi.c     `train_mpi`: Open MPI (or any MPI), one rank per process
 *                  of `mpirun -np N ./train_mpi`.
 *
 * Rank 0 does every file read and write and every live call that writes;
 * it broadcasts what the others need (parameters, data, the model). Every
 * call below is collective: all ranks make it, in the same order, or the job
 * hangs. An MPI failure aborts the job (MPI's default error handler).
 */
#ifndef MNIST_DIST_H
#define MNIST_DIST_H

#include <stddef.h>

/* Before anything else in main(). Returns 0, or -1 with a message on stderr. */
int dist_init(int *argc, char ***argv);
/* After the last collective call. */
void dist_finalize(void);

int dist_rank(void);
int dist_size(void);

/* This rank's part [*lo, *hi) of n items: contiguous, in rank order, sizes differing by at most 1. */
static inline void dist_shard(int n, int *lo, int *hi)
{
	int r = dist_rank(), size = dist_size();
	*lo = (int)((long long)n * r / size);
	*hi = (int)((long long)n * (r + 1) / size);
}

/* In place: every rank's n floats (doubles) become the sum over the ranks, the same on every rank. */
void dist_sum_floats(float *buf, int n);
void dist_sum_doubles(double *buf, int n);
/* The bitwise OR of every rank's flags, on every rank. */
unsigned dist_or(unsigned flags);
/* Rank 0's len bytes at buf, copied to every other rank's buf. */
void dist_bcast(void *buf, size_t len);
/* buf holds n bytes, sharded with dist_shard: each rank's own part goes into rank 0's buf. */
void dist_gather_shards(unsigned char *buf, int n);

#endif
