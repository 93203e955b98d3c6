/*
 * fq_field.c - the field table and name lookup.
 *
 * Lookups happen while compiling a query or parsing a command line, never
 * per record, so a linear scan over ~30 entries and their aliases is the
 * simplest correct thing.
 */
#include "fq_field.h"

#include <stddef.h>
#include <string.h>

#include "fq_suggest.h"

#define ALIASES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NOALIAS ((const char *const[]){ NULL })
#define OFF(m) ((uint16_t)offsetof(struct fq_record, m))

const struct fq_field fq_fields[FQ_F_COUNT] = {
	{ FQ_F_REC_ID, "rec_id", NOALIAS, FQ_T_U64, OFF(rec_id), 0,
	  "1-based position of the record in this run's input" },
	{ FQ_F_EXPORTER, "exporter", ALIASES("exaddr"), FQ_T_IP, OFF(exporter), 0,
	  "address of the exporter" },
	{ FQ_F_DOMAIN, "domain", ALIASES("observationDomainId", "source_id"),
	  FQ_T_U32, OFF(domain), 0,
	  "IPFIX observation domain / v9 source id / v5 engine_type<<8|engine_id" },
	{ FQ_F_SRCIP, "srcip",
	  ALIASES("srcaddr", "sourceIPv4Address", "sourceIPv6Address"),
	  FQ_T_IP, OFF(srcip), 0, "source address" },
	{ FQ_F_DSTIP, "dstip",
	  ALIASES("dstaddr", "destinationIPv4Address", "destinationIPv6Address"),
	  FQ_T_IP, OFF(dstip), 0, "destination address" },
	{ FQ_F_NEXTHOP, "nexthop",
	  ALIASES("ipNextHopIPv4Address", "ipNextHopIPv6Address"),
	  FQ_T_IP, OFF(nexthop), 0, "next hop" },
	{ FQ_F_SRCPORT, "srcport", ALIASES("sourceTransportPort"), FQ_T_U16,
	  OFF(srcport), 0, "source port (ICMP type/code as exported)" },
	{ FQ_F_DSTPORT, "dstport", ALIASES("destinationTransportPort"), FQ_T_U16,
	  OFF(dstport), 0, "destination port" },
	{ FQ_F_PROT, "prot", ALIASES("proto", "protocolIdentifier"), FQ_T_U8,
	  OFF(prot), 0, "IP protocol" },
	{ FQ_F_TOS, "tos", ALIASES("ipClassOfService"), FQ_T_U8, OFF(tos), 0,
	  "type of service" },
	{ FQ_F_TCP_FLAGS, "tcp_flags", ALIASES("tcpControlBits"), FQ_T_U16,
	  OFF(tcp_flags), 0, "cumulative TCP flags" },
	{ FQ_F_PACKETS, "packets", ALIASES("dPkts", "packetDeltaCount"), FQ_T_U64,
	  OFF(packets), 0, "packets" },
	{ FQ_F_BYTES, "bytes", ALIASES("dOctets", "octetDeltaCount"), FQ_T_U64,
	  OFF(bytes), 0, "bytes" },
	{ FQ_F_STIME, "stime", ALIASES("First", "flowStartMilliseconds"),
	  FQ_T_TIME, OFF(stime), 0, "flow start, ms since the epoch" },
	{ FQ_F_ETIME, "etime", ALIASES("Last", "flowEndMilliseconds"),
	  FQ_T_TIME, OFF(etime), 0, "flow end, ms since the epoch" },
	{ FQ_F_DURATION, "duration", ALIASES("td"), FQ_T_DUR, 0,
	  FQ_FIELD_DERIVED, "etime - stime, ms" },
	{ FQ_F_INPUT, "input", ALIASES("ingressInterface"), FQ_T_U32, OFF(input),
	  0, "input ifIndex" },
	{ FQ_F_OUTPUT, "output", ALIASES("egressInterface"), FQ_T_U32,
	  OFF(output), 0, "output ifIndex" },
	{ FQ_F_SRC_AS, "src_as", ALIASES("bgpSourceAsNumber"), FQ_T_U32,
	  OFF(src_as), 0, "source AS" },
	{ FQ_F_DST_AS, "dst_as", ALIASES("bgpDestinationAsNumber"), FQ_T_U32,
	  OFF(dst_as), 0, "destination AS" },
	{ FQ_F_SRC_MASK, "src_mask", ALIASES("sourceIPv4PrefixLength"), FQ_T_U8,
	  OFF(src_mask), 0, "source prefix length" },
	{ FQ_F_DST_MASK, "dst_mask", ALIASES("destinationIPv4PrefixLength"),
	  FQ_T_U8, OFF(dst_mask), 0, "destination prefix length" },
	{ FQ_F_ENGINE_TYPE, "engine_type", NOALIAS, FQ_T_U8, OFF(engine_type), 0,
	  "v5 / flow-tools engine type" },
	{ FQ_F_ENGINE_ID, "engine_id", NOALIAS, FQ_T_U8, OFF(engine_id), 0,
	  "v5 / flow-tools engine id" },
	{ FQ_F_SAMPLING, "sampling", ALIASES("samplingInterval"), FQ_T_U32,
	  OFF(sampling), 0, "sampling interval, 1 when unsampled" },
	{ FQ_F_UNIX_SECS, "unix_secs", NOALIAS, FQ_T_U32, OFF(unix_secs), 0,
	  "export header seconds" },
	{ FQ_F_UNIX_NSECS, "unix_nsecs", NOALIAS, FQ_T_U32, OFF(unix_nsecs), 0,
	  "export header nanoseconds" },
	{ FQ_F_SYSUPTIME, "sysUpTime", NOALIAS, FQ_T_U32, OFF(sysuptime), 0,
	  "export header router uptime, ms" },
};

static int
name_is(const char *cand, const char *name, size_t len)
{
	return strncmp(cand, name, len) == 0 && cand[len] == '\0';
}

const struct fq_field *
fq_field_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < FQ_F_COUNT; i++) {
		const struct fq_field *f = &fq_fields[i];
		if (name_is(f->name, name, len))
			return f;
		for (const char *const *a = f->aliases; *a; a++)
			if (name_is(*a, name, len))
				return f;
	}
	return NULL;
}

/*
 * The field names and aliases are the candidates, in table order (a
 * canonical name before its aliases wins a tie).
 */
const char *
fq_field_suggest(const char *name, size_t len)
{
	struct fq_suggest sg;
	fq_suggest_init(&sg, name, len);
	for (size_t i = 0; i < FQ_F_COUNT; i++) {
		const struct fq_field *f = &fq_fields[i];
		fq_suggest_add(&sg, f->name);
		for (const char *const *a = f->aliases; *a; a++)
			fq_suggest_add(&sg, *a);
	}
	return fq_suggest_result(&sg, 0);
}

const char *
fq_type_name(enum fq_type t)
{
	switch (t) {
	case FQ_T_U8:   return "u8";
	case FQ_T_U16:  return "u16";
	case FQ_T_U32:  return "u32";
	case FQ_T_U64:  return "u64";
	case FQ_T_TIME: return "time";
	case FQ_T_DUR:  return "duration";
	case FQ_T_IP:   return "ip";
	}
	return "?";
}

