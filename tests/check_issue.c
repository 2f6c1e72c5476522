/*
 * check_issue.c — §4 of the contract, POST /media/{id}/download-token:
 * the 201 answer (JSON and HTML), the download token's header and claims
 * (checked with libjwt, not with mediagate's code), the URL built from
 * the request or from MEDIAGATE_PUBLIC_URL and MEDIAGATE_BASE_PATH, and
 * the request bodies that are accepted and ignored.  Content negotiation
 * is check_negotiate's, bearer rules check_auth's.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "blackbox.h"
#include "buf.h"
#include "jws.h"
#include "sjson.h"

START_TEST(issue_json)
{
	long long before = now(), after, iat, exp;
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, NULL);
	struct issued is;
	yajl_val claims;
	const char *jti;

	after = now();
	is = expect_issued_by(r, P_HS, "m-pdf");
	/* The origin comes from the request's Host. */
	ck_assert_msg(strncmp(is.url, P_HS->origin, strlen(P_HS->origin)) ==
	    0 && strncmp(P_HS->origin, "http://127.0.0.1:", 17) == 0,
	    "url %s is not under %s", is.url, P_HS->origin);
	expect_no_secrets(r, jwt);
	ck_assert_str_ne(is.token, jwt);

	expect_signed_by_token_key(is.token);
	claims = jws_part(is.token, 1);
	ck_assert_str_eq(sjson_string(sjson_get(claims, "sub")), "m-pdf");
	ck_assert_str_eq(sjson_string(sjson_get(claims, "tenant")), "acme");
	iat = claim_int(claims, "iat");
	exp = claim_int(claims, "exp");
	ck_assert_msg(iat >= before - 1 && iat <= after + 1,
	    "iat %lld outside [%lld, %lld]", iat, before, after);
	ck_assert_int_eq(exp, iat + P_HS->ttl);
	jti = sjson_string(sjson_get(claims, "jti"));
	ck_assert_msg(jti != NULL && strlen(jti) >= 22 &&
	    strspn(jti, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == strlen(jti), "jti '%s' is not 128 bits of "
	    "base64url", jti != NULL ? jti : "(none)");
}
END_TEST

START_TEST(issue_tokens_differ)
{
	struct issued a = issue_ok(P_HS, "m-pdf");
	struct issued b = issue_ok(P_HS, "m-pdf");

	ck_assert_str_ne(a.token, b.token);
	ck_assert_str_ne(sjson_string(sjson_get(jws_part(a.token, 1), "jti")),
	    sjson_string(sjson_get(jws_part(b.token, 1), "jti")));
}
END_TEST

START_TEST(issue_html)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, "text/html");
	const char *prefix, *a, *tok_start, *tok_end;
	char *token;

	expect_html(r, 201, NULL);
	expect_header(r, "Cache-Control", "no-store");
	expect_no_secrets(r, jwt);

	prefix = strf("<a href=\"%s/media/m-pdf/download/", P_HS->origin);
	a = strstr(r->body, prefix);
	ck_assert_msg(a != NULL, "no link '%s' in %s", prefix, r->body);
	tok_start = a + strlen(prefix);
	tok_end = strchr(tok_start, '"');
	ck_assert_ptr_nonnull(tok_end);
	ck_assert_msg(tok_end[1] == '>', "href not closed by '\">'");
	token = keep(xstrndup(tok_start, (size_t)(tok_end - tok_start)), free);
	expect_compact(token);
	/* The token is shown as text too, not only inside the link. */
	ck_assert_msg(strstr(tok_end, token) != NULL,
	    "the token is not shown outside the link: %s", r->body);
	expect_signed_by_token_key(token);
	ck_assert_str_eq(sjson_string(sjson_get(jws_part(token, 1), "sub")),
	    "m-pdf");

	/* And it is a working token. */
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", token), NULL, NULL);
	expect_status(r, 200);
}
END_TEST

START_TEST(issue_query_ignored)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token?x=1&id=g-doc", jwt, NULL);
	struct issued is = expect_issued_by(r, P_HS, "m-pdf");

	ck_assert_ptr_null(strchr(is.url, '?'));
}
END_TEST

/* Request bodies that are accepted and ignored. */
static const char *const good_bodies[] = {
	"", "{}", "{\"a\":{\"b\":[1,2]}}", " \r\n{ \"x\" : null }\n",
};

START_TEST(issue_body_accepted)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r;

	test_case(strf("body '%s'", good_bodies[_i]));
	r = post_authz(P_HS, ISSUE_M_PDF, strf("Bearer %s", jwt), NULL,
	    good_bodies[_i], strlen(good_bodies[_i]));

	expect_issued_by(r, P_HS, "m-pdf");
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(issue_body_at_limit)
{
	char *jwt = good_bearer(P_HS);
	char *body = keep(xmalloc(BODY_MAX), free);
	struct http_response *r;

	/* Exactly 64 KiB: "{", spaces, "}". */
	memset(body, ' ', BODY_MAX);
	body[0] = '{';
	body[BODY_MAX - 1] = '}';
	r = post_authz(P_HS, "/media/m-pdf/download-token",
	    strf("Bearer %s", jwt), NULL, body, BODY_MAX);
	expect_issued_by(r, P_HS, "m-pdf");
}
END_TEST

START_TEST(issue_json_content_type_body)
{
	char *jwt = good_bearer(P_HS);
	const char *h[] = {
		strf("Authorization: Bearer %s", jwt),
		"Content-Type: application/json",
		NULL,
	};
	struct http_response *r = request(P_HS, "POST",
	    "/media/m-pdf/download-token", h, "{\"reason\":\"audit\"}", 18);

	expect_issued_by(r, P_HS, "m-pdf");
}
END_TEST

START_TEST(rs_issue)
{
	char *jwt = good_bearer(P_RS);
	struct http_response *r = post_bearer(P_RS,
	    "/api/media/m-pdf/download-token", jwt, NULL);
	struct issued is = expect_issued_by(r, P_RS, "m-pdf");
	yajl_val claims;

	ck_assert_msg(strncmp(is.url, PUBLIC_URL_RS
	    "/api/media/m-pdf/download/", strlen(PUBLIC_URL_RS) + 26) == 0,
	    "url %s", is.url);
	expect_no_secrets(r, jwt);
	expect_signed_by_token_key(is.token);
	claims = jws_part(is.token, 1);
	ck_assert_str_eq(sjson_string(sjson_get(claims, "tenant")), "acme");
	ck_assert_int_eq(claim_int(claims, "exp"),
	    claim_int(claims, "iat") + P_RS->ttl);

	/* The HTML link carries the public URL too. */
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", jwt,
	    "text/html");
	expect_html(r, 201, NULL);
	ck_assert_ptr_nonnull(strstr(r->body, "<a href=\"" PUBLIC_URL_RS
	    "/api/media/m-pdf/download/"));
}
END_TEST

/* aud forms that include mediagate-api. */
START_TEST(rs_base_path)
{
	char *jwt = good_bearer(P_RS);
	struct http_response *r;
	struct issued is;

	/* Outside /api there is no API. */
	r = post_bearer(P_RS, "/media/m-pdf/download-token", jwt, NULL);
	expect_status(r, 404);
	expect_no_secrets(r, jwt);

	r = post_bearer(P_RS, "/api/media/m-pdf", jwt, NULL);
	expect_problem(r, 404, NULL, NULL);

	/* The download URL's path is served by the same pool. */
	is = issue_ok(P_RS, "m-pdf");
	ck_assert_msg(strncmp(is.path, "/api/media/m-pdf/download/", 26) == 0,
	    "path %s", is.path);
	r = fetch(P_RS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	ck_assert(memcmp(r->body, pdf_data, PDF_SIZE) == 0);
}
END_TEST

/* Send raw bytes to pool p's lighttpd; the whole answer, kept. */
static char *
raw_exchange(const struct pool *p, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { HTTP_TIMEOUT, 0 };
	struct buf b = { 0 };
	char chunk[4096];
	ssize_t n;
	int fd;

	sa.sin_port = htons((unsigned short)atoi(strrchr(p->origin, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	buf_putc(&b, '\0');
	return keep(b.ptr, free);
}

/*
 * HTTP/1.0 without Host, MEDIAGATE_PUBLIC_URL unset: lighttpd passes an
 * empty SERVER_NAME, and the URL is built from the address the request
 * came in on (SERVER_ADDR, SERVER_PORT) instead of a 400.
 */
START_TEST(issue_http10_without_host)
{
	char *resp, *body;

	resp = raw_exchange(P_HS, strf("POST " ISSUE_M_PDF " HTTP/1.0\r\n"
	    "Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
	    good_bearer(P_HS)));
	ck_assert_msg(strncmp(resp, "HTTP/1.0 201 ", 13) == 0, "%.300s", resp);
	body = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	ck_assert_msg(strstr(body, strf("\"url\":\"%s/media/m-pdf/download/",
	    P_HS->origin)) != NULL, "%s", body);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The HTML page a person sees, and the headers it carries (CSP Level 3,
 * nosniff, Referrer Policy), over real HTTP. */

/* The text between the first "open" and the next "close" after it. */
static const char *
between(const char *hay, const char *open, const char *close)
{
	const char *a = strstr(hay, open), *b;

	ck_assert_msg(a != NULL, "%s: no '%s' in %s", last_req, open, hay);
	a += strlen(open);
	b = strstr(a, close);
	ck_assert_msg(b != NULL, "%s: no '%s' after '%s'", last_req, close,
	    open);
	return keep(xstrndup(a, (size_t)(b - a)), free);
}

START_TEST(html_issue_page)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r;
	const char *token, *dt, *href;
	struct tm tm = { 0 };
	long long exp;
	char *end;

	media_put("t-html", "acme", "application/pdf",
	    "Rechnung <M\xc3\xbcller & S\xc3\xb6hne> \"2026\".pdf",
	    "acme/m-pdf.pdf");
	r = post_bearer(P_HS, issue_path(P_HS, "t-html"), jwt, "text/html");
	expect_html(r, 201, NULL);
	expect_html_headers(r);
	expect_header(r, "Cache-Control", "no-store");
	ck_assert_ptr_nonnull(strstr(r->body, "<meta name=\"viewport\""));

	/* The name, escaped and isolated; the link; the token shown. */
	ck_assert_str_eq(between(r->body, "<h1><bdi>", "</bdi></h1>"),
	    "Rechnung &lt;M\xc3\xbcller &amp; S\xc3\xb6hne&gt; "
	    "&quot;2026&quot;.pdf");
	token = between(r->body, "<code class=\"token\">", "</code>");
	expect_compact(token);
	href = between(r->body, "<p class=\"cta\"><a href=\"", "\">");
	ck_assert_str_eq(href, strf("%s%s", P_HS->origin,
	    dl_path(P_HS, "t-html", token)));

	/* The expiry as an absolute UTC time: the token's exp. */
	exp = claim_int(jws_part(token, 1), "exp");
	dt = between(r->body, "<time datetime=\"", "\"");
	end = strptime(dt, "%Y-%m-%dT%H:%M:%SZ", &tm);
	ck_assert_msg(end != NULL && *end == '\0', "datetime '%s'", dt);
	ck_assert_int_eq((long long)timegm(&tm), exp);
	ck_assert_ptr_nonnull(strstr(r->body, " UTC</time>"));
	ck_assert_ptr_nonnull(strstr(r->body, "<dd>1 minute from issue</dd>"));

	/* The link works. */
	r = fetch(P_HS, "GET", dl_path(P_HS, "t-html", token), NULL, NULL);
	expect_status(r, 200);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
issue_suite(void)
{
	Suite *s = suite_create("issue");
	TCase *tc = bb_tcase("issue");

	tcase_add_test(tc, issue_json);
	tcase_add_test(tc, issue_tokens_differ);
	tcase_add_test(tc, issue_html);
	tcase_add_test(tc, issue_query_ignored);
	tcase_add_loop_test(tc, issue_body_accepted, 0, NELEM(good_bodies));
	tcase_add_test(tc, issue_body_at_limit);
	tcase_add_test(tc, issue_json_content_type_body);
	tcase_add_test(tc, issue_http10_without_host);
	suite_add_tcase(s, tc);

	tc = bb_tcase("rs256");
	tcase_add_test(tc, rs_issue);
	tcase_add_test(tc, rs_base_path);
	suite_add_tcase(s, tc);

	tc = bb_tcase("html");
	tcase_add_test(tc, html_issue_page);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_issue", 1u << HS | 1u << RS, issue_suite);
}
