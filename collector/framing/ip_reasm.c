/*
 * ip_reasm.c - bounded IPv4/IPv6 fragment reassembly (see ip_reasm.h).
 *
 * A slot holds a 65536-byte buffer (allocated on first use, kept for
 * reuse) and a bitmap of the 8-byte blocks received; a datagram is
 * complete when its last fragment (MF clear) has fixed the total length
 * and every block below it is in.  Overlapping fragments simply overwrite
 * (the capture is what the receiver saw; we do not try to reproduce a
 * particular OS's overlap policy).
 */
#include "ip_reasm.h"

#include <stdlib.h>
#include <string.h>

void
fq__reasm_release(struct fq__reasm *r)
{
	r->used = 0;
	r->total = 0;
	r->blocks_have = 0;
	memset(r->have, 0, sizeof r->have);
}

/* Drop datagrams whose first fragment is too far from now_ms. */
static void
expire(struct fq__reasm_table *t, int64_t now_ms)
{
	for (int i = 0; i < FQ_PF_MAX_REASM; i++) {
		struct fq__reasm *r = &t->slot[i];
		if (r->used && (now_ms - r->first_ms > FQ_PF_REASM_TIMEOUT_MS ||
				now_ms < r->first_ms - FQ_PF_REASM_TIMEOUT_MS)) {
			t->st->reason[FQ_PF_FRAG_TIMEOUT]++;
			fq__reasm_release(r);
		}
	}
}

void
fq__reasm_finish(struct fq__reasm_table *t)
{
	for (int i = 0; i < FQ_PF_MAX_REASM; i++) {
		struct fq__reasm *r = &t->slot[i];
		if (r->used) {
			t->st->reason[FQ_PF_FRAG_TIMEOUT]++;
			fq__reasm_release(r);
		}
	}
}

/*
 * The slot of datagram (src, dst, id[, proto]), or a new one: a free slot,
 * or the oldest, evicted.  NULL when no buffer could be allocated.
 */
static struct fq__reasm *
slot_find(struct fq__reasm_table *t, int is6, const uint8_t *src,
	  const uint8_t *dst, uint32_t id, uint8_t proto, int64_t ts_ms)
{
	size_t alen = is6 ? 16 : 4;
	struct fq__reasm *free_slot = NULL, *oldest = NULL;
	for (int i = 0; i < FQ_PF_MAX_REASM; i++) {
		struct fq__reasm *r = &t->slot[i];
		if (!r->used) {
			if (free_slot == NULL)
				free_slot = r;
			continue;
		}
		/* IPv6: only the offset-0 fragment's next header counts. */
		if (r->is6 == is6 && r->id == id &&
		    (is6 || r->proto == proto) &&
		    memcmp(r->src, src, alen) == 0 &&
		    memcmp(r->dst, dst, alen) == 0)
			return r;
		if (oldest == NULL || r->first_ms < oldest->first_ms)
			oldest = r;
	}
	struct fq__reasm *r = free_slot;
	if (r == NULL) {
		t->st->reason[FQ_PF_FRAG_EVICTED]++;
		fq__reasm_release(oldest);
		r = oldest;
	}
	if (r->buf == NULL) {
		r->buf = malloc(FQ_REASM_MAX + 1);
		if (r->buf == NULL)
			return NULL;
	}
	r->used = 1;
	r->is6 = is6;
	memset(r->src, 0, sizeof r->src);
	memset(r->dst, 0, sizeof r->dst);
	memcpy(r->src, src, alen);
	memcpy(r->dst, dst, alen);
	r->id = id;
	r->proto = proto;
	r->first_ms = ts_ms;
	return r;
}

struct fq__reasm *
fq__reasm_add(struct fq__reasm_table *t, int is6, const uint8_t *src,
	      const uint8_t *dst, uint32_t id, uint8_t proto, uint32_t off,
	      const uint8_t *p, size_t n, int more, int64_t ts_ms)
{
	t->st->fragments++;
	expire(t, ts_ms);
	if (off + n > FQ_REASM_MAX || (more && (n == 0 || n % 8 != 0))) {
		t->st->reason[FQ_PF_FRAG_BAD]++;
		return NULL;
	}
	struct fq__reasm *r = slot_find(t, is6, src, dst, id, proto, ts_ms);
	if (r == NULL) {
		t->st->reason[FQ_PF_FRAG_BAD]++;
		return NULL;
	}
	if (!more) {
		uint32_t total = off + (uint32_t)n;
		if (r->total != 0 && r->total != total) {
			/* Two different ends: give up on this datagram. */
			t->st->reason[FQ_PF_FRAG_BAD]++;
			fq__reasm_release(r);
			return NULL;
		}
		r->total = total;
	}
	if (off == 0)
		r->proto = proto;
	memcpy(r->buf + off, p, n);
	for (uint32_t b = off / 8; b < (off + n + 7) / 8; b++) {
		if (!(r->have[b / 8] & (1u << (b % 8)))) {
			r->have[b / 8] |= (uint8_t)(1u << (b % 8));
			r->blocks_have++;
		}
	}
	if (r->total != 0 && r->blocks_have == (r->total + 7) / 8) {
		/* Blocks beyond total would mean inconsistent fragments. */
		int over = 0;
		for (uint32_t b = (r->total + 7) / 8; b < FQ_REASM_BLOCKS;
		     b++)
			if (r->have[b / 8] & (1u << (b % 8))) {
				over = 1;
				break;
			}
		if (!over) {
			t->st->reassembled++;
			return r;
		}
	}
	t->st->reason[FQ_PF_FRAG_HELD]++;
	return NULL;
}

void
fq__reasm_free(struct fq__reasm_table *t)
{
	for (int i = 0; i < FQ_PF_MAX_REASM; i++)
		free(t->slot[i].buf);
}
