/*
 * check_download.c — §5 of the contract, GET|HEAD
 * /media/{id}/download/{token}: the file served through the sendfile
 * header byte for byte (Range and HEAD included) with the §5 fields, the
 * token rules (forged, for another media or
 * tenant, expired: 403, 404, 410), media deleted or without a file after
 * the token was issued, and stored paths that try to leave the storage
 * root.  File names, MIME types and the longest token are
 * check_download_fields'.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "blackbox.h"
#include "buf.h"
#include "jws.h"
#include "sjson.h"

/* ------------------------------------------------------------------ */
/* Downloads (§5) */

static void
expect_pdf_headers(const struct http_response *r)
{
	const char *cd;

	expect_header(r, "Content-Type", "application/pdf");
	expect_header(r, "Cache-Control", "private, no-store");
	expect_header(r, "X-Content-Type-Options", "nosniff");
	cd = http_header(r, "Content-Disposition");
	ck_assert_msg(cd != NULL, "%s: no Content-Disposition", last_req);
	ck_assert_uint_eq(http_header_count(r, "Content-Disposition"), 1);
	ck_assert_msg(strncasecmp(cd, "attachment", 10) == 0,
	    "not an attachment: %s", cd);
	ck_assert_msg(strstr(cd, "filename=\"Invoice 1.pdf\"") != NULL,
	    "no ASCII filename in: %s", cd);
	ck_assert_msg(strstr(cd, "filename*=UTF-8''Invoice%201.pdf") != NULL,
	    "no RFC 8187 filename* in: %s", cd);
	/* The web server consumed the sendfile header; where the file lives
	 * is nobody's business. */
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
	ck_assert_uint_eq(http_header_count(r, "X-LIGHTTPD-send-file"), 0);
	ck_assert_uint_eq(http_header_count(r, "X-Accel-Redirect"), 0);
	ck_assert_msg(strstr(r->head, storage_root) == NULL,
	    "the storage path is in the response header: %s", r->head);
}

START_TEST(download_ok)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "GET", is.path, NULL, NULL);

	expect_status(r, 200);
	expect_pdf_headers(r);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	ck_assert_msg(memcmp(r->body, pdf_data, PDF_SIZE) == 0,
	    "the body is not the stored file");

	/* The token is valid for its whole lifetime, and any responder of
	 * the pool accepts it. */
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	r = fetch(P_HS, "GET", is.path, "text/html", NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
}
END_TEST

START_TEST(download_many_tokens)
{
	struct http_response *r;
	int i;

	/* Tokens issued by whichever process, checked by whichever. */
	for (i = 0; i < 6; i++) {
		struct issued is = issue_ok(P_HS, "m-pdf");

		r = fetch(P_HS, "HEAD", is.path, NULL, NULL);
		expect_status(r, 200);
	}
}
END_TEST

START_TEST(download_head)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "HEAD", is.path, NULL, NULL);
	const char *cl;

	expect_status(r, 200);
	expect_pdf_headers(r);
	ck_assert_uint_eq(r->body_len, 0);
	cl = http_header(r, "Content-Length");
	ck_assert_msg(cl == NULL || strcmp(cl, "102400") == 0,
	    "HEAD Content-Length %s, want 102400", cl);
}
END_TEST

START_TEST(download_range)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "GET", is.path, NULL,
	    "bytes=10-19");

	expect_status(r, 206);
	ck_assert_uint_eq(r->body_len, 10);
	ck_assert(memcmp(r->body, pdf_data + 10, 10) == 0);
	expect_header(r, "Content-Range", "bytes 10-19/102400");
	expect_header(r, "Content-Type", "application/pdf");

	/* A suffix range, as a resumed download asks. */
	r = fetch(P_HS, "GET", is.path, NULL, "bytes=-100");
	expect_status(r, 206);
	ck_assert_uint_eq(r->body_len, 100);
	ck_assert(memcmp(r->body, pdf_data + PDF_SIZE - 100, 100) == 0);
}
END_TEST

START_TEST(download_other_media)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "GET",
	    dl_path(P_HS, "m-nomime", is.token), NULL, NULL);

	expect_problem(r, 403, "The download token is for another media.",
	    is.token);
	expect_no_secrets(r, is.token);
}
END_TEST

/* Download tokens that are malformed or forged: 403 "malformed or
 * forged" (or the more specific reason), for GET and HEAD alike.  Each
 * builder gets a token freshly issued for m-pdf. */
struct forged_case {
	const char	*name;
	const char	*(*token)(const char *issued);
	const char	*detail;
};

#define D_FORGED	"The download token is malformed or forged."

static const char *
good_dl_claims(void)
{
	return dl_claims("m-pdf", "acme", 0, 60);
}

static const char *
f_bearer_key(const char *issued)
{
	(void)issued;
	return hs256(P_HS->key->priv, P_HS->key->priv_len, good_dl_claims());
}

static const char *
f_alg_none(const char *issued)
{
	(void)issued;
	return raw_jws("{\"alg\":\"none\"}", good_dl_claims(), "");
}

static const char *
f_garbage(const char *issued)
{
	(void)issued;
	return "garbage";
}

static const char *
f_no_tenant(const char *issued)
{
	(void)issued;
	return dl_token("%s", dl_claims("m-pdf", NULL, 0, 60));
}

static const char *
f_no_sub(const char *issued)
{
	(void)issued;
	return dl_token("{\"tenant\":\"acme\",\"iat\":%lld,\"exp\":%lld}",
	    now(), now() + 60);
}

static const char *
f_no_exp(const char *issued)
{
	(void)issued;
	return dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\","
	    "\"iat\":%lld}", now());
}

static const char *
f_hs512(const char *issued)
{
	(void)issued;
	return keep(tk_hs_raw(token_key.priv, token_key.priv_len, "HS512",
	    "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good_dl_claims()), free);
}

static const char *
f_bearer_token(const char *issued)
{
	(void)issued;
	return good_bearer(P_HS);
}

static const char *
f_cut(const char *issued)
{
	return keep(xstrndup(issued, (size_t)(strrchr(issued, '.') - issued)),
	    free);
}

static const struct forged_case forged[] = {
	{ "signature changed", forge_signature, D_FORGED },
	{ "payload changed", forge_payload, D_FORGED },
	{ "signed with the bearer key", f_bearer_key, D_FORGED },
	{ "alg none", f_alg_none, "The download token is malformed" },
	{ "garbage", f_garbage, "The download token is malformed" },
	{ "no tenant while isolation is on", f_no_tenant,
	    "The download token names no tenant." },
	{ "no sub", f_no_sub, "The download token is" },
	{ "no exp", f_no_exp, "The download token is" },
	{ "HS512 with the right secret", f_hs512, D_FORGED },
	{ "a bearer token", f_bearer_token, "The download token is" },
	{ "the signature part cut off", f_cut,
	    "The download token is malformed" },
};

START_TEST(download_forged)
{
	const struct forged_case *c = &forged[_i];
	struct issued is = issue_ok(P_HS, "m-pdf");
	const char *tok;
	struct http_response *r;

	test_case(c->name);
	tok = c->token(is.token);
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", tok), NULL, NULL);
	expect_problem(r, 403, c->detail, tok);
	expect_no_secrets(r, tok);
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
	ck_assert_ptr_null(memmem(r->body, r->body_len, pdf_data, 64));

	/* HEAD is refused the same way, without a body. */
	r = fetch(P_HS, "HEAD", dl_path(P_HS, "m-pdf", tok), NULL, NULL);
	expect_status(r, 403);
	ck_assert_uint_eq(r->body_len, 0);
}
END_TEST

START_TEST(download_hand_minted)
{
	long long t = now();
	struct http_response *r;
	char *tok;

	/* A token made outside mediagate with the same secret works: the
	 * expiry tests below differ from it only in exp. */
	tok = dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", tok), NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);

	/* The tenant in the token is enforced at download time. */
	tok = dl_token("{\"sub\":\"g-doc\",\"tenant\":\"acme\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	r = fetch(P_HS, "GET", dl_path(P_HS, "g-doc", tok), NULL, NULL);
	expect_problem(r, 404, "No such media.", tok);
	expect_no_secrets(r, tok);

	tok = dl_token("{\"sub\":\"g-doc\",\"tenant\":\"globex\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	r = fetch(P_HS, "GET", dl_path(P_HS, "g-doc", tok), NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Content-Type", "text/plain");
}
END_TEST

START_TEST(download_expired)
{
	long long t = now();
	char *tok = dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t - 65,
	    t - 5);
	struct http_response *r = fetch(P_HS, "GET",
	    dl_path(P_HS, "m-pdf", tok), NULL, NULL);

	expect_problem(r, 410, "The download token has expired.", tok);
	expect_no_secrets(r, tok);
	ck_assert_ptr_null(memmem(r->body, r->body_len, pdf_data, 64));

	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", tok), "text/html", NULL);
	expect_html(r, 410, tok);
	expect_no_secrets(r, tok);
}
END_TEST

START_TEST(download_deleted_after_issue)
{
	struct issued is;
	struct http_response *r;

	media_put("t-del-later", "acme", "application/pdf", "later.pdf",
	    "acme/m-pdf.pdf");
	is = issue_ok(P_HS, "t-del-later");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);

	db_exec("UPDATE media SET deleted_at = now() WHERE id = 't-del-later'");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_problem(r, 404, "No such media.", is.token);
	expect_no_secrets(r, is.token);
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
}
END_TEST

START_TEST(download_no_file)
{
	long long t = now();
	char *tok = dl_token("{\"sub\":\"m-nofile\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	struct http_response *r = fetch(P_HS, "GET",
	    dl_path(P_HS, "m-nofile", tok), NULL, NULL);

	expect_problem(r, 422, "The media has no stored file yet.", tok);
	expect_no_secrets(r, tok);
}
END_TEST

static const char *const escapes[] = {
	"../../etc/passwd", "/etc/passwd", "acme/../../etc/passwd",
	"acme/escape-link.pdf", "acme/escape-dir/outside-secret.txt",
};

START_TEST(download_escape)
{
	struct issued is;
	struct http_response *r;

	test_case(escapes[_i]);
	media_put("t-escape", "acme", "text/plain", "x.txt", escapes[_i]);
	is = issue_ok(P_HS, "t-escape");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	ck_assert_msg(r->status != 200 && r->status != 206,
	    "%s: stored path '%s' was served", last_req, escapes[_i]);
	expect_problem(r, 500, "An unexpected error occurred", is.token);
	expect_no_secrets(r, is.token);
	ck_assert_ptr_null(strstr(r->body, "root:"));
	ck_assert_ptr_null(strstr(r->body, outside_marker));
	ck_assert_ptr_null(strstr(r->body, "passwd"));
	ck_assert_ptr_null(strstr(r->body, "escape"));
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
}
END_TEST

START_TEST(download_missing_file)
{
	struct issued is;
	struct http_response *r;

	media_put("t-missing", "acme", "application/pdf", "gone.pdf",
	    "acme/not-there.pdf");
	is = issue_ok(P_HS, "t-missing");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	/* A row whose file has gone is a missing media, not a server
	 * failure (§6 404). */
	expect_problem(r, 404, "The stored file is missing.", is.token);
	expect_no_secrets(r, is.token);
	ck_assert_ptr_null(strstr(r->body, "not-there"));
}
END_TEST

START_TEST(es_token_expires)
{
	struct issued is = issue_ok(P_ES, "m-pdf");
	struct http_response *r = fetch(P_ES, "GET", is.path, NULL, NULL);
	long long exp;

	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	/* Past exp and the 1 s allowed beyond it: wait for the clock, not
	 * for a guessed delay. */
	exp = claim_int(jws_part(is.token, 1), "exp");
	while (now() <= exp + 1)
		usleep(50000);
	r = fetch(P_ES, "GET", is.path, NULL, NULL);
	expect_problem(r, 410, "The download token has expired.", is.token);
	expect_no_secrets(r, is.token);
}
END_TEST

START_TEST(cross_pool_tokens)
{
	struct issued is;
	struct http_response *r;

	/* A token from the HS pool is good wherever the secret is. */
	is = issue_ok(P_HS, "m-pdf");
	r = fetch(P_ES, "GET", dl_path(P_ES, "m-pdf", is.token), NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);

	/* One without a tenant is refused where isolation is on. */
	is = issue_ok(P_ES, "m-pdf");
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", is.token), NULL, NULL);
	expect_problem(r, 403, "The download token names no tenant.",
	    is.token);
	expect_no_secrets(r, is.token);
}
END_TEST


/* ------------------------------------------------------------------ */

static Suite *
download_suite(void)
{
	Suite *s = suite_create("download");
	TCase *tc = bb_tcase("download");

	tcase_add_test(tc, download_ok);
	tcase_add_test(tc, download_many_tokens);
	tcase_add_test(tc, download_head);
	tcase_add_test(tc, download_range);
	suite_add_tcase(s, tc);

	tc = bb_tcase("token");
	tcase_add_test(tc, download_other_media);
	tcase_add_loop_test(tc, download_forged, 0, NELEM(forged));
	tcase_add_test(tc, download_hand_minted);
	tcase_add_test(tc, download_expired);
	tcase_add_test(tc, es_token_expires);
	tcase_add_test(tc, cross_pool_tokens);
	suite_add_tcase(s, tc);

	tc = bb_tcase("media");
	tcase_add_test(tc, download_deleted_after_issue);
	tcase_add_test(tc, download_no_file);
	tcase_add_loop_test(tc, download_escape, 0, NELEM(escapes));
	tcase_add_test(tc, download_missing_file);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return bb_main("check_download", 1u << HS | 1u << ES,
	    download_suite);
}
