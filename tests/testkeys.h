/*
 * testkeys.h — keys and tokens for the tests.
 *
 * Well-formed tokens are minted with libjwt, an implementation independent
 * of mediagate's verifier; hostile ones (odd headers, duplicate claims,
 * HMAC over a public key) are assembled by hand with tk_hs_raw().
 */
#ifndef MG_TESTKEYS_H
#define MG_TESTKEYS_H

#include <stddef.h>

#include "jws.h"
#include "jwks.h"

struct testkey {
	enum jws_alg	 alg;
	char		*priv;		/* HMAC secret or PEM private key */
	size_t		 priv_len;
	char		*pub;		/* HMAC secret or PEM public key */
	size_t		 pub_len;
	struct jws_key	 verify;	/* pub, prepared as mediagate would */
};

/* Generate a fresh key: 48 random bytes for HS*, RSA 2048 for RS*, the
 * matching curve for ES*.  Aborts the test program on failure. */
void	 tk_generate(struct testkey *k, enum jws_alg alg);
/* Load a key from files (priv_path may equal pub_path for HMAC). */
void	 tk_load(struct testkey *k, enum jws_alg alg, const char *priv_path,
	    const char *pub_path);
void	 tk_free(struct testkey *k);

/* The verification key mediagate would be configured with; it belongs to
 * k and lives until tk_free(k). */
struct jws_key tk_verify_key(const struct testkey *k);

/* k's public half (or secret) as a one-key set, the way a single-key
 * variable is loaded; the caller frees it with jwks_free(). */
struct jwks *tk_verify_set(const struct testkey *k);

/* Mint with libjwt: header {"alg":…,"typ":"JWT"}, claims from JSON text.
 * Returns a malloc'd string. */
char	*tk_mint(const struct testkey *k, const char *claims_json);

/* Assemble b64url(header).b64url(payload).b64url(HMAC-SHA-n(key)) with n
 * from hs_alg ("HS256"/"HS384"/"HS512"), over the exact bytes given.
 * Returns a malloc'd string. */
char	*tk_hs_raw(const void *key, size_t key_len, const char *hs_alg,
	    const char *header_json, const char *payload_json);

/* A file name under dir with content; returns malloc'd path. */
char	*tk_write_file(const char *dir, const char *name, const void *data,
	    size_t len, unsigned mode);

#endif
