/*
 * keyindex.c - the key index of a grouper module: its open groups by the
 * hash of their key (`srcip = srcip`, `dstip = dstip`: the first record's
 * values of the left-hand fields).  A record probes it with the hash of
 * its right-hand fields (pl_key_hash, grouper.h) and walks one run of
 * slots, in creation order; grouper.c does that walk inline.
 *
 * A key index is an open-addressing hash table of entries (key hash,
 * deadline, seq, group), probed linearly and kept at most half full: a
 * record walks the entries from its key's home slot to the first empty
 * one, reading contiguous memory, and touches a group only when the key
 * hash matches and the group's deadline still admits the record's stime.
 * Entries of one hash keep their creation order along the run: a new
 * entry goes to the run's first free slot, removal shifts the entries
 * behind it back (never past one of the same home), and growth re-inserts
 * starting after an empty slot, so that no run is cut at the table's end.
 * A busy key (a client's DNS lookups, each a group under a 1 s gap rule)
 * keeps every group of the last M minutes open: its run is read in order
 * and the first group that accepts the record is the oldest.
 *
 * Until 2026-11-24 the buckets were arrays, each malloc'd when its first
 * entry came and freed when its last left: most keys come and go, and
 * that was an allocation and a free per group.
 */
#include "pl.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

int
pl_kindex_grow(struct pl_gindex *ix, struct pl_mem *mem)
{
	size_t nb = ix->nb ? ix->nb * 2 : 256;
	struct pl_kent *v = fq_table_alloc(nb * sizeof *v);
	if (v == NULL)
		return -1;
	pl_mem_realloc(mem, ix->nb * sizeof *v, nb * sizeof *v);
	if (ix->nb) {
		size_t mask = ix->nb - 1, start = 0;
		while (ix->v[start].g)   /* at most half full: one is empty */
			start++;
		for (size_t k = 1; k <= ix->nb; k++) {
			const struct pl_kent *e = &ix->v[(start + k) & mask];
			if (e->g)
				pl_kindex_put(v, nb, *e);
		}
	}
	fq_table_free(ix->v, ix->nb * sizeof *ix->v);
	ix->v = v;
	ix->nb = nb;
	return 0;
}

struct pl_kent *
pl_kindex_find(struct pl_gindex *ix, const struct pl_group *G, uint64_t hash)
{
	size_t mask = ix->nb - 1;
	for (size_t i = hash & mask; ix->v[i].g; i = (i + 1) & mask)
		if (ix->v[i].g == G)
			return &ix->v[i];
	return NULL;
}

void
pl_kindex_del(struct pl_gindex *ix, const struct pl_group *G, uint64_t hash)
{
	struct pl_kent *e = pl_kindex_find(ix, G, hash);
	if (e == NULL)
		return;
	size_t mask = ix->nb - 1;
	size_t i = (size_t)(e - ix->v), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (ix->v[j].g == NULL)
			break;
		/* The entry at j may fill the hole at i unless its home lies
		 * cyclically in (i, j]. */
		size_t home = ix->v[j].hash & mask;
		if (!pl_oa_stays(home, i, j)) {
			ix->v[i] = ix->v[j];
			i = j;
		}
	}
	ix->v[i].g = NULL;
	ix->n--;
}
