/* unit_mime.c — stored MIME types as Content-Type (RFC 9110 §8.3.1). */
#include <string.h>

#include "mime.h"
#include "unit_suites.h"

static const char *const valid[] = {
	"text/plain", "application/pdf", "image/svg+xml",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"text/plain;charset=utf-8", "text/plain; charset=utf-8",
	"text/plain ;charset=utf-8", "text/plain\t;\tcharset=utf-8",
	"text/plain; charset=\"utf-8\"", "text/plain; a=1; b=2",
	"multipart/form-data; boundary=\"a b;c=d\\\"e\"",
	"application/x-!#$%&'*+-.^_`|~", "TEXT/PLAIN", "a/b", "x/y; q=\"\"",
};

static const char *const invalid[] = {
	"", "/", "text", "text/", "/plain", " text/plain", "text/plain ",
	" text/plain ", "text /plain", "text/ plain", "text/plain/x",
	"text/plain;", "text/plain; ", "text/plain;charset", "text/plain;=x",
	"text/plain;charset=", "text/plain; charset = utf-8",
	"text/plain; charset=\"utf-8", "text/plain; charset=\"a\"b",
	"text/plain; charset=\"a\\\"", "text/plain;; a=b",
	"text/plain, text/html", "text/plain\r\nSet-Cookie: a=b",
	"text/plain\n", "text/ht(ml)", "text/h@ml", "te\"xt/plain",
	"text/plain; a=\"\xc3\xa9\"", "t\xc3\xa9xt/plain", "text/plain;a=\x7f",
	"text/plain; a=\"\x01\"", "text/{plain}",
};

START_TEST(mime_table)
{
	size_t i;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		ck_assert_msg(mime_valid(valid[i], strlen(valid[i])),
		    "refused '%s'", valid[i]);
		ck_assert_ptr_eq(mime_content_type(valid[i]), valid[i]);
	}
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		ck_assert_msg(!mime_valid(invalid[i], strlen(invalid[i])),
		    "accepted '%s'", invalid[i]);
		ck_assert_str_eq(mime_content_type(invalid[i]),
		    "application/octet-stream");
	}
	ck_assert_str_eq(mime_content_type(NULL), "application/octet-stream");
	/* An embedded NUL and the length bound. */
	ck_assert(!mime_valid("text/plain\0x", 12));
}
END_TEST

START_TEST(mime_length)
{
	char s[300];

	memset(s, 'a', sizeof(s));
	s[0] = 'x';
	s[1] = '/';
	s[MIME_MAX] = '\0';
	ck_assert(mime_valid(s, MIME_MAX));
	s[MIME_MAX] = 'a';
	s[MIME_MAX + 1] = '\0';
	ck_assert(!mime_valid(s, MIME_MAX + 1));
}
END_TEST

Suite *
suite_mime(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("mime");

	tcase_add_test(tc, mime_table);
	tcase_add_test(tc, mime_length);
	suite_add_tcase(s, tc);
	return s;
}
