/*
 * check_auth.c — §3 of the contract, the bearer token itself: the
 * Authorization header, the three base64url parts, the algorithm pin
 * (header alg must equal MEDIAGATE_JWT_ALG: none, other HMAC sizes and
 * HMAC keyed with a public key are refused with the detail "signed with
 * another algorithm"), the signature, and the size limit.  Every refusal
 * is a 401 with WWW-Authenticate: Bearer error="invalid_token" (RFC 6750)
 * whose detail says why.  The claim rules are check_claims'.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "blackbox.h"
#include "buf.h"
#include "jws.h"

#define D_REQUIRED	"A bearer token is required."
#define D_SCHEME	"The Authorization header must use the Bearer scheme."
#define D_MALFORMED	"The bearer token is malformed."
#define D_SIGNATURE	"The bearer token's signature does not verify."
#define D_ALG		"signed with another algorithm"
#define D_EXPIRED	"The bearer token has expired."

/* An Authorization value (NULL: no field) for the HS pool. */
typedef const char *authz_fn(void);

struct unauth_case {
	const char	*name;
	authz_fn	*authz;
	int		 status;
	const char	*detail;
};

static const char *
bearer_of(const char *tok)
{
	return strf("Bearer %s", tok);
}

/* Claims of the HS pool with iat and exp at these offsets from now, and
 * extra members. */
static const char *
hs_claims(long iat, long exp, const char *extra)
{
	long long t = now();

	return strf("{\"sub\":\"u\",\"tenant\":\"acme\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"exp\":%lld%s}", t + iat, t + exp,
	    extra);
}

static const char *
a_none(void)
{
	return NULL;
}

static const char *
a_basic(void)
{
	return "Basic dXNlcjpwYXNzd29yZA==";
}

static const char *
a_garbage(void)
{
	return "Bearer garbage";
}

static const char *
a_two_parts(void)
{
	return "Bearer a.b";
}

static const char *
a_bearer_only(void)
{
	return "Bearer";
}

static const char *
a_bearer_empty(void)
{
	return "Bearer ";
}

static const char *
a_bad_signature(void)
{
	return bearer_of(tamper(good_bearer(P_HS), 2));
}

static const char *
a_tampered_payload(void)
{
	return bearer_of(tamper(good_bearer(P_HS), 1));
}

static const char *
a_expired(void)
{
	return bearer_of(mint(P_HS, "%s", hs_claims(-400, -100, "")));
}

static const char *
a_nbf_future(void)
{
	return bearer_of(mint(P_HS, "%s", good_claims(P_HS,
	    strf(",\"nbf\":%lld", now() + 300))));
}

static const char *
a_iat_future(void)
{
	return bearer_of(mint(P_HS, "%s", hs_claims(300, 600, "")));
}

static const char *
a_no_exp(void)
{
	return bearer_of(mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\","
	    "\"permissions\":[\"media:read\"],\"iat\":%lld}", now()));
}

static const char *
a_exp_string(void)
{
	return bearer_of(mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\","
	    "\"permissions\":[\"media:read\"],\"exp\":\"%lld\"}",
	    now() + 300));
}

/* alg none, unsigned: the empty third part is malformed already. */
static const char *
none_unsigned(const char *spelling)
{
	return bearer_of(raw_jws(strf("{\"alg\":\"%s\",\"typ\":\"JWT\"}",
	    spelling), good_claims(P_HS, ""), ""));
}

static const char *
a_alg_none(void)
{
	return none_unsigned("none");
}

static const char *
a_alg_NONE(void)
{
	return none_unsigned("NONE");
}

static const char *
a_alg_None(void)
{
	return none_unsigned("None");
}

/* alg none carrying the signature of a good token. */
static const char *
a_alg_none_signed(void)
{
	return bearer_of(raw_jws("{\"alg\":\"none\"}", good_claims(P_HS, ""),
	    strrchr(good_bearer(P_HS), '.') + 1));
}

/* Correctly signed with the pool's secret, but HS384. */
static const char *
a_hs384(void)
{
	return bearer_of(keep(tk_hs_raw(P_HS->key->priv, P_HS->key->priv_len,
	    "HS384", "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
	    good_claims(P_HS, "")), free));
}

static const char *
a_other_key(void)
{
	struct testkey other;
	char *tok;

	tk_generate(&other, JWS_HS256);
	tok = hs256(other.priv, other.priv_len, good_claims(P_HS, ""));
	tk_free(&other);
	return bearer_of(tok);
}

static const char *
a_trailing_part(void)
{
	return strf("Bearer %s.x", good_bearer(P_HS));
}

static const char *
a_two_tokens(void)
{
	return strf("Bearer %s %s", good_bearer(P_HS), good_bearer(P_HS));
}

/* Valid in every respect but its size: over mediagate's 8 KiB limit.
 * The test lighttpd lets header fields of 32 KiB through, as the
 * deployments do (README, Deployment), so the 401 is mediagate's. */
static const char *
a_too_long(void)
{
	char *pad = keep(xmalloc(6200), free);
	const char *authz;

	memset(pad, 'x', 6199);
	pad[6199] = '\0';
	authz = bearer_of(mint(P_HS, "%s", good_claims(P_HS,
	    strf(",\"pad\":\"%s\"", pad))));
	ck_assert_uint_gt(strlen(authz), 8192);
	return authz;
}

static const struct unauth_case unauth[] = {
	{ "no Authorization", a_none, 401, D_REQUIRED },
	{ "Basic scheme", a_basic, 401, D_SCHEME },
	{ "Bearer garbage", a_garbage, 401, D_MALFORMED },
	{ "two parts", a_two_parts, 401, D_MALFORMED },
	{ "wrong signature", a_bad_signature, 401, D_SIGNATURE },
	{ "expired beyond leeway", a_expired, 401, D_EXPIRED },
	{ "nbf in the future", a_nbf_future, 401,
	    "The bearer token is not valid yet." },
	{ "iat in the future", a_iat_future, 401,
	    "The bearer token was issued in the future." },
	{ "alg none", a_alg_none, 401, D_MALFORMED },
	{ "alg NONE", a_alg_NONE, 401, D_MALFORMED },
	{ "alg None", a_alg_None, 401, D_MALFORMED },
	{ "no exp", a_no_exp, 401, "The bearer token has no expiry." },
	{ "exp not a NumericDate", a_exp_string, 401,
	    "The bearer token's exp claim is not a NumericDate." },
	{ "Bearer only", a_bearer_only, 401, D_SCHEME },
	{ "HS384 token for an HS256 pool", a_hs384, 401, D_ALG },
	{ "tampered payload", a_tampered_payload, 401, D_SIGNATURE },
	{ "signed with another key", a_other_key, 401, D_SIGNATURE },
	{ "a fourth part", a_trailing_part, 401, D_MALFORMED },
	{ "two tokens", a_two_tokens, 401, D_MALFORMED },
	{ "alg none with a signature", a_alg_none_signed, 401, D_ALG },
	{ "Bearer and a space (trimmed on the way: no token)", a_bearer_empty,
	    401, D_SCHEME },
	{ "Authorization over 8 KiB", a_too_long, 401,
	    "The Authorization header is too long." },
};

START_TEST(bearer_refused)
{
	const struct unauth_case *c = &unauth[_i];
	const char *authz, *jwt = NULL;
	struct http_response *r;

	test_case(c->name);
	authz = c->authz();
	if (authz != NULL && strncmp(authz, "Bearer ", 7) == 0 &&
	    authz[7] != '\0')
		jwt = authz + 7;
	r = post_authz(P_HS, ISSUE_M_PDF, authz, NULL, NULL, 0);
	ck_assert_msg(strstr(r->body, "/download/") == NULL,
	    "%s: something was issued", last_req);
	expect_401(r, c->detail, jwt);
}
END_TEST

/* RFC 7235 §2.1: the scheme name is case-insensitive. */
START_TEST(bearer_scheme_case_insensitive)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_authz(P_HS, ISSUE_M_PDF,
	    strf("bearer %s", jwt), NULL, NULL, 0);

	expect_issued_by(r, P_HS, "m-pdf");
}
END_TEST

/*
 * Algorithm confusion against the RS256 and ES256 pools: tokens of
 * another algorithm (HS256 keyed with the public key PEM, an ES256 token
 * for the RS256 pool, RS512 over an RS256 signature) are refused by the
 * pin; tokens of the right algorithm and another key by the signature.
 */
struct confusion_case {
	const char	*name;
	struct pool	*pool;
	const char	*(*token)(const struct pool *p);
	const char	*detail;
};

static const char *
t_hmac_over_pem(const struct pool *p)
{
	return hs256(p->key->pub, p->key->pub_len, good_claims(p, ""));
}

static const char *
t_hmac_over_pem_trimmed(const struct pool *p)
{
	size_t len = p->key->pub_len;

	while (len > 0 && p->key->pub[len - 1] == '\n')
		len--;
	return hs256(p->key->pub, len, good_claims(p, ""));
}

static const char *
t_es256_token(const struct pool *p)
{
	return mint(P_ES, "%s", good_claims(p, ""));
}

static const char *
t_other_pair(const struct pool *p)
{
	struct testkey other;
	char *tok;

	tk_generate(&other, p->key->alg);
	tok = keep(tk_mint(&other, good_claims(p, "")), free);
	tk_free(&other);
	return tok;
}

static const char *
t_rs512_header(const struct pool *p)
{
	static const char hdr[] = "{\"alg\":\"RS512\",\"typ\":\"JWT\"}";

	return strf("%s%s", b64url(hdr, strlen(hdr)),
	    strchr(good_bearer(p), '.'));
}

static const char *
t_tampered(const struct pool *p)
{
	return tamper(good_bearer(p), 2);
}

static const struct confusion_case confusion[] = {
	{ "RS256 pool: HS256 keyed with its PEM", P_RS, t_hmac_over_pem,
	    D_ALG },
	{ "RS256 pool: HS256 keyed with its PEM without the final newline",
	    P_RS, t_hmac_over_pem_trimmed, D_ALG },
	{ "RS256 pool: an ES256 token", P_RS, t_es256_token, D_ALG },
	{ "RS256 pool: another key pair", P_RS, t_other_pair, D_SIGNATURE },
	{ "RS256 pool: alg changed to RS512", P_RS, t_rs512_header, D_ALG },
	{ "ES256 pool: another key pair", P_ES, t_other_pair, D_SIGNATURE },
	{ "ES256 pool: HS256 keyed with its PEM", P_ES, t_hmac_over_pem,
	    D_ALG },
	{ "ES256 pool: signature changed", P_ES, t_tampered, D_SIGNATURE },
};

START_TEST(bearer_confusion)
{
	const struct confusion_case *c = &confusion[_i];
	const char *tok;
	struct http_response *r;

	test_case(c->name);
	tok = c->token(c->pool);
	r = post_bearer(c->pool, issue_path(c->pool, "m-pdf"), tok, NULL);
	expect_401(r, c->detail, tok);
}
END_TEST

/* The permission rule holds with public-key bearers too. */
START_TEST(es_scope)
{
	char *tok = mint(P_ES, "{\"sub\":\"u\",\"scp\":\"media:list\","
	    "\"iat\":%lld,\"exp\":%lld}", now(), now() + 300);
	struct http_response *r = post_bearer(P_ES, ISSUE_M_PDF, tok, NULL);

	expect_problem(r, 403, "lacks the media:read permission", tok);
	expect_header(r, "WWW-Authenticate", WWW_SCOPE);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = bb_tcase("bearer");

	tcase_add_loop_test(tc, bearer_refused, 0, NELEM(unauth));
	tcase_add_test(tc, bearer_scheme_case_insensitive);
	suite_add_tcase(s, tc);

	tc = bb_tcase("public-key");
	tcase_add_loop_test(tc, bearer_confusion, 0, NELEM(confusion));
	tcase_add_test(tc, es_scope);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_auth", 1u << HS | 1u << RS | 1u << ES,
	    auth_suite);
}
