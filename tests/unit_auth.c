/* unit_auth.c — bearer header syntax, signature pinning and claim rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "sjson.h"
#include "testkeys.h"
#include "unit_suites.h"

#define NOW	1700000000L

static const struct auth_policy plain = {
	NULL, NULL, "tenant", "media:read", 30,
};
static const struct auth_policy strict = {
	"https://issuer.test", "api", "tenant", "media:read", 30,
};

static enum mg_err
claims_result(const struct auth_policy *pol, const char *json,
    struct principal *who)
{
	const char *why;
	yajl_val v = sjson_parse_object(json, strlen(json));
	enum mg_err err;

	ck_assert_msg(v != NULL, "bad test JSON %s", json);
	err = auth_check_claims(v, pol, NOW, who, &why);
	if (err != MG_OK)
		ck_assert_ptr_nonnull(why);
	sjson_free(v);
	return err;
}

#define P "\"permissions\":[\"media:read\"],\"tenant\":\"acme\""

static const struct {
	const struct auth_policy *pol;
	const char	*claims;
	enum mg_err	 want;
} claim_cases[] = {
	{ &plain, "{\"exp\":1700000100," P "}", MG_OK },
	/* exp */
	{ &plain, "{" P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1699999000," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1699999980," P "}", MG_OK },	/* leeway */
	{ &plain, "{\"exp\":1699999970," P "}", MG_EAUTH },	/* edge */
	{ &plain, "{\"exp\":\"1700000100\"," P "}", MG_EAUTH },
	/* RFC 7519 §2: non-integer NumericDates, exp rounded down. */
	{ &plain, "{\"exp\":1700000100.5," P "}", MG_OK },
	{ &plain, "{\"exp\":1.7e12," P "}", MG_OK },
	{ &plain, "{\"exp\":1e10," P "}", MG_OK },
	{ &plain, "{\"exp\":17000001000E-1," P "}", MG_OK },
	{ &plain, "{\"exp\":1699999971.0," P "}", MG_OK },
	{ &plain, "{\"exp\":1699999970.9," P "}", MG_EAUTH },	/* edge */
	{ &plain, "{\"exp\":1.6e9," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":-0.5," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":4.6e18," P "}", MG_OK },
	{ &plain, "{\"exp\":4.7e18," P "}", MG_EAUTH },	/* > 2^62 */
	{ &plain, "{\"exp\":1e19," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1e400," P "}", MG_EAUTH },	/* inf */
	{ &plain, "{\"exp\":-1e400," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":\"1e10\"," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":true," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":[1e10]," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":{}," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":\"NaN\"," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":\"Infinity\"," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":-1," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":null," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":99999999999999999999," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":9223372036854775807," P "}", MG_OK },
	/* nbf / iat */
	{ &plain, "{\"exp\":1700000100,\"nbf\":1700000020," P "}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"nbf\":1700000031," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"nbf\":\"0\"," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"nbf\":-5," P "}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"iat\":1700000031," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"iat\":1699990000," P "}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"iat\":1.5," P "}", MG_OK },
	/* nbf and iat rounded up. */
	{ &plain, "{\"exp\":1700000100,\"nbf\":1700000030.0," P "}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"nbf\":1700000030.1," P "}",
	    MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"nbf\":1.70000003e9," P "}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"iat\":1700000029.5," P "}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"iat\":1700000030.5," P "}",
	    MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"iat\":-1e400," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"nbf\":false," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"iat\":9223372036854775807," P "}",
	    MG_EAUTH },
	/* iss / aud */
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":\"api\"," P "}", MG_OK },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":[\"x\",\"api\"]," P "}", MG_OK },
	{ &strict, "{\"exp\":1700000100,\"aud\":\"api\"," P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://evil.test\","
	    "\"aud\":\"api\"," P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":[\"x\"]," P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":[\"api\",1]," P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":[[\"api\"]]," P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":{\"api\":1}," P "}", MG_EAUTH },
	{ &strict, "{\"exp\":1700000100,\"iss\":\"https://issuer.test\","
	    "\"aud\":\"apix\"," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"iss\":5," P "}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"aud\":5," P "}", MG_EAUTH },
	/* permission */
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\"}", MG_ESCOPE },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"permissions\":[\"media:write\"]}", MG_ESCOPE },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"permissions\":\"media:read\"}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"permissions\":[\"media:read\",7]}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"permissions\":[[\"media:read\"]]}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scope\":\"openid media:read profile\"}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scope\":\"media:readonly\"}", MG_ESCOPE },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scope\":\"xmedia:read\"}", MG_ESCOPE },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scope\":\"MEDIA:READ\"}", MG_ESCOPE },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scope\":[\"media:read\"]}", MG_EAUTH },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scp\":[\"media:read\"]}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scp\":\"a media:read\"}", MG_OK },
	{ &plain, "{\"exp\":1700000100,\"tenant\":\"acme\","
	    "\"scp\":{}}", MG_EAUTH },
	/* tenant */
	{ &plain, "{\"exp\":1700000100,\"permissions\":[\"media:read\"]}",
	    MG_EFORBIDDEN },
	{ &plain, "{\"exp\":1700000100,\"permissions\":[\"media:read\"],"
	    "\"tenant\":\"\"}", MG_EFORBIDDEN },
	{ &plain, "{\"exp\":1700000100,\"permissions\":[\"media:read\"],"
	    "\"tenant\":42}", MG_EFORBIDDEN },
	{ &plain, "{\"exp\":1700000100,\"permissions\":[\"media:read\"],"
	    "\"tenant\":[\"acme\"]}", MG_EFORBIDDEN },
};

START_TEST(claim_table)
{
	struct principal who;
	enum mg_err got = claims_result(claim_cases[_i].pol,
	    claim_cases[_i].claims, &who);

	ck_assert_msg(got == claim_cases[_i].want, "%s: got %d want %d",
	    claim_cases[_i].claims, got, claim_cases[_i].want);
}
END_TEST

START_TEST(tenant_copied_and_isolation_off)
{
	struct auth_policy off = plain;
	struct principal who;

	ck_assert_int_eq(claims_result(&plain, "{\"exp\":1700000100," P "}",
	    &who), MG_OK);
	ck_assert_str_eq(who.tenant, "acme");
	off.tenant_claim = NULL;
	ck_assert_int_eq(claims_result(&off, "{\"exp\":1700000100,"
	    "\"scope\":\"media:read\"}", &who), MG_OK);
	ck_assert_str_eq(who.tenant, "");
	/* Custom claim name. */
	off.tenant_claim = "org";
	ck_assert_int_eq(claims_result(&off, "{\"exp\":1700000100,"
	    "\"scope\":\"media:read\",\"org\":\"o1\"}", &who), MG_OK);
	ck_assert_str_eq(who.tenant, "o1");
}
END_TEST

START_TEST(header_syntax)
{
	const char *tok, *why;
	size_t len;
	char big[AUTH_HEADER_MAX + 16];

	ck_assert_int_eq(auth_parse_header("Bearer a.b.c", &tok, &len, &why),
	    MG_OK);
	ck_assert_int_eq(len, 5);
	ck_assert_int_eq(auth_parse_header("bearer   a.b.c  ", &tok, &len,
	    &why), MG_OK);
	ck_assert(strncmp(tok, "a.b.c", len) == 0 && len == 5);
	ck_assert_int_eq(auth_parse_header(NULL, &tok, &len, &why), MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("", &tok, &len, &why), MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("Bearer", &tok, &len, &why),
	    MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("Bearer ", &tok, &len, &why),
	    MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("Basic dXNlcjpwYXNz", &tok, &len,
	    &why), MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("Bearera.b.c", &tok, &len, &why),
	    MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("Bearer a b", &tok, &len, &why),
	    MG_EAUTH);
	ck_assert_int_eq(auth_parse_header("Bearer a\"b", &tok, &len, &why),
	    MG_EAUTH);
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'a', sizeof(big) - 8);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(auth_parse_header(big, &tok, &len, &why), MG_EAUTH);
}
END_TEST

static char *
header_of(const char *token)
{
	char *h = malloc(strlen(token) + 8);

	sprintf(h, "Bearer %s", token);
	return h;
}

static enum mg_err
bearer_why(const struct testkey *verify, const char *token, const char **why)
{
	struct principal who;
	struct jwks *keys;
	char *h = header_of(token), err_line[256];
	enum mg_err err;

	ck_assert_msg(jwks_single(verify->alg, (const unsigned char *)verify->pub,
	    verify->pub_len, &keys, err_line, sizeof(err_line)) == 0, "%s",
	    err_line);
	err = auth_bearer(keys, &plain, h, NOW, &who, why);
	jwks_free(keys);
	free(h);
	return err;
}

static enum mg_err
bearer_with(const struct testkey *verify, const char *token)
{
	const char *why;

	return bearer_why(verify, token, &why);
}

/* The pin itself (RFC 8725 §3.1): refused as another algorithm, before
 * any signature is checked, not merely as a bad signature. */
static void
expect_wrong_alg(const struct testkey *verify, const char *token,
    const char *what)
{
	const char *why = NULL;

	ck_assert_msg(bearer_why(verify, token, &why) == MG_EAUTH, "%s: "
	    "accepted", what);
	ck_assert_msg(why != NULL &&
	    strstr(why, "signed with another algorithm") != NULL,
	    "%s: refused as '%s', not as another algorithm", what,
	    why != NULL ? why : "(null)");
}

static const char good_claims[] =
	"{\"exp\":1700000100,\"permissions\":[\"media:read\"],"
	"\"tenant\":\"acme\"}";

/* Every algorithm verifies tokens minted by libjwt with its own key and
 * refuses them under another key of the same algorithm. */
START_TEST(all_algorithms)
{
	enum jws_alg alg = (enum jws_alg)_i;
	struct testkey k, other;
	char *tok;

	tk_generate(&k, alg);
	tk_generate(&other, alg);
	tok = tk_mint(&k, good_claims);
	ck_assert_msg(bearer_with(&k, tok) == MG_OK, "%s",
	    jws_alg_name(alg));
	ck_assert_int_eq(bearer_with(&other, tok), MG_EAUTH);
	/* A signature three bytes short (ES: R || S of the wrong length). */
	tok[strlen(tok) - 4] = '\0';
	ck_assert_int_eq(bearer_with(&k, tok), MG_EAUTH);
	free(tok);
	tok = tk_mint(&k, good_claims);
	/* A flipped signature bit. */
	tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(bearer_with(&k, tok), MG_EAUTH);
	free(tok);
	tk_free(&k);
	tk_free(&other);
}
END_TEST

START_TEST(alg_pinned)
{
	struct testkey hs, hs384, rs, es;
	char *tok;

	tk_generate(&hs, JWS_HS256);
	tk_generate(&hs384, JWS_HS384);
	tk_generate(&rs, JWS_RS256);
	tk_generate(&es, JWS_ES256);

	/* HS384 token, same secret, HS256 configured: refused. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS384",
	    "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", good_claims);
	expect_wrong_alg(&hs, tok, "HS384 for HS256");
	free(tok);

	/* Algorithm confusion: HS256 keyed with the RSA/EC public key PEM. */
	tok = tk_hs_raw(rs.pub, rs.pub_len, "HS256",
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", good_claims);
	expect_wrong_alg(&rs, tok, "HS256 over the RSA PEM");
	free(tok);
	tok = tk_hs_raw(es.pub, es.pub_len, "HS256",
	    "{\"alg\":\"HS256\"}", good_claims);
	expect_wrong_alg(&es, tok, "HS256 over the EC PEM");
	free(tok);

	/* RS256 token to an ES256 key, and ES256 to an RS256 key. */
	tok = tk_mint(&rs, good_claims);
	expect_wrong_alg(&es, tok, "RS256 for ES256");
	free(tok);
	tok = tk_mint(&es, good_claims);
	expect_wrong_alg(&rs, tok, "ES256 for RS256");
	free(tok);

	/* Claims another JSON parser might refuse are read the same way
	 * whatever the algorithm: an unused claim holding 1e400 or a lone
	 * surrogate escape does not make an HMAC token fail. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256", "{\"alg\":\"HS256\"}",
	    "{\"exp\":1700000100,\"tenant\":\"acme\",\"x\":1e400,"
	    "\"y\":\"\\ud800\",\"permissions\":[\"media:read\"]}");
	ck_assert_int_eq(bearer_with(&hs, tok), MG_OK);
	free(tok);

	/* Sanity: the same hand-made path is accepted when it is right. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256",
	    "{\"alg\":\"HS256\",\"kid\":\"other\",\"jku\":\"https://evil\","
	    "\"x5u\":\"https://evil\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AA\"}}",
	    good_claims);
	ck_assert_int_eq(bearer_with(&hs, tok), MG_OK);
	free(tok);

	tk_free(&hs);
	tk_free(&hs384);
	tk_free(&rs);
	tk_free(&es);
}
END_TEST

START_TEST(alg_none_any_spelling)
{
	static const char *const nones[] = { "none", "None", "NONE", "nOnE" };
	struct testkey hs;
	char hdr[64], tok[512], enc_h[128], enc_p[256];
	size_t i;

	tk_generate(&hs, JWS_HS256);
	jws_b64_encode((const unsigned char *)good_claims,
	    strlen(good_claims), enc_p);
	for (i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", nones[i]);
		jws_b64_encode((const unsigned char *)hdr, strlen(hdr), enc_h);
		snprintf(tok, sizeof(tok), "%s.%s.", enc_h, enc_p);
		ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
		/* Even with a "signature" attached: refused by the pin. */
		snprintf(tok, sizeof(tok), "%s.%s.AAAA", enc_h, enc_p);
		expect_wrong_alg(&hs, tok, nones[i]);
	}
	tk_free(&hs);
}
END_TEST

START_TEST(malformed_tokens)
{
	static const char *const bad[] = {
		"a", "a.b", "a.b.c.d", "..", "a..c", ".b.c", "a.b.",
		"e30.e30.e30", "!!!.e30.abc", "e30.e30.@@@",
	};
	struct testkey hs;
	char *tok;
	size_t i;

	tk_generate(&hs, JWS_HS256);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(bearer_with(&hs, bad[i]) == MG_EAUTH, "%s",
		    bad[i]);
	/* Payload with duplicate claims, correctly signed: refused. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256", "{\"alg\":\"HS256\"}",
	    "{\"exp\":1700000100,\"tenant\":\"acme\",\"tenant\":\"globex\","
	    "\"permissions\":[\"media:read\"]}");
	ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
	free(tok);
	/* Duplicate alg in the header. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256",
	    "{\"alg\":\"HS256\",\"alg\":\"none\"}", good_claims);
	ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
	free(tok);
	/* crit that mediagate cannot honour. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256",
	    "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", good_claims);
	ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
	free(tok);
	/* Invalid UTF-8 and deep nesting in the payload. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256", "{\"alg\":\"HS256\"}",
	    "{\"exp\":1700000100,\"tenant\":\"\xff\xfe\","
	    "\"permissions\":[\"media:read\"]}");
	ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
	free(tok);
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256", "{\"alg\":\"HS256\"}",
	    "{\"exp\":1700000100,\"tenant\":\"acme\",\"x\":[[[[[[[[[[[[[[[[["
	    "[[[[]]]]]]]]]]]]]]]]]]]]],\"permissions\":[\"media:read\"]}");
	ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
	free(tok);
	/* A payload that is not an object. */
	tok = tk_hs_raw(hs.priv, hs.priv_len, "HS256", "{\"alg\":\"HS256\"}",
	    "[1,2]");
	ck_assert_int_eq(bearer_with(&hs, tok), MG_EAUTH);
	free(tok);
	tk_free(&hs);
}
END_TEST

/* sub is kept for the audit log, not checked. */
START_TEST(sub_kept)
{
	struct principal who;
	char big[600];

	ck_assert_int_eq(claims_result(&plain, "{\"exp\":1700000100,\"sub\":"
	    "\"alice\"," P "}", &who), MG_OK);
	ck_assert(who.has_sub);
	ck_assert_str_eq(who.sub, "alice");
	ck_assert_int_eq(claims_result(&plain, "{\"exp\":1700000100," P "}",
	    &who), MG_OK);
	ck_assert(!who.has_sub);
	ck_assert_str_eq(who.sub, "");
	ck_assert_int_eq(claims_result(&plain, "{\"exp\":1700000100,\"sub\":"
	    "7," P "}", &who), MG_OK);
	ck_assert(!who.has_sub);
	snprintf(big, sizeof(big), "{\"exp\":1700000100,\"sub\":\"%0500d\","
	    P "}", 0);
	ck_assert_int_eq(claims_result(&plain, big, &who), MG_OK);
	ck_assert_uint_eq(strlen(who.sub), AUTH_SUB_MAX);
}
END_TEST

Suite *
suite_auth(void)
{
	Suite *s = suite_create("auth");
	TCase *claims = tcase_create("claims");
	TCase *sig = tcase_create("signature");

	tcase_add_test(claims, sub_kept);
	tcase_add_loop_test(claims, claim_table, 0,
	    sizeof(claim_cases) / sizeof(claim_cases[0]));
	tcase_add_test(claims, tenant_copied_and_isolation_off);
	tcase_add_test(claims, header_syntax);
	tcase_add_loop_test(sig, all_algorithms, JWS_HS256, JWS_ES512 + 1);
	tcase_add_test(sig, alg_pinned);
	tcase_add_test(sig, alg_none_any_spelling);
	tcase_add_test(sig, malformed_tokens);
	tcase_set_timeout(sig, 60);
	suite_add_tcase(s, claims);
	suite_add_tcase(s, sig);
	return s;
}
