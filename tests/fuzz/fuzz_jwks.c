/*
 * fuzz_jwks.c — jwks_parse() over any key file content, as a bearer set
 * with three MEDIAGATE_JWT_ALG lists (every algorithm; RS256,ES256; and
 * HS256,RS256,RS512, where RSA keys without alg are ambiguous) and as a
 * download-token keyring; then jwks_pick() and the secret checks on what
 * was accepted.
 *
 * Invariants: a refused set leaves *out NULL and one line in err; an
 * accepted one has a usable key, every usable key is prepared and bound to
 * a listed algorithm (HS256 in a keyring, where every key is usable and
 * has a kid), kids are printable, and the key picked for a usable key's
 * kid and algorithm is a key of that algorithm.
 */
#include "fuzz.h"
#include "jwks.h"

static const enum jws_alg every[] = { JWS_HS256, JWS_HS384, JWS_HS512,
    JWS_RS256, JWS_RS384, JWS_RS512, JWS_ES256, JWS_ES384, JWS_ES512 };
static const enum jws_alg rs_es[] = { JWS_RS256, JWS_ES256 };
static const enum jws_alg ambiguous[] = { JWS_HS256, JWS_RS256, JWS_RS512 };

static void
check_set(const struct jwks *set, enum jwks_kind kind,
    const enum jws_alg *algs, size_t nalgs)
{
	const struct jwks_entry *e;
	const struct jws_key *k;
	struct jws_header hdr;
	enum jws_result res;
	size_t i, j, usable = 0;
	const char *p;

	FUZZ_ASSERT(set->kind == kind && set->n <= JWKS_MAX_KEYS);
	for (i = 0; i < set->n; i++) {
		e = &set->keys[i];
		if (e->kid != NULL) {
			FUZZ_ASSERT(*e->kid != '\0' &&
			    strlen(e->kid) <= JWKS_KID_MAX);
			for (p = e->kid; *p != '\0'; p++)
				FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f);
		}
		if (!e->usable) {
			FUZZ_ASSERT(kind == JWKS_BEARER);
			FUZZ_ASSERT(e->why[0] != '\0' &&
			    strchr(e->why, '\n') == NULL);
			continue;
		}
		usable++;
		FUZZ_ASSERT(e->key.pkey != NULL);
		for (j = 0; j < nalgs && algs[j] != e->key.alg; j++)
			;
		FUZZ_ASSERT(j < nalgs);
		if (jws_alg_is_hmac(e->key.alg))
			FUZZ_ASSERT(e->key.len >= JWKS_SECRET_MIN);
		if (kind == JWKS_KEYRING)
			FUZZ_ASSERT(e->kid != NULL);
		hdr.alg = e->key.alg;
		hdr.kid = e->kid;
		hdr.has_kid = e->kid != NULL;
		k = jwks_pick(set, &hdr, &res);
		if (e->kid != NULL)
			FUZZ_ASSERT(k != NULL);
		if (k != NULL)
			FUZZ_ASSERT(k->alg == e->key.alg);
	}
	FUZZ_ASSERT(usable == set->usable && usable > 0);
	FUZZ_ASSERT(jwks_signer(set) != NULL && jwks_signer(set)->usable);
	FUZZ_ASSERT(jwks_share_secret(set, set) == jwks_has_secret(set));
}

static void
one(enum jwks_kind kind, const uint8_t *data, size_t size,
    const enum jws_alg *algs, size_t nalgs)
{
	struct jwks *set = (struct jwks *)&set;
	char err[256];

	memset(err, 0, sizeof(err));
	if (jwks_parse(kind, (const char *)data, size, algs, nalgs, &set, err,
	    sizeof(err)) != 0) {
		FUZZ_ASSERT(set == NULL);
		FUZZ_ASSERT(err[0] != '\0' && strchr(err, '\n') == NULL);
		return;
	}
	FUZZ_ASSERT(set != NULL);
	check_set(set, kind, kind == JWKS_KEYRING ? every : algs,
	    kind == JWKS_KEYRING ? 1 : nalgs);
	jwks_free(set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(JWKS_BEARER, data, size, every, 9);
	one(JWKS_BEARER, data, size, rs_es, 2);
	one(JWKS_BEARER, data, size, ambiguous, 3);
	one(JWKS_KEYRING, data, size, NULL, 0);
	return 0;
}
