/*
 * sink_count.c - `--count`: each query's number of matches, printed at the
 * end of input instead of the matches ("NAME N", or one JSON object per
 * query with --json).  It reads nothing of a match, so a run with it
 * keeps no records (match_sink.h, wants_records).
 */
#include "fq_format.h"
#include "match_sink.h"
#include "fq_error.h"

#include <stdio.h>
#include <stdlib.h>

struct count_sink {
	struct fq_match_sink sink; /* first */
	struct fq_match_sink *file;  /* owned: where the tally goes */
	int json;
};

static int
count_write(struct fq_match_sink *s, const struct fq_match *m)
{
	(void)s;
	(void)m;
	return 0;   /* the ungrouper numbers the matches */
}

static int
count_flush(struct fq_match_sink *s)
{
	struct count_sink *c = (struct count_sink *)s;
	int rc = c->file->ops->flush(c->file);
	s->err = c->file->err;
	return rc;
}

static int
count_finish(struct fq_match_sink *s, const struct fq_query_total *t,
	     size_t nq)
{
	struct count_sink *c = (struct count_sink *)s;
	struct fq_out *o = fq__sink_file_out(c->file);
	for (size_t i = 0; i < nq; i++) {
		if (c->json) {
			fq_out_str(o, "{\"query\":");
			fq_format_json_str(o, t[i].name);
			fq_out_printf(o, ",\"matches\":%llu}\n",
				      (unsigned long long)t[i].matches);
		} else {
			fq_out_printf(o, "%s %llu\n", t[i].name,
				      (unsigned long long)t[i].matches);
		}
	}
	return 0;
}

static void
count_free(struct fq_match_sink *s)
{
	struct count_sink *c = (struct count_sink *)s;
	c->file->ops->free(c->file);
	fq_match_sink_fini(s);
	free(c);
}

static const struct fq_match_sink_ops count_ops = {
	.name = "count",
	.write = count_write,
	.flush = count_flush,
	.finish = count_finish,
	.free = count_free,
};

static int
count_create(const struct fq_sink_env *env, const char *arg,
	     struct fq_match_sink **out, char *why, size_t why_len)
{
	struct count_sink *c = malloc(sizeof *c);
	if (c == NULL) {
		snprintf(why, why_len, "out of memory");
		return -FQ_ENOMEM;
	}
	int rc = fq_sink_file_create(env, arg, &c->file, why, why_len);
	if (rc < 0) {
		free(c);
		return rc;
	}
	c->sink = (struct fq_match_sink){ .ops = &count_ops, .counts_only = 1 };
	c->json = env->json;
	*out = &c->sink;
	return 0;
}

const struct fq_sink_def fq_sink_count_def = {
	.option = "count",
	.help = "print each query's number of matches at the end instead of "
		"the matches",
	.replaces_output = 1,
	.create = count_create,
};
