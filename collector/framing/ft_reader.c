/*
 * ft_reader.c - flow-tools files into canonical records.
 *
 * File layout (flow-tools' ftio): a 4-byte generic header (0xCF 0x10,
 * byte order 1 = little / 2 = big, stream version), then
 *
 *   stream v3: a u32 header length followed by TLVs (u16 type, u16 length,
 *              value) up to that length; record version in TLV 2, flags in
 *              TLV 8 (bit 0x2 = zlib-compressed);
 *   stream v1: a fixed 360-byte header (record version at byte 4, flags at
 *              byte 16); its records use the 60-byte "compat" layout.
 *
 * The records follow, fixed size, either raw or as one zlib stream.  All
 * integers (addresses included) are in the file's byte order.
 *
 * Records are decoded in runs: as many whole records as the raw buffer
 * holds are converted in one tight loop specialised for the record layout
 * and byte order, so the per-record cost is a few loads and stores.
 */
#include "ft_reader.h"
#include "fq_error.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FT_MAGIC1 0xCF
#define FT_MAGIC2 0x10
#define FT_V1_HEADER_LEN 360
#define FT_MAX_HEADER_LEN (1u << 20)   /* flow-tools caps it far lower */
#define FT_TLV_EX_VER 2
#define FT_TLV_EXPORTER_IP 5
#define FT_TLV_HEADER_FLAGS 8
#define FT_FLAG_COMPRESS 0x2
#define FT_COMPAT_REC_SIZE 60

#define IN_BUFSIZE (64 * 1024)
#define RAW_BUFSIZE (256 * 1024)

struct fq_ft_reader {
	int fd;                      /* owned, -1 for memory input */
	const uint8_t *mem;          /* borrowed memory input */
	size_t mem_len, mem_pos;
	char *name;                  /* owned: path, for messages */
	struct fq_ft_info info;
	uint64_t in_off;             /* file bytes consumed into buffers */
	int in_eof;                  /* the file has no more bytes */
	/* zlib */
	z_stream zs;
	int z_init;
	int z_end;                   /* Z_STREAM_END seen */
	uint8_t *in;                 /* owned: compressed input buffer */
	/* raw record bytes */
	uint8_t *raw;                /* owned */
	size_t raw_len, raw_pos;
	uint64_t recs;               /* records returned */
	int err;                     /* sticky error, 0 or -FQ_E* */
	int err_in_data;             /* offset counts uncompressed bytes */
	char errmsg[512];
};

uint32_t
fq_ft_rec_size(unsigned d_version)
{
	switch (d_version) {
	case 1:    return 60;
	case 5:    return 64;
	case 6:    return 72;
	case 7:    return 68;
	case 1005: return 72;
	}
	return 0;
}

static inline uint32_t
ld32(const uint8_t *p, int be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[1] << 8 | p[0];
}

static inline uint16_t
ld16(const uint8_t *p, int be)
{
	return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* Read up to n bytes of the file; returns bytes read, 0 at EOF, <0 error. */
static ssize_t
src_read(struct fq_ft_reader *r, uint8_t *buf, size_t n)
{
	if (r->fd < 0) {
		size_t k = r->mem_len - r->mem_pos;
		if (k > n)
			k = n;
		memcpy(buf, r->mem + r->mem_pos, k);
		r->mem_pos += k;
		return (ssize_t)k;
	}
	for (;;) {
		ssize_t k = read(r->fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		return k;
	}
}

/* Read exactly n bytes (fewer only at EOF); returns bytes read or <0. */
static ssize_t
src_read_full(struct fq_ft_reader *r, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = src_read(r, buf + got, n - got);
		if (k < 0)
			return k;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->in_off += got;
	return (ssize_t)got;
}

static int set_error(struct fq_ft_reader *r, int code, uint64_t off,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
set_error(struct fq_ft_reader *r, int code, uint64_t off, const char *fmt, ...)
{
	char reason[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	snprintf(r->errmsg, sizeof r->errmsg, "%s: %s %llu: %s", r->name,
		 r->err_in_data ? "uncompressed byte" : "byte",
		 (unsigned long long)off, reason);
	r->err = code;
	return code;
}

static int
parse_header(struct fq_ft_reader *r)
{
	uint8_t gen[8];
	ssize_t k = src_read_full(r, gen, 4);
	if (k < 0)
		return set_error(r, -FQ_EIO, 0, "read error: %s", strerror(errno));
	if (k < 4)
		return set_error(r, -FQ_ETRUNC, (uint64_t)k,
				 "truncated flow-tools header");
	if (gen[0] != FT_MAGIC1 || gen[1] != FT_MAGIC2)
		return set_error(r, -FQ_ECORRUPT, 0,
				 "bad magic: not a flow-tools file");
	if (gen[2] != 1 && gen[2] != 2)
		return set_error(r, -FQ_ECORRUPT, 2,
				 "invalid byte order in header");
	int be = gen[2] == 2;
	r->info.big_endian = be;
	r->info.s_version = gen[3];
	uint32_t flags = 0;

	if (gen[3] == 1) {
		uint8_t h[FT_V1_HEADER_LEN];
		memcpy(h, gen, 4);
		k = src_read_full(r, h + 4, FT_V1_HEADER_LEN - 4);
		if (k < 0)
			return set_error(r, -FQ_EIO, 4, "read error: %s",
					 strerror(errno));
		if ((size_t)k < FT_V1_HEADER_LEN - 4)
			return set_error(r, -FQ_ETRUNC, 4 + (uint64_t)k,
					 "truncated flow-tools header");
		unsigned dv = ld16(h + 4, be);
		if (dv == 65535)   /* flow-tools' own compatibility rule */
			dv = 1;
		flags = ld32(h + 16, be);
		if (dv != 1 && dv != 5) {
			char d[16];
			snprintf(d, sizeof d, "%u", dv);
			return set_error(r, -FQ_EUNSUP, 4,
					 "unsupported record version %s in stream version 1",
					 d);
		}
		r->info.d_version = dv;
		r->info.header_len = FT_V1_HEADER_LEN;
		r->info.rec_size = FT_COMPAT_REC_SIZE;
	} else if (gen[3] == 3) {
		k = src_read_full(r, gen + 4, 4);
		if (k < 0)
			return set_error(r, -FQ_EIO, 4, "read error: %s",
					 strerror(errno));
		if (k < 4)
			return set_error(r, -FQ_ETRUNC, 4 + (uint64_t)k,
					 "truncated flow-tools header");
		uint32_t hlen = ld32(gen + 4, be);
		if (hlen < 8 || hlen > FT_MAX_HEADER_LEN)
			return set_error(r, -FQ_ECORRUPT, 4,
					 "invalid header length");
		uint8_t *h = malloc(hlen);
		if (h == NULL)
			return set_error(r, -FQ_ENOMEM, 4, "out of memory");
		k = src_read_full(r, h + 8, hlen - 8);
		if (k < 0 || (size_t)k < hlen - 8) {
			free(h);
			if (k < 0)
				return set_error(r, -FQ_EIO, 8, "read error: %s",
						 strerror(errno));
			return set_error(r, -FQ_ETRUNC, 8 + (uint64_t)k,
					 "truncated flow-tools header");
		}
		unsigned dv = 0;
		int have_ver = 0;
		uint32_t off = 8;
		while (off + 4 <= hlen) {
			unsigned t = ld16(h + off, be);
			unsigned l = ld16(h + off + 2, be);
			if (off + 4 + l > hlen) {
				free(h);
				return set_error(r, -FQ_ECORRUPT, off,
						 "header TLV runs past the header");
			}
			const uint8_t *v = h + off + 4;
			if (t == FT_TLV_EX_VER && l >= 2) {
				dv = ld16(v, be);
				have_ver = 1;
			} else if (t == FT_TLV_HEADER_FLAGS && l >= 4) {
				flags = ld32(v, be);
			} else if (t == FT_TLV_EXPORTER_IP && l >= 4) {
				r->info.exporter_ip = ld32(v, be);
			}
			off += 4 + l;
		}
		free(h);
		if (!have_ver)
			return set_error(r, -FQ_ECORRUPT, 8,
					 "header has no record version");
		r->info.d_version = dv;
		r->info.header_len = hlen;
		r->info.rec_size = fq_ft_rec_size(dv);
		if (r->info.rec_size == 0) {
			char d[16];
			snprintf(d, sizeof d, "%u", dv);
			return set_error(r, -FQ_EUNSUP, 8,
					 "unsupported record version %s", d);
		}
	} else {
		char d[16];
		snprintf(d, sizeof d, "%u", gen[3]);
		return set_error(r, -FQ_EUNSUP, 3,
				 "unsupported stream version %s", d);
	}

	r->info.compressed = (flags & FT_FLAG_COMPRESS) != 0;
	if (r->info.compressed) {
		r->in = malloc(IN_BUFSIZE);
		if (r->in == NULL)
			return set_error(r, -FQ_ENOMEM, r->in_off,
					 "out of memory");
		memset(&r->zs, 0, sizeof r->zs);
		if (inflateInit(&r->zs) != Z_OK)
			return set_error(r, -FQ_ENOMEM, r->in_off,
					 "zlib initialisation failed");
		r->z_init = 1;
	}
	return 0;
}

static int
reader_alloc(struct fq_ft_reader **out, const char *name)
{
	struct fq_ft_reader *r = calloc(1, sizeof *r);
	if (r == NULL)
		return -FQ_ENOMEM;
	r->fd = -1;
	r->name = strdup(name);
	r->raw = malloc(RAW_BUFSIZE);
	if (r->name == NULL || r->raw == NULL) {
		fq_ft_reader_free(r);
		return -FQ_ENOMEM;
	}
	*out = r;
	return 0;
}

static int
finish_open(struct fq_ft_reader *r, struct fq_ft_reader **out, char *why,
	    size_t why_len)
{
	int rc = parse_header(r);
	if (rc < 0) {
		if (why)
			snprintf(why, why_len, "%s", r->errmsg);
		fq_ft_reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
fq_ft_reader_open(struct fq_ft_reader **out, const char *path, char *why,
		  size_t why_len)
{
	struct fq_ft_reader *r;
	int rc = reader_alloc(&r, path);
	if (rc < 0) {
		if (why)
			snprintf(why, why_len, "%s: out of memory", path);
		return rc;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		if (why)
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
		rc = errno == ENOENT ? -FQ_ENOENT : -FQ_EIO;
		fq_ft_reader_free(r);
		return rc;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	return finish_open(r, out, why, why_len);
}

int
fq_ft_reader_open_mem(struct fq_ft_reader **out, const uint8_t *buf,
		      size_t len, const char *name, char *why, size_t why_len)
{
	struct fq_ft_reader *r;
	int rc = reader_alloc(&r, name);
	if (rc < 0)
		return rc;
	r->mem = buf;
	r->mem_len = len;
	return finish_open(r, out, why, why_len);
}

void
fq_ft_reader_free(struct fq_ft_reader *r)
{
	if (r == NULL)
		return;
	if (r->z_init)
		inflateEnd(&r->zs);
	if (r->fd >= 0)
		close(r->fd);
	free(r->in);
	free(r->raw);
	free(r->name);
	free(r);
}

const struct fq_ft_info *
fq_ft_reader_info(const struct fq_ft_reader *r)
{
	return &r->info;
}

const char *
fq_ft_reader_error(const struct fq_ft_reader *r)
{
	return r->errmsg;
}

uint64_t
fq_ft_reader_count(const struct fq_ft_reader *r)
{
	return r->recs;
}

/*
 * Top up the raw buffer after moving the unconsumed tail to its start.
 * Returns bytes added (0 = nothing more will come) or a negative error.
 */
static ssize_t
refill(struct fq_ft_reader *r)
{
	size_t tail = r->raw_len - r->raw_pos;
	if (tail && r->raw_pos)
		memmove(r->raw, r->raw + r->raw_pos, tail);
	r->raw_pos = 0;
	r->raw_len = tail;

	if (!r->info.compressed) {
		if (r->in_eof)
			return 0;
		ssize_t k = src_read(r, r->raw + tail, RAW_BUFSIZE - tail);
		if (k < 0)
			return set_error(r, -FQ_EIO, r->in_off, "read error: %s",
					 strerror(errno));
		if (k == 0)
			r->in_eof = 1;
		r->in_off += (uint64_t)k;
		r->raw_len += (size_t)k;
		return k;
	}

	size_t added = 0;
	while (!r->z_end && r->raw_len < RAW_BUFSIZE) {
		if (r->zs.avail_in == 0 && !r->in_eof) {
			ssize_t k = src_read(r, r->in, IN_BUFSIZE);
			if (k < 0)
				return set_error(r, -FQ_EIO, r->in_off,
						 "read error: %s", strerror(errno));
			if (k == 0)
				r->in_eof = 1;
			r->in_off += (uint64_t)k;
			r->zs.next_in = r->in;
			r->zs.avail_in = (uInt)k;
		}
		if (r->zs.avail_in == 0 && r->in_eof) {
			if (added)
				break;
			/* Input ended before the zlib stream did. */
			return set_error(r, -FQ_ETRUNC, r->in_off,
					 "truncated compressed stream (zlib data ends before its end marker)");
		}
		r->zs.next_out = r->raw + r->raw_len;
		r->zs.avail_out = (uInt)(RAW_BUFSIZE - r->raw_len);
		int zr = inflate(&r->zs, Z_NO_FLUSH);
		size_t got = RAW_BUFSIZE - r->raw_len - r->zs.avail_out;
		r->raw_len += got;
		added += got;
		if (zr == Z_STREAM_END) {
			r->z_end = 1;
			break;
		}
		if (zr == Z_BUF_ERROR && got == 0 && r->zs.avail_in == 0)
			continue;   /* needs more input */
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			uint64_t at = r->info.header_len + r->zs.total_in;
			return set_error(r, -FQ_ECORRUPT, at,
					 "corrupt compressed data: %s",
					 r->zs.msg ? r->zs.msg : "inflate failed");
		}
	}
	return (ssize_t)added;
}

/* Common prefix of the stream-v3 layouts (v1, v5, v6, v7, 1005). */
static inline void
decode_v3(const uint8_t *p, struct fq_record *rec, int be, int has_engine)
{
	fq_record_clear(rec);
	rec->unix_secs = ld32(p + 0, be);
	rec->unix_nsecs = ld32(p + 4, be);
	rec->sysuptime = ld32(p + 8, be);
	rec->exporter = fq_ip_v4(ld32(p + 12, be));
	rec->srcip = fq_ip_v4(ld32(p + 16, be));
	rec->dstip = fq_ip_v4(ld32(p + 20, be));
	rec->nexthop = fq_ip_v4(ld32(p + 24, be));
	rec->input = ld16(p + 28, be);
	rec->output = ld16(p + 30, be);
	rec->packets = ld32(p + 32, be);
	rec->bytes = ld32(p + 36, be);
	uint32_t first = ld32(p + 40, be);
	uint32_t last = ld32(p + 44, be);
	rec->srcport = ld16(p + 48, be);
	rec->dstport = ld16(p + 50, be);
	rec->prot = p[52];
	rec->tos = p[53];
	rec->tcp_flags = p[54];
	if (has_engine) {
		rec->engine_type = p[56];
		rec->engine_id = p[57];
		rec->src_mask = p[58];
		rec->dst_mask = p[59];
		rec->src_as = ld16(p + 60, be);
		rec->dst_as = ld16(p + 62, be);
		rec->domain = (uint32_t)rec->engine_type << 8 | rec->engine_id;
	}
	rec->arrival = (int64_t)rec->unix_secs * 1000 + rec->unix_nsecs / 1000000;
	rec->stime = fq_uptime_to_ms(rec->unix_secs, rec->unix_nsecs,
				     rec->sysuptime, first);
	rec->etime = fq_uptime_to_ms(rec->unix_secs, rec->unix_nsecs,
				     rec->sysuptime, last);
}

/*
 * Stream v1 "compat" layout.  As flow-tools does, the export time is the
 * record's own seconds + milliseconds and sysUpTime reads as 0; the byte
 * flow-tools calls `flags` carries the TCP flags.
 */
static inline void
decode_compat(const uint8_t *p, struct fq_record *rec, int be, int v5)
{
	fq_record_clear(rec);
	uint32_t msecs = ld32(p + 4, be);
	rec->unix_secs = ld32(p + 0, be);
	rec->unix_nsecs = (uint32_t)((uint64_t)msecs * 1000000u);
	rec->sysuptime = 0;
	rec->srcip = fq_ip_v4(ld32(p + 8, be));
	rec->dstip = fq_ip_v4(ld32(p + 12, be));
	rec->nexthop = fq_ip_v4(ld32(p + 16, be));
	rec->input = ld16(p + 20, be);
	rec->output = ld16(p + 22, be);
	rec->packets = ld32(p + 24, be);
	rec->bytes = ld32(p + 28, be);
	uint32_t first = ld32(p + 32, be);
	uint32_t last = ld32(p + 36, be);
	rec->srcport = ld16(p + 40, be);
	rec->dstport = ld16(p + 42, be);
	rec->prot = p[46];
	rec->tos = p[47];
	rec->tcp_flags = p[48];
	if (v5) {
		rec->src_as = ld16(p + 52, be);
		rec->dst_as = ld16(p + 54, be);
		rec->src_mask = p[56];
		rec->dst_mask = p[57];
	}
	rec->arrival = (int64_t)rec->unix_secs * 1000 + msecs;
	/* msecs is meant to be < 1000; a broken one must not overflow. */
	rec->stime = (int64_t)rec->unix_secs * 1000 + msecs -
		     (int64_t)(uint32_t)(0u - first);
	rec->etime = (int64_t)rec->unix_secs * 1000 + msecs -
		     (int64_t)(uint32_t)(0u - last);
}

static void
decode_run(const struct fq_ft_info *in, const uint8_t *p,
	   struct fq_record *recs, size_t n)
{
	size_t sz = in->rec_size;
	int be = in->big_endian;
	if (in->s_version == 1) {
		int v5 = in->d_version == 5;
		for (size_t i = 0; i < n; i++)
			decode_compat(p + i * sz, &recs[i], be, v5);
		return;
	}
	int eng = in->d_version != 1;
	/* Two loops so that the byte order is a constant inside each. */
	if (be) {
		for (size_t i = 0; i < n; i++)
			decode_v3(p + i * sz, &recs[i], 1, eng);
	} else {
		for (size_t i = 0; i < n; i++)
			decode_v3(p + i * sz, &recs[i], 0, eng);
	}
}

ssize_t
fq_ft_reader_read(struct fq_ft_reader *r, struct fq_record *recs, size_t max)
{
	size_t sz = r->info.rec_size;
	size_t done = 0;
	if (r->err)
		return r->err;
	while (done < max) {
		size_t avail = (r->raw_len - r->raw_pos) / sz;
		if (avail == 0) {
			ssize_t k = refill(r);
			if (k < 0) {
				if (done)
					break;   /* report the error next call */
				return k;
			}
			if (k == 0) {
				size_t tail = r->raw_len - r->raw_pos;
				if (tail == 0)
					break;   /* clean end */
				uint64_t at = r->info.header_len + r->recs * sz +
					      done * sz;
				r->err_in_data = r->info.compressed;
				set_error(r, -FQ_ETRUNC, at,
					  "short record at end of data");
				if (done)
					break;
				return r->err;
			}
			continue;
		}
		size_t n = max - done < avail ? max - done : avail;
		decode_run(&r->info, r->raw + r->raw_pos, recs + done, n);
		r->raw_pos += n * sz;
		done += n;
	}
	r->recs += done;
	return (ssize_t)done;
}
