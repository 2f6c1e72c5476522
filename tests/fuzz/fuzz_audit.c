/*
 * fuzz_audit.c — audit_clean_utf8() and audit_format() over any bytes a
 * client can put in sub, Range or X-Request-Id ("value\x1frange").
 *
 * Invariants: the cleaned text is valid UTF-8 (yajl's validating parser
 * takes it back as a JSON string) of at most max code points; a formatted
 * line is one JSON object ending in its only newline, whose members hold
 * exactly the cleaned values.
 */
#include <yajl/yajl_tree.h>

#include "audit.h"
#include "fuzz.h"

static const char *
member(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

	return v != NULL ? v->u.string : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf line = { 0 }, clean = { 0 }, crange = { 0 };
	char *value, *range, errbuf[128];
	struct audit_event ev = { .event = "download", .status = 200 };
	yajl_val v;

	fuzz_split2(data, size, 0x1f, &value, &range);
	ev.sub = ev.request_id = ev.tenant = ev.jti = ev.media = value;
	ev.client = value;
	ev.range = range;
	audit_clean_utf8(&clean, value, AUDIT_VALUE_MAX);
	audit_clean_utf8(&crange, range, AUDIT_RANGE_MAX);

	FUZZ_ASSERT(audit_format(&ev, &line) == MG_OK);
	FUZZ_ASSERT(line.len > 0 && line.ptr[line.len - 1] == '\n');
	FUZZ_ASSERT(memchr(line.ptr, '\n', line.len) ==
	    line.ptr + line.len - 1);
	v = yajl_tree_parse(line.ptr, errbuf, sizeof(errbuf));
	FUZZ_ASSERT(v != NULL && YAJL_IS_OBJECT(v));
	FUZZ_ASSERT(member(v, "sub") != NULL &&
	    strcmp(member(v, "sub"), buf_str(&clean)) == 0);
	FUZZ_ASSERT(member(v, "range") != NULL &&
	    strcmp(member(v, "range"), buf_str(&crange)) == 0);
	yajl_tree_free(v);
	buf_free(&line);
	buf_free(&clean);
	buf_free(&crange);
	free(value);
	free(range);
	return 0;
}
