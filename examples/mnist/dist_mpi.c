/*
 * dist.h for `train_mpi`, over MPI. Errors abort the job (MPI_ERRORS_ARE_FATAL,
 * the default): a rank that cannot communicate cannot go on alone.
 */
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

static int rank, size = 1;

int dist_init(int *argc, char ***argv)
{
	if (MPI_Init(argc, argv) != MPI_SUCCESS) {
		fprintf(stderr, "train: MPI_Init failed\n");
		return -1;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	return 0;
}

void dist_finalize(void)
{
	MPI_Finalize();
}

int dist_rank(void)
{
	return rank;
}

int dist_size(void)
{
	return size;
}

void dist_sum_floats(float *buf, int n)
{
	MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

void dist_sum_doubles(double *buf, int n)
{
	MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

unsigned dist_or(unsigned flags)
{
	unsigned all = 0;
	MPI_Allreduce(&flags, &all, 1, MPI_UNSIGNED, MPI_BOR, MPI_COMM_WORLD);
	return all;
}

void dist_bcast(void *buf, size_t len)
{
	/* MPI counts are ints: a data set past 2 GB goes in pieces */
	for (size_t off = 0; off < len;) {
		size_t n = len - off < (size_t)INT_MAX ? len - off : (size_t)INT_MAX;
		MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
		off += n;
	}
}

void dist_gather_shards(unsigned char *buf, int n)
{
	int *counts = NULL, *displs = NULL, lo, hi;
	dist_shard(n, &lo, &hi);
	if (rank == 0) {
		counts = malloc(sizeof(int) * (size_t)size);
		displs = malloc(sizeof(int) * (size_t)size);
		if (!counts || !displs) {
			fprintf(stderr, "train: out of memory\n");
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
		for (int r = 0; r < size; r++) {
			displs[r] = (int)((long long)n * r / size);
			counts[r] = (int)((long long)n * (r + 1) / size) - displs[r];
		}
		MPI_Gatherv(MPI_IN_PLACE, 0, MPI_BYTE, buf, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
	} else {
		MPI_Gatherv(buf + lo, hi - lo, MPI_BYTE, NULL, NULL, NULL, MPI_BYTE, 0, MPI_COMM_WORLD);
	}
	free(counts);
	free(displs);
}
