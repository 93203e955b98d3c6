/*
 * test_tpl_state.c - the template state file's envelope
 * (collector/session/tpl_state.c): entries round-trip through encode,
 * save and load field for field; every truncation and every single-byte
 * change of a saved file is refused with an offset, never half applied;
 * a missing file is ENOENT (a first start).
 */
#include "dec_test.h"
#include "fq_error.h"
#include "tpl_state.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
fill(struct fq_tpl_state_entry *e, unsigned i, uint8_t *dg, size_t dlen)
{
	memset(e, 0, sizeof *e);
	e->source = i % 2 ? "udp://0.0.0.0:2055" : "udp://[::]:4739";
	e->is6 = (uint8_t)(i % 2);
	for (unsigned k = 0; k < 16; k++)
		e->addr[k] = (uint8_t)(i * 7 + k);
	e->port = (uint16_t)(40000 + i);
	e->version = i % 3 ? 10 : 9;
	e->domain = 0xdead0000u + i;
	e->seq_valid = 1;
	e->have_last = (uint8_t)(i % 2);
	e->seq_next = 4000000000u + i;
	e->fixbuf_seq = 17 + i;
	e->last_seq = 3999999999u + i;
	e->last_uptime = 123456789u;
	e->last_export_secs = 1765000000u + i;
	e->sampling = i;
	e->have_sysinit = (uint8_t)(i % 3 == 1);
	e->sysinit_ms = -5 - (int64_t)i;
	e->n_samplers = (uint8_t)(i % 4);
	for (unsigned k = 0; k < e->n_samplers; k++) {
		e->sampler_id[k] = k + 1;
		e->sampler_interval[k] = 100 * (k + 1);
	}
	e->refreshed_ms = 1765000000000LL + i;
	for (size_t k = 0; k < dlen; k++)
		dg[k] = (uint8_t)(k * 31 + i);
	e->dgram = dg;
	e->dgram_len = (uint32_t)dlen;
}

static void
same(const struct fq_tpl_state_entry *a, const struct fq_tpl_state_entry *b)
{
	CHECK(strcmp(a->source, b->source) == 0);
	CHECK(memcmp(a->addr, b->addr, 16) == 0);
	CHECK_EQ(a->is6, b->is6);
	CHECK_EQ(a->port, b->port);
	CHECK_EQ(a->version, b->version);
	CHECK_EQ(a->domain, b->domain);
	CHECK_EQ(a->seq_valid, b->seq_valid);
	CHECK_EQ(a->have_last, b->have_last);
	CHECK_EQ(a->seq_next, b->seq_next);
	CHECK_EQ(a->fixbuf_seq, b->fixbuf_seq);
	CHECK_EQ(a->last_seq, b->last_seq);
	CHECK_EQ(a->last_uptime, b->last_uptime);
	CHECK_EQ(a->last_export_secs, b->last_export_secs);
	CHECK_EQ(a->sampling, b->sampling);
	CHECK_EQ(a->have_sysinit, b->have_sysinit);
	CHECK_EQ(a->sysinit_ms, b->sysinit_ms);
	CHECK_EQ(a->n_samplers, b->n_samplers);
	for (unsigned k = 0; k < a->n_samplers; k++) {
		CHECK_EQ(a->sampler_id[k], b->sampler_id[k]);
		CHECK_EQ(a->sampler_interval[k], b->sampler_interval[k]);
	}
	CHECK_EQ(a->refreshed_ms, b->refreshed_ms);
	CHECK_EQ(a->dgram_len, b->dgram_len);
	CHECK(memcmp(a->dgram, b->dgram, a->dgram_len) == 0);
}

int
main(void)
{
	struct fq_tpl_state st = { NULL, 0, 0, 1765000000123LL };
	static uint8_t dg[7][200];
	for (unsigned i = 0; i < 7; i++) {
		struct fq_tpl_state_entry e;
		fill(&e, i, dg[i], 16 + 20 * i);
		CHECK_EQ(fq_tpl_state_add(&st, &e), 0);
	}
	char path[] = "/tmp/fq-tpl-state-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	char why[256];
	CHECK_EQ(fq_tpl_state_save(&st, path, why, sizeof why), 0);
	struct fq_tpl_state got;
	CHECK_EQ(fq_tpl_state_load(&got, path, why, sizeof why), 0);
	CHECK_EQ(got.n, st.n);
	CHECK_EQ(got.saved_ms, st.saved_ms);
	for (size_t i = 0; i < got.n && i < st.n; i++)
		same(&st.v[i], &got.v[i]);
	fq_tpl_state_fini(&got);

	uint8_t *buf;
	size_t len;
	CHECK_EQ(fq_tpl_state_encode(&st, &buf, &len), 0);
	/* Every cut and every changed byte is refused, with an offset. */
	for (size_t n = 0; n < len; n++) {
		int rc = fq_tpl_state_decode(&got, buf, n, why, sizeof why);
		CHECK(rc == -FQ_ECORRUPT && got.n == 0 &&
		      strncmp(why, "offset ", 7) == 0);
	}
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x41;
		int rc = fq_tpl_state_decode(&got, buf, len, why, sizeof why);
		CHECK(rc < 0 && got.n == 0);
		buf[i] ^= 0x41;
	}
	buf[7] = 2;   /* a later format */
	CHECK_EQ(fq_tpl_state_decode(&got, buf, len, why, sizeof why),
		 -FQ_EUNSUP);
	free(buf);

	unlink(path);
	CHECK_EQ(fq_tpl_state_load(&got, path, why, sizeof why), -FQ_ENOENT);
	fq_tpl_state_fini(&st);
	return t_failures != 0;
}
