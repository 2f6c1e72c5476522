/*
 * jws.h — verification of compact JWS (RFC 7515) tokens with one pinned
 * algorithm and one key from configuration.
 *
 * libjwt 1.10 takes the algorithm from the token's own header and skips
 * verification when the key is empty, so the header is checked here first:
 * its "alg" must equal the configured algorithm exactly, which refuses
 * "none" (in any spelling) and HMAC tokens presented to an RSA/EC key.
 * Header members that carry or locate a key (jku, x5u, jwk, x5c) are
 * ignored: the key comes from configuration only.  "kid" only chooses
 * among configured keys, through jws_verify_pick() (jwks.c).
 *
 * Signatures are checked here with libcrypto, and the claims are read by
 * one parser (yajl, through sjson) whatever the algorithm.  libjwt 1.10
 * would parse an RSA/EC PEM key again on every verification, and its JSON
 * parser refuses some payloads yajl reads, so an HMAC token and an RSA
 * token with the same claims could fare differently.  The download tokens
 * are written by mint.c, byte for byte as libjwt writes them; the tests
 * use libjwt as an independent reference for both directions.
 */
#ifndef MG_JWS_H
#define MG_JWS_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#define JWS_MAX_LEN	8192	/* longest compact token accepted */

enum jws_alg {
	JWS_HS256, JWS_HS384, JWS_HS512,
	JWS_RS256, JWS_RS384, JWS_RS512,
	JWS_ES256, JWS_ES384, JWS_ES512,
};

struct jws_key {
	enum jws_alg	 alg;
	unsigned char	*bytes;	/* HMAC secret, or PEM public key text */
	size_t		 len;	/* length of bytes (PEM: without NUL) */
	void		*pkey;	/* after jws_key_prepare(), owned by the
				   key: RS/ES the parsed EVP_PKEY, HS an
				   EVP_MAC_CTX holding the secret */
};

enum jws_result {
	JWS_OK = 0,
	JWS_MALFORMED,		/* not three base64url parts of JSON */
	JWS_WRONG_ALG,		/* header alg is not the pinned one */
	JWS_BAD_SIGNATURE,	/* signature does not verify */
	JWS_UNKNOWN_KEY,	/* no configured key for the header's kid */
};

/* The header members that choose the key. */
struct jws_header {
	enum jws_alg	 alg;
	const char	*kid;	/* NULL: no kid, or not a string; borrowed
				   for the call */
	int		 has_kid;	/* the header has a kid member */
};

/*
 * Choose the key for a token whose header is hdr, or return NULL with *res
 * set to JWS_WRONG_ALG or JWS_UNKNOWN_KEY.  The key returned must have
 * alg == hdr->alg.
 */
typedef const struct jws_key *(*jws_pick_fn)(const void *arg,
    const struct jws_header *hdr, enum jws_result *res);

/* Parse an algorithm name ("HS256" …, exact case); 0 on success. */
int		 jws_alg_parse(const char *name, enum jws_alg *out);
const char	*jws_alg_name(enum jws_alg alg);
int		 jws_alg_is_hmac(enum jws_alg alg);

/*
 * Do once what every verification would otherwise repeat.  RS and ES:
 * parse the PEM public key and check that it suits the algorithm (RSA of
 * at least 2048 bits; EC on the algorithm's curve).  HS: set up an HMAC
 * context with the secret, which each verification re-initialises.  0 on
 * success; -1 with a one-line reason in err.  jws_key_release() frees
 * what it made.
 */
int	jws_key_prepare(struct jws_key *key, char *err, size_t errsz);
void	jws_key_release(struct jws_key *key);

/*
 * RS and ES: prepare key from an already parsed public key (an EVP_PKEY,
 * e.g. converted from a JWK), with the same checks as jws_key_prepare().
 * pkey is taken over, and freed on failure too.
 */
int	jws_key_adopt(struct jws_key *key, void *pkey, char *err,
	    size_t errsz);

/*
 * Verify token[0..len) against key.  On JWS_OK, *claims is the payload as a
 * JSON object without duplicate names; the caller owns it and frees it with
 * sjson_free().  On failure *claims is NULL.
 */
enum jws_result jws_verify(const struct jws_key *key, const char *token,
    size_t len, yajl_val *claims);

struct sigcache;

/*
 * Same, with the key chosen by pick(arg, header) once the header is known
 * to be well formed and to name an algorithm mediagate knows.  jws_verify()
 * is this with a pick that returns key when the algorithms are equal, and
 * no cache.
 *
 * seen (may be NULL): the signatures already verified under the keys pick
 * chooses from (sigcache.h), consulted and filled for RS and ES keys only
 * (an HMAC costs no more than the hash that would look it up); now is the
 * clock for its entries.  Only the signature check is skipped on a hit.
 */
enum jws_result jws_verify_pick(jws_pick_fn pick, const void *arg,
    struct sigcache *seen, long long now, const char *token, size_t len,
    yajl_val *claims);

/*
 * base64url without padding (RFC 7515 §2).  jws_b64_decode returns the
 * decoded length, or -1 for characters outside the alphabet, an impossible
 * length or a non-canonical last character (pad bits not zero, RFC 4648
 * §3.5); out must hold len * 3 / 4 + 1 bytes (a NUL is added).
 */
long	jws_b64_decode(const char *in, size_t len, unsigned char *out);
/* Append the encoding of in[0..len) to out (capacity len*4/3+3), NUL added;
 * returns the encoded length. */
size_t	jws_b64_encode(const unsigned char *in, size_t len, char *out);

#endif
