/*
 * unit_sigcache.c — the cache of verified signatures (sigcache.h): the
 * table itself (hits, expiry, a full set), and what it may and may not
 * vouch for once a key set uses it (jwks_verify, auth_bearer): only the
 * exact bytes it verified, under the set that verified them, until their
 * exp, with every claim still checked on each use.  Tokens are signed by
 * libjwt (tests/jwkgen.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "jwkgen.h"
#include "jwks.h"
#include "sigcache.h"
#include "sjson.h"
#include "unit_suites.h"

#define NOW	1700000000LL

static void
digest_of(unsigned n, unsigned char d[SIGCACHE_DIGEST])
{
	memset(d, 0, SIGCACHE_DIGEST);
	memcpy(d, &n, sizeof(n));
	d[SIGCACHE_DIGEST - 1] = 0x5a;
}

START_TEST(table_hits_until_exp)
{
	struct sigcache *c = sigcache_new(16);
	unsigned char a[SIGCACHE_DIGEST], b[SIGCACHE_DIGEST];
	unsigned long long hits, misses;

	digest_of(1, a);
	digest_of(2, b);
	ck_assert(!sigcache_seen(c, a, NOW));		/* empty */
	sigcache_store(c, a, NOW + 60, NOW);
	ck_assert(sigcache_seen(c, a, NOW));
	ck_assert(sigcache_seen(c, a, NOW + 59));
	ck_assert(!sigcache_seen(c, b, NOW));		/* never stored */
	b[SIGCACHE_DIGEST - 1] ^= 1;
	ck_assert(!sigcache_seen(c, b, NOW));
	/* At its exp the entry goes, and stays gone. */
	ck_assert(!sigcache_seen(c, a, NOW + 60));
	ck_assert(!sigcache_seen(c, a, NOW));
	/* Nothing is kept for a token already expired. */
	sigcache_store(c, b, NOW, NOW);
	ck_assert(!sigcache_seen(c, b, NOW - 1));
	/* What the metrics take: the lookups since the last take. */
	sigcache_take(c, &hits, &misses);
	ck_assert_uint_eq(hits, 2);
	ck_assert_uint_eq(misses, 6);
	ck_assert(sigcache_seen(c, a, NOW) == false);
	sigcache_take(c, &hits, &misses);
	ck_assert_uint_eq(hits, 0);
	ck_assert_uint_eq(misses, 1);
	sigcache_take(NULL, &hits, &misses);
	ck_assert_uint_eq(hits + misses, 0);
	sigcache_free(c);
	sigcache_free(NULL);
	ck_assert_ptr_null(sigcache_new(0));
}
END_TEST

/* One set of SIGCACHE_WAYS entries: a fifth token takes the place of the
 * one that expires first, the others stay. */
START_TEST(table_full_set_drops_soonest)
{
	struct sigcache *c = sigcache_new(1);
	unsigned char d[SIGCACHE_WAYS + 1][SIGCACHE_DIGEST];
	unsigned i;

	for (i = 0; i <= SIGCACHE_WAYS; i++)
		digest_of(i, d[i]);
	for (i = 0; i < SIGCACHE_WAYS; i++)
		sigcache_store(c, d[i], NOW + 100 + (i == 2 ? -50 : (long)i),
		    NOW);
	sigcache_store(c, d[SIGCACHE_WAYS], NOW + 500, NOW);
	for (i = 0; i <= SIGCACHE_WAYS; i++)
		ck_assert_msg(sigcache_seen(c, d[i], NOW) == (i != 2),
		    "entry %u", i);
	/* Storing again what is there keeps one entry, with the new exp. */
	sigcache_store(c, d[0], NOW + 1000, NOW);
	ck_assert(sigcache_seen(c, d[0], NOW + 900));
	ck_assert(sigcache_seen(c, d[1], NOW));
	sigcache_free(c);
}
END_TEST

static struct jwkgen rs, rs_other, es, hs;

static void
make_keys(void)
{
	jg_rsa(&rs, JWS_RS256, 2048);
	jg_rsa(&rs_other, JWS_RS256, 2048);
	jg_ec(&es, JWS_ES256, "P-256");
	jg_oct(&hs, JWS_HS256, 32);
}

static void
free_keys(void)
{
	jg_free(&rs);
	jg_free(&rs_other);
	jg_free(&es);
	jg_free(&hs);
}

static struct jwks *
set_with(const struct jwkgen *k, const char *kid)
{
	static const enum jws_alg algs[] = { JWS_RS256, JWS_ES256, JWS_HS256 };
	char extra[64], *jwk, json[4096];
	struct jwks *set;
	char err[256];

	snprintf(extra, sizeof(extra), "\"kid\":\"%s\"", kid);
	jwk = jg_jwk(k, extra);
	snprintf(json, sizeof(json), "{\"keys\":[%s]}", jwk);
	free(jwk);
	ck_assert_msg(jwks_parse(JWKS_BEARER, json, strlen(json), algs, 3,
	    &set, err, sizeof(err)) == 0, "refused: %s", err);
	return set;
}

static enum jws_result
verify_at(const struct jwks *set, const char *tok, long long now)
{
	enum jws_result res;
	yajl_val claims;

	res = jwks_verify(set, tok, strlen(tok), now, &claims);
	sjson_free(claims);
	return res;
}

/* Hits of set's cache since the last look. */
static unsigned long long
hits_of(const struct jwks *set)
{
	unsigned long long hits, misses;

	sigcache_take(set->seen, &hits, &misses);
	return hits;
}

#define CLAIMS_EXP(e) "{\"sub\":\"u1\",\"exp\":" #e "}"

/* RS and ES: the second verification of the same bytes is a hit; one
 * byte of the signature changed is not, and does not verify. */
START_TEST(set_hits_only_the_same_bytes)
{
	const struct jwkgen *keys[] = { &rs, &es };
	struct jwks *set;
	char *tok, *bad;
	size_t len;
	int i;

	for (i = 0; i < 2; i++) {
		set = set_with(keys[i], "k");
		ck_assert_ptr_nonnull(set->seen);
		tok = jg_sign(keys[i], keys[i]->alg, "k",
		    CLAIMS_EXP(1700000600));
		ck_assert_int_eq(verify_at(set, tok, NOW), JWS_OK);
		ck_assert_uint_eq(hits_of(set), 0);
		ck_assert_int_eq(verify_at(set, tok, NOW + 1), JWS_OK);
		ck_assert_uint_eq(hits_of(set), 1);
		bad = strdup(tok);
		len = strlen(bad);
		bad[len - 2] = bad[len - 2] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(verify_at(set, bad, NOW), JWS_BAD_SIGNATURE);
		ck_assert_int_eq(verify_at(set, bad, NOW), JWS_BAD_SIGNATURE);
		ck_assert_uint_eq(hits_of(set), 0);
		/* At its exp the entry is gone: verified again (and the
		 * claims check refuses it, see below). */
		ck_assert_int_eq(verify_at(set, tok, 1700000600), JWS_OK);
		ck_assert_uint_eq(hits_of(set), 0);
		free(bad);
		free(tok);
		jwks_free(set);
	}
}
END_TEST

/* A reload makes a new set: what the old one verified is nothing to it,
 * so a token of a key that is gone is refused at once. */
START_TEST(new_set_starts_empty)
{
	struct jwks *old = set_with(&rs, "k"), *new = set_with(&rs_other, "k");
	char *tok = jg_sign(&rs, JWS_RS256, "k", CLAIMS_EXP(1700000600));

	ck_assert_int_eq(verify_at(old, tok, NOW), JWS_OK);
	ck_assert_int_eq(verify_at(old, tok, NOW), JWS_OK);
	ck_assert_uint_eq(hits_of(old), 1);
	ck_assert_int_eq(verify_at(new, tok, NOW), JWS_BAD_SIGNATURE);
	ck_assert_uint_eq(hits_of(new), 0);
	free(tok);
	jwks_free(old);
	jwks_free(new);
}
END_TEST

/* HMAC sets have no cache: a hash would cost what the HMAC does. */
START_TEST(hmac_set_has_none)
{
	struct jwks *set = set_with(&hs, "h");

	ck_assert_ptr_null(set->seen);
	jwks_free(set);
}
END_TEST

/* The cache vouches for the signature only: every claim is checked on
 * every use, against the clock and the policy of the moment. */
START_TEST(claims_checked_on_every_use)
{
	static const struct auth_policy pol = {
		NULL, "api", "tenant", "media:read", 0,
	};
	static const struct auth_policy other_aud = {
		NULL, "other", "tenant", "media:read", 0,
	};
	struct jwks *set = set_with(&es, "k");
	struct principal who;
	const char *why;
	char *tok, header[2048];

	tok = jg_sign(&es, JWS_ES256, "k", "{\"aud\":\"api\","
	    "\"tenant\":\"acme\",\"permissions\":[\"media:read\"],"
	    "\"nbf\":1700000100,\"exp\":1700000600}");
	snprintf(header, sizeof(header), "Bearer %s", tok);
	ck_assert_int_eq(auth_bearer(set, &pol, header, NOW + 200, &who, &why),
	    MG_OK);
	ck_assert_str_eq(who.tenant, "acme");
	ck_assert_int_eq(auth_bearer(set, &other_aud, header, NOW + 200, &who,
	    &why), MG_EAUTH);
	ck_assert_str_eq(why, "The bearer token is for another audience.");
	ck_assert_int_eq(auth_bearer(set, &pol, header, NOW + 50, &who, &why),
	    MG_EAUTH);
	ck_assert_str_eq(why, "The bearer token is not valid yet.");
	ck_assert_uint_eq(hits_of(set), 2);
	ck_assert_int_eq(auth_bearer(set, &pol, header, 1700000600, &who,
	    &why), MG_EAUTH);
	ck_assert_str_eq(why, "The bearer token has expired.");
	free(tok);
	jwks_free(set);
}
END_TEST

Suite *
suite_sigcache(void)
{
	Suite *s = suite_create("sigcache");
	TCase *tc = tcase_create("sigcache");

	tcase_add_unchecked_fixture(tc, make_keys, free_keys);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table_hits_until_exp);
	tcase_add_test(tc, table_full_set_drops_soonest);
	tcase_add_test(tc, set_hits_only_the_same_bytes);
	tcase_add_test(tc, new_set_starts_empty);
	tcase_add_test(tc, hmac_set_has_none);
	tcase_add_test(tc, claims_checked_on_every_use);
	suite_add_tcase(s, tc);
	return s;
}
