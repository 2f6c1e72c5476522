/*
 * check_claims.c — §3 of the contract, the claims of a bearer token that
 * verified: exp/nbf/iat (integers, the leeway), iss and aud when
 * configured (RS256 pool), the media:read permission in permissions,
 * scope or scp (403 insufficient_scope otherwise), the tenant claim and
 * tenant isolation (media of other tenants do not exist for the caller;
 * with isolation off, the ES256 pool, all do), and hostile claim sets
 * (duplicate names, invalid UTF-8, deep nesting), each correctly signed
 * so that only the rule under test can refuse it.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "blackbox.h"
#include "sjson.h"

/* A row of a table of claim fragments: its text is its name. */
static const char *
row(const char *fragment)
{
	test_case(fragment);
	return fragment;
}

/*
 * Hostile bearer tokens, each correctly signed with the HS pool's key over
 * exact bytes, so that only the claim or header rule under test can
 * refuse it.  @EXP@ stands for a time five minutes ahead.
 */
static const struct {
	const char	*header;	/* NULL: {"alg":"HS256","typ":"JWT"} */
	const char	*claims;
	int		 status;
} hostile[] = {
#define T "\"tenant\":\"acme\""
#define PR "\"permissions\":[\"media:read\"]"
	{ NULL, "{\"exp\":\"@EXP@\"," T "," PR "}", 401 },
	/* RFC 7519 §2: a NumericDate may have a fraction. */
	{ NULL, "{\"exp\":@EXP@.5," T "," PR "}", 201 },
	{ NULL, "{\"exp\":1e400," T "," PR "}", 401 },
	{ NULL, "{\"exp\":99999999999999999999999," T "," PR "}", 401 },
	{ NULL, "{\"exp\":-1," T "," PR "}", 401 },
	{ NULL, "{\"exp\":true," T "," PR "}", 401 },
	{ NULL, "{\"exp\":[@EXP@]," T "," PR "}", 401 },
	{ NULL, "{\"exp\":9223372036854775807," T "," PR "}", 201 },
	{ NULL, "{\"exp\":@EXP@,\"nbf\":\"0\"," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"iat\":1.5," T "," PR "}", 201 },
	{ NULL, "{\"exp\":@EXP@,\"iat\":9223372036854775807," T "," PR "}",
	    401 },
	{ NULL, "{\"exp\":@EXP@,\"nbf\":-9223372036854775807," T "," PR "}",
	    201 },
	{ NULL, "{\"exp\":@EXP@,\"aud\":[1,2]," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"aud\":{}," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"aud\":[\"x\",[\"y\"]]," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"permissions\":\"media:read\"}", 401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"permissions\":[\"media:read\",{}]}",
	    401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"permissions\":{\"media:read\":1}}",
	    401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"scope\":\"media:reader\"}", 403 },
	{ NULL, "{\"exp\":@EXP@," T ",\"scope\":\"amedia:read\"}", 403 },
	{ NULL, "{\"exp\":@EXP@," T ",\"scope\":\"media:read\"}", 201 },
	/* Two readers of duplicate names would disagree: refused. */
	{ NULL, "{\"exp\":@EXP@," T ",\"tenant\":\"globex\"," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"exp\":1," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"tenant\":\"ac\\u0000me\"," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"tenant\":\"\xc3\x28\"," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@," T "," PR ",\"x\":[[[[[[[[[[[[[[[[[[[[[[[["
	    "]]]]]]]]]]]]]]]]]]]]]]]]}", 401 },
	{ NULL, "[@EXP@]", 401 },
	/* Key-naming header members are ignored: the key is configured. */
	{ "{\"alg\":\"HS256\",\"kid\":\"../../dev/null\",\"jku\":"
	    "\"https://evil.test/jwks\",\"x5u\":\"https://evil.test/c\","
	    "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
	    "{\"exp\":@EXP@," T "," PR "}", 201 },
	{ "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
	    "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"alg\":\"hs256\"}", "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"alg\":\"HS512\"}", "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
	    "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"typ\":\"JWT\"}", "{\"exp\":@EXP@," T "," PR "}", 401 },
#undef T
#undef PR
};

START_TEST(error_hostile_bearer)
{
	const char *hdr = hostile[_i].header != NULL ? hostile[_i].header :
	    JWT_HEADER;
	const char *tmpl = hostile[_i].claims, *at = strstr(tmpl, "@EXP@");
	char *claims = at == NULL ? kstrdup(tmpl) : strf("%.*s%lld%s",
	    (int)(at - tmpl), tmpl, now() + 300, at + 5);
	char *jwt = keep(tk_hs_raw(P_HS->key->priv, P_HS->key->priv_len,
	    "HS256", hdr, claims), free);
	struct http_response *r;

	test_case(strf("header %s, claims %s", hdr, tmpl));
	r = post_bearer(P_HS, ISSUE_M_PDF, jwt, NULL);
	if (hostile[_i].status == 201)
		expect_issued_by(r, P_HS, "m-pdf");
	else
		expect_problem(r, hostile[_i].status, NULL, jwt);
	if (hostile[_i].status == 401)
		expect_header(r, "WWW-Authenticate", WWW_INVALID);
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(error_leeway)
{
	long long t = now();
	char *jwt;
	struct http_response *r;

	/* exp 10 s ago is within the 30 s leeway. */
	jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"exp\":%lld}", t - 100, t - 10);
	r = post_bearer(P_HS, ISSUE_M_PDF, jwt, NULL);
	expect_issued_by(r, P_HS, "m-pdf");

	/* nbf and iat 10 s ahead too. */
	jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
	    t + 10, t + 10, t + 300);
	r = post_bearer(P_HS, ISSUE_M_PDF, jwt, NULL);
	expect_issued_by(r, P_HS, "m-pdf");
}
END_TEST

/* Claims that lack media:read: 403 insufficient_scope. */
static const char *const bad_scopes[] = {
	"\"permissions\":[\"media:write\"]",
	"\"scope\":\"media:readonly\"",
	"\"scope\":\"media:read:all xmedia:read\"",
	"\"scp\":[\"media:write\",\"media\"]",
	"\"permissions\":[]",
	"\"scope\":\"MEDIA:READ\"",
	"\"sub2\":\"media:read\"",
};

START_TEST(error_insufficient_scope)
{
	long long t = now();
	char *jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",%s,"
	    "\"iat\":%lld,\"exp\":%lld}", row(bad_scopes[_i]), t, t + 300);
	struct http_response *r = post_bearer(P_HS,
	    ISSUE_M_PDF, jwt, NULL);

	expect_problem(r, 403, "lacks the media:read permission", jwt);
	expect_header(r, "WWW-Authenticate", WWW_SCOPE);
	expect_no_secrets(r, jwt);
}
END_TEST

/* Each grants media:read. */
static const char *const good_scopes[] = {
	"\"scope\":\"a media:read b\"",
	"\"scope\":\"media:read\"",
	"\"scp\":[\"media:read\"]",
	"\"scp\":\"media:read\"",
	"\"scp\":\"x media:read\"",
	"\"permissions\":[\"media:write\",\"media:read\"]",
};

START_TEST(issue_scope_forms)
{
	long long t = now();
	char *jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",%s,"
	    "\"iat\":%lld,\"exp\":%lld}", row(good_scopes[_i]), t, t + 300);
	struct http_response *r = post_bearer(P_HS,
	    ISSUE_M_PDF, jwt, NULL);

	expect_issued_by(r, P_HS, "m-pdf");
}
END_TEST

/* Tenant claims that do not name a tenant: 403 (isolation is on). */
static const char *const bad_tenants[] = {
	"", ",\"tenant\":\"\"", ",\"tenant\":42", ",\"tenant\":null",
	",\"tenant\":[\"acme\"]", ",\"tenant\":{\"id\":\"acme\"}",
	",\"Tenant\":\"acme\"",
};

START_TEST(error_tenant_claim)
{
	long long t = now();
	char *jwt = mint(P_HS, "{\"sub\":\"u\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"exp\":%lld%s}", t, t + 300,
	    row(bad_tenants[_i]));
	struct http_response *r = post_bearer(P_HS,
	    ISSUE_M_PDF, jwt, NULL);
	const char *www;

	expect_problem(r, 403, "The bearer token names no tenant.", jwt);
	www = http_header(r, "WWW-Authenticate");
	ck_assert_msg(www == NULL || strstr(www, "insufficient_scope") == NULL,
	    "a missing tenant is not a missing scope: %s", www);
	expect_no_secrets(r, jwt);
}
END_TEST

/* Media the caller may not see look exactly like media that do not exist. */
START_TEST(error_not_found_media)
{
	static const char *const ids[] = {
		"g-doc", "m-deleted", "no-such-media",
	};
	char *jwt = good_bearer(P_HS);
	struct http_response *r, *ref = NULL;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		r = post_bearer(P_HS, issue_path(P_HS, ids[i]), jwt, NULL);
		expect_problem(r, 404, "No such media.", jwt);
		expect_no_secrets(r, jwt);
		ck_assert_ptr_null(strstr(r->body, "globex"));
		if (ref == NULL)
			ref = r;
		else
			ck_assert_msg(strcmp(ref->body, r->body) == 0,
			    "%s: 404 body differs from another media's: "
			    "%s vs %s", last_req, r->body, ref->body);
	}

	/* The same token of globex does see it. */
	jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"globex\","
	    "\"permissions\":[\"media:read\"],\"iat\":%lld,\"exp\":%lld}",
	    now(), now() + 300);
	r = post_bearer(P_HS, "/media/g-doc/download-token", jwt, NULL);
	expect_issued_by(r, P_HS, "g-doc");
	ck_assert_str_eq(sjson_string(sjson_get(jws_part(sjson_string(sjson_get(
	    expect_json(r), "token")), 1), "tenant")), "globex");
}
END_TEST

static const char *const rs_good_aud[] = {
	"\"aud\":\"mediagate-api\"",
	"\"aud\":[\"mediagate-api\"]",
	"\"aud\":[\"other\",\"mediagate-api\"]",
};

START_TEST(rs_audience_ok)
{
	long long t = now();
	char *jwt = mint(P_RS, "{\"sub\":\"u\",\"tenant\":\"acme\",\"iss\":\""
	    ISSUER_RS "\",%s,\"scope\":\"media:read\",\"iat\":%lld,"
	    "\"exp\":%lld}", row(rs_good_aud[_i]), t, t + 300);
	struct http_response *r = post_bearer(P_RS,
	    "/api/media/m-pdf/download-token", jwt, NULL);

	expect_issued_by(r, P_RS, "m-pdf");
}
END_TEST

/* Issuer and audience members that must give 401, and why. */
#define D_ISS	"The bearer token is from another issuer."
#define D_AUD	"The bearer token is for another audience."
static const struct {
	const char	*claims;
	const char	*detail;
} rs_bad_claims[] = {
	{ "\"iss\":\"https://evil.test\",\"aud\":\"mediagate-api\"", D_ISS },
	{ "\"iss\":\"https://issuer.test/\",\"aud\":\"mediagate-api\"",
	    D_ISS },
	{ "\"aud\":\"mediagate-api\"", D_ISS },
	{ "\"iss\":\"" ISSUER_RS "\",\"aud\":\"other-api\"", D_AUD },
	{ "\"iss\":\"" ISSUER_RS "\",\"aud\":[\"other\",\"mediagate\"]",
	    D_AUD },
	{ "\"iss\":\"" ISSUER_RS "\"", D_AUD },
	{ "\"iss\":\"" ISSUER_RS "\",\"aud\":\"mediagate-api-x\"", D_AUD },
	{ "\"iss\":[\"" ISSUER_RS "\"],\"aud\":\"mediagate-api\"",
	    "The bearer token's iss claim is not a string." },
};

START_TEST(rs_claims_refused)
{
	long long t = now();
	char *jwt = mint(P_RS, "{\"sub\":\"u\",\"tenant\":\"acme\",%s,"
	    "\"scope\":\"media:read\",\"iat\":%lld,\"exp\":%lld}",
	    row(rs_bad_claims[_i].claims), t, t + 300);
	struct http_response *r = post_bearer(P_RS,
	    "/api/media/m-pdf/download-token", jwt, NULL);

	expect_401(r, rs_bad_claims[_i].detail, jwt);
}
END_TEST

START_TEST(es_no_isolation)
{
	char *jwt = good_bearer(P_ES);
	struct http_response *r;
	struct issued is;
	yajl_val claims;

	/* No tenant claim needed, and every tenant's media is visible. */
	r = post_bearer(P_ES, ISSUE_M_PDF, jwt, NULL);
	is = expect_issued_by(r, P_ES, "m-pdf");
	expect_no_secrets(r, jwt);
	claims = jws_part(is.token, 1);
	ck_assert_ptr_null(sjson_get(claims, "tenant"));
	ck_assert_int_eq(claim_int(claims, "exp"),
	    claim_int(claims, "iat") + P_ES->ttl);
	expect_signed_by_token_key(is.token);

	r = post_bearer(P_ES, "/media/g-doc/download-token", jwt, NULL);
	expect_issued_by(r, P_ES, "g-doc");

	/* Deleted is still deleted. */
	r = post_bearer(P_ES, "/media/m-deleted/download-token", jwt, NULL);
	expect_problem(r, 404, "No such media.", jwt);

	/* A tenant claim, if present, does not restrict anything. */
	jwt = mint(P_ES, "%s", good_claims(P_ES, ",\"tenant\":\"acme\""));
	r = post_bearer(P_ES, "/media/g-doc/download-token", jwt, NULL);
	expect_issued_by(r, P_ES, "g-doc");
}
END_TEST
/* ------------------------------------------------------------------ */

static Suite *
claims_suite(void)
{
	Suite *s = suite_create("claims");
	TCase *tc = bb_tcase("claims");

	tcase_add_loop_test(tc, error_hostile_bearer, 0, NELEM(hostile));
	tcase_add_test(tc, error_leeway);
	tcase_add_loop_test(tc, error_insufficient_scope, 0,
	    NELEM(bad_scopes));
	tcase_add_loop_test(tc, issue_scope_forms, 0, NELEM(good_scopes));
	suite_add_tcase(s, tc);

	tc = bb_tcase("tenant");
	tcase_add_loop_test(tc, error_tenant_claim, 0, NELEM(bad_tenants));
	tcase_add_test(tc, error_not_found_media);
	tcase_add_test(tc, es_no_isolation);
	suite_add_tcase(s, tc);

	tc = bb_tcase("issuer-audience");
	tcase_add_loop_test(tc, rs_audience_ok, 0, NELEM(rs_good_aud));
	tcase_add_loop_test(tc, rs_claims_refused, 0, NELEM(rs_bad_claims));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_claims", 1u << HS | 1u << RS | 1u << ES,
	    claims_suite);
}
