/*
 * check_negotiate.c — §4's content negotiation (RFC 9110 §12.5.1) on the
 * token-issuing operation, and §6's choice between problem+json and an
 * HTML page for errors.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "blackbox.h"
#include "buf.h"
#include "jws.h"
#include "sjson.h"

/* ------------------------------------------------------------------ */
/* Content negotiation (§4, RFC 9110 §12.5.1) */

enum want { W_JSON, W_HTML, W_406 };

static const struct {
	const char	*accept;
	enum want	 want;
} accept_cases[] = {
	{ NULL,						W_JSON },
	{ "",						W_JSON },
	{ "*/*",					W_JSON },
	{ "application/json",				W_JSON },
	{ "application/*",				W_JSON },
	{ "text/html",					W_HTML },
	{ "text/html;q=0.9, application/json;q=0.8",	W_HTML },
	{ "text/*",					W_HTML },
	{ "application/json;q=0, */*",			W_HTML },
	{ "text/html, application/json",		W_JSON },
	{ "application/json, text/html",		W_JSON },
	{ "text/plain",					W_406 },
	{ "application/json;q=0",			W_406 },
	{ "image/*;q=1, text/html;q=0.5",		W_HTML },
	{ "text/*;q=0.5, text/html;q=0, */*;q=0.1",	W_JSON },
	{ "*/*;q=0.1, text/html",			W_HTML },
	{ "TEXT/HTML",					W_HTML },
	{ "image/png, text/plain;q=0.5",		W_406 },
};

START_TEST(negotiate_issue)
{
	const char *accept = accept_cases[_i].accept;
	char *jwt = good_bearer(P_HS);
	struct http_response *r;

	test_case(strf("Accept: %s", accept != NULL ? accept : "(none)"));
	r = post_bearer(P_HS, ISSUE_M_PDF, jwt, accept);

	switch (accept_cases[_i].want) {
	case W_JSON:
		expect_issued_by(r, P_HS, "m-pdf");
		break;
	case W_HTML:
		expect_html(r, 201, NULL);
		ck_assert_ptr_nonnull(strstr(r->body, strf("<a href=\"%s/media/"
		    "m-pdf/download/", P_HS->origin)));
		break;
	case W_406:
		expect_problem(r, 406, "available as application/json or",
		    jwt);
		/* Refused before anything was issued. */
		ck_assert_ptr_null(strstr(r->body, "/download/"));
		break;
	}
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(negotiate_error_html)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/no-such-media/download-token", jwt, "text/html");

	expect_html(r, 404, NULL);
	ck_assert_ptr_nonnull(strstr(r->body, "404"));
	expect_no_secrets(r, jwt);

	/* A 401 page keeps its challenge. */
	r = post_bearer(P_HS, "/media/m-pdf/download-token", NULL,
	    "text/html");
	expect_html(r, 401, NULL);
	expect_header(r, "WWW-Authenticate", WWW_INVALID);

	/* An unknown path too. */
	r = fetch(P_HS, "GET", "/media/m-pdf/other", "text/html", NULL);
	expect_html(r, 404, NULL);
}
END_TEST

START_TEST(negotiate_error_json_default)
{
	struct http_response *r = fetch(P_HS, "GET", "/media/m-pdf/other",
	    "*/*", NULL);

	expect_problem(r, 404, "No such resource.", NULL);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
negotiate_suite(void)
{
	Suite *s = suite_create("negotiate");
	TCase *tc = bb_tcase("negotiate");

	tcase_add_loop_test(tc, negotiate_issue, 0, NELEM(accept_cases));
	tcase_add_test(tc, negotiate_error_html);
	tcase_add_test(tc, negotiate_error_json_default);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_negotiate", 1u << HS, negotiate_suite);
}
