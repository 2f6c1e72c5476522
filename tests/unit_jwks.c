/*
 * unit_jwks.c — key sets (contract §3.1): binding each key to one
 * algorithm, kid and alg selection, the no-kid rule, keys that are not
 * usable and sets that are refused.  Keys come from libcrypto and tokens
 * from libjwt (tests/jwkgen.c), not from mediagate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwkgen.h"
#include "jwks.h"
#include "sjson.h"
#include "unit_suites.h"

#define CLAIMS	"{\"sub\":\"u1\",\"exp\":4000000000}"

/* Made once (RSA generation is slow), shared by every test. */
static struct jwkgen rs, rs2, rs1024, es256, es384, es521, hs, hs_short;

static void
make_keys(void)
{
	jg_rsa(&rs, JWS_RS256, 2048);
	jg_rsa(&rs2, JWS_RS256, 2048);
	jg_rsa(&rs1024, JWS_RS256, 1024);
	jg_ec(&es256, JWS_ES256, "P-256");
	jg_ec(&es384, JWS_ES384, "P-384");
	jg_ec(&es521, JWS_ES512, "P-521");
	jg_oct(&hs, JWS_HS256, 32);
	jg_oct(&hs_short, JWS_HS256, 31);
}

static void
free_keys(void)
{
	jg_free(&rs);
	jg_free(&rs2);
	jg_free(&rs1024);
	jg_free(&es256);
	jg_free(&es384);
	jg_free(&es521);
	jg_free(&hs);
	jg_free(&hs_short);
}

/* {"keys":[jwk1,jwk2,...]} from up to four JWKs (NULL ends), freed. */
static char *
set_of(char *a, char *b, char *c, char *d)
{
	char *parts[] = { a, b, c, d };
	size_t i, n = 16;
	char *s;

	for (i = 0; i < 4 && parts[i] != NULL; i++)
		n += strlen(parts[i]) + 1;
	s = malloc(n);
	strcpy(s, "{\"keys\":[");
	for (i = 0; i < 4 && parts[i] != NULL; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, parts[i]);
		free(parts[i]);
	}
	strcat(s, "]}");
	return s;
}

static struct jwks *
parse_ok(char *json, const enum jws_alg *algs, size_t n)
{
	struct jwks *set;
	char err[256];

	ck_assert_msg(jwks_parse(JWKS_BEARER, json, strlen(json), algs, n,
	    &set, err, sizeof(err)) == 0, "refused: %s", err);
	free(json);
	return set;
}

/* The set is refused with exactly this line. */
static void
parse_refused(enum jwks_kind kind, char *json, const enum jws_alg *algs,
    size_t n, const char *want)
{
	struct jwks *set = (struct jwks *)1;
	char err[256];

	ck_assert_int_eq(jwks_parse(kind, json, strlen(json), algs, n, &set,
	    err, sizeof(err)), -1);
	ck_assert_ptr_null(set);
	ck_assert_str_eq(err, want);
	free(json);
}

static enum jws_result
verify(const struct jwks *set, char *tok)
{
	enum jws_result res;
	yajl_val claims;

	res = jwks_verify(set, tok, strlen(tok), (long long)time(NULL),
	    &claims);
	if (res == JWS_OK)
		sjson_free(claims);
	else
		ck_assert_ptr_null(claims);
	free(tok);
	return res;
}

static const enum jws_alg rs_es[] = { JWS_RS256, JWS_ES256 };
static const enum jws_alg all3[] = { JWS_RS256, JWS_ES256, JWS_HS256 };

START_TEST(binds_by_alg_member_or_kty)
{
	static const enum jws_alg list[] = { JWS_RS256, JWS_ES384, JWS_ES512,
	    JWS_HS384 };
	struct jwks *set = parse_ok(set_of(
	    jg_jwk(&rs, "\"kid\":\"r\",\"alg\":\"RS256\""),
	    jg_jwk(&es384, "\"kid\":\"e3\""),
	    jg_jwk(&es521, "\"kid\":\"e5\""),
	    jg_jwk(&hs, "\"kid\":\"h\"")), list, 4);

	ck_assert_uint_eq(set->n, 4);
	ck_assert_uint_eq(set->usable, 4);
	ck_assert_int_eq(set->keys[0].key.alg, JWS_RS256);
	/* No alg member: the one listed algorithm the curve fits. */
	ck_assert_int_eq(set->keys[1].key.alg, JWS_ES384);
	ck_assert_int_eq(set->keys[2].key.alg, JWS_ES512);
	ck_assert_int_eq(set->keys[3].key.alg, JWS_HS384);
	ck_assert_str_eq(set->keys[3].kid, "h");
	jwks_free(set);
}
END_TEST

/* One row: a key that stays in the set but is not usable, and why. */
struct unusable_case {
	const char	*name;
	struct jwkgen	*key;
	const char	*extra;
	enum jws_alg	 algs[3];
	size_t		 nalgs;
	const char	*why;
};

static const struct unusable_case unusable_cases[] = {
	{ "ambiguous binding", &rs, "\"kid\":\"x\"", { JWS_RS256, JWS_RS512 },
	  2, "no alg member, and both RS256 and RS512 of MEDIAGATE_JWT_ALG "
	  "fit it" },
	{ "missing binding", &rs, "\"kid\":\"x\"", { JWS_ES256 }, 1,
	  "no alg member, and no algorithm of MEDIAGATE_JWT_ALG fits kty RSA" },
	{ "alg not listed", &rs, "\"kid\":\"x\",\"alg\":\"RS512\"",
	  { JWS_RS256 }, 1, "alg RS512 is not in MEDIAGATE_JWT_ALG" },
	{ "alg unknown", &rs, "\"kid\":\"x\",\"alg\":\"none\"", { JWS_RS256 },
	  1, "alg \"none\" is not a JWS signature algorithm mediagate knows" },
	{ "alg of another kty", &hs, "\"kid\":\"x\",\"alg\":\"RS256\"",
	  { JWS_RS256 }, 1, "alg RS256 does not fit kty oct" },
	{ "wrong curve by alg", &es384, "\"kid\":\"x\",\"alg\":\"ES256\"",
	  { JWS_ES256 }, 1, "alg ES256 does not fit kty EC crv P-384" },
	{ "wrong curve by kty", &es384, "\"kid\":\"x\"", { JWS_ES256 }, 1,
	  "no alg member, and no algorithm of MEDIAGATE_JWT_ALG fits kty EC "
	  "crv P-384" },
	{ "use enc", &rs, "\"kid\":\"x\",\"use\":\"enc\"", { JWS_RS256 }, 1,
	  "use is \"enc\", not \"sig\"" },
	{ "use not a string", &rs, "\"kid\":\"x\",\"use\":1", { JWS_RS256 }, 1,
	  "use is \"?\", not \"sig\"" },
	{ "RSA 1024", &rs1024, "\"kid\":\"x\"", { JWS_RS256 }, 1,
	  "an RSA key of 1024 bits; at least 2048 are needed" },
	{ "short secret", &hs_short, "\"kid\":\"x\"", { JWS_HS256 }, 1,
	  "an HMAC secret of 31 bytes; at least 32 are needed" },
	{ "kid not a string", &rs, "\"kid\":7", { JWS_RS256 }, 1,
	  "its kid is not 1 to 128 printable characters" },
	{ "kid with a quote", &rs, "\"kid\":\"a\\\"b\"", { JWS_RS256 }, 1,
	  "its kid is not 1 to 128 printable characters" },
};

START_TEST(unusable_key)
{
	const struct unusable_case *c = &unusable_cases[_i];
	enum jws_alg algs[4];
	struct jwks *set;
	size_t i, n = c->nalgs;

	/* A usable ES256 key keeps the set acceptable. */
	memcpy(algs, c->algs, n * sizeof(algs[0]));
	for (i = 0; i < n && algs[i] != JWS_ES256; i++)
		;
	if (i == n)
		algs[n++] = JWS_ES256;
	set = parse_ok(set_of(jg_jwk(c->key, c->extra),
	    jg_jwk(&es256, "\"kid\":\"ok\",\"alg\":\"ES256\""), NULL, NULL),
	    algs, n);
	ck_assert_msg(!set->keys[0].usable, "%s: usable", c->name);
	ck_assert_msg(strcmp(set->keys[0].why, c->why) == 0, "%s: '%s'",
	    c->name, set->keys[0].why);
	jwks_free(set);
}
END_TEST

START_TEST(missing_members)
{
	static const char *const jwks[] = {
		"{\"keys\":[{\"kid\":\"a\",\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-256\","
		"\"x\":\"AAAA\",\"y\":\"AAAA\"}]}",
		"{\"keys\":[{\"kid\":\"a\",\"kty\":\"oct\"}]}",
		"{\"keys\":[{\"kid\":\"a\",\"n\":\"AQAB\"}]}",
		/* Found by fuzz_jwks: the last character carries bits past
		 * the 32nd byte (RFC 4648 §3.5), which libjose refuses only
		 * when it decodes. */
		"{\"keys\":[{\"kid\":\"a\",\"kty\":\"oct\",\"k\":"
		"\"-oSFVz6n1e__uZM1ehB1pSPj7xBlSvFvteDyBX40g2v\"}]}",
	};
	static const char *const want[] = {
		"holds no usable key (key 1 (kid \"a\"): its members do not "
		"make an RSA public key (RFC 7518 §6))",
		"holds no usable key (key 1 (kid \"a\"): its members do not "
		"make an EC public key (RFC 7518 §6))",
		"holds no usable key (key 1 (kid \"a\"): its k is missing or "
		"not base64url)",
		"holds no usable key (key 1 (kid \"a\"): it has no kty)",
		"holds no usable key (key 1 (kid \"a\"): its k is missing or "
		"not base64url)",
	};
	size_t i;

	for (i = 0; i < sizeof(jwks) / sizeof(jwks[0]); i++)
		parse_refused(JWKS_BEARER, strdup(jwks[i]), all3, 3, want[i]);
}
END_TEST

START_TEST(hostile_sets)
{
	struct jwkgen *k = &rs;
	char *big;
	size_t i;

	parse_refused(JWKS_BEARER, strdup("{\"keys\":["), all3, 3,
	    "not valid JSON: ']' expected near end of file (line 1)");
	parse_refused(JWKS_BEARER, strdup("{\"keys\":[],\"keys\":[]}"), all3, 3,
	    "not valid JSON: duplicate object key near '\"keys\"' (line 1)");
	parse_refused(JWKS_BEARER, strdup("{\"kty\":\"oct\"}"), all3, 3,
	    "not a JWK Set: no \"keys\" array (RFC 7517 §5)");
	parse_refused(JWKS_BEARER, strdup("[]"), all3, 3,
	    "not a JWK Set: no \"keys\" array (RFC 7517 §5)");
	parse_refused(JWKS_BEARER, strdup("{\"keys\":[]}"), all3, 3,
	    "holds no key");
	parse_refused(JWKS_BEARER, strdup("{\"keys\":[1]}"), all3, 3,
	    "key 1 is not a JSON object");
	parse_refused(JWKS_BEARER, set_of(jg_jwk(k, "\"kid\":\"a\""),
	    jg_jwk(&rs2, "\"kid\":\"a\""), NULL, NULL), all3, 3,
	    "keys 1 and 2 have the same kid \"a\" and algorithm RS256");
	parse_refused(JWKS_BEARER, set_of(jg_jwk(&rs, "\"kid\":\"a\","
	    "\"use\":\"enc\""), NULL, NULL, NULL), all3, 3,
	    "holds no usable key (key 1 (kid \"a\"): use is \"enc\", not "
	    "\"sig\")");
	/* Duplicate member names inside a key. */
	parse_refused(JWKS_BEARER, strdup("{\"keys\":[{\"kty\":\"RSA\","
	    "\"kty\":\"oct\"}]}"), all3, 3, "not valid JSON: duplicate "
	    "object key near '\"kty\"' (line 1)");

	/* 65 keys: one too many, whatever they are. */
	big = malloc(65 * 4 + 16);
	strcpy(big, "{\"keys\":[");
	for (i = 0; i < 65; i++)
		strcat(big, i > 0 ? ",{}" : "{}");
	strcat(big, "]}");
	parse_refused(JWKS_BEARER, big, all3, 3,
	    "holds 65 keys; at most 64 are accepted");
}
END_TEST

START_TEST(same_kid_other_alg_is_fine)
{
	/* RFC 7517 §4.5 allows one kid on keys of different types. */
	struct jwks *set = parse_ok(set_of(jg_jwk(&rs, "\"kid\":\"a\""),
	    jg_jwk(&es256, "\"kid\":\"a\""), NULL, NULL), rs_es, 2);

	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, "a", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&es256, JWS_ES256, "a", CLAIMS)),
	    JWS_OK);
	jwks_free(set);
}
END_TEST

START_TEST(selects_by_kid_and_alg)
{
	struct jwks *set = parse_ok(set_of(jg_jwk(&rs, "\"kid\":\"r1\""),
	    jg_jwk(&es256, "\"kid\":\"e1\""), jg_jwk(&hs, "\"kid\":\"h1\""),
	    jg_jwk(&rs2, "\"kid\":\"r2\"")), all3, 3);
	struct jwkgen forged;

	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, "r1", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&rs2, JWS_RS256, "r2", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&es256, JWS_ES256, "e1", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&hs, JWS_HS256, "h1", CLAIMS)),
	    JWS_OK);
	/* A kid names a key only together with its algorithm. */
	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, "r2", CLAIMS)),
	    JWS_BAD_SIGNATURE);
	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, "e1", CLAIMS)),
	    JWS_UNKNOWN_KEY);
	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, "nope", CLAIMS)),
	    JWS_UNKNOWN_KEY);
	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS384, "r1", CLAIMS)),
	    JWS_WRONG_ALG);
	/* The confusion: HS256 "signed" with an RSA key's JWK text. */
	memset(&forged, 0, sizeof(forged));
	forged.secret_len = strlen(rs.members);
	memcpy(forged.secret, rs.members, forged.secret_len > 128 ? 128 :
	    forged.secret_len);
	forged.secret_len = forged.secret_len > 128 ? 128 : forged.secret_len;
	ck_assert_int_eq(verify(set, jg_sign(&forged, JWS_HS256, "r1",
	    CLAIMS)), JWS_UNKNOWN_KEY);
	jwks_free(set);
}
END_TEST

START_TEST(no_kid_only_when_one_key_has_the_alg)
{
	struct jwks *set = parse_ok(set_of(jg_jwk(&rs, "\"kid\":\"r1\""),
	    jg_jwk(&es256, "\"kid\":\"e1\""), jg_jwk(&rs2, "\"kid\":\"r2\""),
	    NULL), rs_es, 2);

	/* One ES256 key: a token without kid may use it. */
	ck_assert_int_eq(verify(set, jg_sign(&es256, JWS_ES256, NULL, CLAIMS)),
	    JWS_OK);
	/* Two RS256 keys: without kid, neither. */
	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, NULL, CLAIMS)),
	    JWS_UNKNOWN_KEY);
	jwks_free(set);

	/* An unusable key does not count. */
	set = parse_ok(set_of(jg_jwk(&rs, "\"kid\":\"r1\""),
	    jg_jwk(&rs2, "\"kid\":\"r2\",\"use\":\"enc\""), NULL, NULL),
	    rs_es, 2);
	ck_assert_int_eq(verify(set, jg_sign(&rs, JWS_RS256, NULL, CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&rs2, JWS_RS256, "r2", CLAIMS)),
	    JWS_UNKNOWN_KEY);
	jwks_free(set);
}
END_TEST

/* Header members that carry a key are ignored (§3.1). */
START_TEST(key_never_from_the_token)
{
	struct jwks *set = parse_ok(set_of(jg_jwk(&rs, "\"kid\":\"r1\""), NULL,
	    NULL, NULL), rs_es, 2);
	char hdr[4096], *tok, *dot, *h64, *forged;

	/* rs2 signs; the header names r1 and carries rs2 as "jwk". */
	tok = jg_sign(&rs2, JWS_RS256, "r1", CLAIMS);
	dot = strchr(tok, '.');
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"r1\","
	    "\"jwk\":{%s},\"jku\":\"https://127.0.0.1/k\",\"x5u\":"
	    "\"https://127.0.0.1/x\"}", rs2.members);
	h64 = jg_b64url((const unsigned char *)hdr, strlen(hdr));
	forged = malloc(strlen(h64) + strlen(dot) + 1);
	sprintf(forged, "%s%s", h64, dot);
	ck_assert_int_eq(verify(set, forged), JWS_BAD_SIGNATURE);
	free(h64);
	free(tok);
	jwks_free(set);
}
END_TEST

START_TEST(single_key_ignores_kid)
{
	struct jwks *set;
	char err[256];

	ck_assert_int_eq(jwks_single(JWS_HS256, hs.secret, hs.secret_len,
	    &set, err, sizeof(err)), 0);
	ck_assert_int_eq(verify(set, jg_sign(&hs, JWS_HS256, NULL, CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&hs, JWS_HS256, "any", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&hs, JWS_HS384, NULL, CLAIMS)),
	    JWS_WRONG_ALG);
	jwks_free(set);
}
END_TEST

/* The keyring (§4): oct keys with kid, all usable, kid required. */
START_TEST(keyring)
{
	static const enum jws_alg none[] = { JWS_HS256 };
	struct jwkgen t2;
	struct jwks *set;
	char err[256], *json;

	jg_oct(&t2, JWS_HS256, 48);
	json = set_of(jg_jwk(&t2, "\"kid\":\"t2\""),
	    jg_jwk(&hs, "\"kid\":\"t1\",\"alg\":\"HS256\",\"use\":\"sig\""),
	    NULL, NULL);
	ck_assert_int_eq(jwks_parse(JWKS_KEYRING, json, strlen(json), NULL, 0,
	    &set, err, sizeof(err)), 0);
	free(json);
	ck_assert_str_eq(jwks_signer(set)->kid, "t2");
	ck_assert_int_eq(verify(set, jg_sign(&hs, JWS_HS256, "t1", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&t2, JWS_HS256, "t2", CLAIMS)),
	    JWS_OK);
	ck_assert_int_eq(verify(set, jg_sign(&hs, JWS_HS256, "t2", CLAIMS)),
	    JWS_BAD_SIGNATURE);
	/* Without kid, even with one of the keys: refused. */
	ck_assert_int_eq(verify(set, jg_sign(&t2, JWS_HS256, NULL, CLAIMS)),
	    JWS_UNKNOWN_KEY);
	ck_assert_int_eq(verify(set, jg_sign(&t2, JWS_HS256, "t9", CLAIMS)),
	    JWS_UNKNOWN_KEY);
	jwks_free(set);

	parse_refused(JWKS_KEYRING, set_of(jg_jwk(&t2, NULL), NULL, NULL,
	    NULL), none, 1, "key 1: it has no kid");
	parse_refused(JWKS_KEYRING, set_of(jg_jwk(&t2, "\"kid\":\"a\""),
	    jg_jwk(&rs, "\"kid\":\"b\""), NULL, NULL), none, 1,
	    "key 2 (kid \"b\"): kty \"RSA\" is not oct");
	parse_refused(JWKS_KEYRING, set_of(jg_jwk(&t2, "\"kid\":\"a\""),
	    jg_jwk(&hs, "\"kid\":\"a\""), NULL, NULL), none, 1,
	    "keys 1 and 2 have the same kid \"a\" and algorithm HS256");
	parse_refused(JWKS_KEYRING, set_of(jg_jwk(&hs_short, "\"kid\":\"a\""),
	    NULL, NULL, NULL), none, 1, "key 1 (kid \"a\"): an HMAC secret of "
	    "31 bytes; at least 32 are needed");
	parse_refused(JWKS_KEYRING, set_of(jg_jwk(&t2, "\"kid\":\"a\","
	    "\"alg\":\"HS512\""), NULL, NULL, NULL), none, 1,
	    "key 1 (kid \"a\"): alg HS512 is not HS256, which download "
	    "tokens use");
	jg_free(&t2);
}
END_TEST

Suite *
suite_jwks(void)
{
	Suite *s = suite_create("jwks");
	TCase *tc = tcase_create("jwks");

	tcase_add_unchecked_fixture(tc, make_keys, free_keys);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, binds_by_alg_member_or_kty);
	tcase_add_loop_test(tc, unusable_key, 0,
	    sizeof(unusable_cases) / sizeof(unusable_cases[0]));
	tcase_add_test(tc, missing_members);
	tcase_add_test(tc, hostile_sets);
	tcase_add_test(tc, same_kid_other_alg_is_fine);
	tcase_add_test(tc, selects_by_kid_and_alg);
	tcase_add_test(tc, no_kid_only_when_one_key_has_the_alg);
	tcase_add_test(tc, key_never_from_the_token);
	tcase_add_test(tc, single_key_ignores_kid);
	tcase_add_test(tc, keyring);
	suite_add_tcase(s, tc);
	return s;
}
