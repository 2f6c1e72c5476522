/* sjson.c — bounded, strict JSON parsing for untrusted input. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
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

/*
 * One pass that checks and builds: the tree is made by the streaming
 * parser's callbacks, node for node as yajl_tree_parse() makes it (so the
 * YAJL_IS_* macros and the yajl_val accessors work on it), while the same
 * callbacks enforce what check_text() enforces.  Parsing the text twice
 * (check, then yajl_tree_parse on a copy) cost twice the lexing and a
 * copy per bearer and download token.
 *
 * The tree, and yajl's own handle while it parses, live in an arena: a
 * block handed out front to back (more blocks if it runs out) and freed
 * at once by sjson_free().  A claims set is some thirty small pieces
 * (nodes, names, strings, arrays); a malloc and a free for each was a
 * tenth of the instructions of an issue.
 */
#define ARENA_ALIGN	_Alignof(max_align_t)

struct arena_block {
	struct arena_block	*next;
};

struct sjson_doc {
	struct yajl_val_s	 root;	/* first: sjson_free() casts back */
	struct arena_block	*more;	/* blocks after the first, newest
					   first */
	char			*next;	/* free space of the newest block */
	char			*end;
	size_t			 cap;	/* size of the newest block */
};

static size_t
arena_round(size_t n)
{
	if (n > (size_t)-1 - ARENA_ALIGN)
		abort();
	return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

static struct sjson_doc *
arena_new(size_t cap)
{
	size_t head = arena_round(sizeof(struct sjson_doc));
	struct sjson_doc *doc;

	cap = arena_round(cap);
	doc = xmalloc(head + cap);
	memset(doc, 0, sizeof(*doc));
	doc->next = (char *)doc + head;
	doc->end = doc->next + cap;
	doc->cap = cap;
	return doc;
}

/* n bytes, aligned for any type; aborts when memory runs out, as xmalloc. */
static void *
arena_alloc(struct sjson_doc *doc, size_t n)
{
	size_t head = arena_round(sizeof(struct arena_block)), cap;
	struct arena_block *b;
	void *p;

	n = arena_round(n);
	if ((size_t)(doc->end - doc->next) < n) {
		cap = doc->cap > (size_t)-1 / 4 ? n : doc->cap * 2;
		if (cap < n)
			cap = n;
		b = xmalloc(head + cap);
		b->next = doc->more;
		doc->more = b;
		doc->next = (char *)b + head;
		doc->end = doc->next + cap;
		doc->cap = cap;
	}
	p = doc->next;
	doc->next += n;
	return p;
}

static char *
arena_strndup(struct sjson_doc *doc, const char *s, size_t n)
{
	char *p = arena_alloc(doc, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* yajl's allocator interface over the arena.  realloc must know the old
 * size, so each of yajl's pieces carries it in front. */
static void *
y_malloc(void *ctx, size_t n)
{
	size_t *p = arena_alloc(ctx, arena_round(sizeof(size_t)) + n);

	*p = n;
	return (char *)p + arena_round(sizeof(size_t));
}

static void *
y_realloc(void *ctx, void *old, size_t n)
{
	void *p = y_malloc(ctx, n);
	size_t was;

	if (old != NULL) {
		was = *(size_t *)((char *)old - arena_round(sizeof(size_t)));
		memcpy(p, old, was < n ? was : n);
	}
	return p;
}

static void
y_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;	/* the arena goes at once */
}

struct build_state {
	struct check_state	 chk;
	struct sjson_doc	*doc;
	yajl_val		 root;
	yajl_val		 stack[SJSON_MAX_DEPTH];	/* open containers */
	char			*key;		/* name waiting for its value */
	bool			 dup;		/* duplicate top-level name */
};

/* The first node at the top level is the document's root, where
 * sjson_free() expects it. */
static yajl_val
new_node(struct build_state *st, yajl_type type)
{
	yajl_val v;

	if (st->chk.depth == 0 && st->root == NULL)
		v = &st->doc->root;
	else
		v = arena_alloc(st->doc, sizeof(*v));
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

/* Make room in a keys/values array of len entries for one more: doubling
 * from four, so that an object of n members copies log n times. */
static void *
grow(struct build_state *st, void *arr, size_t len, size_t size)
{
	void *p;

	if (len != 0 && ((len & (len - 1)) != 0 || len < 4))
		return arr;
	p = arena_alloc(st->doc, (len == 0 ? 4 : 2 * len) * size);
	if (len != 0)
		memcpy(p, arr, len * size);
	return p;
}

/* Attach v where the parse is: the root, an array element or the value of
 * the pending member name.  Returns 0 (cancel) when v is a second
 * top-level value (yajl refuses that anyway). */
static int
attach(struct build_state *st, yajl_val v)
{
	yajl_val c;
	size_t i;

	note_value(&st->chk, v->type == yajl_t_object ? 1 : 2);
	if (st->chk.depth == 0) {
		if (st->root != NULL)
			return 0;
		st->root = v;
		return 1;
	}
	c = st->stack[st->chk.depth - 1];
	if (c->type == yajl_t_array) {
		c->u.array.values = grow(st, c->u.array.values,
		    c->u.array.len, sizeof(yajl_val));
		c->u.array.values[c->u.array.len++] = v;
		return 1;
	}
	/* RFC 8259 §4: with duplicate names, parsers disagree on which one
	 * counts.  A credential that two parsers read differently is
	 * refused (top level: where the claims are). */
	if (st->chk.depth == 1)
		for (i = 0; i < c->u.object.len; i++)
			if (strcmp(c->u.object.keys[i], st->key) == 0)
				st->dup = true;
	c->u.object.keys = grow(st, c->u.object.keys, c->u.object.len,
	    sizeof(char *));
	c->u.object.values = grow(st, c->u.object.values, c->u.object.len,
	    sizeof(yajl_val));
	c->u.object.keys[c->u.object.len] = st->key;
	c->u.object.values[c->u.object.len++] = v;
	st->key = NULL;
	return !st->dup;
}

static int
b_null(void *ctx)
{
	return attach(ctx, new_node(ctx, yajl_t_null));
}

static int
b_bool(void *ctx, int b)
{
	return attach(ctx, new_node(ctx, b ? yajl_t_true : yajl_t_false));
}

/* As yajl_tree: the text, the integer when it fits (no fraction or
 * exponent), the double when strtod reads all of it. */
static int
b_number(void *ctx, const char *s, size_t l)
{
	struct build_state *st = ctx;
	yajl_val v = new_node(st, yajl_t_number);
	const char *p;
	char *end;
	long long i = 0;
	int d;
	bool neg, fits = true;

	v->u.number.r = arena_strndup(st->doc, s, l);
	p = v->u.number.r;
	if ((neg = *p == '-'))
		p++;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			fits = false;
			break;
		}
		d = *p - '0';
		/* As yajl: the magnitude must fit, so LLONG_MIN does not. */
		if (i > (LLONG_MAX - d) / 10) {
			fits = false;
			break;
		}
		i = i * 10 + d;
	}
	if (fits) {
		v->u.number.i = neg ? -i : i;
		v->u.number.d = (double)v->u.number.i;
		v->u.number.flags = YAJL_NUMBER_INT_VALID |
		    YAJL_NUMBER_DOUBLE_VALID;
	} else {
		v->u.number.i = neg ? LLONG_MIN : LLONG_MAX;
		errno = 0;
		v->u.number.d = strtod(v->u.number.r, &end);
		if (errno == 0 && *end == '\0')
			v->u.number.flags = YAJL_NUMBER_DOUBLE_VALID;
	}
	return attach(st, v);
}

static int
b_string(void *ctx, const unsigned char *s, size_t l)
{
	struct build_state *st = ctx;
	yajl_val v;

	if (memchr(s, '\0', l) != NULL)
		return 0;
	v = new_node(st, yajl_t_string);
	v->u.string = arena_strndup(st->doc, (const char *)s, l);
	return attach(st, v);
}

static int
b_key(void *ctx, const unsigned char *s, size_t l)
{
	struct build_state *st = ctx;

	if (memchr(s, '\0', l) != NULL)
		return 0;
	st->key = arena_strndup(st->doc, (const char *)s, l);
	return 1;
}

static int
b_open(struct build_state *st, yajl_type type)
{
	yajl_val v = new_node(st, type);

	if (!attach(st, v))
		return 0;
	/* Returning 0 cancels the parse: too deep is simply invalid. */
	if (st->chk.depth >= st->chk.max_depth)
		return 0;
	st->stack[st->chk.depth++] = v;
	return 1;
}

static int b_start_map(void *ctx) { return b_open(ctx, yajl_t_object); }
static int b_start_array(void *ctx) { return b_open(ctx, yajl_t_array); }

static const yajl_callbacks build_callbacks = {
	b_null, b_bool, NULL, NULL, b_number, b_string,
	b_start_map, b_key, cb_end, b_start_array, cb_end,
};

/*
 * The first block: room for yajl's handle and lexer (about 300 bytes),
 * its stack, and a tree of a text of len bytes, which is rarely more than
 * four times the text; larger trees take more blocks.
 */
#define ARENA_BASE	1024

yajl_val
sjson_parse_object(const char *buf, size_t len)
{
	struct build_state st;
	yajl_alloc_funcs af = { y_malloc, y_realloc, y_free, NULL };
	yajl_handle h;
	bool ok;

	memset(&st, 0, sizeof(st));
	st.chk.max_depth = SJSON_MAX_DEPTH;
	st.chk.refuse_nul = true;
	if (memchr(buf, '\0', len) != NULL)
		return NULL;
	st.doc = arena_new(ARENA_BASE + (len < 65536 ? 4 * len : 65536));
	af.ctx = st.doc;
	if ((h = yajl_alloc(&build_callbacks, &af, &st)) == NULL) {
		sjson_free(&st.doc->root);
		return NULL;
	}
	/* The defaults check_text() relies on, said explicitly. */
	yajl_config(h, yajl_allow_comments, 0);
	yajl_config(h, yajl_dont_validate_strings, 0);
	yajl_config(h, yajl_allow_trailing_garbage, 0);
	yajl_config(h, yajl_allow_multiple_values, 0);
	yajl_config(h, yajl_allow_partial_values, 0);
	ok = yajl_parse(h, (const unsigned char *)buf, len) ==
	    yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	if (!ok || st.dup || !YAJL_IS_OBJECT(st.root)) {
		sjson_free(&st.doc->root);
		return NULL;
	}
	return st.root;
}

void
sjson_free(yajl_val root)
{
	struct sjson_doc *doc = (struct sjson_doc *)root;
	struct arena_block *b, *next;

	if (doc == NULL)
		return;
	for (b = doc->more; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(doc);
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
