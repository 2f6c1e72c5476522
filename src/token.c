/* token.c — mint and check download tokens. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mint.h"
#include "sjson.h"
#include "token.h"

#define TOKEN_SKEW	1	/* seconds; responders' clocks may differ */

_Static_assert(TOKEN_MAX_LEN <= ROUTE_TOKEN_MAX,
    "an issued token must fit the download route");
_Static_assert(TOKEN_MAX_LEN <= JWS_MAX_LEN,
    "an issued token must fit the verifier");
_Static_assert(JWKS_KID_MAX <= TOKEN_KID_MAX,
    "a keyring's kid must fit TOKEN_MAX_LEN");

/* Fill p with n bytes from the kernel CSPRNG (getrandom(2)). */
static int
getrandom_all(unsigned char *p, size_t n)
{
	ssize_t got;

	while (n > 0) {
		got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/*
 * n bytes (n <= RANDOM_POOL) of the kernel CSPRNG, taken from a pool that
 * one getrandom(2) fills for sixteen jti values instead of one system call
 * each.  Bytes handed out are wiped from the pool; the pool is this
 * process's alone (responders are started by exec, never forked from one
 * another, so no two share it).
 */
#define RANDOM_POOL	256

static int
random_bytes(unsigned char *p, size_t n)
{
	static unsigned char pool[RANDOM_POOL];
	static size_t left;

	if (n > sizeof(pool))
		return getrandom_all(p, n);
	if (left < n) {
		if (getrandom_all(pool, sizeof(pool)) != 0)
			return -1;
		left = sizeof(pool);
	}
	left -= n;
	memcpy(p, pool + left, n);
	explicit_bzero(pool + left, n);
	return 0;
}

enum mg_err
token_mint(const struct token_ctx *ctx, const char *id, const char *tenant,
    time_t now, struct buf *out, const char **why)
{
	return token_mint_jti(ctx, id, tenant, now, out, NULL, why);
}

enum mg_err
token_mint_jti(const struct token_ctx *ctx, const char *id,
    const char *tenant, time_t now, struct buf *out, char *jti_out,
    const char **why)
{
	unsigned char rnd[TOKEN_JTI_BYTES];
	char jti[TOKEN_JTI_BYTES * 4 / 3 + 3];
	const struct jwks_entry *signer = jwks_signer(ctx->keys);
	struct mint_claims c;
	size_t start;

	if (random_bytes(rnd, sizeof(rnd)) != 0) {
		*why = "getrandom failed";
		return MG_EINTERNAL;
	}
	jws_b64_encode(rnd, sizeof(rnd), jti);
	if (jti_out != NULL)
		strcpy(jti_out, jti);	/* 22 characters <= TOKEN_JTI_MAX */

	c = (struct mint_claims){
		.sub = id, .tenant = ctx->tenant_on ? tenant : NULL,
		.iat = (long long)now, .exp = (long long)now + ctx->ttl,
		.jti = jti,
	};
	/* Written directly (mint.c): libjwt's jansson trees, dump and libb64
	 * were two thirds of an issue's instructions; its output is the
	 * same, byte for byte (unit_token), and libjwt remains the tests'
	 * reference. */
	start = out->len;
	if (mint_hs256(&signer->key, signer->kid, &c, AUTH_TENANT_MAX,
	    out) != MG_OK) {
		*why = "the token could not be signed";
		return MG_EINTERNAL;
	}
	/* Cannot happen (TOKEN_MAX_LEN); a token we would refuse is not
	 * issued. */
	if (out->len - start > TOKEN_MAX_LEN) {
		out->len = start;
		out->ptr[start] = '\0';
		*why = "the token is longer than TOKEN_MAX_LEN";
		return MG_EINTERNAL;
	}
	*why = NULL;
	return MG_OK;
}

enum mg_err
token_check_claims(const struct token_ctx *ctx, yajl_val claims,
    const char *id, time_t now, char *tenant, const char **why)
{
	const char *sub = sjson_string(sjson_get(claims, "sub")), *ten;
	long long exp;

	/*
	 * mediagate mints exp as an integer (token_mint), so a download token
	 * with a fractional or exponent exp was not made here, even if it
	 * verifies: it is refused rather than rounded (unlike a bearer's,
	 * RFC 7519 §2, whose issuer is someone else).
	 */
	*tenant = '\0';
	if (sub == NULL || !sjson_integer(sjson_get(claims, "exp"), &exp)) {
		*why = "The download token is malformed.";
		return MG_EFORBIDDEN;
	}
	if (strcmp(sub, id) != 0) {
		*why = "The download token is for another media.";
		return MG_EFORBIDDEN;
	}
	if (ctx->tenant_on) {
		ten = sjson_string(sjson_get(claims, "tenant"));
		if (ten == NULL || *ten == '\0' ||
		    strlen(ten) > AUTH_TENANT_MAX) {
			*why = "The download token names no tenant.";
			return MG_EFORBIDDEN;
		}
		strcpy(tenant, ten);
	}
	/* Valid through its whole lifetime so resumed downloads work. */
	if ((long long)now - TOKEN_SKEW >= exp) {
		*why = "The download token has expired.";
		return MG_EEXPIRED;
	}
	*why = NULL;
	return MG_OK;
}

enum mg_err
token_check(const struct token_ctx *ctx, const char *token, const char *id,
    time_t now, char *tenant, const char **why)
{
	char jti[TOKEN_JTI_MAX + 1];

	return token_check_jti(ctx, token, id, now, tenant, jti, why);
}

enum mg_err
token_check_jti(const struct token_ctx *ctx, const char *token,
    const char *id, time_t now, char *tenant, char *jti, const char **why)
{
	yajl_val claims;
	enum mg_err err;
	const char *j;

	*tenant = '\0';
	*jti = '\0';
	if (jwks_verify(ctx->keys, token, strlen(token), (long long)now,
	    &claims) != JWS_OK) {
		*why = "The download token is malformed or forged.";
		return MG_EFORBIDDEN;
	}
	j = sjson_string(sjson_get(claims, "jti"));
	if (j != NULL && strlen(j) <= TOKEN_JTI_MAX)
		strcpy(jti, j);
	err = token_check_claims(ctx, claims, id, now, tenant, why);
	sjson_free(claims);
	return err;
}
