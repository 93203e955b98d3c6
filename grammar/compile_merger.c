/*
 * compile_merger.c - the merger's modules into its plan (plan.h, struct
 * fq_plan_merger).
 *
 * A module lists its branches (its slots) and has two kinds of line:
 * comparisons between groups of its branches (`A.srcip = B.dstip`),
 * ANDed as a CNF over the slots, and Allen relation lines (`B oi A OR B
 * d A`), each of which relates one pair of branches.  All relations
 * between one pair must stand on one OR-line (SPEC section 3), so a pair
 * has at most one struct fq_allen; its relations are stored for slot
 * order (a < b), a term written the other way round as its inverse.
 *
 * A module whose Allen relations bound the time of every slot from every
 * other (bounded relations connect all slots) can pair groups by time;
 * any other gets a warning, as streaming then pairs by the window alone.
 * The merger exports one module and every other module subtracts from
 * it, so each must share a branch with the export.
 */
#include <string.h>

#include "validate.h"

/* ---- slots ------------------------------------------------------------ */

/* The error for branch bn (index idx + 1, 0: unknown) of a module. */
static void
slot_unknown(struct fq__vstate *vs, const struct fq__stage *mst,
	     const char *bn, struct fq__span at, size_t idx)
{
	struct fq__ctx *c = vs->c;
	char note[80];
	const char *s = NULL;
	const char **names = fq__alloc(c, (vs->nbr + 1) * sizeof(char *));
	if (names != NULL) {
		size_t k = 0;
		for (size_t j = 0; j < vs->nbr; j++)
			if (vs->br[j].merger == mst)
				names[k++] = vs->br[j].name;
		s = fq_suggest(bn, strlen(bn), names, k);
	}
	if (s)
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	if (idx == 0)
		fq__error(c, at.off, at.len, s ? note : NULL,
			  "unknown branch '%s'", bn);
	else
		fq__error(c, at.off, at.len, NULL,
			  "branch '%s' is not wired to merger '%s'", bn,
			  mst->name);
}

/*
 * The module's branches into out->branches and *sbp (per slot its branch,
 * NULL when it is not one of this merger's).  Returns -1 when the module
 * cannot be checked further (reported, or out of memory), else 0 with
 * *bad set after an error.
 */
static int
mm_slots(struct fq__vstate *vs, const struct fq__stage *mst,
	 const struct fq__module *m, struct fq_mmodule *out,
	 const struct fq__vbranch ***sbp, int *bad)
{
	struct fq__ctx *c = vs->c;
	if (!m->has_branches) {
		fq__error(c, m->at.off, m->at.len,
			  "list them first: branches A, B",
			  "module '%s' does not say which branches it merges",
			  m->name);
		return -1;
	}
	size_t ns = m->branches.n;
	if (ns > FQ__MAX_SLOTS) {
		fq__error(c, m->branches_at.off, m->branches_at.len, NULL,
			  "module '%s' lists %zu branches (the limit is %u)",
			  m->name, ns, (unsigned)FQ__MAX_SLOTS);
		return -1;
	}
	uint16_t *slots = fq__alloc(c, ns * sizeof(*slots));
	const struct fq__vbranch **sb = fq__alloc(c, ns * sizeof(*sb));
	if (slots == NULL || sb == NULL)
		return -1;
	for (size_t i = 0; i < ns; i++) {
		const char *bn = m->branches.v[i];
		struct fq__span at = m->branches.at[i];
		size_t idx = (size_t)(uintptr_t)fq__nmap_get(&vs->branch_map, bn);
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->branches.v[j], bn) == 0) {
				fq__error(c, at.off, at.len, NULL,
					  "branch '%s' is listed twice", bn);
				*bad = 1;
			}
		if (idx == 0 || vs->br[idx - 1].merger != mst) {
			slot_unknown(vs, mst, bn, at, idx);
			*bad = 1;
			sb[i] = NULL;
			continue;
		}
		slots[i] = (uint16_t)(idx - 1);
		sb[i] = &vs->br[idx - 1];
	}
	out->nbranches = ns;
	out->branches = slots;
	*sbp = sb;
	return 0;
}

/* ---- lines ------------------------------------------------------------ */

/* The arrays of a module being built (arena). */
struct mbuild {
	struct fq_clause *cl;
	size_t ncl;
	struct fq_allen *al;
	size_t nal;
};

/* A line of comparisons into mb: 0, 1 after an error, -1 out of memory. */
static int
mm_cmp_line(struct fq__vstate *vs, const struct fq__rctx *rc,
	    const struct fq__line *ln, struct mbuild *mb)
{
	struct fq__ctx *c = vs->c;
	struct fq_term *terms = fq__alloc(c, ln->n * sizeof(*terms));
	if (terms == NULL)
		return -1;
	int lbad = 0;
	for (size_t k = 0; k < ln->n; k++)
		if (fq__compile_cmp(vs, rc, ln->terms[k], &terms[k]) < 0)
			lbad = 1;
	if (lbad)
		return 1;
	struct fq_clause *x = fq__push(c, (void **)&mb->cl, &mb->ncl,
				       sizeof(*x));
	if (x == NULL)
		return -1;
	x->n = ln->n;
	x->terms = terms;
	return 0;
}

/*
 * Term k of an Allen line into a, its slots (ordered) into *pa, *pb
 * (set by term 0; every other term must relate the same pair).  0, or 1
 * after reporting.
 */
static int
allen_term(struct fq__vstate *vs, const struct fq__module *m,
	   const struct fq__term *t, size_t k, size_t *pa, size_t *pb,
	   struct fq_allen *a)
{
	struct fq__ctx *c = vs->c;
	size_t ns = m->branches.n, sa = ns, sbi = ns;
	for (size_t j = 0; j < ns; j++) {
		if (strcmp(m->branches.v[j], t->l->name) == 0)
			sa = j;
		if (strcmp(m->branches.v[j], t->r->name) == 0)
			sbi = j;
	}
	const struct fq__expr *unk = sa == ns ? t->l : sbi == ns ? t->r : NULL;
	if (unk != NULL) {
		char note[80];
		const char *s = fq_suggest(unk->name, strlen(unk->name),
					   m->branches.v, ns);
		if (s)
			snprintf(note, sizeof(note), "did you mean '%s'?", s);
		fq__error(c, unk->at.off, unk->at.len, s ? note : NULL,
			  "'%s' is not a branch of module '%s'", unk->name,
			  m->name);
		return 1;
	}
	if (t->negate) {
		fq__error(c, t->at.off, t->at.len,
			  "write the relations that may hold instead",
			  "NOT cannot be applied to an Allen relation");
		return 1;
	}
	if (sa == sbi) {
		fq__error(c, t->at.off, t->at.len, NULL,
			  "an Allen relation relates two different branches");
		return 1;
	}
	enum fq_allen_rel rel = t->rel;
	size_t x = sa, y = sbi;
	if (x > y) {
		x = sbi;
		y = sa;
		rel = fq_allen_inverse(rel);
	}
	if (k == 0) {
		*pa = x;
		*pb = y;
	} else if (x != *pa || y != *pb) {
		fq__error(c, t->at.off, t->at.len, NULL,
			  "all Allen relations of one line must relate the "
			  "same two branches");
		return 1;
	}
	if (t->delta_kind) {
		if (fq_allen_defs[rel].delta == FQ_AL_DELTA_NONE)
			fq__warning(c, t->delta->at.off, t->delta->at.len, NULL,
				    "delta has no effect on '%s'",
				    fq_allen_short(t->rel));
		a->has_delta |= (uint16_t)(1u << rel);
		a->delta[rel] = t->delta->num;
	}
	a->rels |= (uint16_t)(1u << rel);
	return 0;
}

/* A line of Allen relations into mb: as mm_cmp_line. */
static int
mm_allen_line(struct fq__vstate *vs, const struct fq__module *m,
	      const struct fq__line *ln, struct mbuild *mb)
{
	struct fq__ctx *c = vs->c;
	struct fq_allen a;
	memset(&a, 0, sizeof(a));
	int lbad = 0;
	size_t pa = 0, pb = 0;
	for (size_t k = 0; k < ln->n; k++)
		if (allen_term(vs, m, ln->terms[k], k, &pa, &pb, &a) != 0)
			lbad = 1;
	if (lbad)
		return 1;
	a.a = (uint16_t)pa;
	a.b = (uint16_t)pb;
	a.line = fq__line_of(c, ln->at.off);
	a.bounded = 1;
	for (int r = 0; r < FQ_AL_COUNT; r++)
		if ((a.rels & (1u << r)) &&
		    !fq_allen_bounded((enum fq_allen_rel)r, (a.has_delta >> r) & 1))
			a.bounded = 0;
	int dup = 0;
	for (size_t j = 0; j < mb->nal; j++)
		if (mb->al[j].a == a.a && mb->al[j].b == a.b) {
			char note[96];
			snprintf(note, sizeof(note),
				 "the first relation between them is on line %u",
				 (unsigned)mb->al[j].line);
			fq__error(c, ln->at.off, ln->at.len, note,
				  "all Allen relations between '%s' and '%s' must "
				  "stand on one line, joined by OR",
				  m->branches.v[pa], m->branches.v[pb]);
			dup = 1;
		}
	if (dup)
		return 1;
	struct fq_allen *x = fq__push(c, (void **)&mb->al, &mb->nal, sizeof(*x));
	if (x == NULL)
		return -1;
	*x = a;
	return 0;
}

/* One line of a module: comparisons or Allen relations, not both. */
static int
mm_line(struct fq__vstate *vs, const struct fq__rctx *rc,
	const struct fq__module *m, const struct fq__line *ln,
	struct mbuild *mb)
{
	size_t nallen = 0;
	for (size_t k = 0; k < ln->n; k++)
		nallen += ln->terms[k]->kind == FQ_TERM_ALLEN;
	if (nallen == 0)
		return mm_cmp_line(vs, rc, ln, mb);
	if (nallen != ln->n) {
		fq__error(vs->c, ln->at.off, ln->at.len, NULL,
			  "Allen relations and comparisons cannot be ORed on "
			  "one line");
		return 1;
	}
	return mm_allen_line(vs, m, ln, mb);
}

/* ---- time bounds ------------------------------------------------------ */

static size_t
uf_find(size_t *p, size_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

/*
 * out->bounded: bounded relations connect every slot (union-find over
 * the Allen pairs).  A module that checked clean but is not bounded gets
 * the warning of SPEC section 3.  -1 when out of memory.
 */
static int
mm_bounded(struct fq__vstate *vs, const struct fq__stage *mst,
	   const struct fq__module *m, struct fq_mmodule *out, int bad)
{
	struct fq__ctx *c = vs->c;
	size_t ns = m->branches.n, nal = out->nallen;
	size_t *uf = fq__alloc(c, (ns ? ns : 1) * sizeof(*uf));
	if (uf == NULL)
		return -1;
	for (size_t i = 0; i < ns; i++)
		uf[i] = i;
	for (size_t i = 0; i < nal; i++)
		if (out->allen[i].bounded)
			uf[uf_find(uf, out->allen[i].a)] =
				uf_find(uf, out->allen[i].b);
	size_t ncomp = 0;
	for (size_t i = 0; i < ns; i++)
		if (uf_find(uf, i) == i)
			ncomp++;
	out->bounded = ncomp <= 1;
	if (out->bounded || bad)
		return 0;
	char list[200];
	size_t off = 0;
	list[0] = '\0';
	size_t r0 = uf_find(uf, 0);
	for (size_t i = 0; i < ns && off < sizeof(list) - 40; i++)
		if (uf_find(uf, i) != r0)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
						"%s'%s'", off ? ", " : "",
						m->branches.v[i]);
	fq__warning(c, m->at.off, m->at.len,
		    "in streaming, --window is then its only time bound "
		    "(groups further apart never pair); with --batch it is "
		    "the full cross product",
		    nal == 0 ? "%s%s%s has no Allen relation between its "
			       "branches%.0s%.0s"
			     : "%s%s%s: no time-bounding Allen relation "
			       "links %s to '%s'",
		    mst->implicit ? "merger '" : "merger module '",
		    mst->implicit ? mst->name : m->name, "'",
		    list, m->branches.v[0]);
	return 0;
}

/* ---- modules ---------------------------------------------------------- */

static int
compile_mmodule(struct fq__vstate *vs, const struct fq__stage *mst,
		const struct fq__module *m, struct fq_mmodule *out)
{
	int bad = 0;
	const struct fq__vbranch **sb = NULL;
	out->name = m->name;
	if (mm_slots(vs, mst, m, out, &sb, &bad) < 0)
		return -1;
	struct fq__rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = FQ__R_MERGER;
	rc.allow_delta = 1;
	rc.nslots = m->branches.n;
	rc.slot_names = m->branches.v;
	rc.slot_b = sb;
	struct mbuild mb;
	memset(&mb, 0, sizeof(mb));
	for (size_t i = 0; i < m->nlines; i++) {
		int r = mm_line(vs, &rc, m, m->lines[i], &mb);
		if (r < 0)
			return -1;
		if (r > 0)
			bad = 1;
	}
	out->rules.n = mb.ncl;
	out->rules.clauses = mb.cl;
	out->nallen = mb.nal;
	out->allen = mb.al;
	if (mm_bounded(vs, mst, m, out, bad) < 0)
		return -1;
	return bad ? -1 : 0;
}

/*
 * The modules of merger st: the implicit one (branches and rules written
 * directly) or the named ones.  *nm of them, NULL after an error that
 * stops the merger's checks; *bad after one that does not.
 */
static struct fq_mmodule *
merger_modules(struct fq__vstate *vs, const struct fq__stage *st,
	       struct fq__module *const *mods, size_t nm, int *bad)
{
	struct fq__ctx *c = vs->c;
	if (nm > FQ__MAX_ITEMS) {
		fq__error(c, st->at.off, st->at.len, NULL,
			  "merger '%s' has too many modules (the limit is %u)",
			  st->name, (unsigned)FQ__MAX_ITEMS);
		return NULL;
	}
	if (nm == 0) {
		fq__error(c, st->at.off, st->at.len,
			  "give it 'branches A, B' and rules, in a module or directly",
			  "merger '%s' is empty", st->name);
		return NULL;
	}
	struct fq_mmodule *mm = fq__alloc(c, nm * sizeof(*mm));
	if (mm == NULL)
		return NULL;
	for (size_t i = 0; i < nm; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcmp(mods[j]->name, mods[i]->name) == 0) {
				fq__error(c, mods[i]->at.off, mods[i]->at.len, NULL,
					  "module '%s' is defined twice in merger '%s'",
					  mods[i]->name, st->name);
				*bad = 1;
			}
		if (compile_mmodule(vs, st, mods[i], &mm[i]) < 0)
			*bad = 1;
	}
	return mm;
}

/* The exported module's index into *ex; -1 after reporting. */
static int
merger_export(struct fq__vstate *vs, const struct fq__stage *st,
	      struct fq__module *const *mods, size_t nm, size_t *ex)
{
	struct fq__ctx *c = vs->c;
	*ex = 0;
	if (st->export_name == NULL) {
		if (nm <= 1)
			return 0;
		fq__error(c, st->at.off, st->at.len,
			  "add 'export MODULE'; the other modules are subtracted "
			  "from it", "merger '%s' has %zu modules but no export",
			  st->name, nm);
		return -1;
	}
	if (st->implicit != NULL) {
		fq__error(c, st->export_at.off, st->export_at.len, NULL,
			  "'export' names a module, and merger '%s' has none",
			  st->name);
		return -1;
	}
	for (*ex = 0; *ex < nm; (*ex)++)
		if (strcmp(mods[*ex]->name, st->export_name) == 0)
			return 0;
	const char **names = fq__alloc(c, nm * sizeof(char *));
	const char *s = NULL;
	char note[80];
	if (names != NULL) {
		for (size_t i = 0; i < nm; i++)
			names[i] = mods[i]->name;
		s = fq_suggest(st->export_name, strlen(st->export_name), names,
			       nm);
	}
	if (s)
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	fq__error(c, st->export_at.off, st->export_at.len, s ? note : NULL,
		  "merger '%s' has no module '%s' to export", st->name,
		  st->export_name);
	return -1;
}

static int
shares_branch(const struct fq_mmodule *x, const struct fq_mmodule *y)
{
	for (size_t a = 0; a < x->nbranches; a++)
		for (size_t b = 0; b < y->nbranches; b++)
			if (x->branches[a] == y->branches[b])
				return 1;
	return 0;
}

/*
 * What needs every module compiled: each other module shares a branch
 * with the export (it subtracts from it; the first that does not is
 * reported), and a branch wired here that no module lists does nothing.
 */
static int
merger_checks(struct fq__vstate *vs, const struct fq__stage *st,
	      struct fq__module *const *mods, const struct fq_mmodule *mm,
	      size_t nm, size_t ex)
{
	struct fq__ctx *c = vs->c;
	for (size_t i = 0; i < nm; i++) {
		if (i == ex || shares_branch(&mm[i], &mm[ex]))
			continue;
		fq__error(c, mods[i]->at.off, mods[i]->at.len,
			  "a module other than the export is subtracted from "
			  "it, which needs a common branch",
			  "module '%s' shares no branch with the exported "
			  "module '%s'", mods[i]->name, mods[ex]->name);
		return -1;
	}
	for (size_t j = 0; j < vs->nbr; j++) {
		if (vs->br[j].merger != st)
			continue;
		int listed = 0;
		for (size_t i = 0; i < nm; i++)
			for (size_t a = 0; a < mm[i].nbranches; a++)
				if (mm[i].branches[a] == j)
					listed = 1;
		if (!listed)
			fq__warning(c, vs->br[j].at.off, vs->br[j].at.len, NULL,
				    "branch '%s' is wired to merger '%s' but no "
				    "module lists it", vs->br[j].name, st->name);
	}
	return 0;
}

const struct fq_plan_merger *
fq__compile_merger(struct fq__vstate *vs, struct fq__stage *st)
{
	struct fq__ctx *c = vs->c;
	int bad = 0;
	struct fq_plan_merger *pm = fq__alloc(c, sizeof(*pm));
	if (pm == NULL)
		return NULL;
	pm->name = st->name;
	if (st->implicit != NULL && st->nmodules > 0) {
		struct fq__span at = st->implicit->has_branches
			? st->implicit->branches_at
			: st->implicit->nlines ? st->implicit->lines[0]->at : st->at;
		fq__error(c, at.off, at.len,
			  "put these lines into a module, or drop the modules",
			  "merger '%s' has modules and also rules outside them",
			  st->name);
		return NULL;
	}
	size_t nm = st->implicit ? 1 : st->nmodules;
	struct fq__module *const *mods = st->implicit ? &st->implicit
						      : st->modules;
	struct fq_mmodule *mm = merger_modules(vs, st, mods, nm, &bad);
	if (mm == NULL)
		return NULL;
	pm->nmodules = nm;
	pm->modules = mm;
	size_t ex;
	if (merger_export(vs, st, mods, nm, &ex) < 0)
		return NULL;
	pm->export_idx = ex;
	mm[ex].is_export = 1;
	if (bad || merger_checks(vs, st, mods, mm, nm, ex) < 0)
		return NULL;
	return pm;
}
