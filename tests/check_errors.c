/*
 * check_errors.c — §6 of the contract through the issuing and download
 * paths: every row of the status table that does not need a fault (those
 * are check_faults_db's) or a bearer rule (check_auth's) or a download
 * token rule (check_download's), as one table of cases
 * {name, request builder, status, detail}: malformed ids and bodies, the
 * body limit, unknown paths, wrong methods (with Allow), media without a
 * stored file.  Each answer must be a strict problem+json (expect_problem)
 * that repeats no credential.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "blackbox.h"
#include "buf.h"

/* Media ids of exactly 64 characters, the longest allowed. */
#define ID16	"aaaaaaaaaaaaaaaa"
#define ID64	ID16 ID16 ID16 ID16

#define D_ID		"The media id must be 1 to 64 characters"
#define D_BODY		"The request body must be empty or a JSON object."
#define D_PATH		"No such resource."
#define D_MEDIA		"No such media."

struct error_case;

/* Sends the case's request; *cred is the token it presented. */
typedef struct http_response *build_fn(const struct error_case *c,
    const char **cred);

struct error_case {
	const char	*name;
	build_fn	*send;
	const char	*arg;		/* the builder's: path, body, method */
	int		 status;
	const char	*detail;	/* what the problem's detail says */
	const char	*allow;		/* the Allow field a 405 carries */
	bool		 web_server_may_answer;	/* lighttpd refuses it first */
};

/* POST arg (a path) with a good bearer. */
static struct http_response *
post_path(const struct error_case *c, const char **cred)
{
	char *jwt = good_bearer(P_HS);

	*cred = jwt;
	return post_bearer(P_HS, c->arg, jwt, NULL);
}

/* POST to m-pdf with a good bearer and the body arg. */
static struct http_response *
post_body(const struct error_case *c, const char **cred)
{
	char *jwt = good_bearer(P_HS);

	*cred = jwt;
	return post_authz(P_HS, ISSUE_M_PDF, strf("Bearer %s", jwt), NULL,
	    c->arg, strlen(c->arg));
}

/* POST to m-pdf with a body of three NUL bytes (not JSON whitespace). */
static struct http_response *
post_nuls(const struct error_case *c, const char **cred)
{
	static const char nuls[3] = { 0, 0, 0 };
	char *jwt = good_bearer(P_HS);

	(void)c;
	*cred = jwt;
	return post_authz(P_HS, ISSUE_M_PDF, strf("Bearer %s", jwt), NULL,
	    nuls, sizeof(nuls));
}

/* POST to m-pdf with a JSON object one byte over the 64 KiB limit. */
static struct http_response *
post_too_large(const struct error_case *c, const char **cred)
{
	char *jwt = good_bearer(P_HS);
	char *big = keep(xmalloc(BODY_MAX + 1), free);

	(void)c;
	memset(big, ' ', BODY_MAX + 1);
	big[0] = '{';
	big[BODY_MAX] = '}';
	*cred = jwt;
	return post_authz(P_HS, ISSUE_M_PDF, strf("Bearer %s", jwt), NULL,
	    big, BODY_MAX + 1);
}

/* Method arg on the issuing path, with a good bearer. */
static struct http_response *
issue_method(const struct error_case *c, const char **cred)
{
	char *jwt = good_bearer(P_HS);
	const char *h[] = { strf("Authorization: Bearer %s", jwt), NULL };

	*cred = jwt;
	return request(P_HS, c->arg, ISSUE_M_PDF, h, NULL, 0);
}

/* Method arg (POST: without a bearer) on a freshly issued download URL. */
static struct http_response *
download_method(const struct error_case *c, const char **cred)
{
	struct issued is = issue_ok(P_HS, "m-pdf");

	*cred = is.token;
	return request(P_HS, c->arg, is.path, NULL, NULL, 0);
}

static const struct error_case cases[] = {
	{ "id of 65 characters", post_path,
	    "/media/" ID64 "a/download-token", 400, D_ID, NULL, false },
	{ "id with a dot", post_path, "/media/m.pdf/download-token", 400,
	    D_ID, NULL, false },
	{ "id with %2F", post_path, "/media/m%2Fpdf/download-token", 400,
	    D_ID, NULL, false },
	{ "id with %00", post_path, "/media/m-pdf%00/download-token", 400,
	    D_ID, NULL, true },
	{ "id with %25", post_path, "/media/m%25pdf/download-token", 400,
	    D_ID, NULL, false },
	{ "empty id", post_path, "/media//download-token", 400, D_ID, NULL,
	    false },
	{ "id with %20", post_path, "/media/m%20pdf/download-token", 400,
	    D_ID, NULL, false },
	{ "id with a lone %", post_path, "/media/m%/download-token", 400,
	    D_ID, NULL, true },
	{ "id with UTF-8", post_path, "/media/%C3%A9/download-token", 400,
	    D_ID, NULL, false },
	{ "id with a colon", post_path, "/media/m:pdf/download-token", 400,
	    D_ID, NULL, false },
	{ "id of 64 characters is well-formed", post_path,
	    "/media/" ID64 "/download-token", 404, D_MEDIA, NULL, false },

	{ "body array", post_body, "[1]", 400, D_BODY, NULL, false },
	{ "body string", post_body, "\"x\"", 400, D_BODY, NULL, false },
	{ "body unterminated", post_body, "{", 400, D_BODY, NULL, false },
	{ "body invalid UTF-8 0xff", post_body, "{\"a\":\"\xff\"}", 400,
	    D_BODY, NULL, false },
	{ "body invalid UTF-8 C3 28", post_body, "{\"a\":\"\xc3\x28\"}", 400,
	    D_BODY, NULL, false },
	{ "body null", post_body, "null", 400, D_BODY, NULL, false },
	{ "body number", post_body, "1", 400, D_BODY, NULL, false },
	{ "body two objects", post_body, "{}{}", 400, D_BODY, NULL, false },
	{ "body trailing comma", post_body, "{\"a\":1,}", 400, D_BODY, NULL,
	    false },
	{ "body single quotes", post_body, "{'a':1}", 400, D_BODY, NULL,
	    false },
	{ "body trailing junk", post_body, "{\"a\":1} x", 400, D_BODY, NULL,
	    false },
	{ "body of NUL bytes", post_nuls, NULL, 400, D_BODY, NULL, false },
	{ "body over 64 KiB", post_too_large, NULL, 413,
	    "The request body is larger than 64 KiB.", NULL, false },

	{ "path /", post_path, "/", 404, D_PATH, NULL, false },
	{ "path /media", post_path, "/media", 404, D_PATH, NULL, false },
	{ "path /media/", post_path, "/media/", 404, D_PATH, NULL, false },
	{ "path /media/ID", post_path, "/media/m-pdf", 404, D_PATH, NULL,
	    false },
	{ "path /media/ID/", post_path, "/media/m-pdf/", 404, D_PATH, NULL,
	    false },
	{ "issuing path with a trailing /", post_path,
	    "/media/m-pdf/download-token/", 404, D_PATH, NULL, false },
	{ "path /media/ID/other", post_path, "/media/m-pdf/other", 404,
	    D_PATH, NULL, false },
	{ "issuing path with a segment more", post_path,
	    "/media/m-pdf/download-token/x", 404, D_PATH, NULL, false },
	{ "path /mediax/", post_path, "/mediax/m-pdf/download-token", 404,
	    D_PATH, NULL, false },
	{ "path /MEDIA/", post_path, "/MEDIA/m-pdf/download-token", 404,
	    D_PATH, NULL, false },
	{ "path Download-Token", post_path, "/media/m-pdf/Download-Token",
	    404, D_PATH, NULL, false },
	{ "download path without a token", post_path,
	    "/media/m-pdf/download", 404, D_PATH, NULL, false },
	{ "issuing path under a base path not configured", post_path,
	    "/api/media/m-pdf/download-token", 404, D_PATH, NULL, false },
	{ "download path with two segments", post_path,
	    "/media/m-pdf/download/a/b", 404, D_PATH, NULL, false },

	{ "GET on the issuing path", issue_method, "GET", 405,
	    "Use POST to obtain a download token.", "POST", false },
	{ "PUT on the issuing path", issue_method, "PUT", 405,
	    "Use POST to obtain a download token.", "POST", false },
	{ "DELETE on the issuing path", issue_method, "DELETE", 405,
	    "Use POST to obtain a download token.", "POST", false },
	{ "PATCH on the issuing path", issue_method, "PATCH", 405,
	    "Use POST to obtain a download token.", "POST", false },
	{ "HEAD on the issuing path", issue_method, "HEAD", 405, NULL,
	    "POST", false },
	{ "POST on a download URL", download_method, "POST", 405,
	    "Use GET or HEAD to download.", "GET, HEAD", false },
	{ "DELETE on a download URL", download_method, "DELETE", 405,
	    "Use GET or HEAD to download.", "GET, HEAD", false },

	{ "media without a stored file", post_path,
	    "/media/m-nofile/download-token", 422,
	    "The media has no stored file yet.", NULL, false },
};

START_TEST(error_case)
{
	const struct error_case *c = &cases[_i];
	const char *cred = NULL;
	const char *ctype;
	struct http_response *r;

	test_case(c->name);
	r = c->send(c, &cred);
	ctype = http_header(r, "Content-Type");
	if (c->web_server_may_answer && r->status == c->status &&
	    (ctype == NULL || strncmp(ctype, "application/problem+json", 24)
	    != 0))
		;	/* lighttpd's own 400: the request never reached us */
	else if (c->arg != NULL && strcmp(c->arg, "HEAD") == 0) {
		/* A HEAD answer has the status and fields, no body. */
		expect_status(r, c->status);
		ck_assert_msg(r->body_len == 0, "%s: a body in a HEAD answer",
		    last_req);
	} else
		expect_problem(r, c->status, c->detail, cred);
	if (c->allow != NULL)
		expect_header(r, "Allow", c->allow);
	expect_no_secrets(r, cred);
}
END_TEST

/* The same 422 as an HTML page, for clients that prefer one. */
START_TEST(error_no_file_html)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-nofile/download-token", jwt, "text/html");

	expect_html(r, 422, jwt);
	expect_no_secrets(r, jwt);
}
END_TEST

/*
 * RFC 9110 §9.3.2: HEAD has the header fields GET would have, and the
 * Content-Length of the body GET would send (it was left out).
 */
static const char *const head_paths[] = {
	"/media/m-pdf/download/not.a.token",	/* 403 */
	"/media/bad$id/download/x",		/* 400 */
	"/media/m-pdf/download-token",		/* 405 */
	"/nothing-here",			/* 404 */
};

START_TEST(error_head_length)
{
	struct http_response *g = fetch(P_HS, "GET", head_paths[_i], NULL,
	    NULL);
	struct http_response *h = fetch(P_HS, "HEAD", head_paths[_i], NULL,
	    NULL);
	const char *gl = http_header(g, "Content-Length");
	const char *hl = http_header(h, "Content-Length");

	test_case(head_paths[_i]);
	ck_assert_int_ge(g->status, 400);
	expect_status(h, g->status);
	ck_assert_msg(gl != NULL && strtoul(gl, NULL, 10) == g->body_len,
	    "%s: GET Content-Length %s", last_req, gl != NULL ? gl : "(none)");
	ck_assert_msg(hl != NULL && strcmp(hl, gl) == 0, "%s: HEAD "
	    "Content-Length %s, GET %s", last_req, hl != NULL ? hl : "(none)",
	    gl);
	ck_assert_uint_eq(h->body_len, 0);
}
END_TEST

/* Errors answered as HTML pages, one per way of failing, each with the
 * headers of every HTML answer and the page's status shown. */
static const struct {
	const char	*label;
	int		 status;
} html_errors[] = {
	{ "no bearer", 401 }, { "no such media", 404 },
	{ "media without a file", 422 }, { "malformed id", 400 },
	{ "wrong method", 405 }, { "unknown path", 404 },
	{ "forged download token", 403 }, { "expired download token", 410 },
	{ "HEAD with a forged download token", 403 },
};

START_TEST(html_error_pages)
{
	const char *label = html_errors[_i].label, *path;
	struct http_response *r;

	switch (_i) {
	case 0:
		r = post_bearer(P_HS, ISSUE_M_PDF, NULL, "text/html");
		break;
	case 1:
	case 2:
	case 3:
		r = post_bearer(P_HS, issue_path(P_HS, _i == 1 ? "no-such" :
		    _i == 2 ? "m-nofile" : "bad%21id"), good_bearer(P_HS),
		    "text/html");
		break;
	case 4:
		r = fetch(P_HS, "GET", ISSUE_M_PDF, "text/html", NULL);
		break;
	case 5:
		r = fetch(P_HS, "GET", "/no/such/path", "text/html", NULL);
		break;
	default:
		path = dl_path(P_HS, "m-pdf", _i == 7 ?
		    dl_token("%s", dl_claims("m-pdf", "acme", -120, -60)) :
		    tamper(issue_ok(P_HS, "m-pdf").token, 2));
		r = fetch(P_HS, _i == 8 ? "HEAD" : "GET", path, "text/html",
		    NULL);
		break;
	}
	ck_assert_msg(r->status == html_errors[_i].status,
	    "%s: %s: status %d, want %d", label, last_req, r->status,
	    html_errors[_i].status);
	expect_html_headers(r);
	expect_ctype(r, "text/html");
	if (_i == 8)
		return;		/* HEAD: the headers only */
	expect_html(r, html_errors[_i].status, NULL);
	ck_assert_msg(strstr(r->body, strf("<p class=\"kicker\">Error %d</p>",
	    html_errors[_i].status)) != NULL, "%s: %s", label, r->body);
	ck_assert_ptr_nonnull(strstr(r->body, "<meta name=\"viewport\""));
}
END_TEST

static Suite *
errors_suite(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = bb_tcase("errors");

	tcase_add_loop_test(tc, error_case, 0, NELEM(cases));
	tcase_add_test(tc, error_no_file_html);
	tcase_add_loop_test(tc, error_head_length, 0, NELEM(head_paths));
	suite_add_tcase(s, tc);

	tc = bb_tcase("html");
	tcase_add_loop_test(tc, html_error_pages, 0, NELEM(html_errors));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_errors", 1u << HS, errors_suite);
}
