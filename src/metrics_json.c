/*
 * metrics_json.c - the JSON reader of the metrics endpoint
 * (metrics_json.h): recursive descent over flowq's --stats-json text.
 * Depth is bounded so that even a text it was never meant to read cannot
 * exhaust the stack.
 */
#include "metrics_json.h"
#include "fq_error.h"

#include <stdlib.h>
#include <string.h>

#define MJ_MAX_DEPTH 32

struct mj_in {
	const char *p, *end;
	int depth;
};

static void
skip_ws(struct mj_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' ||
				   *in->p == '\t' || *in->p == '\r'))
		in->p++;
}

static int parse_value(struct mj_in *in, struct fq_mj *v);

/* A \uXXXX escape as UTF-8 (flowq writes them for control characters;
 * surrogate pairs are kept as two 3-byte sequences). */
static size_t
put_utf8(char *d, unsigned c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xc0 | c >> 6);
		d[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	d[0] = (char)(0xe0 | c >> 12);
	d[1] = (char)(0x80 | (c >> 6 & 0x3f));
	d[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

static int
parse_escape(struct mj_in *in, char *d, size_t *k)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (in->p >= in->end)
		return -FQ_ECORRUPT;
	const char *f = strchr(from, *in->p);
	if (f && *in->p) {
		d[(*k)++] = to[f - from];
		in->p++;
		return 0;
	}
	if (*in->p != 'u' || in->end - in->p < 5)
		return -FQ_ECORRUPT;
	char hex[5] = { in->p[1], in->p[2], in->p[3], in->p[4], 0 };
	char *e;
	unsigned long c = strtoul(hex, &e, 16);
	if (*e)
		return -FQ_ECORRUPT;
	*k += put_utf8(d + *k, (unsigned)c);
	in->p += 5;
	return 0;
}

static int
parse_string(struct mj_in *in, char **out)
{
	in->p++;   /* the opening quote */
	const char *q = in->p;
	while (q < in->end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	if (q >= in->end)
		return -FQ_ECORRUPT;
	/* Escapes never grow a string beyond 3 bytes per 6 characters. */
	char *d = malloc((size_t)(q - in->p) + 1);
	if (d == NULL)
		return -FQ_ENOMEM;
	size_t k = 0;
	while (in->p < q) {
		char ch = *in->p++;
		if (ch != '\\') {
			d[k++] = ch;
		} else if (parse_escape(in, d, &k) < 0) {
			free(d);
			return -FQ_ECORRUPT;
		}
	}
	d[k] = '\0';
	in->p = q + 1;
	*out = d;
	return 0;
}

static int
parse_number(struct mj_in *in, struct fq_mj *v)
{
	const char *s = in->p;
	while (in->p < in->end && strchr("+-0123456789.eE", *in->p))
		in->p++;
	size_t n = (size_t)(in->p - s);
	if (n == 0 || n > 64)
		return -FQ_ECORRUPT;
	v->str = malloc(n + 1);
	if (v->str == NULL)
		return -FQ_ENOMEM;
	memcpy(v->str, s, n);
	v->str[n] = '\0';
	char *e;
	v->num = strtod(v->str, &e);
	v->type = FQ_MJ_NUM;
	return *e ? -FQ_ECORRUPT : 0;
}

static int
add_kid(struct fq_mj *v, size_t *cap, struct fq_mj **kid)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct fq_mj *k = realloc(v->kids, nc * sizeof *k);
		if (k == NULL)
			return -FQ_ENOMEM;
		v->kids = k;
		*cap = nc;
	}
	*kid = &v->kids[v->n++];
	memset(*kid, 0, sizeof **kid);
	return 0;
}

/* An object's members or an array's elements, up to `close`. */
static int
parse_container(struct mj_in *in, struct fq_mj *v, char close)
{
	size_t cap = 0;
	in->p++;
	skip_ws(in);
	if (in->p < in->end && *in->p == close) {
		in->p++;
		return 0;
	}
	for (;;) {
		struct fq_mj *kid = NULL;
		int rc = add_kid(v, &cap, &kid);
		skip_ws(in);
		if (rc == 0 && close == '}') {
			if (in->p >= in->end || *in->p != '"')
				return -FQ_ECORRUPT;
			rc = parse_string(in, &kid->key);
			skip_ws(in);
			if (rc == 0 && (in->p >= in->end || *in->p++ != ':'))
				rc = -FQ_ECORRUPT;
		}
		if (rc == 0)
			rc = parse_value(in, kid);
		if (rc < 0)
			return rc;
		skip_ws(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			continue;
		}
		if (in->p < in->end && *in->p == close) {
			in->p++;
			return 0;
		}
		return -FQ_ECORRUPT;
	}
}

static int
parse_word(struct mj_in *in, struct fq_mj *v)
{
	static const struct { const char *w; enum fq_mj_type t; double n; }
	words[] = { { "true", FQ_MJ_BOOL, 1 }, { "false", FQ_MJ_BOOL, 0 },
		    { "null", FQ_MJ_NULL, 0 } };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i].w);
		if ((size_t)(in->end - in->p) >= n &&
		    memcmp(in->p, words[i].w, n) == 0) {
			v->type = words[i].t;
			v->num = words[i].n;
			in->p += n;
			return 0;
		}
	}
	return parse_number(in, v);
}

static int
parse_value(struct mj_in *in, struct fq_mj *v)
{
	skip_ws(in);
	if (in->p >= in->end)
		return -FQ_ECORRUPT;
	if (*in->p == '"') {
		v->type = FQ_MJ_STR;
		return parse_string(in, &v->str);
	}
	if (*in->p != '{' && *in->p != '[')
		return parse_word(in, v);
	if (++in->depth > MJ_MAX_DEPTH)
		return -FQ_ECORRUPT;
	v->type = *in->p == '{' ? FQ_MJ_OBJ : FQ_MJ_ARR;
	int rc = parse_container(in, v, *in->p == '{' ? '}' : ']');
	in->depth--;
	return rc;
}

int
fq_mj_parse(const char *text, size_t len, struct fq_mj *root)
{
	struct mj_in in = { text, text + len, 0 };
	memset(root, 0, sizeof *root);
	int rc = parse_value(&in, root);
	skip_ws(&in);
	if (rc == 0 && in.p != in.end)
		rc = -FQ_ECORRUPT;
	if (rc < 0)
		fq_mj_free(root);
	return rc;
}

void
fq_mj_free(struct fq_mj *v)
{
	for (size_t i = 0; i < v->n; i++)
		fq_mj_free(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->str);
	memset(v, 0, sizeof *v);
}

const struct fq_mj *
fq_mj_get(const struct fq_mj *obj, const char *key)
{
	if (obj == NULL || obj->type != FQ_MJ_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->kids[i].key, key) == 0)
			return &obj->kids[i];
	return NULL;
}
