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

/* HTTP/1.0 without Host: no name, so the address the request came in on
 * (lighttpd passes SERVER_NAME empty, Apache may leave it out). */
START_TEST(origin_without_name)
{
	struct buf b = { 0 };
	struct request r;
	char *env[] = { "SERVER_NAME=", "SERVER_ADDR=::1", "SERVER_PORT=8080",
	    "REQUEST_METHOD=POST", NULL };

	request_parse(&r, env);
	ck_assert_str_eq(r.server_addr, "::1");
	ck_assert_int_eq(request_origin(&r, &b), MG_OK);
	ck_assert_str_eq(b.ptr, "http://[::1]:8080");

	memset(&r, 0, sizeof(r));
	r.server_addr = "127.0.0.1";
	r.server_port = "80";
	buf_reset(&b);
	ck_assert_int_eq(request_origin(&r, &b), MG_OK);
	ck_assert_str_eq(b.ptr, "http://127.0.0.1");
	r.server_name = "";
	r.https = "on";
	r.server_port = "8443";
	buf_reset(&b);
	ck_assert_int_eq(request_origin(&r, &b), MG_OK);
	ck_assert_str_eq(b.ptr, "https://127.0.0.1:8443");
	/* A name, when there is one, wins; a bad one is not replaced. */
	r.server_name = "a.test";
	buf_reset(&b);
	ck_assert_int_eq(request_origin(&r, &b), MG_OK);
	ck_assert_str_eq(b.ptr, "https://a.test:8443");
	r.server_name = "a/b";
	ck_assert_int_eq(request_origin(&r, &b), MG_EBADREQ);
	/* Neither: no URL. */
	r.server_name = "";
	r.server_addr = "";
	ck_assert_int_eq(request_origin(&r, &b), MG_EBADREQ);
	r.server_addr = "::1/x";
	ck_assert_int_eq(request_origin(&r, &b), MG_EBADREQ);
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
	tcase_add_test(tc, origin_without_name);
	suite_add_tcase(s, tc);
	return s;
}
