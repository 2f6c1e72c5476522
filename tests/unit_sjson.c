/* unit_sjson.c — strict JSON input. */
#include <string.h>

#include "buf.h"
#include "sjson.h"
#include "unit_suites.h"

static bool
check(const char *s, int depth, bool *obj)
{
	return sjson_check(s, strlen(s), depth, obj);
}

START_TEST(valid_texts)
{
	bool obj;

	ck_assert(check("{}", 4, &obj) && obj);
	ck_assert(check(" {\"a\":[1,{\"b\":null}]} ", 4, &obj) && obj);
	ck_assert(check("[1]", 4, &obj) && !obj);
	ck_assert(check("\"x\"", 4, &obj) && !obj);
	ck_assert(check("12", 4, &obj) && !obj);
}
END_TEST

START_TEST(invalid_texts)
{
	static const char *const bad[] = {
		"", " ", "{", "{\"a\":}", "{} {}", "{}x", "{'a':1}",
		"{\"a\":1,}", "/*c*/{}", "{\"\xff\":1}", "{\"a\":\"\xc3\x28\"}",
		"nul",
	};
	size_t i;
	bool obj;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!check(bad[i], 8, &obj), "accepted %s", bad[i]);
	/* An embedded NUL byte ends nothing: refused. */
	ck_assert(!sjson_check("{}\0", 3, 8, &obj));
}
END_TEST

START_TEST(depth_limit)
{
	char deep[200];
	int i;
	bool obj;

	for (i = 0; i < 20; i++)
		deep[i] = '[';
	for (i = 20; i < 40; i++)
		deep[i] = ']';
	deep[40] = '\0';
	ck_assert(check(deep, 20, &obj));
	ck_assert(!check(deep, 19, &obj));
}
END_TEST

START_TEST(parse_object_rules)
{
	yajl_val v;
	long long n;
	bool obj;

	v = sjson_parse_object("{\"a\":1,\"b\":\"x\"}", 15);
	ck_assert_ptr_nonnull(v);
	ck_assert(sjson_integer(sjson_get(v, "a"), &n) && n == 1);
	ck_assert_str_eq(sjson_string(sjson_get(v, "b")), "x");
	ck_assert_ptr_null(sjson_get(v, "c"));
	ck_assert_ptr_null(sjson_string(sjson_get(v, "a")));
	sjson_free(v);

	/* U+0000 would truncate a C string: refused in trees only. */
	static const char nul_val[] = "{\"a\":\"x\\u0000y\"}";
	static const char nul_key[] = "{\"\\u0000\":1}";

	ck_assert_ptr_null(sjson_parse_object(nul_val, strlen(nul_val)));
	ck_assert_ptr_null(sjson_parse_object(nul_key, strlen(nul_key)));
	ck_assert(check(nul_val, 4, &obj) && obj);

	/* Duplicate names: refused. */
	ck_assert_ptr_null(sjson_parse_object("{\"a\":1,\"a\":2}", 13));
	ck_assert_ptr_null(sjson_parse_object("[1]", 3));
}
END_TEST

START_TEST(integers_only)
{
	static const struct { const char *text; bool ok; long long v; } c[] = {
		{ "{\"n\":0}", true, 0 },
		{ "{\"n\":-5}", true, -5 },
		{ "{\"n\":9223372036854775807}", true, 9223372036854775807LL },
		{ "{\"n\":9223372036854775808}", false, 0 },
		{ "{\"n\":1.0}", false, 0 },
		{ "{\"n\":1e3}", false, 0 },
		{ "{\"n\":\"1\"}", false, 0 },
		{ "{\"n\":true}", false, 0 },
	};
	size_t i;
	long long n;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		yajl_val v = sjson_parse_object(c[i].text, strlen(c[i].text));

		ck_assert_ptr_nonnull(v);
		ck_assert_msg(sjson_integer(sjson_get(v, "n"), &n) == c[i].ok,
		    "%s", c[i].text);
		if (c[i].ok)
			ck_assert(n == c[i].v);
		sjson_free(v);
	}
}
END_TEST

/* NumericDate: integers as they are, fractions rounded either way. */
START_TEST(numeric_dates)
{
	static const struct {
		const char	*json;
		bool		 ok;
		long long	 down, up;
	} cases[] = {
		{ "{\"t\":5}", true, 5, 5 },
		{ "{\"t\":-5}", true, -5, -5 },
		{ "{\"t\":9223372036854775807}", true, 9223372036854775807LL,
		    9223372036854775807LL },
		{ "{\"t\":1.5}", true, 1, 2 },
		{ "{\"t\":-1.5}", true, -2, -1 },
		{ "{\"t\":2.0}", true, 2, 2 },
		{ "{\"t\":-0.0}", true, 0, 0 },
		{ "{\"t\":1e10}", true, 10000000000LL, 10000000000LL },
		{ "{\"t\":1700000000.5}", true, 1700000000, 1700000001 },
		{ "{\"t\":1E-3}", true, 0, 1 },
		{ "{\"t\":4611686018427387904.0}", true, 4611686018427387904LL,
		    4611686018427387904LL },
		{ "{\"t\":4.7e18}", false, 0, 0 },
		{ "{\"t\":-4.7e18}", false, 0, 0 },
		{ "{\"t\":99999999999999999999}", false, 0, 0 },
		{ "{\"t\":1e309}", false, 0, 0 },
		{ "{\"t\":\"5\"}", false, 0, 0 },
		{ "{\"t\":true}", false, 0, 0 },
		{ "{\"t\":null}", false, 0, 0 },
		{ "{\"t\":[5]}", false, 0, 0 },
	};
	long long out;
	yajl_val v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = sjson_parse_object(cases[i].json, strlen(cases[i].json));
		ck_assert_ptr_nonnull(v);
		ck_assert_msg(sjson_numeric_date(sjson_get(v, "t"), false,
		    &out) == cases[i].ok && (!cases[i].ok ||
		    out == cases[i].down), "%s rounded down", cases[i].json);
		ck_assert_msg(sjson_numeric_date(sjson_get(v, "t"), true,
		    &out) == cases[i].ok && (!cases[i].ok ||
		    out == cases[i].up), "%s rounded up", cases[i].json);
		sjson_free(v);
	}
	ck_assert(!sjson_numeric_date(NULL, false, &out));
}
END_TEST

/* Equal trees, node for node, as yajl_tree_parse() builds them. */
static bool
same_tree(yajl_val a, yajl_val b)
{
	size_t i;

	if (a == NULL || b == NULL || a->type != b->type)
		return a == b;
	switch (a->type) {
	case yajl_t_string:
		return strcmp(a->u.string, b->u.string) == 0;
	case yajl_t_number:
		return strcmp(a->u.number.r, b->u.number.r) == 0 &&
		    a->u.number.flags == b->u.number.flags &&
		    (!(a->u.number.flags & YAJL_NUMBER_INT_VALID) ||
		    a->u.number.i == b->u.number.i) &&
		    (!(a->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) ||
		    a->u.number.d == b->u.number.d);
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return false;
		for (i = 0; i < a->u.object.len; i++)
			if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) ||
			    !same_tree(a->u.object.values[i],
			    b->u.object.values[i]))
				return false;
		return true;
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return false;
		for (i = 0; i < a->u.array.len; i++)
			if (!same_tree(a->u.array.values[i],
			    b->u.array.values[i]))
				return false;
		return true;
	default:
		return true;
	}
}

/* sjson_parse_object builds its tree in the one pass that checks the
 * text: the tree must be what yajl_tree_parse makes of the same text. */
START_TEST(tree_as_yajl_tree)
{
	static const char *const texts[] = {
		"{}",
		"{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":false,\"e\":null}",
		"{\"n\":[0,-0,1.5,-2e3,1E+2,9223372036854775807,"
		"-9223372036854775808,9223372036854775808,"
		"-9223372036854775809,123456789012345678901234567890,1e400]}",
		"{\"deep\":{\"x\":[[],[{}],{\"y\":[1,2,3,4,5,6,7,8,9,10]}]}}",
		"{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
		"\"k7\":7,\"k8\":8,\"k9\":9,\"u\":\"\\u00e9\\ud83d\\ude00\"}",
		"{\"permissions\":[\"media:read\",\"a\"],\"sub\":{\"sub\":1}}",
	};
	char err[128];
	yajl_val a, b;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		a = sjson_parse_object(texts[i], strlen(texts[i]));
		b = yajl_tree_parse(texts[i], err, sizeof(err));
		ck_assert_msg(a != NULL && b != NULL, "%s", texts[i]);
		ck_assert_msg(same_tree(a, b), "trees differ: %s", texts[i]);
		sjson_free(a);
		yajl_tree_free(b);
	}
	/* Nested duplicates are a matter for whoever reads them; only the
	 * top level (the claims) is refused. */
	ck_assert_ptr_nonnull(a = sjson_parse_object("{\"a\":{\"b\":1,"
	    "\"b\":2}}", 19));
	sjson_free(a);
	ck_assert_ptr_null(sjson_parse_object("{\"a\":1,\"b\":[1,{\"c\":"
	    "\"\\u0000\"}]}", 30));
	ck_assert_ptr_null(sjson_parse_object("{\"a\":1} x", 10));
	ck_assert_ptr_null(sjson_parse_object("{\"a\":1,\"b\":2,\"a\":3}",
	    19));
}
END_TEST

/*
 * The tree lives in an arena whose first block is sized from the text:
 * texts whose trees outgrow it many times over (a wide object of short
 * members, escapes that make yajl use its own buffer and grow it past its
 * first 2 KiB, a long array of objects) must come out the same as
 * yajl_tree_parse's, whole.
 */
START_TEST(tree_outgrows_first_block)
{
	struct buf t = { 0 };
	char err[128];
	yajl_val a, b;
	int i, j, kind;

	for (kind = 0; kind < 3; kind++) {
		buf_reset(&t);
		buf_putc(&t, '{');
		for (i = 0; i < 3000; i++) {
			if (i > 0)
				buf_putc(&t, ',');
			if (kind == 0)
				buf_printf(&t, "\"%d\":%d", i, i);
			else if (kind == 1) {
				buf_printf(&t, "\"k%d\":\"\\u00e9\\n%0*d", i,
				    i % 500, i);
				for (j = 0; i % 100 == 0 && j < 3000; j++)
					buf_puts(&t, "\\u00e9");
				buf_putc(&t, '"');
			}
			else
				buf_printf(&t, "\"a%d\":[{\"x\":[]},{},[1]]", i);
		}
		buf_putc(&t, '}');
		a = sjson_parse_object(t.ptr, t.len);
		b = yajl_tree_parse(t.ptr, err, sizeof(err));
		ck_assert_msg(a != NULL && b != NULL, "kind %d: %s", kind, err);
		ck_assert_int_eq(a->u.object.len, 3000);
		ck_assert_msg(same_tree(a, b), "kind %d: trees differ", kind);
		sjson_free(a);
		yajl_tree_free(b);
	}
	buf_free(&t);
	sjson_free(NULL);
}
END_TEST

Suite *
suite_sjson(void)
{
	Suite *s = suite_create("sjson");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, valid_texts);
	tcase_add_test(tc, invalid_texts);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, parse_object_rules);
	tcase_add_test(tc, integers_only);
	tcase_add_test(tc, numeric_dates);
	tcase_add_test(tc, tree_as_yajl_tree);
	tcase_add_test(tc, tree_outgrows_first_block);
	suite_add_tcase(s, tc);
	return s;
}
