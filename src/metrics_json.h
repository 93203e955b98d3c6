/*
 * metrics_json.h - a small JSON reader for the metrics endpoint: it turns
 * flowq's own --stats-json text into a tree that metrics_render.c walks.
 *
 * It reads what flowq writes (objects, arrays, strings, numbers, true,
 * false, null) and refuses anything else; it is not a general parser and
 * never sees network input.  Numbers keep their text, so a 64-bit counter
 * is printed exactly as flowq wrote it, not through a double.
 */
#ifndef FQ_METRICS_JSON_H
#define FQ_METRICS_JSON_H

#include <stddef.h>

enum fq_mj_type { FQ_MJ_NULL, FQ_MJ_BOOL, FQ_MJ_NUM, FQ_MJ_STR, FQ_MJ_ARR,
		  FQ_MJ_OBJ };

struct fq_mj {
	enum fq_mj_type type;
	char *key;              /* owned: the member's name in an object */
	char *str;              /* owned: a string, or a number's text */
	double num;             /* a number; a bool as 0 or 1 */
	struct fq_mj *kids;     /* owned: members or elements */
	size_t n;
};

/* Parse text[0..len) into *root; 0 or -FQ_ECORRUPT / -FQ_ENOMEM. */
int fq_mj_parse(const char *text, size_t len, struct fq_mj *root);
void fq_mj_free(struct fq_mj *v);
/* The member `key` of an object, or NULL. */
const struct fq_mj *fq_mj_get(const struct fq_mj *obj, const char *key);

#endif
