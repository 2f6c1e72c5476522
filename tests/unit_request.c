/* unit_request.c — FastCGI parameters and the request's origin. */
#include <string.h>

#include "request.h"
#include "unit_suites.h"

START_TEST(parse_params)
{
	char *envp[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/media/a/download-token?x",
		"HTTP_ACCEPT=text/html", "HTTP_AUTHORIZATION=Bearer x.y.z",
		"CONTENT_LENGTH=12", "HTTP_AUTHORIZATION=Bearer second",
		"HTTP_ACCEPT_LANGUAGE=de", "SERVER_NAME=h",
		"REMOTE_ADDR=::1", "HTTP_RANGE=bytes=0-1", NULL,
	};
	struct request r;

	request_parse(&r, envp);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_str_eq(r.uri, "/media/a/download-token?x");
	ck_assert_str_eq(r.accept, "text/html");
	ck_assert_str_eq(r.authorization, "Bearer x.y.z");
	ck_assert_int_eq(r.content_length, 12);
	ck_assert(!r.content_length_bad);
	ck_assert_str_eq(r.server_name, "h");
	ck_assert_str_eq(r.remote_addr, "::1");
	ck_assert_str_eq(r.range, "bytes=0-1");
	ck_assert_ptr_null(r.https);
}
END_TEST

START_TEST(missing_and_bad)
{
	char *none[] = { NULL };
	char *bad[] = { "CONTENT_LENGTH=12x", NULL };
	char *huge[] = { "CONTENT_LENGTH=99999999999999999999999", NULL };
	char *empty[] = { "CONTENT_LENGTH=", NULL };
	struct request r;

	request_parse(&r, none);
	ck_assert_str_eq(r.method, "");
	ck_assert_str_eq(r.uri, "");
	ck_assert_int_eq(r.content_length, -1);
	request_parse(&r, bad);
	ck_assert(r.content_length_bad);
	request_parse(&r, huge);
	ck_assert(r.content_length_bad);
	request_parse(&r, empty);
	ck_assert(!r.content_length_bad);
	ck_assert_int_eq(r.content_length, -1);
}
END_TEST

static const char *
origin(const char *https, const char *scheme, const char *name,
    const char *port, struct buf *b)
{
	struct request r;

	memset(&r, 0, sizeof(r));
	r.https = https;
	r.scheme = scheme;
	r.server_name = name;
	r.server_port = port;
	buf_reset(b);
	return request_origin(&r, b) == MG_OK ? buf_str(b) : NULL;
}

START_TEST(origins)
{
	struct buf b = { 0 };

	ck_assert_str_eq(origin(NULL, NULL, "a.test", "80", &b),
	    "http://a.test");
	ck_assert_str_eq(origin(NULL, NULL, "a.test", "8080", &b),
	    "http://a.test:8080");
	ck_assert_str_eq(origin("on", NULL, "a.test", "443", &b),
	    "https://a.test");
	ck_assert_str_eq(origin("ON", NULL, "a.test", "80", &b),
	    "https://a.test:80");
	ck_assert_str_eq(origin(NULL, "https", "a.test", "8443", &b),
	    "https://a.test:8443");
	ck_assert_str_eq(origin(NULL, NULL, "127.0.0.1", NULL, &b),
	    "http://127.0.0.1");
	ck_assert_str_eq(origin(NULL, NULL, "[::1]", "81", &b),
	    "http://[::1]:81");
	ck_assert_str_eq(origin(NULL, NULL, "::1", "81", &b),
	    "http://[::1]:81");
	ck_assert_ptr_null(origin(NULL, NULL, "evil.test/x", "80", &b));
	ck_assert_ptr_null(origin(NULL, NULL, "a\"><script>", "80", &b));
	ck_assert_ptr_null(origin(NULL, NULL, "", "80", &b));
	ck_assert_ptr_null(origin(NULL, NULL, NULL, "80", &b));
	ck_assert_ptr_null(origin(NULL, NULL, "a.test", "80x", &b));
	ck_assert_ptr_null(origin(NULL, NULL, "a@b", "80", &b));
	buf_free(&b);
}
END_TEST

Suite *
suite_request(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, parse_params);
	tcase_add_test(tc, missing_and_bad);
	tcase_add_test(tc, origins);
	suite_add_tcase(s, tc);
	return s;
}
