/*
 * store_dir.c - names and listing of a store directory (fq_store.h), and
 * the time points --since/--until take.
 *
 * A store file's name carries its interval's start, so listing, expiry
 * and time selection never open a file.  Names that are not a store's
 * are ignored: the directory may hold other things.
 */
#include "fq_store.h"
#include "fq_error.h"
#include "fq_time.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
fq__store_name(int64_t start_ms, int with_seconds, char *buf, size_t len)
{
	int64_t s = start_ms / 1000;
	int64_t days = s / 86400, sod = s % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	fq_civil_from_days(days, &y, &m, &d);
	if (with_seconds)
		snprintf(buf, len, "flowq.%04lld%02u%02u%02u%02u%02u",
			 (long long)y, m, d, (unsigned)(sod / 3600),
			 (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
	else
		snprintf(buf, len, "flowq.%04lld%02u%02u%02u%02u",
			 (long long)y, m, d, (unsigned)(sod / 3600),
			 (unsigned)(sod / 60 % 60));
}

/* n decimal digits at p; -1 if any is not one. */
static int64_t
digits(const char *p, int n)
{
	int64_t v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* "flowq.YYYYMMDDhhmm[ss][.N].ipfix[.current]" into f; 0 or -1. */
static int
parse_name(const char *name, struct fq_store_file *f)
{
	if (strncmp(name, "flowq.", 6) != 0)
		return -1;
	const char *p = name + 6;
	size_t nd = strspn(p, "0123456789");
	if (nd != 12 && nd != 14)
		return -1;
	int64_t y = digits(p, 4), mo = digits(p + 4, 2), d = digits(p + 6, 2);
	int64_t h = digits(p + 8, 2), mi = digits(p + 10, 2);
	int64_t sec = nd == 14 ? digits(p + 12, 2) : 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	p += nd;
	f->seq = 0;
	if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
		size_t ns = strspn(p + 1, "0123456789");
		if (ns > 6)
			return -1;
		f->seq = (unsigned)digits(p + 1, (int)ns);
		p += 1 + ns;
	}
	if (strcmp(p, ".ipfix") == 0)
		f->current = 0;
	else if (strcmp(p, ".ipfix.current") == 0)
		f->current = 1;
	else
		return -1;
	int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	f->start_ms = ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000;
	return 0;
}

struct list {
	struct fq_store_file *v;
	size_t n, cap;
};

static int
list_add(struct list *l, const char *path, const struct fq_store_file *f,
	 off_t size)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct fq_store_file *nv = realloc(l->v, ncap * sizeof *nv);
		if (nv == NULL)
			return -FQ_ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	struct fq_store_file *e = &l->v[l->n];
	*e = *f;
	e->size = size;
	e->path = strdup(path);
	if (e->path == NULL)
		return -FQ_ENOMEM;
	l->n++;
	return 0;
}

/* The store files of dir and its subdirectories, `depth` levels down
 * (YYYY/MM/DD is three). */
static int
walk(struct list *l, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -FQ_EIO;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir,
				     e->d_name) >= sizeof path)
			continue;
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		struct fq_store_file f;
		if (S_ISDIR(st.st_mode)) {
			if (depth > 0 && walk(l, path, depth - 1) == -FQ_ENOMEM)
				rc = -FQ_ENOMEM;
		} else if (S_ISREG(st.st_mode) && parse_name(e->d_name, &f) == 0) {
			rc = list_add(l, path, &f, st.st_size);
		}
	}
	closedir(d);
	return rc;
}

static int
cmp_file(const void *a, const void *b)
{
	const struct fq_store_file *x = a, *y = b;
	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->current != y->current)
		return x->current - y->current;
	return strcmp(x->path, y->path);
}

int
fq_store_list(const char *dir, struct fq_store_file **files, size_t *n,
	      char *why, size_t why_len)
{
	struct list l = { NULL, 0, 0 };
	int rc = walk(&l, dir, 3);
	if (rc < 0) {
		snprintf(why, why_len, "%s: %s", dir, rc == -FQ_ENOMEM ?
			 "out of memory" : "cannot read the directory");
		fq_store_list_free(l.v, l.n);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_file);
	*files = l.v;
	*n = l.n;
	return 0;
}

void
fq_store_list_free(struct fq_store_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i].path);
	free(files);
}

/* ".123" -> 123 ms (digits past the third ignored); p past them. */
static int64_t
fraction_ms(const char **pp)
{
	const char *p = *pp;
	int64_t ms = 0;
	if (*p != '.')
		return 0;
	p++;
	int i = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, i++)
		if (i < 3)
			ms = ms * 10 + (*p - '0');
	for (; i < 3; i++)
		ms *= 10;
	*pp = p;
	return ms;
}

static int
parse_rfc3339(const char *s, int64_t *ms)
{
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':')
		return -FQ_EINVAL;
	int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int64_t h = digits(s + 11, 2), mi = digits(s + 14, 2);
	int64_t sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -FQ_EINVAL;
	const char *p = s + 19;
	int64_t frac = fraction_ms(&p);
	if (frac < 0)
		return -FQ_EINVAL;
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int64_t oh = digits(p + 1, 2), om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -FQ_EINVAL;
		off = (oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -FQ_EINVAL;
	}
	if (*p != '\0')
		return -FQ_EINVAL;
	int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ms = ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + frac - off;
	return 0;
}

int
fq_store_parse_time(const char *s, int64_t *ms)
{
	size_t nd = strspn(s, "0123456789");
	if (nd >= 1 && nd <= 12 && (s[nd] == '\0' || s[nd] == '.')) {
		const char *p = s + nd;
		int64_t frac = fraction_ms(&p);
		if (frac < 0 || *p != '\0')
			return -FQ_EINVAL;
		*ms = digits(s, (int)nd) * 1000 + frac;
		return 0;
	}
	return parse_rfc3339(s, ms);
}
