/* unit_audit.c — audit lines: UTF-8 cleaning, format, writer, rotation. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "audit.h"
#include "unit_suites.h"

#define FFFD	"\xef\xbf\xbd"

static const struct {
	const char	*in, *out;
	size_t		 max;
} clean_cases[] = {
	{ "plain", "plain", 100 },
	{ "", "", 100 },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac "
	  "\xf0\x9f\x98\x80", 100 },
	{ "a\xffz", "a" FFFD "z", 100 },
	{ "\xc0\xaf", FFFD FFFD, 100 },			/* overlong '/' */
	{ "\xe0\x80\xaf", FFFD FFFD FFFD, 100 },	/* overlong */
	{ "\xed\xa0\x80", FFFD FFFD FFFD, 100 },	/* surrogate */
	{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD, 100 }, /* > U+10FFFF */
	{ "\xe2\x82", FFFD, 100 },			/* truncated */
	{ "\xe2\x82z", FFFD "z", 100 },			/* maximal subpart */
	{ "\xf0\x9f\x98", FFFD, 100 },
	{ "\x80\x80", FFFD FFFD, 100 },
	{ "abcdef", "abc", 3 },
	{ "\xc3\xa9\xc3\xa9\xc3\xa9", "\xc3\xa9\xc3\xa9", 2 }, /* characters */
	{ "\xff\xff\xff", FFFD FFFD, 2 },
};

START_TEST(clean_utf8)
{
	struct buf out = { 0 };

	audit_clean_utf8(&out, clean_cases[_i].in, clean_cases[_i].max);
	ck_assert_str_eq(buf_str(&out), clean_cases[_i].out);
	buf_free(&out);
}
END_TEST

START_TEST(timestamp)
{
	struct timespec ts = { 1796168096, 7999999 };	/* 2026-12-01 */
	char out[40];

	audit_timestamp(&ts, out);
	ck_assert_str_eq(out, "2026-12-01T23:34:56.007Z");
	ts.tv_sec = 0;
	ts.tv_nsec = 999999999;
	audit_timestamp(&ts, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.999Z");
}
END_TEST

static const char *
member(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

	if (v == NULL)
		return NULL;
	return YAJL_IS_STRING(v) ? v->u.string : "<not a string>";
}

START_TEST(format_hostile)
{
	char hostile[] = "q\"b\\n\nr\r t\t\x01 \xc3\xa9 \xff\xfe end";
	char range[300];
	struct audit_event ev = {
		.ts = { 1796168096, 0 }, .event = "download", .status = 410,
		.request_id = hostile, .media = "inv-1", .tenant = hostile,
		.sub = hostile, .jti = "j", .client = "::1", .range = range,
	};
	struct buf out = { 0 };
	char errbuf[128];
	yajl_val v, st;
	const char *path[] = { "status", NULL };

	memset(range, 'x', sizeof(range) - 1);
	range[sizeof(range) - 1] = '\0';
	range[0] = '\xc3';	/* invalid: not followed by a continuation */
	ck_assert_int_eq(audit_format(&ev, &out), MG_OK);
	/* One line, ending in its only newline. */
	ck_assert(out.len > 0 && out.ptr[out.len - 1] == '\n');
	ck_assert_ptr_eq(strchr(out.ptr, '\n'), out.ptr + out.len - 1);
	v = yajl_tree_parse(out.ptr, errbuf, sizeof(errbuf));
	ck_assert_msg(v != NULL, "not JSON: %s: %s", errbuf, out.ptr);
	ck_assert_str_eq(member(v, "ts"), "2026-12-01T23:34:56.000Z");
	ck_assert_str_eq(member(v, "event"), "download");
	st = yajl_tree_get(v, path, yajl_t_number);
	ck_assert(st != NULL && YAJL_IS_INTEGER(st) &&
	    YAJL_GET_INTEGER(st) == 410);
	ck_assert_str_eq(member(v, "sub"),
	    "q\"b\\n\nr\r t\t\x01 \xc3\xa9 " FFFD FFFD " end");
	ck_assert_str_eq(member(v, "media"), "inv-1");
	ck_assert_str_eq(member(v, "jti"), "j");
	ck_assert_str_eq(member(v, "client"), "::1");
	ck_assert_int_eq(strlen(member(v, "range")), 3 + 99);
	yajl_tree_free(v);
	buf_free(&out);
}
END_TEST

START_TEST(format_omits_null)
{
	struct audit_event ev = {
		.event = "issue", .status = 201, .request_id = "r1",
		.media = "m", .client = "127.0.0.1",
	};
	struct buf out = { 0 };

	ck_assert_int_eq(audit_format(&ev, &out), MG_OK);
	ck_assert_str_eq(buf_str(&out), "{\"ts\":\"1970-01-01T00:00:00.000Z\","
	    "\"event\":\"issue\",\"status\":201,\"request_id\":\"r1\","
	    "\"media\":\"m\",\"client\":\"127.0.0.1\"}\n");
	buf_free(&out);
}
END_TEST

static void
temp_dir(char *out, size_t sz)
{
	char dir[] = "/tmp/mg-audit-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sz, "%s", dir);
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (f == NULL)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static enum mg_err
write_one(const char *rid)
{
	struct audit_event ev = {
		.event = "issue", .status = 201, .request_id = rid,
		.media = "m", .client = "127.0.0.1",
	};
	const char *cause;
	enum mg_err e = audit_write(&ev, &cause);

	ck_assert(e == MG_OK ? cause == NULL : cause != NULL);
	return e;
}

START_TEST(writer_follows_rotation)
{
	char dir[64], log[128], old[128], err[256];

	temp_dir(dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	snprintf(old, sizeof(old), "%s/audit.log.1", dir);
	ck_assert(!audit_enabled());
	ck_assert_int_eq(write_one("off"), MG_OK);	/* off: no-op */
	ck_assert_int_eq(audit_open(log, err, sizeof(err)), 0);
	ck_assert(audit_enabled());
	ck_assert_int_eq(write_one("a"), MG_OK);
	ck_assert_int_eq(write_one("b"), MG_OK);
	ck_assert_int_eq(count_lines(log), 2);

	/* logrotate: rename; until "create" lines go to the renamed file. */
	ck_assert_int_eq(rename(log, old), 0);
	ck_assert_int_eq(write_one("c"), MG_OK);
	ck_assert_int_eq(count_lines(old), 3);
	ck_assert_int_eq(close(open(log, O_WRONLY | O_CREAT, 0640)), 0);
	ck_assert_int_eq(write_one("d"), MG_OK);
	ck_assert_int_eq(count_lines(log), 1);
	ck_assert_int_eq(count_lines(old), 3);

	/* Deleted: the next line makes a new file rather than vanish. */
	ck_assert_int_eq(unlink(log), 0);
	ck_assert_int_eq(write_one("e"), MG_OK);
	ck_assert_int_eq(count_lines(log), 1);

	/* Unwritable (a directory at the path): fail, then recover. */
	ck_assert_int_eq(unlink(log), 0);
	ck_assert_int_eq(mkdir(log, 0700), 0);
	ck_assert_int_eq(write_one("f"), MG_EAUDIT);
	ck_assert_int_eq(write_one("g"), MG_EAUDIT);
	ck_assert_int_eq(rmdir(log), 0);
	ck_assert_int_eq(write_one("h"), MG_OK);
	ck_assert_int_eq(count_lines(log), 1);
	audit_close();
}
END_TEST

START_TEST(writer_fails_closed)
{
	char err[256];

	/* Open fails: audit stays on and every line fails. */
	ck_assert_int_eq(audit_open("/nonexistent-dir/audit.log", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "MEDIAGATE_AUDIT_LOG"));
	ck_assert(audit_enabled());
	ck_assert_int_eq(write_one("x"), MG_EAUDIT);
	/* Write fails (ENOSPC). */
	ck_assert_int_eq(audit_open("/dev/full", err, sizeof(err)), 0);
	ck_assert_int_eq(write_one("y"), MG_EAUDIT);
	audit_close();
	ck_assert(!audit_enabled());
}
END_TEST

Suite *
suite_audit(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_loop_test(tc, clean_utf8, 0,
	    sizeof(clean_cases) / sizeof(clean_cases[0]));
	tcase_add_test(tc, timestamp);
	tcase_add_test(tc, format_hostile);
	tcase_add_test(tc, format_omits_null);
	tcase_add_test(tc, writer_follows_rotation);
	tcase_add_test(tc, writer_fails_closed);
	suite_add_tcase(s, tc);
	return s;
}
