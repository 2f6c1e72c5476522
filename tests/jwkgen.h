/*
 * jwkgen.h — test keys as JSON Web Keys, made independently of mediagate:
 * key pairs from libcrypto, JWK members (RFC 7518 §6) exported with
 * libcrypto's parameter getters and OpenSSL's base64, tokens signed with
 * libjwt.  Nothing here calls src/.
 */
#ifndef MG_JWKGEN_H
#define MG_JWKGEN_H

#include <stddef.h>

#include <openssl/evp.h>

#include "jws.h"

struct jwkgen {
	enum jws_alg	 alg;		/* what jg_sign() signs with */
	EVP_PKEY	*pk;		/* RS/ES key pair; NULL for oct */
	unsigned char	 secret[128];	/* oct */
	size_t		 secret_len;
	char		*members;	/* "kty":...  (no braces) */
	char		*priv_pem;	/* RS/ES private key for libjwt */
};

/* RSA of bits bits, for alg (RS*). */
void	 jg_rsa(struct jwkgen *k, enum jws_alg alg, int bits);
/* EC on curve ("P-256", "P-384", "P-521"), for alg (ES*). */
void	 jg_ec(struct jwkgen *k, enum jws_alg alg, const char *curve);
/* oct of len random bytes, for alg (HS*). */
void	 jg_oct(struct jwkgen *k, enum jws_alg alg, size_t len);
/* The same from a PEM private key, or from given secret bytes. */
void	 jg_from_pem(struct jwkgen *k, enum jws_alg alg, const char *pem);
void	 jg_oct_bytes(struct jwkgen *k, enum jws_alg alg,
	    const unsigned char *b, size_t len);
void	 jg_free(struct jwkgen *k);

/* {"kty":...,extra} ; extra is more members ("\"kid\":\"a\"") or NULL.
 * The caller frees the result. */
char	*jg_jwk(const struct jwkgen *k, const char *extra);

/* A compact JWS by libjwt over claims_json with k's key and alg, and a
 * kid header when kid is not NULL.  Caller frees. */
char	*jg_sign(const struct jwkgen *k, enum jws_alg alg, const char *kid,
	    const char *claims_json);

/* base64url without padding of in[0..len) (OpenSSL's encoder). */
char	*jg_b64url(const unsigned char *in, size_t len);

#endif
