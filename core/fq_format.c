/*
 * fq_format.c - record formatting for `flowq print` and match output.
 *
 * JSON is built with hand-written integer and address formatting into a
 * stack buffer: at 20M records/s a printf() per field would be the whole
 * budget.  The text form is for people and uses snprintf().
 */
#include "fq_format.h"
#include "fq_field.h"
#include "fq_ip.h"
#include "fq_time.h"

#include <stdio.h>
#include <string.h>

/* "00" "01" ... "99": two digits per division. */
static const char digits2[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/*
 * Decimal digits of v.  JSON output is mostly numbers (two dozen per
 * record, a dozen per group of a match), so this runs tens of millions
 * of times a second.  The digit count comes from the bit length; digits
 * are written from the end two at a time, each pair one 2-byte copy from
 * a table, and a number of more than eight digits is cut at 10^8 first
 * so that its last eight digits come from 32-bit arithmetic in four
 * independent pairs (a 13-digit millisecond time is the commonest).
 */
static const uint64_t pow10_tab[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

static inline unsigned
ndigits(uint64_t v)
{
	/* floor(log10(2^bits)) by 1233/4096 ~ log10(2), then one compare */
	unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1);
	unsigned n = (bits * 1233u) >> 12;
	return n + ((v | 1) >= pow10_tab[n]);   /* v | 1: 0 has a digit */
}

static inline void
put2(char *p, unsigned k)
{
	memcpy(p, &digits2[k * 2], 2);
}

/* v < 10^8 as exactly eight digits at p. */
static inline void
put8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;
	put2(p, hi / 100);
	put2(p + 2, hi % 100);
	put2(p + 4, lo / 100);
	put2(p + 6, lo % 100);
}

/* v < 10^8, its n digits ending at end. */
static inline void
put_small(char *end, uint32_t v)
{
	while (v >= 100) {
		end -= 2;
		put2(end, v % 100);
		v /= 100;
	}
	if (v >= 10)
		put2(end - 2, v);
	else
		end[-1] = (char)('0' + v);
}

size_t
fq_fmt_u64(char *buf, uint64_t v)
{
	unsigned n = ndigits(v);
	char *end = buf + n;
	if (v >= 100000000u) {
		uint64_t hi = v / 100000000u;
		put8(end - 8, (uint32_t)(v % 100000000u));
		end -= 8;
		if (hi >= 100000000u) {
			put8(end - 8, (uint32_t)(hi % 100000000u));
			end -= 8;
			hi /= 100000000u;
		}
		put_small(end, (uint32_t)hi);
	} else {
		put_small(end, (uint32_t)v);
	}
	return n;
}

size_t
fq_fmt_i64(char *buf, int64_t v)
{
	if (v < 0) {
		buf[0] = '-';
		return 1 + fq_fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fq_fmt_u64(buf, (uint64_t)v);
}

static char *
put_lit(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/*
 * The member names of a record, as `"name":` with their lengths, made once:
 * measuring each name with strlen() for every field of every record was a
 * visible part of JSON output.
 */
static struct {
	char key[FQ_F_COUNT][40];
	uint8_t len[FQ_F_COUNT];
	char iso[FQ_F_COUNT][40];       /* `,"name_iso":"` for times */
	uint8_t iso_len[FQ_F_COUNT];
	int ready;
} keys;

static void
keys_init(void)
{
	for (size_t i = 0; i < FQ_F_COUNT; i++) {
		const char *nm = fq_fields[i].name;
		int n = snprintf(keys.key[i], sizeof keys.key[i], "\"%s\":", nm);
		keys.len[i] = (uint8_t)n;
		n = snprintf(keys.iso[i], sizeof keys.iso[i], ",\"%s_iso\":\"",
			     nm);
		keys.iso_len[i] = (uint8_t)n;
	}
	keys.ready = 1;
}

_Static_assert(FQ_F_COUNT < 256, "key table indices fit");

static char *
json_member(char *p, const struct fq_record *r, size_t i)
{
	const struct fq_field *f = &fq_fields[i];
	p = put_lit(p, keys.key[i], keys.len[i]);
	if (f->type == FQ_T_IP) {
		*p++ = '"';
		p += fq_ip_format(fq_field_ip(r, f), p);
		*p++ = '"';
		return p;
	}
	if (f->type == FQ_T_U64)
		p += fq_fmt_u64(p, *(const uint64_t *)
				((const char *)r + f->offset));
	else
		p += fq_fmt_i64(p, fq_field_num(r, f));
	if (f->type == FQ_T_TIME) {
		p = put_lit(p, keys.iso[i], keys.iso_len[i]);
		p += fq_time_format(fq_field_num(r, f), p);
		*p++ = '"';
	}
	return p;
}

size_t
fq_format_json(const struct fq_record *r, char *buf)
{
	if (!keys.ready)
		keys_init();
	char *p = buf;
	*p++ = '{';
	for (size_t i = 0; i < FQ_F_COUNT; i++) {
		if (i)
			*p++ = ',';
		p = json_member(p, r, i);
	}
	*p++ = '}';
	return (size_t)(p - buf);
}

size_t
fq_format_json_members(const struct fq_record *r, char *buf,
		       const uint8_t *skip)
{
	if (!keys.ready)
		keys_init();
	char *p = buf;
	for (size_t i = 0; i < FQ_F_COUNT; i++) {
		if (skip[fq_fields[i].id])
			continue;
		*p++ = ',';
		p = json_member(p, r, i);
	}
	return (size_t)(p - buf);
}

void
fq_format_json_line(struct fq_out *o, const struct fq_record *r)
{
	char *p = fq_out_reserve(o, FQ_JSON_RECORD_MAX + 1);
	size_t n = fq_format_json(r, p);
	p[n++] = '\n';
	fq_out_commit(o, n);
}

void
fq_format_json_str(struct fq_out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	fq_out_write(o, "\"", 1);
	const char *run = s;            /* bytes written as they are */
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		fq_out_write(o, run, (size_t)(s - run));
		run = s + 1;
		if (c >= 0x20) {
			char e[2] = { '\\', (char)c };
			fq_out_write(o, e, 2);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15] };
			fq_out_write(o, e, 6);
		}
	}
	fq_out_write(o, run, (size_t)(s - run));
	fq_out_write(o, "\"", 1);
}

void
fq_format_text_header(struct fq_out *o)
{
	fq_out_printf(o, "%-24s %9s %-15s %5s    %-15s %5s %4s %10s %12s %5s\n",
		      "start", "dur_ms", "srcip", "sport", "dstip", "dport",
		      "prot", "packets", "bytes", "flags");
}

void
fq_format_text_line(struct fq_out *o, const struct fq_record *r,
		    const char *prefix)
{
	char st[FQ_TIME_STRLEN], sa[FQ_IP_STRLEN], da[FQ_IP_STRLEN];
	fq_time_format(r->stime, st);
	fq_ip_format(&r->srcip, sa);
	fq_ip_format(&r->dstip, da);
	/* Addresses take 15 columns when IPv4 so v4 traces stay compact. */
	int aw = (r->srcip.is6 || r->dstip.is6) ? 39 : 15;
	fq_out_printf(o,
		      "%s%-24s %9lld %-*s %5u -> %-*s %5u %4u %10llu %12llu 0x%02x\n",
		      prefix, st, (long long)(r->etime - r->stime), aw, sa,
		      (unsigned)r->srcport, aw, da, (unsigned)r->dstport,
		      (unsigned)r->prot, (unsigned long long)r->packets,
		      (unsigned long long)r->bytes, (unsigned)r->tcp_flags);
}
