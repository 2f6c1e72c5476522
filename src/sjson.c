/* sjson.c — bounded, strict JSON parsing for untrusted input. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "buf.h"
#include "sjson.h"

struct check_state {
	int	depth;
	int	max_depth;
	int	top_type;	/* 0 none yet, 1 object, 2 other */
	bool	refuse_nul;	/* strings may not contain U+0000 */
};

static void
note_value(struct check_state *st, int type)
{
	if (st->depth == 0 && st->top_type == 0)
		st->top_type = type;
}

static int
cb_scalar(void *ctx)
{
	note_value(ctx, 2);
	return 1;
}

static int cb_null(void *ctx) { return cb_scalar(ctx); }
static int cb_bool(void *ctx, int b) { (void)b; return cb_scalar(ctx); }
static int cb_number(void *ctx, const char *s, size_t l)
{ (void)s; (void)l; return cb_scalar(ctx); }

/*
 * A "\u0000" escape would be cut short by yajl_tree's C strings, letting
 * "acme\u0000x" read as "acme": before a tree is built, strings holding
 * NUL are refused.
 */
static int
nul_ok(void *ctx, const unsigned char *s, size_t l)
{
	return !((struct check_state *)ctx)->refuse_nul ||
	    memchr(s, '\0', l) == NULL;
}

static int cb_string(void *ctx, const unsigned char *s, size_t l)
{ return nul_ok(ctx, s, l) && cb_scalar(ctx); }
static int cb_key(void *ctx, const unsigned char *s, size_t l)
{ return nul_ok(ctx, s, l); }

static int
open_nested(void *ctx, int type)
{
	struct check_state *st = ctx;

	note_value(st, type);
	/* Returning 0 cancels the parse: too deep is simply invalid. */
	return ++st->depth <= st->max_depth;
}

static int cb_start_map(void *ctx) { return open_nested(ctx, 1); }
static int cb_start_array(void *ctx) { return open_nested(ctx, 2); }

static int
cb_end(void *ctx)
{
	((struct check_state *)ctx)->depth--;
	return 1;
}

static const yajl_callbacks check_callbacks = {
	cb_null, cb_bool, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_key, cb_end, cb_start_array, cb_end,
};

static bool
check_text(const char *buf, size_t len, int max_depth, bool refuse_nul,
    bool *is_object)
{
	struct check_state st = { 0, max_depth, 0, refuse_nul };
	yajl_handle h;
	bool ok;

	*is_object = false;
	if (memchr(buf, '\0', len) != NULL)
		return false;
	if ((h = yajl_alloc(&check_callbacks, NULL, &st)) == NULL)
		return false;
	/* Defaults already reject comments, trailing garbage and bad UTF-8;
	 * say so explicitly since the defaults are what is relied on. */
	yajl_config(h, yajl_allow_comments, 0);
	yajl_config(h, yajl_dont_validate_strings, 0);
	yajl_config(h, yajl_allow_trailing_garbage, 0);
	yajl_config(h, yajl_allow_multiple_values, 0);
	yajl_config(h, yajl_allow_partial_values, 0);
	ok = yajl_parse(h, (const unsigned char *)buf, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok && st.top_type != 0;
	yajl_free(h);
	*is_object = ok && st.top_type == 1;
	return ok;
}

bool
sjson_check(const char *buf, size_t len, int max_depth, bool *is_object)
{
	return check_text(buf, len, max_depth, false, is_object);
}

yajl_val
sjson_parse_object(const char *buf, size_t len)
{
	yajl_val v;
	size_t i, j, n;
	bool is_object;
	char *copy;

	if (!check_text(buf, len, SJSON_MAX_DEPTH, true, &is_object) ||
	    !is_object)
		return NULL;
	/* yajl_tree_parse wants a C string. */
	copy = xstrndup(buf, len);
	v = yajl_tree_parse(copy, NULL, 0);
	free(copy);
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return NULL;
	}
	/* RFC 8259 §4: with duplicate names, parsers disagree on which one
	 * counts.  A credential that two parsers read differently is refused. */
	n = v->u.object.len;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(v->u.object.keys[i],
			    v->u.object.keys[j]) == 0) {
				yajl_tree_free(v);
				return NULL;
			}
	return v;
}

yajl_val
sjson_get(yajl_val obj, const char *key)
{
	size_t i;

	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

bool
sjson_integer(yajl_val v, long long *out)
{
	const char *s;

	if (!YAJL_IS_INTEGER(v) || v->u.number.r == NULL)
		return false;
	s = v->u.number.r;
	if (*s == '-')
		s++;
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return false;
	*out = v->u.number.i;
	return true;
}

/* Far beyond any date (2^62 s is 146 billion years), and small enough that
 * a caller may add a leeway without overflow. */
#define NUMERIC_DATE_MAX	4611686018427387904.0	/* 2^62 */

bool
sjson_numeric_date(yajl_val v, bool round_up, long long *out)
{
	const char *s;
	char *end;
	long long t;
	double d;

	if (sjson_integer(v, out))
		return true;
	if (!YAJL_IS_NUMBER(v) || (s = v->u.number.r) == NULL ||
	    strpbrk(s, ".eE") == NULL)
		return false;	/* integer syntax that does not fit */
	/* yajl has already checked the JSON number syntax (RFC 8259 §6). */
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) ||
	    d < -NUMERIC_DATE_MAX || d > NUMERIC_DATE_MAX)
		return false;
	/* The cast truncates toward zero; step to the rounding side. */
	t = (long long)d;
	if (round_up && (double)t < d)
		t++;
	else if (!round_up && (double)t > d)
		t--;
	*out = t;
	return true;
}
