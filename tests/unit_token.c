/* unit_token.c — minting and checking download tokens. */
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "mint.h"
#include "sjson.h"
#include "testkeys.h"
#include "token.h"
#include "unit_suites.h"

#define NOW	1700000000L

static struct testkey secret;
static struct token_ctx ctx;

static void
setup(void)
{
	struct jwks *keys;
	char err[256];

	tk_generate(&secret, JWS_HS256);
	ck_assert(jwks_single(JWS_HS256, (const unsigned char *)secret.pub,
	    secret.pub_len, &keys, err, sizeof(err)) == 0);
	ctx.keys = keys;
	ctx.ttl = 60;
	ctx.tenant_on = 1;
}

static void
teardown(void)
{
	jwks_free((struct jwks *)ctx.keys);
	tk_free(&secret);
}

static char *
mint(const char *id, const char *tenant, long now)
{
	struct buf b = { 0 };
	const char *why;

	ck_assert_int_eq(token_mint(&ctx, id, tenant, now, &b, &why), MG_OK);
	return b.ptr;
}

START_TEST(roundtrip)
{
	char tenant[AUTH_TENANT_MAX + 1];
	const char *why;
	char *tok = mint("m1", "acme", NOW);

	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_OK);
	ck_assert_str_eq(tenant, "acme");
	/* Valid for its whole lifetime, and one second of skew. */
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW + 60, tenant, &why),
	    MG_OK);
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW + 61, tenant, &why),
	    MG_EEXPIRED);
	ck_assert_int_eq(token_check(&ctx, tok, "m2", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	free(tok);
}
END_TEST

/* The claims are exactly sub, tenant, iat, exp = iat + ttl and a jti of
 * 128 random bits, and libjwt (an independent reader) verifies it. */
START_TEST(claims_and_libjwt)
{
	char *tok = mint("m1", "acme", NOW), *tok2 = mint("m1", "acme", NOW);
	const char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
	unsigned char payload[512];
	long n;
	yajl_val v;
	jwt_t *jwt = NULL;
	long long iat, exp;

	ck_assert_str_ne(tok, tok2);
	n = jws_b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload);
	ck_assert_int_gt(n, 0);
	v = sjson_parse_object((char *)payload, (size_t)n);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->u.object.len, 5);
	ck_assert_str_eq(sjson_string(sjson_get(v, "sub")), "m1");
	ck_assert_str_eq(sjson_string(sjson_get(v, "tenant")), "acme");
	ck_assert(sjson_integer(sjson_get(v, "iat"), &iat) && iat == NOW);
	ck_assert(sjson_integer(sjson_get(v, "exp"), &exp) && exp == NOW + 60);
	ck_assert_int_ge(strlen(sjson_string(sjson_get(v, "jti"))), 22);
	sjson_free(v);

	ck_assert_int_eq(jwt_decode(&jwt, tok, (unsigned char *)secret.priv,
	    (int)secret.priv_len), 0);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
	jwt_free(jwt);
	free(tok);
	free(tok2);
}
END_TEST

START_TEST(forged_and_malformed)
{
	struct testkey other;
	char tenant[AUTH_TENANT_MAX + 1];
	const char *why;
	char *tok;

	tk_generate(&other, JWS_HS256);
	tok = tk_hs_raw(other.priv, other.priv_len, "HS256",
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"m1\",\"tenant\":\"acme\","
	    "\"exp\":1700000060}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	free(tok);
	/* Correctly signed but without a tenant while isolation is on. */
	tok = tk_hs_raw(secret.priv, secret.priv_len, "HS256",
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"m1\",\"exp\":1700000060}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	ctx.tenant_on = 0;
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_OK);
	ctx.tenant_on = 1;
	free(tok);
	/* exp as a string. */
	tok = tk_hs_raw(secret.priv, secret.priv_len, "HS256",
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"m1\",\"tenant\":\"acme\","
	    "\"exp\":\"1700000060\"}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	free(tok);
	/* exp is ours and always an integer: a fraction is not rounded. */
	tok = tk_hs_raw(secret.priv, secret.priv_len, "HS256",
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"m1\",\"tenant\":\"acme\","
	    "\"exp\":1700000060.5}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	free(tok);
	/* A replay after expiry is 410, not 403. */
	tok = tk_hs_raw(secret.priv, secret.priv_len, "HS256",
	    "{\"alg\":\"HS256\"}", "{\"sub\":\"m1\",\"tenant\":\"acme\","
	    "\"exp\":1699999990}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EEXPIRED);
	free(tok);
	ck_assert_int_eq(token_check(&ctx, "", "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	ck_assert_int_eq(token_check(&ctx, "x.y.z", "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	tk_free(&other);
}
END_TEST

/*
 * The longest token mediagate can issue: the longest id, a tenant of
 * AUTH_TENANT_MAX bytes that jansson escapes 6 times over ("\u0001"),
 * 19-digit times.  It is issued, fits the download route and verifies.
 */
START_TEST(worst_case_token_fits)
{
	static const char *const fills[] = { "\x01", "\"", "\xf0\x9f\x98\x80",
	    "\x7f" };
	char id[ROUTE_ID_MAX + 1], tenant[AUTH_TENANT_MAX + 1];
	char got[AUTH_TENANT_MAX + 1];
	const long long big = 1000000000000000000LL;
	const char *why;
	struct route rt;
	struct buf tok = { 0 }, uri = { 0 };
	size_t i, j;

	memset(id, 'A', ROUTE_ID_MAX);
	id[ROUTE_ID_MAX] = '\0';
	for (i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) {
		tenant[0] = '\0';
		for (j = 0; strlen(tenant) + strlen(fills[i]) <=
		    AUTH_TENANT_MAX; j++)
			strcat(tenant, fills[i]);
		buf_reset(&tok);
		ck_assert_int_eq(token_mint(&ctx, id, tenant, (time_t)big, &tok,
		    &why), MG_OK);
		ck_assert_msg(tok.len <= TOKEN_MAX_LEN, "%zu > %zu", tok.len,
		    (size_t)TOKEN_MAX_LEN);
		ck_assert_uint_le(tok.len, ROUTE_TOKEN_MAX);
		buf_reset(&uri);
		buf_printf(&uri, "/api/media/%s/download/%s", id, tok.ptr);
		ck_assert_int_eq(route_match(uri.ptr, "/api", &rt, &why),
		    MG_OK);
		ck_assert_int_eq(rt.kind, ROUTE_DOWNLOAD);
		ck_assert_str_eq(rt.token, tok.ptr);
		ck_assert_int_eq(token_check(&ctx, rt.token, id, (time_t)big,
		    got, &why), MG_OK);
		ck_assert_str_eq(got, tenant);
	}
	buf_free(&tok);
	buf_free(&uri);
}
END_TEST

/* The audit log gets the jti of every token whose signature verified. */
START_TEST(jti_reported)
{
	char tenant[AUTH_TENANT_MAX + 1], jti[TOKEN_JTI_MAX + 1];
	const char *why;
	char *tok = mint("m1", "acme", NOW);

	ck_assert_int_eq(token_check_jti(&ctx, tok, "m1", NOW, tenant, jti,
	    &why), MG_OK);
	ck_assert_uint_ge(strlen(jti), 22);	/* 128 bits, base64url */
	ck_assert_int_eq(token_check_jti(&ctx, tok, "m2", NOW, tenant, jti,
	    &why), MG_EFORBIDDEN);
	ck_assert_uint_ge(strlen(jti), 22);	/* verified, wrong media */
	ck_assert_int_eq(token_check_jti(&ctx, tok, "m1", NOW + 3600, tenant,
	    jti, &why), MG_EEXPIRED);
	ck_assert_uint_ge(strlen(jti), 22);
	{
		char minted[TOKEN_JTI_MAX + 1];
		struct buf b = { 0 };

		ck_assert_int_eq(token_mint_jti(&ctx, "m1", "acme", NOW, &b,
		    minted, &why), MG_OK);
		ck_assert_int_eq(token_check_jti(&ctx, b.ptr, "m1", NOW,
		    tenant, jti, &why), MG_OK);
		ck_assert_str_eq(minted, jti);
		buf_free(&b);
	}
	tok[strlen(tok) - 2] ^= 1;	/* forged: no jti */
	ck_assert_int_eq(token_check_jti(&ctx, tok, "m1", NOW, tenant, jti,
	    &why), MG_EFORBIDDEN);
	ck_assert_str_eq(jti, "");
	free(tok);
}
END_TEST

/* libjwt, the reference: the token it makes of the same claims. */
static char *
libjwt_mint(const char *kid, const struct mint_claims *c)
{
	jwt_t *jwt = NULL;
	char *s;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grant(jwt, "sub", c->sub), 0);
	if (c->tenant != NULL)
		ck_assert_int_eq(jwt_add_grant(jwt, "tenant", c->tenant), 0);
	ck_assert_int_eq(jwt_add_grant_int(jwt, "iat", (long)c->iat), 0);
	ck_assert_int_eq(jwt_add_grant_int(jwt, "exp", (long)c->exp), 0);
	ck_assert_int_eq(jwt_add_grant(jwt, "jti", c->jti), 0);
	if (kid != NULL)
		ck_assert_int_eq(jwt_add_header(jwt, "kid", kid), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS256,
	    (unsigned char *)secret.priv, (int)secret.priv_len), 0);
	ck_assert_ptr_nonnull(s = jwt_encode_str(jwt));
	jwt_free(jwt);
	return s;
}

/* mint_hs256 writes, byte for byte, what libjwt writes for the same
 * claims: member order, jansson's escaping, base64url, the MAC. */
START_TEST(mint_as_libjwt)
{
	static const struct {
		const char *kid, *sub, *tenant;
		long long iat, exp;
	} cases[] = {
		{ NULL, "m1", "acme", NOW, NOW + 60 },
		{ NULL, "bench-1mib", NULL, 0, 1 },
		{ "2026-12", "a_b-C", "t\"q\\b/s", NOW, NOW + 3600 },
		{ "k \"1\"", "x", "\x01\x1f\b\f\n\r\t\x7f", -5, 99999999999LL },
		{ "\xc3\xa9", "M", "\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9", NOW, NOW },
	};
	const struct jws_key *key = &jwks_signer(ctx.keys)->key;
	struct buf b = { 0 };
	struct mint_claims c;
	char *ref;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = (struct mint_claims){ cases[i].sub, cases[i].tenant,
		    cases[i].iat, cases[i].exp, "AAECAwQFBgcICQoLDA0ODw" };
		buf_reset(&b);
		buf_puts(&b, "prefix:");
		ck_assert_int_eq(mint_hs256(key, cases[i].kid, &c,
		    AUTH_TENANT_MAX, &b), MG_OK);
		ref = libjwt_mint(cases[i].kid, &c);
		ck_assert_str_eq(b.ptr + 7, ref);
		ck_assert(strncmp(b.ptr, "prefix:", 7) == 0);
		free(ref);
	}
	/* Too long a string, or a key of another algorithm: nothing. */
	buf_reset(&b);
	c.tenant = "0123456789";
	ck_assert_int_eq(mint_hs256(key, NULL, &c, 9, &b), MG_EINTERNAL);
	ck_assert_int_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

Suite *
suite_token(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, jti_reported);
	tcase_add_test(tc, claims_and_libjwt);
	tcase_add_test(tc, forged_and_malformed);
	tcase_add_test(tc, worst_case_token_fits);
	tcase_add_test(tc, mint_as_libjwt);
	suite_add_tcase(s, tc);
	return s;
}
