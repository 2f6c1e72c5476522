/*
 * fuzz_body.c — the strict JSON reader over any request body or token
 * half: sjson_check() (the request body check, at the nesting limit the
 * body check uses and at smaller ones) and sjson_parse_object().
 *
 * Invariants: a depth limit only ever refuses more; is_object is false
 * whenever the text is refused; sjson_parse_object() returns only objects,
 * only for texts sjson_check() accepts as objects, never with duplicate
 * member names; sjson_integer() agrees with the number's text.
 */
#include <errno.h>

#include "fuzz.h"
#include "sjson.h"

#define BODY_DEPTH	64	/* what the token-issuing operation allows */

static bool
check(const uint8_t *data, size_t size, int depth, bool *is_object)
{
	bool ok;

	*is_object = true;	/* must be overwritten */
	ok = sjson_check((const char *)data, size, depth, is_object);
	if (!ok)
		FUZZ_ASSERT(!*is_object);
	return ok;
}

static void
check_members(yajl_val obj)
{
	size_t i, j, n = obj->u.object.len;
	long long ll;
	char *end;

	for (i = 0; i < n; i++) {
		const char *key = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];

		FUZZ_ASSERT(key != NULL && v != NULL);
		for (j = i + 1; j < n; j++)
			FUZZ_ASSERT(strcmp(key, obj->u.object.keys[j]) != 0);
		FUZZ_ASSERT(sjson_get(obj, key) == v);
		if (sjson_integer(v, &ll)) {
			/* Digits only, in range: strtoll reads the same. */
			errno = 0;
			FUZZ_ASSERT(strtoll(v->u.number.r, &end, 10) == ll);
			FUZZ_ASSERT(errno == 0 && *end == '\0');
		}
		if (sjson_string(v) != NULL)
			FUZZ_ASSERT(YAJL_IS_STRING(v));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool obj_deep, obj_body, obj_shallow, ok_deep, ok_body, ok_shallow;
	yajl_val v;

	ok_body = check(data, size, BODY_DEPTH, &obj_body);
	ok_deep = check(data, size, SJSON_MAX_DEPTH, &obj_deep);
	ok_shallow = check(data, size, 1, &obj_shallow);
	if (ok_shallow)
		FUZZ_ASSERT(ok_deep && obj_deep == obj_shallow);
	if (ok_deep)
		FUZZ_ASSERT(ok_body && obj_body == obj_deep);
	if (size > 0 && memchr(data, '\0', size) != NULL)
		FUZZ_ASSERT(!ok_body);

	v = sjson_parse_object((const char *)data, size);
	if (v != NULL) {
		FUZZ_ASSERT(YAJL_IS_OBJECT(v));
		FUZZ_ASSERT(ok_deep && obj_deep);
		check_members(v);
		sjson_free(v);
	}
	FUZZ_ASSERT(sjson_get(NULL, "x") == NULL);
	return 0;
}
