/*
 * config.c - the configuration file: YAML to command-line words
 * (config.h).
 *
 * libyaml's event parser reads the file (it gives every scalar's line and
 * column, which the diagnostics need, and refuses what is not YAML with a
 * position of its own).  Only one shape is taken: a single mapping whose
 * values are scalars or lists of scalars; anchors, tags that are not
 * plain, nested mappings and a second document are refused, with where.
 *
 * Each key is looked up in the command's getopt table; its value becomes
 * "--key=value" (an option without argument: "--key" for true, nothing
 * for false).  The words are collected per key so that an option the
 * command line also gives can drop the file's words for it.
 */
#include "config.h"
#include "fq_error.h"
#include "fq_suggest.h"

#include <yaml.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key that was wrong (said): its value is read and dropped. */
#define KEY_SKIP (-2)

/* One word made from the file. */
struct word {
	char *text;          /* owned */
	char *origin;        /* owned: "FILE:LINE:COL" */
	int key;             /* the getopt table's index; -1: a query word */
};

struct builder {
	const char *path;
	const struct option *lo;
	const char *const *lists;   /* the keys that take a list */
	struct word *w;      /* owned array */
	size_t n, cap;
	FILE *diag;          /* where problems are said */
	int errors;
};

static int fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

/*
 * Say "FILE:LINE:COL: error: message" and count it; returns -1.  A
 * caller that can go on (a wrong key or value, not broken YAML) ignores
 * the -1, so that one check shows every problem of the file.
 */
static int
fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(b->diag, "%s:%zu:%zu: error: %s\n", b->path,
		(size_t)m->line + 1, (size_t)m->column + 1, msg);
	b->errors++;
	return -1;
}

static int
add_word(struct builder *b, const yaml_mark_t *m, int key, const char *name,
	 const char *value)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct word *nw = realloc(b->w, cap * sizeof *nw);
		if (nw == NULL)
			return fail_at(b, m, "out of memory");
		b->w = nw;
		b->cap = cap;
	}
	struct word *w = &b->w[b->n];
	size_t len = strlen(value) + (name ? strlen(name) + 4 : 1);
	w->text = malloc(len);
	w->origin = malloc(strlen(b->path) + 48);
	if (w->text == NULL || w->origin == NULL) {
		free(w->text);
		free(w->origin);
		return fail_at(b, m, "out of memory");
	}
	if (name)
		snprintf(w->text, len, "--%s%s%s", name, *value ? "=" : "", value);
	else
		snprintf(w->text, len, "%s", value);
	sprintf(w->origin, "%s:%zu:%zu", b->path, (size_t)m->line + 1,
		(size_t)m->column + 1);
	w->key = key;
	b->n++;
	return 0;
}

/* The getopt table's entry called `name`, or -1. */
static int
find_key(const struct option *lo, const char *name)
{
	for (int i = 0; lo[i].name; i++)
		if (strcmp(lo[i].name, name) == 0)
			return i;
	return -1;
}

static int
unknown_key(struct builder *b, const yaml_mark_t *m, const char *name)
{
	struct fq_suggest sg;
	fq_suggest_init(&sg, name, strlen(name));
	for (int i = 0; b->lo[i].name; i++)
		fq_suggest_add(&sg, b->lo[i].name);
	fq_suggest_add(&sg, FQ_CLI_CONF_WORDS);
	if (sg.best)
		return fail_at(b, m, "unknown option '%s' (did you mean '%s'?)",
			       name, sg.best);
	return fail_at(b, m, "unknown option '%s'", name);
}

static int
is_true(const char *v)
{
	return !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on");
}

static int
is_false(const char *v)
{
	return !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off");
}

/* One scalar value of key k (-1: a query file). */
static int
add_value(struct builder *b, int k, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	const yaml_mark_t *m = &ev->start_mark;
	if (k < 0) {
		if (*v == '\0' || *v == '-') {
			fail_at(b, m, "'%s' is not a query file name", v);
			return 0;
		}
		return add_word(b, m, -1, NULL, v);
	}
	const struct option *o = &b->lo[k];
	if (o->has_arg != required_argument && (is_true(v) || is_false(v)))
		return is_true(v) ? add_word(b, m, k, o->name, "") : 0;
	if (o->has_arg == no_argument)
		fail_at(b, m, "'%s' takes true or false", o->name);
	else if (*v == '\0')
		fail_at(b, m, "'%s' needs a value", o->name);
	else
		return add_word(b, m, k, o->name, v);
	return 0;   /* said; go on */
}

static const char *
key_name(const struct builder *b, int k)
{
	return k < 0 ? FQ_CLI_CONF_WORDS : b->lo[k].name;
}

static int
next_event(struct builder *b, yaml_parser_t *p, yaml_event_t *ev)
{
	if (yaml_parser_parse(p, ev))
		return 0;
	return fail_at(b, &p->problem_mark, "not YAML: %s",
		       p->problem ? p->problem : "unreadable");
}

/* The rest of a node whose first event was of type t: a list or a
 * mapping is read to its end.  0, or -1 on broken YAML. */
static int
skip_node(struct builder *b, yaml_parser_t *p, yaml_event_type_t t)
{
	int depth = t == YAML_SEQUENCE_START_EVENT ||
		    t == YAML_MAPPING_START_EVENT;
	while (depth > 0) {
		yaml_event_t ev;
		if (next_event(b, p, &ev) < 0)
			return -1;
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			 ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		yaml_event_delete(&ev);
	}
	return 0;
}

/* One node of key k's value (a scalar, else said and skipped; k ==
 * KEY_SKIP: skipped silently, its key was wrong).  0, or -1 on broken
 * YAML. */
static int
take_node(struct builder *b, yaml_parser_t *p, int k, const yaml_event_t *ev,
	  const char *what)
{
	if (ev->type == YAML_SCALAR_EVENT)
		return k == KEY_SKIP ? 0 : add_value(b, k, ev);
	if (k != KEY_SKIP)
		fail_at(b, &ev->start_mark, "%s", what);
	return skip_node(b, p, ev->type);
}

/* Whether key k may have a list (a repeatable option, or the queries). */
static int
takes_list(const struct builder *b, int k)
{
	if (k < 0)
		return 1;
	for (size_t i = 0; b->lists[i]; i++)
		if (strcmp(b->lists[i], b->lo[k].name) == 0)
			return 1;
	return 0;
}

/* A value: a scalar, or a list of scalars (the event after the key). */
static int
read_value(struct builder *b, yaml_parser_t *p, int k)
{
	yaml_event_t ev;
	if (next_event(b, p, &ev) < 0)
		return -1;
	char what[128];
	int rc = 0;
	const char *name = k == KEY_SKIP ? "" : key_name(b, k);
	if (ev.type == YAML_SEQUENCE_START_EVENT && k != KEY_SKIP &&
	    !takes_list(b, k)) {
		fail_at(b, &ev.start_mark, "'%s' takes one value, not a list",
			name);
		k = KEY_SKIP;
	}
	if (ev.type == YAML_SEQUENCE_START_EVENT) {
		snprintf(what, sizeof what, "a list of '%s' holds plain values "
			 "only", name);
		yaml_event_t it;
		while (rc == 0 && (rc = next_event(b, p, &it)) == 0) {
			int end = it.type == YAML_SEQUENCE_END_EVENT;
			if (!end)
				rc = take_node(b, p, k, &it, what);
			yaml_event_delete(&it);
			if (end)
				break;
		}
	} else {
		snprintf(what, sizeof what, "the value of '%s' must be a value "
			 "or a list of values", name);
		rc = take_node(b, p, k, &ev, what);
	}
	yaml_event_delete(&ev);
	return rc;
}

/*
 * The key of a pair: its getopt table index in *k, -1 for the query
 * words; a wrong key is said and *k is KEY_SKIP.
 */
static void
key_of(struct builder *b, const yaml_event_t *ev, int *k)
{
	const yaml_mark_t *m = &ev->start_mark;
	*k = KEY_SKIP;
	if (ev->type != YAML_SCALAR_EVENT) {
		fail_at(b, m, "a key must be an option name");
		return;
	}
	const char *name = (const char *)ev->data.scalar.value;
	if (strcmp(name, FQ_CLI_CONF_WORDS) == 0) {
		*k = -1;
	} else if (strcmp(name, "config") == 0 || strcmp(name, "help") == 0) {
		fail_at(b, m, "'%s' cannot be set in the configuration file",
			name);
	} else if ((*k = find_key(b->lo, name)) < 0) {
		*k = KEY_SKIP;
		unknown_key(b, m, name);
	}
}

/*
 * The top mapping's pairs, up to its end.  line_of[k + 1] is the line a
 * key was first given on (0: not yet), to refuse a second one.  0, or -1
 * on broken YAML; wrong keys and values are said and counted.
 */
static int
read_pairs(struct builder *b, yaml_parser_t *p, size_t *line_of)
{
	for (;;) {
		yaml_event_t ev;
		if (next_event(b, p, &ev) < 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		int k;
		key_of(b, &ev, &k);
		if (k != KEY_SKIP && line_of[k + 1]) {
			fail_at(b, &ev.start_mark, "given twice (first on line "
				"%zu)", line_of[k + 1]);
			k = KEY_SKIP;
		} else if (k != KEY_SKIP) {
			line_of[k + 1] = (size_t)ev.start_mark.line + 1;
		}
		int rc = ev.type == YAML_SCALAR_EVENT ? 0
			 : skip_node(b, p, ev.type);   /* a complex key */
		yaml_event_delete(&ev);
		if (rc < 0 || read_value(b, p, k) < 0)
			return -1;
	}
}

/* Expect an event of type t (what: its name for the message). */
static int
expect(struct builder *b, yaml_parser_t *p, yaml_event_type_t t,
       const char *what)
{
	yaml_event_t ev;
	if (next_event(b, p, &ev) < 0)
		return -1;
	int ok = ev.type == t;
	yaml_mark_t m = ev.start_mark;
	yaml_event_delete(&ev);
	return ok ? 0 : fail_at(b, &m, "%s", what);
}

/* The document: nothing at all, or one mapping. */
static int
read_document(struct builder *b, yaml_parser_t *p)
{
	if (expect(b, p, YAML_STREAM_START_EVENT, "not YAML") < 0)
		return -1;
	yaml_event_t ev;
	if (next_event(b, p, &ev) < 0)
		return -1;
	yaml_event_type_t t = ev.type;
	yaml_event_delete(&ev);
	if (t == YAML_STREAM_END_EVENT)
		return 0;   /* an empty file: no options */
	size_t nlo = 0;
	while (b->lo[nlo].name)
		nlo++;
	size_t *line_of = calloc(nlo + 1, sizeof *line_of);
	if (line_of == NULL)
		return fail_at(b, &p->mark, "out of memory");
	int rc = expect(b, p, YAML_MAPPING_START_EVENT, "the file must be a "
			"mapping of options to values (option: value)");
	if (rc == 0)
		rc = read_pairs(b, p, line_of);
	free(line_of);
	if (rc == 0)
		rc = expect(b, p, YAML_DOCUMENT_END_EVENT, "one document only");
	if (rc == 0)
		rc = expect(b, p, YAML_STREAM_END_EVENT, "one document only");
	return rc;
}

static int
read_file(struct builder *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(b->diag, "%s: error: cannot open: %s\n", path,
			strerror(errno));
		b->errors++;
		return -1;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		fclose(f);
		fprintf(b->diag, "%s: error: out of memory\n", path);
		b->errors++;
		return -1;
	}
	yaml_parser_set_input_file(&p, f);
	int rc = read_document(b, &p);
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

/*
 * Which of the table's options the command line gives (used[k]), and
 * whether it gives words (used[nlo]) or "--" (*dashdash).  getopt runs on
 * a copy, since it reorders what it parses.
 */
static int
cmdline_use(const struct option *lo, const char *shortopts, int argc,
	    char **argv, uint8_t *used, size_t nlo, int *dashdash)
{
	char **copy = malloc(((size_t)argc + 1) * sizeof *copy);
	if (copy == NULL)
		return -1;
	memcpy(copy, argv, (size_t)argc * sizeof *copy);
	copy[argc] = NULL;
	*dashdash = 0;
	for (int i = 1; i < argc; i++)
		*dashdash |= strcmp(argv[i], "--") == 0;
	int saved = opterr, c, li;
	opterr = 0;
	optind = 0;   /* GNU getopt: start afresh */
	while ((c = getopt_long(argc, copy, shortopts, lo, &li)) != -1) {
		if (c == '?' || c == ':')
			continue;
		for (size_t k = 0; k < nlo; k++)
			if (lo[k].val == c)
				used[k] = 1;
	}
	used[nlo] = optind < argc;
	opterr = saved;
	optind = 0;
	free(copy);
	return 0;
}

int
fq_cli_conf_find(int argc, char **argv, const char **path, char ***rest,
		 int *rest_n)
{
	char **r = malloc(((size_t)argc + 1) * sizeof *r);
	if (r == NULL)
		return -1;
	int n = 0, bad = 0;
	*path = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i > 0 && strcmp(a, "--") == 0) {
			while (i < argc)
				r[n++] = argv[i++];
			break;
		}
		if (i > 0 && strncmp(a, "--config=", 9) == 0) {
			*path = a + 9;
		} else if (i > 0 && strcmp(a, "--config") == 0) {
			if (i + 1 >= argc)
				bad = 1;
			else
				*path = argv[++i];
		} else {
			r[n++] = argv[i];
		}
	}
	r[n] = NULL;
	*rest = r;
	*rest_n = n;
	return bad || (*path && **path == '\0') ? -1 : 0;
}

static void
builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->w[i].text);
		free(b->w[i].origin);
	}
	free(b->w);
}

/* The file's word i survives the command line (see config.h). */
static int
word_kept(const struct word *w, const uint8_t *used, size_t nlo)
{
	return w->key < 0 ? !used[nlo] : !used[w->key];
}

/* Lay out argv: argv[0], the file's options, the command line, then the
 * file's query words after "--" (only when the line gives none). */
static int
assemble(struct fq_cli_conf *c, struct builder *b, const uint8_t *used,
	 size_t nlo, int dashdash, int argc, char **argv)
{
	size_t max = (size_t)argc + b->n + 2;
	c->argv = calloc(max, sizeof *c->argv);
	c->origin = calloc(max, sizeof *c->origin);
	if (c->argv == NULL || c->origin == NULL)
		return -1;
	int n = 0;
	c->argv[n++] = argv[0];
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (int i = 1; i < argc; i++)
				c->argv[n++] = argv[i];
			if (!used[nlo] && !dashdash)
				c->argv[n++] = "--";
		}
		for (size_t i = 0; i < b->n; i++) {
			struct word *w = &b->w[i];
			if ((w->key < 0) != pass || !word_kept(w, used, nlo))
				continue;
			c->origin[n] = w->origin;
			c->argv[n++] = w->text;
			w->text = w->origin = NULL;   /* now c's */
		}
	}
	c->argc = n;
	return 0;
}

int
fq_cli_conf_load(struct fq_cli_conf *c, const char *path,
		 const struct option *lo, const char *const *lists,
		 const char *shortopts, int argc, char **argv, FILE *diag)
{
	memset(c, 0, sizeof *c);
	struct builder b = { path ? path : "", lo, lists, NULL, 0, 0, diag, 0 };
	size_t nlo = 0;
	while (lo[nlo].name)
		nlo++;
	uint8_t *used = calloc(nlo + 1, 1);
	int dashdash = 0;
	int rc = used ? 0 : -1;
	if (rc == 0 && path)
		rc = read_file(&b, path);
	c->errors = b.errors;
	if (rc == 0 && (cmdline_use(lo, shortopts, argc, argv, used, nlo,
				    &dashdash) < 0 ||
			assemble(c, &b, used, nlo, dashdash, argc, argv) < 0 ||
			(path && (c->path = strdup(path)) == NULL))) {
		fprintf(diag, "%s: error: out of memory\n", b.path);
		rc = -1;
	}
	free(used);
	builder_free(&b);
	if (rc < 0) {
		fq_cli_conf_fini(c);
		c->errors = b.errors ? b.errors : 1;
	}
	return rc;
}

const char *
fq_cli_conf_origin(const struct fq_cli_conf *c, int i)
{
	return c->origin && i >= 0 && i < c->argc ? c->origin[i] : NULL;
}

void
fq_cli_conf_fini(struct fq_cli_conf *c)
{
	for (int i = 0; c->origin && i < c->argc; i++)
		if (c->origin[i]) {
			free(c->origin[i]);
			free(c->argv[i]);
		}
	free(c->origin);
	free(c->argv);
	free(c->path);
	memset(c, 0, sizeof *c);
}
