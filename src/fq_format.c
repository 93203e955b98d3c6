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

size_t
fq_fmt_u64(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
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

size_t
fq_format_json(const struct fq_record *r, char *buf)
{
	char *p = buf;
	*p++ = '{';
	for (size_t i = 0; i < FQ_F_COUNT; i++) {
		const struct fq_field *f = &fq_fields[i];
		size_t nl = strlen(f->name);
		if (i)
			*p++ = ',';
		*p++ = '"';
		p = put_lit(p, f->name, nl);
		*p++ = '"';
		*p++ = ':';
		if (f->type == FQ_T_IP) {
			*p++ = '"';
			p += fq_ip_format(fq_field_ip(r, f), p);
			*p++ = '"';
			continue;
		}
		if (f->type == FQ_T_U64)
			p += fq_fmt_u64(p, *(const uint64_t *)
					((const char *)r + f->offset));
		else
			p += fq_fmt_i64(p, fq_field_num(r, f));
		if (f->type == FQ_T_TIME) {
			*p++ = ',';
			*p++ = '"';
			p = put_lit(p, f->name, nl);
			p = put_lit(p, "_iso\":\"", 7);
			p += fq_time_format(fq_field_num(r, f), p);
			*p++ = '"';
		}
	}
	*p++ = '}';
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
