/*
 * ipfix_fixbuf.c - the libfixbuf adapter: IPFIX data records are decoded by
 * libfixbuf 2.4 in connection-less mode (fBufAllocForCollection(session,
 * NULL) + fBufSetBuffer), one fbSession per exporter transport, into
 * internal templates laid out like struct fq__acc.
 *
 * An fBuf_t carries a 64 KiB message buffer inside it that connection-less
 * decoding never uses (fBufSetBuffer points it at flowq's own copy), so one
 * fBuf per exporter cost 75 KB of memory per IPFIX exporter.  Each decoder
 * has one fBuf instead, set to an exporter's session (fBufSetSession) for
 * the time of one of its messages; an exporter keeps only its fbSession
 * (its templates and sequence numbers).  The internal templates are the
 * decoder's too: made once, added to each session that uses them.
 *
 * GLib and GError stay in this file.  libfixbuf logs through GLib's default
 * log domain; those messages are routed into flowq's rate-limited log (at
 * debug level for libfixbuf's chatter, info for its warnings), never to
 * stderr directly: a broken exporter must not flood the terminal.
 *
 * libfixbuf only ever sees messages that ipfix_check.c has validated and
 * cleaned.  Which of flowq's fields a template carries is worked out once
 * per template, in libfixbuf's new-template callback, from libfixbuf's own
 * view of it, and kept as the template's context: a record then costs one
 * fBufNext() transcode plus the shared fq__acc_apply().
 *
 * Information model: libfixbuf's built-in model (IANA plus the CERT
 * enterprise elements compiled into libfixbuf 2.x).  When libfixbuf-tools'
 * cert_ipfix.xml is installed it is loaded on top (newer CERT elements).
 */
#include "decode.h"
#include "fq_error.h"
#include "fq_log.h"
#include "ipfix_fixbuf.h"
#include "record_values.h"
#include "template_engine.h"

/* fBufSetSession, fbSessionSetTemplateBuffer, fBufRemoveTemplateTcplan,
 * fBufRewind: libfixbuf 2.x exports them but documents them only here. */
#include <fixbuf/private.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * An internal template of the decoder: libfixbuf holds it in the decoder's
 * idle session (which keeps it alive) and in every exporter session that
 * decodes with it, always under the same template id, so the fBuf's cached
 * pointer to the current internal template stays right whichever session
 * the fBuf is set to.
 */
struct itmpl {
	fbTemplate_t *tmpl;             /* owned by the idle session */
	uint16_t tid;
	uint8_t used;                   /* set on the fBuf since the last
					   change of session */
};

/*
 * A plan: an internal template holding only the elements (of `elems`) that
 * one kind of external template carries, and where each lands in struct
 * fq__acc.  libfixbuf's transcoder walks every element of the internal
 * template for every record, zero-filling absent ones, so decoding into
 * the full 56-element template would cost several times more than into
 * the 15-20 elements a real template has.  Plans are shared by all
 * templates with the same element set, of all exporters of the decoder,
 * and capped per decoder (a hostile exporter could invent many sets); past
 * the cap the full template is used: the same records, at a higher cost.
 */
#define MAX_PLANS 256
#define FULL_TID 65535                  /* plan i is FULL_TID - 1 - i */

struct plan {
	struct itmpl it;
	uint64_t key;                   /* bit i: elems[i] present */
	uint16_t n;
	struct {
		uint16_t src, dst, len;
	} f[64];
};

struct fq__ipfix_model {
	fbInfoModel_t *model;           /* borrowed: the process-wide model */
	/*
	 * The decoder's one fBuf, made with its first IPFIX message (NULL
	 * before), and the empty session it owns, which it is set to
	 * between exporters.
	 */
	fBuf_t *fbuf;                   /* owned; owns `idle` */
	fbSession_t *idle;
	struct fq__ipfix_session *cur;  /* the session fbuf is set to */
	uint16_t cur_tid;               /* internal template set on fbuf */
	struct itmpl full;              /* every element; tmpl NULL until used */
	unsigned n_plans;
	struct plan *plans[MAX_PLANS];  /* owned */
	/* Internal templates set on the fBuf since the last change. */
	unsigned n_used;
	struct itmpl *used[MAX_PLANS + 1];
};

/*
 * One information model for the whole process: building it (thousands of
 * elements, the CERT file) costs milliseconds, and it never changes after
 * start-up, because elements it does not know are never shown to libfixbuf
 * (fq__ipfix_field_ok), so libfixbuf adds no "alien" elements to it: a
 * hostile exporter cannot grow it.  It lives until the process exits.
 */
static fbInfoModel_t *g_model;

/*
 * What libfixbuf holds for one exporter, as counted in the session's bytes
 * (exporter.h, fq__mem_add).  libfixbuf does not say, so these were
 * measured: flowq's RSS over 10,000 exporters decoding through libfixbuf
 * minus the same through the native engine, for one template of 9 and of
 * 25 elements, four templates, and two domains (docs/decoders.md,
 * "Session memory").
 */
#define FIXBUF_SESSION_BYTES 1136       /* fbSession_t, its hash tables */
#define FIXBUF_DOMAIN_BYTES 288         /* a domain's template table */
#define FIXBUF_TEMPLATE_BYTES 376       /* fbTemplate_t, its index */
#define FIXBUF_FIELD_BYTES 96           /* per element of a template */

struct fq__ipfix_session {
	fbSession_t *session;           /* owned */
	struct fq__ipfix_model *m;      /* borrowed: the decoder's */
	struct fq_exporter *ex;         /* borrowed: whose bytes count it */
};

/* What a template carries, computed once (libfixbuf template context). */
struct tctx {
	uint64_t has;
	uint64_t key;                   /* elements present (struct plan) */
	struct plan *plan;              /* borrowed from the decoder; NULL
					   until the first record */
	int planned;                    /* plan looked up (NULL = full) */
	int is_options;
	int sampler8;                   /* samplerId (u8) rather than selectorId */
	size_t bytes;                   /* counted for it in the session */
};

/*
 * The internal template: element, length, where it lands in struct
 * fq__acc, and whether the external length must equal it (addresses,
 * timestamps) or may be shorter (reduced-size integers, RFC 7011 6.2).
 */
struct elem {
	uint16_t ie;
	const char *name;
	uint16_t len;
	uint16_t offset;
	uint8_t exact;
};

#define E(ie, name, member, exact) \
	{ ie, name, sizeof(((struct fq__acc *)0)->member), \
	  offsetof(struct fq__acc, member), exact }
static const struct elem elems[] = {
	E(1, "octetDeltaCount", bytes, 0),
	E(2, "packetDeltaCount", pkts, 0),
	E(85, "octetTotalCount", bytes_total, 0),
	E(86, "packetTotalCount", pkts_total, 0),
	E(23, "postOctetDeltaCount", bytes_out, 0),
	E(24, "postPacketDeltaCount", pkts_out, 0),
	E(231, "initiatorOctets", bytes_init, 0),
	E(298, "initiatorPackets", pkts_init, 0),
	E(152, "flowStartMilliseconds", start_ms, 1),
	E(153, "flowEndMilliseconds", end_ms, 1),
	E(154, "flowStartMicroseconds", start_us, 1),
	E(155, "flowEndMicroseconds", end_us, 1),
	E(156, "flowStartNanoseconds", start_ns, 1),
	E(157, "flowEndNanoseconds", end_ns, 1),
	E(160, "systemInitTimeMilliseconds", sysinit_ms, 1),
	E(302, "selectorId", selector_id, 0),
	E(150, "flowStartSeconds", start_s, 1),
	E(151, "flowEndSeconds", end_s, 1),
	E(22, "flowStartSysUpTime", start_up, 0),
	E(21, "flowEndSysUpTime", end_up, 0),
	E(158, "flowStartDeltaMicroseconds", start_delta_us, 0),
	E(159, "flowEndDeltaMicroseconds", end_delta_us, 0),
	E(161, "flowDurationMilliseconds", dur_ms, 0),
	E(162, "flowDurationMicroseconds", dur_us, 0),
	E(8, "sourceIPv4Address", src4, 1),
	E(12, "destinationIPv4Address", dst4, 1),
	E(15, "ipNextHopIPv4Address", nh4, 1),
	E(18, "bgpNextHopIPv4Address", bgpnh4, 1),
	E(10, "ingressInterface", input, 0),
	E(14, "egressInterface", output, 0),
	E(16, "bgpSourceAsNumber", src_as, 0),
	E(17, "bgpDestinationAsNumber", dst_as, 0),
	E(34, "samplingInterval", sampling, 0),
	E(50, "samplerRandomInterval", sampler_interval, 0),
	E(305, "samplingPacketInterval", pkt_interval, 0),
	E(306, "samplingPacketSpace", pkt_space, 0),
	E(309, "samplingSize", samp_size, 0),
	E(310, "samplingPopulation", samp_pop, 0),
	E(27, "sourceIPv6Address", src6, 1),
	E(28, "destinationIPv6Address", dst6, 1),
	E(62, "ipNextHopIPv6Address", nh6, 1),
	E(63, "bgpNextHopIPv6Address", bgpnh6, 1),
	E(7, "sourceTransportPort", srcport, 0),
	E(11, "destinationTransportPort", dstport, 0),
	E(32, "icmpTypeCodeIPv4", icmp4, 0),
	E(139, "icmpTypeCodeIPv6", icmp6, 0),
	E(6, "tcpControlBits", tcpflags, 0),
	E(4, "protocolIdentifier", prot, 0),
	E(5, "ipClassOfService", tos, 0),
	E(9, "sourceIPv4PrefixLength", src_mask, 0),
	E(13, "destinationIPv4PrefixLength", dst_mask, 0),
	E(29, "sourceIPv6PrefixLength", src6_mask, 0),
	E(30, "destinationIPv6PrefixLength", dst6_mask, 0),
	E(38, "engineType", engine_type, 0),
	E(39, "engineId", engine_id, 0),
	E(48, "samplerId", sampler_id8, 0),
};
#undef E
#define N_ELEMS (sizeof elems / sizeof elems[0])

_Static_assert(N_ELEMS <= 64, "element bits fit in uint64_t");

int
fq__ipfix_elem_index(unsigned ie)
{
	for (size_t i = 0; i < N_ELEMS; i++)
		if (elems[i].ie == ie)
			return (int)i;
	return -1;
}

static const struct elem *
elem_of(unsigned ie)
{
	for (size_t i = 0; i < N_ELEMS; i++)
		if (elems[i].ie == ie)
			return &elems[i];
	return NULL;
}

int
fq__ipfix_field_ok(uint32_t pen, unsigned ie, unsigned len)
{
	if (pen != 0)
		return g_model && fbInfoModelGetElementByID(g_model,
				(uint16_t)ie, pen) != NULL;
	const struct elem *e = elem_of(ie);
	if (e == NULL)
		return 1;       /* not read by flowq: libfixbuf skips it */
	if (len == 65535)
		return 0;       /* variable length: libfixbuf cannot transcode */
	return e->exact ? len == e->len : len >= 1 && len <= e->len;
}

/* GLib log messages (libfixbuf's) into flowq's log. */
static struct fq_ratelimit glib_rl = FQ_RATELIMIT_INIT;

static void
glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
	 gpointer ud)
{
	(void)ud;
	enum fq_log_level l = FQ_LOG_DEBUG;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		l = FQ_LOG_WARN;
	else if (level & G_LOG_LEVEL_WARNING)
		l = FQ_LOG_INFO;
	if (l > fq_log_get_level())
		return;
	fq_log_rl(&glib_rl, l, "libfixbuf%s%s: %s", domain ? " " : "",
		  domain ? domain : "", msg);
}

static const char *const cert_files[] = {
	"/usr/share/libfixbuf/cert_ipfix.xml",
	"/usr/local/share/libfixbuf/cert_ipfix.xml",
	"/usr/share/fixbuf/cert_ipfix.xml",
	"/usr/local/share/fixbuf/cert_ipfix.xml",
};

int
fq__ipfix_model_new(struct fq__ipfix_model **out)
{
	*out = NULL;
	/* The internal template must match struct fq__acc byte for byte. */
	size_t at = 0;
	for (size_t i = 0; i < N_ELEMS; i++) {
		if (elems[i].offset != at) {
			fq_error("ipfix: internal template does not match "
				 "struct fq__acc at %s", elems[i].name);
			return -FQ_EINVAL;
		}
		at += elems[i].len;
	}
	/* Only the tail padding of struct fq__acc is not in the template. */
	if (at != offsetof(struct fq__acc, pad)) {
		fq_error("ipfix: internal template size %zu != %zu", at,
			 sizeof(struct fq__acc));
		return -FQ_EINVAL;
	}
	struct fq__ipfix_model *m = calloc(1, sizeof *m);
	if (m == NULL)
		return -FQ_ENOMEM;
	if (g_model == NULL) {
		static const char *const domains[] = { NULL, "fixbuf",
						       "libfixbuf" };
		for (size_t i = 0; i < sizeof domains / sizeof domains[0]; i++)
			g_log_set_handler(domains[i], G_LOG_LEVEL_MASK |
					  G_LOG_FLAG_FATAL |
					  G_LOG_FLAG_RECURSION, glib_log, NULL);
		g_model = fbInfoModelAlloc();
		for (size_t i = 0; i < sizeof cert_files / sizeof cert_files[0];
		     i++) {
			if (access(cert_files[i], R_OK) != 0)
				continue;
			GError *err = NULL;
			if (fbInfoModelReadXMLFile(g_model, cert_files[i], &err))
				fq_debug("ipfix: loaded %s", cert_files[i]);
			else
				fq_warn("ipfix: cannot load %s: %s",
					cert_files[i], err ? err->message : "?");
			g_clear_error(&err);
			break;
		}
	}
	m->model = g_model;
	*out = m;
	return 0;
}

void
fq__ipfix_model_free(struct fq__ipfix_model *m)
{
	if (m == NULL)
		return;
	/*
	 * The exporter sessions are gone (fq_decoder_free frees them
	 * first); the fBuf frees the idle session, which frees the internal
	 * templates.  The information model stays for the process.
	 */
	if (m->fbuf)
		fBufFree(m->fbuf);
	for (unsigned i = 0; i < m->n_plans; i++)
		free(m->plans[i]);
	free(m);
}

/* The shared fBuf and its idle session, made on first use. */
static int
model_fbuf(struct fq__ipfix_model *m)
{
	if (m->fbuf)
		return 0;
	m->idle = fbSessionAlloc(m->model);
	m->fbuf = fBufAllocForCollection(m->idle, NULL);
	fBufSetAutomaticMode(m->fbuf, FALSE);
	return 0;
}

/*
 * Forget the transcode plans libfixbuf cached on the fBuf (keyed by the
 * external and internal template) since it was set to the current session:
 * they name that session's templates, and libfixbuf searches the cache
 * linearly, so it must not fill with every exporter's.  Cached plans of a
 * template that libfixbuf frees are dropped by libfixbuf itself (each
 * session's template buffer is this fBuf).
 */
static void
model_forget_plans(struct fq__ipfix_model *m)
{
	for (unsigned i = 0; i < m->n_used; i++) {
		fBufRemoveTemplateTcplan(m->fbuf, m->used[i]->tmpl);
		m->used[i]->used = 0;
	}
	m->n_used = 0;
}

/* Set the shared fBuf to session s (NULL: to the idle session). */
static void
model_attach(struct fq__ipfix_model *m, struct fq__ipfix_session *s)
{
	if (m->cur == s)
		return;
	model_forget_plans(m);
	fBufSetSession(m->fbuf, s ? s->session : m->idle);
	m->cur = s;
}

/* An internal template of the elements in spec, kept by the idle session. */
static int
itmpl_make(struct fq__ipfix_model *m, struct itmpl *it, uint16_t tid,
	   fbInfoElementSpec_t *spec)
{
	GError *err = NULL;
	fbTemplate_t *tmpl = fbTemplateAlloc(m->model);
	if (!fbTemplateAppendSpecArray(tmpl, spec, 0xffffffff, &err)) {
		fq_error("ipfix: internal template: %s", err->message);
		g_clear_error(&err);
		fbTemplateFreeUnused(tmpl);
		return -1;
	}
	if (fbSessionAddTemplate(m->idle, TRUE, tid, tmpl, &err) == 0) {
		fq_error("ipfix: internal template: %s", err->message);
		g_clear_error(&err);
		fbTemplateFreeUnused(tmpl);
		return -1;
	}
	it->tmpl = tmpl;
	it->tid = tid;
	return 0;
}

/* The full internal template (every element of `elems`), made on first use. */
static struct itmpl *
model_full(struct fq__ipfix_model *m)
{
	if (m->full.tmpl)
		return &m->full;
	fbInfoElementSpec_t spec[N_ELEMS + 1];
	for (size_t i = 0; i < N_ELEMS; i++) {
		spec[i].name = (char *)(uintptr_t)elems[i].name;
		spec[i].len_override = elems[i].len;
		spec[i].flags = 0;
	}
	spec[N_ELEMS].name = NULL;
	spec[N_ELEMS].len_override = 0;
	spec[N_ELEMS].flags = 0;
	return itmpl_make(m, &m->full, FULL_TID, spec) < 0 ? NULL : &m->full;
}

/* Adds n (or takes -n) bytes to what session s counts for libfixbuf. */
static void
session_mem(struct fq__ipfix_session *s, size_t n, int add)
{
	if (add)
		fq__mem_add(s->ex, n);
	else
		fq__mem_sub(s->ex, n);
}

static void
tctx_free(void *tmpl_ctx, void *app_ctx)
{
	struct tctx *t = tmpl_ctx;
	if (t && app_ctx)
		session_mem(app_ctx, t->bytes, 0);
	free(tmpl_ctx);
}

/* libfixbuf learned an external template: note what flowq can read. */
static void
new_template(fbSession_t *session, uint16_t tid, fbTemplate_t *tmpl,
	     void *app_ctx, void **tmpl_ctx, fbTemplateCtxFree_fn *free_fn)
{
	(void)session;
	(void)tid;
	struct tctx *t = calloc(1, sizeof *t);
	if (t == NULL)
		return;
	t->is_options = fbTemplateGetOptionsScope(tmpl) > 0;
	uint32_t n = fbTemplateCountElements(tmpl);
	int have_selector = 0;
	for (uint32_t i = 0; i < n; i++) {
		fbInfoElement_t *ie = fbTemplateGetIndexedIE(tmpl, i);
		if (ie == NULL || ie->ent != 0 || ie->len == FB_IE_VARLEN)
			continue;
		unsigned op = fq__ie_op(ie->num);
		if (op == FQ__OP_SKIP || !fq__ipfix_field_ok(0, ie->num, ie->len))
			continue;
		t->has |= FQ__HAS(op);
		for (size_t k = 0; k < N_ELEMS; k++)
			if (elems[k].ie == ie->num)
				t->key |= UINT64_C(1) << k;
		if (ie->num == 302)
			have_selector = 1;
		if (ie->num == 48)
			t->sampler8 = 1;
	}
	if (have_selector)
		t->sampler8 = 0;
	t->bytes = fq__alloc_size(sizeof *t) + FIXBUF_TEMPLATE_BYTES +
		   (size_t)n * FIXBUF_FIELD_BYTES;
	session_mem(app_ctx, t->bytes, 1);
	*tmpl_ctx = t;
	*free_fn = tctx_free;
}

static struct fq__ipfix_session *
session_new(struct fq__ipfix_model *m, struct fq_exporter *ex)
{
	if (model_fbuf(m) < 0)
		return NULL;
	struct fq__ipfix_session *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->m = m;
	s->ex = ex;
	s->session = fbSessionAlloc(m->model);
	fbSessionAddNewTemplateCallback(s->session, new_template, s);
	/*
	 * libfixbuf drops the cached transcode plans of a template it frees
	 * from the session's template buffer: that is the shared fBuf, or a
	 * plan could outlive its template and be found again by a new
	 * template at the same address.
	 */
	fbSessionSetTemplateBuffer(s->session, m->fbuf);
	session_mem(s, fq__alloc_size(sizeof *s) + FIXBUF_SESSION_BYTES, 1);
	return s;
}

void
fq__ipfix_session_free(struct fq__ipfix_session *s)
{
	if (s == NULL)
		return;
	if (s->m->cur == s)
		model_attach(s->m, NULL);
	/* Frees its templates: tctx_free takes their bytes back. */
	fbSessionFree(s->session);
	session_mem(s, fq__alloc_size(sizeof *s) + FIXBUF_SESSION_BYTES, 0);
	free(s);
}

void
fq__ipfix_forget(struct fq__ipfix_session *s, uint32_t domain, uint16_t tid)
{
	if (s == NULL)
		return;
	GError *err = NULL;
	fbSessionSetDomain(s->session, domain);
	if (fbSessionGetTemplate(s->session, FALSE, tid, NULL) &&
	    !fbSessionRemoveTemplate(s->session, FALSE, tid, &err))
		fq_debug("ipfix: removing template %u: %s", tid,
			 err ? err->message : "?");
	g_clear_error(&err);
}

int
fq__ipfix_template_fields(struct fq__ipfix_session *s, uint32_t domain,
			  uint16_t tid)
{
	if (s == NULL)
		return -1;
	GError *err = NULL;
	fbSessionSetDomain(s->session, domain);
	fbTemplate_t *t = fbSessionGetTemplate(s->session, FALSE, tid, &err);
	g_clear_error(&err);
	return t ? (int)fbTemplateCountElements(t) : -1;
}

/* The decoder's plan for an element set, made on first use; NULL = full. */
static struct plan *
plan_get(struct fq__ipfix_model *m, uint64_t key)
{
	for (unsigned i = 0; i < m->n_plans; i++)
		if (m->plans[i]->key == key)
			return m->plans[i];
	if (m->n_plans == MAX_PLANS || key == 0)
		return NULL;
	struct plan *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	fbInfoElementSpec_t spec[N_ELEMS + 1];
	unsigned n = 0;
	uint16_t at = 0;
	for (size_t k = 0; k < N_ELEMS; k++) {
		if (!(key & (UINT64_C(1) << k)))
			continue;
		spec[n].name = (char *)(uintptr_t)elems[k].name;
		spec[n].len_override = elems[k].len;
		spec[n].flags = 0;
		p->f[n].src = at;
		p->f[n].dst = elems[k].offset;
		p->f[n].len = elems[k].len;
		at = (uint16_t)(at + elems[k].len);
		n++;
	}
	spec[n].name = NULL;
	spec[n].len_override = 0;
	spec[n].flags = 0;
	p->key = key;
	p->n = (uint16_t)n;
	if (itmpl_make(m, &p->it, (uint16_t)(FULL_TID - 1 - m->n_plans),
		       spec) < 0) {
		free(p);
		return NULL;
	}
	m->plans[m->n_plans++] = p;
	return p;
}

/* Session s holds internal template it (it is added on first use). */
static int
session_has(struct fq__ipfix_session *s, const struct itmpl *it)
{
	if (fbSessionGetTemplate(s->session, TRUE, it->tid, NULL))
		return 0;
	GError *err = NULL;
	if (fbSessionAddTemplate(s->session, TRUE, it->tid, it->tmpl,
				 &err) == 0) {
		fq_error("ipfix: internal template: %s", err->message);
		g_clear_error(&err);
		return -1;
	}
	return 0;
}

/*
 * The internal template a record of external template context tc is read
 * into (its plan, or the full one), held by session s; NULL on failure.
 * *p is the plan, NULL for the full template.
 */
static struct itmpl *
internal_for(struct fq__ipfix_session *s, struct tctx *tc, struct plan **p)
{
	struct fq__ipfix_model *m = s->m;
	*p = NULL;
	if (tc && tc->planned) {
		*p = tc->plan;
		return *p ? &(*p)->it : &m->full;
	}
	if (tc) {
		tc->plan = plan_get(m, tc->key);
		tc->planned = 1;
		*p = tc->plan;
	}
	struct itmpl *it = *p ? &(*p)->it : model_full(m);
	if (it == NULL || session_has(s, it) < 0) {
		if (tc)
			tc->planned = 0;
		return NULL;
	}
	return it;
}

static int
set_internal(struct fq__ipfix_model *m, struct itmpl *it)
{
	if (m->cur_tid == it->tid)
		return 0;
	GError *err = NULL;
	if (!fBufSetInternalTemplate(m->fbuf, it->tid, &err)) {
		fq_error("ipfix: internal template: %s", err->message);
		g_clear_error(&err);
		return -1;
	}
	m->cur_tid = it->tid;
	if (!it->used) {
		it->used = 1;
		m->used[m->n_used++] = it;
	}
	return 0;
}

/* libfixbuf's end of a message, or an error it reported (logged): -1. */
static int
fixbuf_failed(struct fq__dctx *c, GError **err)
{
	int bad = !g_error_matches(*err, FB_ERROR_DOMAIN, FB_ERROR_EOM) &&
		  !g_error_matches(*err, FB_ERROR_DOMAIN, FB_ERROR_BUFSZ);
	if (bad)
		fq_log_rl(&c->d->rl, FQ_LOG_WARN, "ipfix: libfixbuf: %s",
			  (*err)->message);
	g_clear_error(err);
	return bad ? -1 : 0;
}

/* A record read into plan p's layout, scattered into struct fq__acc. */
static void
scatter(const struct plan *p, const uint8_t *rec, struct fq__acc *a)
{
	memset(a, 0, sizeof *a);
	for (unsigned i = 0; i < p->n; i++) {
		uint8_t *d = (uint8_t *)a + p->f[i].dst;
		const uint8_t *q = rec + p->f[i].src;
		/* Fixed sizes, so the copies are inlined. */
		switch (p->f[i].len) {
		case 1: *d = *q; break;
		case 2: memcpy(d, q, 2); break;
		case 4: memcpy(d, q, 4); break;
		case 8: memcpy(d, q, 8); break;
		default: memcpy(d, q, 16); break;
		}
	}
}

long
fq__ipfix_fixbuf_run(struct fq__dctx *c, struct fq__domain *dom,
		     const struct fq__hdr *h, const uint8_t *msg, size_t len)
{
	struct fq_exporter *ex = c->ex;
	struct fq__ipfix_model *m = c->d->ipfix_model;
	if (ex->ipfix == NULL) {
		ex->ipfix = session_new(m, ex);
		if (ex->ipfix == NULL)
			return -1;
	}
	struct fq__ipfix_session *s = ex->ipfix;
	if (!dom->fixbuf_counted) {
		/* libfixbuf keeps a template table per domain it sees. */
		dom->fixbuf_counted = 1;
		session_mem(s, FIXBUF_DOMAIN_BYTES, 1);
	}
	model_attach(m, s);
	GError *err = NULL;
	/* libfixbuf does not write into the buffer it decodes. */
	fBufSetBuffer(m->fbuf, (uint8_t *)(uintptr_t)msg, len);
	m->cur_tid = 0;         /* set it again for every message */
	int rc = 0;
	long n = 0;
	for (;;) {
		/*
		 * Which template comes next (this also processes the template
		 * sets before it), then the internal template for it.
		 */
		fbTemplate_t *t = fBufNextCollectionTemplate(m->fbuf, NULL,
							     &err);
		if (t == NULL) {
			rc = fixbuf_failed(c, &err);
			break;
		}
		struct tctx *tc = fbTemplateGetContext(t);
		struct plan *p;
		struct itmpl *it = internal_for(s, tc, &p);
		if (it == NULL || set_internal(m, it) < 0) {
			rc = -1;
			break;
		}
		struct fq__acc a;
		uint8_t rec[sizeof a];
		size_t rlen = sizeof rec;
		if (!fBufNext(m->fbuf, p ? rec : (uint8_t *)&a, &rlen, &err)) {
			rc = fixbuf_failed(c, &err);
			break;
		}
		n++;
		if (tc == NULL)
			continue;       /* context allocation failed */
		if (p)
			scatter(p, rec, &a);
		if (tc->sampler8)
			a.selector_id = a.sampler_id8;
		fq__acc_apply(c, dom, tc->has, tc->is_options, h, &a);
	}
	/*
	 * After an error libfixbuf may still hold a position in this message;
	 * the next message (of any exporter) must start afresh.
	 */
	fBufRewind(m->fbuf);
	return rc < 0 ? -1 : n;
}
