/* unit_route.c — path routing and id validation. */
#include <string.h>

#include "route.h"
#include "unit_suites.h"

static enum mg_err
match(const char *uri, const char *base, struct route *r)
{
	const char *why;

	return route_match(uri, base, r, &why);
}

START_TEST(issue_path)
{
	struct route r;

	ck_assert_int_eq(match("/media/abc-_9/download-token", "", &r), MG_OK);
	ck_assert_int_eq(r.kind, ROUTE_ISSUE);
	ck_assert_str_eq(r.id, "abc-_9");
}
END_TEST

START_TEST(download_path)
{
	struct route r;

	ck_assert_int_eq(match("/media/x/download/aa.bb.cc", "", &r), MG_OK);
	ck_assert_int_eq(r.kind, ROUTE_DOWNLOAD);
	ck_assert_str_eq(r.id, "x");
	ck_assert_str_eq(r.token, "aa.bb.cc");
}
END_TEST

START_TEST(query_and_fragment_ignored)
{
	struct route r;

	ck_assert_int_eq(match("/media/a/download-token?x=/y", "", &r), MG_OK);
	ck_assert_str_eq(r.id, "a");
	ck_assert_int_eq(match("/media/a/download/t.t.t?dl=1", "", &r), MG_OK);
	ck_assert_str_eq(r.token, "t.t.t");
}
END_TEST

START_TEST(base_path)
{
	struct route r;

	ck_assert_int_eq(match("/api/media/a/download-token", "/api", &r),
	    MG_OK);
	ck_assert_int_eq(match("/media/a/download-token", "/api", &r),
	    MG_ENOTFOUND);
	ck_assert_int_eq(match("/apix/media/a/download-token", "/api", &r),
	    MG_ENOTFOUND);
	ck_assert_int_eq(match("/api", "/api", &r), MG_ENOTFOUND);
}
END_TEST

START_TEST(unknown_paths)
{
	static const char *const paths[] = {
		"", "/", "/media", "/media/", "/media/a", "/media/a/",
		"/media/a/download-token/", "/media/a/download-token/x",
		"/media/a/other", "/Media/a/download-token",
		"//media/a/download-token", "/media/a/download",
		"/media/a/download/t/x", "media/a/download-token",
		"/media/a/download-token%2F",
	};
	struct route r;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(match(paths[i], "", &r) == MG_ENOTFOUND,
		    "%s should be unknown", paths[i]);
}
END_TEST

START_TEST(malformed_ids)
{
	static const char *const paths[] = {
		"/media//download-token",
		"/media/a.b/download-token",
		"/media/a%2Fb/download-token",
		"/media/a%2fb/download-token",
		"/media/a%00b/download-token",
		"/media/a%25/download-token",
		"/media/a%/download-token",
		"/media/a%4/download-token",
		"/media/a%zz/download-token",
		"/media/%2E%2E/download-token",
		"/media/a b/download-token",
		"/media/\xc3\xa9/download-token",
		/* 65 characters */
		"/media/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/download-token",
		"/media/../download/x",
	};
	struct route r;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(match(paths[i], "", &r) == MG_EBADREQ,
		    "%s should be a malformed id", paths[i]);
}
END_TEST

START_TEST(percent_decoding_of_unreserved)
{
	struct route r;

	/* RFC 3986 §6.2.2.2: %61 and 'a' are the same URI. */
	ck_assert_int_eq(match("/media/%61bc/download-token", "", &r), MG_OK);
	ck_assert_str_eq(r.id, "abc");
}
END_TEST

START_TEST(id_lengths)
{
	char id[80];

	memset(id, 'a', sizeof(id));
	ck_assert(route_id_valid(id, 1));
	ck_assert(route_id_valid(id, 64));
	ck_assert(!route_id_valid(id, 65));
	ck_assert(!route_id_valid(id, 0));
}
END_TEST

START_TEST(token_too_long_is_empty)
{
	char uri[ROUTE_TOKEN_MAX + 64];
	struct route r;

	strcpy(uri, "/media/a/download/");
	memset(uri + strlen(uri), 'x', ROUTE_TOKEN_MAX + 1);
	uri[18 + ROUTE_TOKEN_MAX + 1] = '\0';
	ck_assert_int_eq(match(uri, "", &r), MG_OK);
	ck_assert_str_eq(r.token, "");
}
END_TEST

START_TEST(loggable_elides_token)
{
	char out[128];

	route_loggable("/media/a/download/secret.token.here?q=1", out,
	    sizeof(out));
	ck_assert_str_eq(out, "/media/a/download/<token>");
	ck_assert_ptr_null(strstr(out, "secret"));
	route_loggable("/media/a\r\n/download-token\?q", out, sizeof(out));
	ck_assert_str_eq(out, "/media/a\?\?/download-token");
	route_loggable("/x/download/y", out, 9);
	ck_assert_ptr_null(strstr(out, "y"));
}
END_TEST

Suite *
suite_route(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_test(tc, issue_path);
	tcase_add_test(tc, download_path);
	tcase_add_test(tc, query_and_fragment_ignored);
	tcase_add_test(tc, base_path);
	tcase_add_test(tc, unknown_paths);
	tcase_add_test(tc, malformed_ids);
	tcase_add_test(tc, percent_decoding_of_unreserved);
	tcase_add_test(tc, id_lengths);
	tcase_add_test(tc, token_too_long_is_empty);
	tcase_add_test(tc, loggable_elides_token);
	suite_add_tcase(s, tc);
	return s;
}
