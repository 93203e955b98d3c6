/*
 * reload.c - SIGHUP reads the configuration again (reload.h).
 *
 * The new configuration is parsed and checked in full by the code `run`
 * and `check --config` use (run_args.c), into a struct of its own, while
 * the old one keeps running; only when every option, query and source is
 * right is anything changed.  New sockets are bound first: one that
 * cannot be bound refuses the reload before a query has been touched.
 */
#include "reload.h"
#include "fq_error.h"
#include "fq_log.h"

#include <stdlib.h>
#include <string.h>

/* A socket: what a reload can add or take away (files are replayed
 * once; a running collector has nothing to do with a new one). */
static int
is_live(const char *spec)
{
	return strncmp(spec, "udp://", 6) == 0 || strncmp(spec, "tcp://", 6) == 0;
}

static int
has_spec(char *const *v, size_t n, const char *spec)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], spec) == 0)
			return 1;
	return 0;
}

static int
push_spec(struct fq_run_live *l, const char *spec)
{
	char **v = realloc(l->specs, (l->nspecs + 1) * sizeof *v);
	if (v == NULL)
		return -FQ_ENOMEM;
	l->specs = v;
	if ((v[l->nspecs] = strdup(spec)) == NULL)
		return -FQ_ENOMEM;
	l->nspecs++;
	return 0;
}

int
fq_run_live_init(struct fq_run_live *l)
{
	l->specs = NULL;
	l->nspecs = 0;
	for (size_t i = 0; i < l->boot->n_specs; i++)
		if (is_live(l->boot->specs[i]) &&
		    push_spec(l, l->boot->specs[i]) < 0)
			return -FQ_ENOMEM;
	return 0;
}

void
fq_run_live_fini(struct fq_run_live *l)
{
	for (size_t i = 0; i < l->nspecs; i++)
		free(l->specs[i]);
	free(l->specs);
	l->specs = NULL;
	l->nspecs = 0;
	fq_run_queries_fini(&l->qs);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The configuration file's words but sources and queries, sorted; n. */
static size_t
fixed_words(const struct fq_cli_conf *c, const char **out)
{
	size_t n = 0;
	for (int i = 1; i < c->argc; i++) {
		const char *w = c->argv[i];
		if (fq_cli_conf_origin(c, i) && strncmp(w, "--", 2) == 0 &&
		    strncmp(w, "--source=", 9) != 0)
			out[n++] = w;
	}
	qsort(out, n, sizeof *out, cmp_str);
	return n;
}

/* "--max-state=512" -> "max-state" into buf. */
static void
key_of(const char *w, char *buf, size_t len)
{
	size_t k = strcspn(w + 2, "=");
	snprintf(buf, len, "%.*s", (int)k, w + 2);
}

/*
 * Options other than sources and queries are fixed at start: say which
 * ones the new file changes (they take effect at the next restart).
 */
static void
say_fixed_changes(const struct fq_cli_conf *old, const struct fq_cli_conf *now)
{
	const char **a = calloc((size_t)old->argc + 1, sizeof *a);
	const char **b = calloc((size_t)now->argc + 1, sizeof *b);
	if (a == NULL || b == NULL)
		goto out;
	size_t na = fixed_words(old, a), nb = fixed_words(now, b);
	char list[512] = "", key[64], last[64] = "";
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
		if (c == 0) {
			i++, j++;
			continue;
		}
		key_of(c < 0 ? a[i++] : b[j++], key, sizeof key);
		if (strcmp(key, last) == 0)
			continue;
		snprintf(last, sizeof last, "%s", key);
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", key);
	}
	if (*list)
		fq_warn("reload: changed options take effect at the next "
			"restart, not now: %s", list);
out:
	free(a);
	free(b);
}

/* Bind the configuration's new sockets; on a failure take back those
 * bound here.  0, or -1 (said). */
static int
add_sources(struct fq_run_live *l, const struct fq_run_args *a,
	    size_t *added)
{
	size_t before = l->nspecs;
	*added = 0;
	for (size_t i = 0; i < a->n_specs; i++) {
		const char *spec = a->specs[i];
		if (!is_live(spec) || has_spec(l->specs, l->nspecs, spec))
			continue;
		char why[512];
		int rc = fq_ingest_add_live(l->ing, spec, &l->boot->cm.source,
					    why, sizeof why);
		if (rc == 0 && push_spec(l, spec) < 0) {
			fq_ingest_remove(l->ing, spec);
			snprintf(why, sizeof why, "out of memory");
			rc = -FQ_ENOMEM;
		}
		if (rc < 0) {
			fq_error("reload: %s", why);
			while (l->nspecs > before) {
				char *s = l->specs[--l->nspecs];
				fq_ingest_remove(l->ing, s);
				free(s);
			}
			return -1;
		}
		(*added)++;
	}
	return 0;
}

/* Close the sockets the configuration no longer names; how many. */
static size_t
remove_sources(struct fq_run_live *l, const struct fq_run_args *a)
{
	size_t removed = 0;
	for (size_t i = 0; i < l->nspecs;) {
		if (has_spec((char *const *)a->specs, a->n_specs, l->specs[i])) {
			i++;
			continue;
		}
		fq_ingest_remove(l->ing, l->specs[i]);
		free(l->specs[i]);
		memmove(&l->specs[i], &l->specs[i + 1],
			(l->nspecs - i - 1) * sizeof *l->specs);
		l->nspecs--;
		removed++;
	}
	return removed;
}

/* Is path among the queries of qs? */
static int
has_path(const struct fq_run_queries *qs, const char *path)
{
	for (size_t i = 0; i < qs->n; i++)
		if (strcmp(qs->v[i].path, path) == 0)
			return 1;
	return 0;
}

struct query_tally {
	size_t kept, restarted, removed, added;
	uint64_t flushed;
};

/*
 * The running queries against the new ones (nq, emptied): unchanged ones
 * stay; the others retire, and the new and changed ones start.
 */
static void
apply_queries(struct fq_run_live *l, struct fq_run_queries *nq,
	      struct query_tally *t)
{
	for (size_t i = 0; i < l->qs.n;) {
		long j = fq_run_queries_find(nq, &l->qs.v[i]);
		if (j >= 0) {
			struct fq_run_queries gone = { NULL, 0 };
			fq_run_queries_move(&gone, nq, (size_t)j);
			fq_run_queries_fini(&gone);   /* the same bytes */
			t->kept++;
			i++;
			continue;
		}
		if (has_path(nq, l->qs.v[i].path))
			t->restarted++;
		else
			t->removed++;
		t->flushed += fq_engine_retire_query(l->eng, i);
		struct fq_run_queries gone = { NULL, 0 };
		fq_run_queries_move(&gone, &l->qs, i);
		fq_run_queries_fini(&gone);
	}
	while (nq->n > 0) {
		struct fq_run_query *r = &nq->v[0];
		if (fq_engine_add_query(l->eng, r->name, fq_query_plan(r->q)) < 0 ||
		    fq_run_queries_move(&l->qs, nq, 0) < 0) {
			fq_error("reload: out of memory adding query %s", r->name);
			return;
		}
		t->added++;
	}
}

/* The new configuration, parsed and checked; 0, or 1 (said). */
static int
read_config(struct fq_run_live *l, struct fq_run_args *a,
	    struct fq_run_queries *nq)
{
	int st = fq_run_args_parse(a, l->argc, l->argv);
	if (st == -1)
		st = 1;   /* --help cannot be in a file; be safe */
	if (st == 0)
		st = fq_run_queries_load(nq, a->qfiles, a->n_q);
	if (st == 0)
		st = fq_run_args_sources_from(a, nq);
	if (st == 0)
		st = fq_run_args_check_sources(a);
	return st != 0;
}

void
fq_run_reload(struct fq_run_live *l)
{
	struct fq_run_args a;
	struct fq_run_queries nq = { NULL, 0 };
	struct query_tally t = { 0, 0, 0, 0, 0 };
	size_t src_added = 0, src_removed;
	fq_info("SIGHUP: reading the configuration again");
	if (read_config(l, &a, &nq) || add_sources(l, &a, &src_added) < 0) {
		fq_warn("reload refused: the new configuration has errors "
			"(said above); the running one is kept");
		fq_engine_count_reload(l->eng, 1, 0);
		goto out;
	}
	say_fixed_changes(&l->boot->conf, &a.conf);
	/* Before the queries: a.specs may be the old queries' endpoints. */
	src_removed = remove_sources(l, &a);
	apply_queries(l, &nq, &t);
	fq_engine_count_reload(l->eng, 0, t.added);
	fq_info("reload: queries %zu kept, %zu restarted, %zu new, %zu removed "
		"(%llu matches from their closing); sources %zu bound, %zu "
		"closed", t.kept, t.restarted, t.added - t.restarted, t.removed,
		(unsigned long long)t.flushed, src_added, src_removed);
out:
	fq_run_queries_fini(&nq);
	fq_run_args_fini(&a);
}
