/*
 * token.h — download tokens: compact JWS, HS256, signed with the token
 * secret, claims sub (media id), tenant (with isolation on), iat, exp and a
 * random jti.  Self-contained, so any responder with the secret checks it.
 *
 * With a keyring (MEDIAGATE_TOKEN_JWKS_FILE) the first key signs and its
 * kid goes into the header; a token verifies only with the key its kid
 * names (contract §4).  A single secret signs without kid, as before.
 */
#ifndef MG_TOKEN_H
#define MG_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "jws.h"
#include "jwks.h"
#include "route.h"

#define TOKEN_JTI_BYTES	16	/* 128 random bits */

/*
 * The longest token token_mint() can make, so that every token mediagate
 * issues fits every limit it checks (ROUTE_TOKEN_MAX, JWS_MAX_LEN; static
 * assertions in token.c).  The JSON is what libjwt/jansson writes (mint.c
 * writes the same bytes), compact, where
 * one input byte becomes at most 6 ("\u0001"):
 *   header  {"alg":"HS256","kid":"<kid>","typ":"JWT"}, a kid of up to
 *           TOKEN_KID_MAX printable characters (2 bytes each at worst);
 *   payload {"exp":N,"iat":N,"jti":"<22>","sub":"<id>","tenant":"<t>"},
 *           N of up to 20 characters, the id of ROUTE_ID_MAX unescaped
 *           characters, the tenant of AUTH_TENANT_MAX bytes, 6 each;
 *   signature 32 bytes; all three base64url, joined by two dots.
 */
#define TOKEN_KID_MAX		128	/* longest kid a key set may give */
#define TOKEN_B64_LEN(n)	(((n) * 4 + 2) / 3)
#define TOKEN_HEADER_JSON_MAX	(sizeof("{\"alg\":\"HS256\",\"kid\":\"\","	\
	"\"typ\":\"JWT\"}") - 1 + 2 * TOKEN_KID_MAX)
#define TOKEN_PAYLOAD_JSON_MAX	(sizeof("{\"exp\":,\"iat\":,\"jti\":\"\","	\
	"\"sub\":\"\",\"tenant\":\"\"}") - 1 + 2 * 20 +			\
	TOKEN_B64_LEN(TOKEN_JTI_BYTES) + ROUTE_ID_MAX + 6 * AUTH_TENANT_MAX)
#define TOKEN_MAX_LEN	(TOKEN_B64_LEN(TOKEN_HEADER_JSON_MAX) + 1 +	\
	TOKEN_B64_LEN(TOKEN_PAYLOAD_JSON_MAX) + 1 + TOKEN_B64_LEN(32))

struct token_ctx {
	const struct jwks *keys;	/* HS256; borrowed from the config */
	long		 ttl;		/* lifetime in seconds */
	int		 tenant_on;	/* put/check the tenant claim */
};

/*
 * Mint a token for media id of tenant (ignored when isolation is off) at
 * time now, appending it to out.  MG_EINTERNAL if randomness or signing
 * fails (the cause goes to *why, for the log only).
 */
enum mg_err token_mint(const struct token_ctx *ctx, const char *id,
    const char *tenant, time_t now, struct buf *out, const char **why);

/*
 * Check token for media id at time now.  MG_OK fills tenant (capacity
 * AUTH_TENANT_MAX + 1; "" with isolation off); MG_EFORBIDDEN for anything
 * malformed, forged or for another media; MG_EEXPIRED once it has expired
 * (1 s of skew allowed between responders).
 */
enum mg_err token_check(const struct token_ctx *ctx, const char *token,
    const char *id, time_t now, char *tenant, const char **why);

/* token_mint(), and the new token's jti copied into jti (capacity
 * TOKEN_JTI_MAX + 1), for the audit log. */
enum mg_err token_mint_jti(const struct token_ctx *ctx, const char *id,
    const char *tenant, time_t now, struct buf *out, char *jti,
    const char **why);

/*
 * token_check(), and when the signature verified (whatever the outcome
 * then), the token's jti copied into jti (capacity TOKEN_JTI_MAX + 1;
 * "" when absent, not a string or too long), for the audit log.
 */
#define TOKEN_JTI_MAX	64
enum mg_err token_check_jti(const struct token_ctx *ctx, const char *token,
    const char *id, time_t now, char *tenant, char *jti, const char **why);

/* Same rules on already-verified claims (pure, for tests and fuzzing). */
enum mg_err token_check_claims(const struct token_ctx *ctx, yajl_val claims,
    const char *id, time_t now, char *tenant, const char **why);

#endif
