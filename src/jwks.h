/*
 * jwks.h — key sets: the bearer JSON Web Key Set (RFC 7517 §5, contract
 * §3.1), the download-token keyring (§4), and the one-key sets that the
 * single-key variables make, so that every verification takes one path.
 *
 * A set is built completely from bytes (pure: no files, no clock) and is
 * immutable afterwards, but for its cache of verified signatures, which
 * only its own keys fill and which dies with it; a reload builds a new set
 * and swaps pointers (keys.c).  JWK members become keys through libjose
 * (jose_openssl_jwk_to_EVP_PKEY), the JSON is read by jansson, which libjose
 * works on; the checks and the verification itself are jws.c's.
 *
 * Binding (§3.1): each bearer key is bound to exactly one algorithm of
 * MEDIAGATE_JWT_ALG: its "alg" member when present, otherwise the single
 * listed algorithm its kty (and crv) fits.  A token is verified only with
 * the usable key whose kid AND algorithm equal the header's, so no key is
 * ever used with another algorithm than its own (the HMAC-with-RSA-bytes
 * confusion).  Members that would bring keys from elsewhere (x5u, x5c,
 * jku) are ignored.
 */
#ifndef MG_JWKS_H
#define MG_JWKS_H

#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "jws.h"

#define JWKS_MAX_KEYS	64	/* more keys in one set: refused */
#define JWKS_KID_MAX	128	/* longest kid accepted */
#define JWKS_SECRET_MIN	32	/* bytes of an oct (HMAC) key */

enum jwks_kind {
	JWKS_SINGLE,	/* one key of a single-key variable; kid ignored */
	JWKS_BEARER,	/* MEDIAGATE_JWT_JWKS_FILE */
	JWKS_KEYRING,	/* MEDIAGATE_TOKEN_JWKS_FILE: oct keys, kid required */
};

struct jwks_entry {
	char		*kid;		/* NULL: none */
	bool		 usable;
	char		 why[192];	/* not usable: the reason, one line */
	struct jws_key	 key;		/* alg is the binding; prepared when
					   usable; bytes: the HMAC secret */
};

struct jwks {
	enum jwks_kind		 kind;
	struct jwks_entry	*keys;	/* in file order */
	size_t			 n;
	size_t			 usable;	/* entries with usable set */
	struct sigcache		*seen;	/* RS/ES signatures verified under
					   these keys (sigcache.h), NULL
					   for HMAC-only sets; owned */
};

/*
 * Build a set of kind JWKS_BEARER or JWKS_KEYRING from the JSON text
 * json[0..len).  algs[0..nalgs) is MEDIAGATE_JWT_ALG (bearer; ignored for a
 * keyring, whose keys are all HS256).  A bearer set may hold unusable keys
 * (listed with their reason); a keyring may not.  0 with *out set (free
 * with jwks_free), or -1 with one line in err and *out NULL.
 */
int	jwks_parse(enum jwks_kind kind, const char *json, size_t len,
	    const enum jws_alg *algs, size_t nalgs, struct jwks **out,
	    char *err, size_t errsz);

/*
 * A one-key set for alg from a single-key variable: the HMAC secret or
 * the PEM public key in bytes[0..len) (copied).  Length rules are the
 * caller's; the key checks are jws_key_prepare()'s.  0, or -1 with the
 * reason in err ("not a PEM public key …").
 */
int	jwks_single(enum jws_alg alg, const unsigned char *bytes, size_t len,
	    struct jwks **out, char *err, size_t errsz);

/* Free set and wipe its secrets; NULL is fine. */
void	jwks_free(struct jwks *set);

/*
 * The key for a token header, per the set's kind: SINGLE, the key if the
 * algorithm is its own; BEARER, the usable key with the header's kid and
 * alg, or without kid the only usable key of that alg; KEYRING, the key
 * with the header's kid.  NULL with *res JWS_WRONG_ALG or JWS_UNKNOWN_KEY.
 * Fits jws_pick_fn with the set as arg.
 */
const struct jws_key *jwks_pick(const void *set,
	    const struct jws_header *hdr, enum jws_result *res);

/* jws_verify_pick() with jwks_pick over set, through set's cache of
 * verified signatures with now as its clock. */
enum jws_result jwks_verify(const struct jwks *set, const char *token,
	    size_t len, long long now, yajl_val *claims);

/* The key that signs new download tokens: the first usable one. */
const struct jwks_entry *jwks_signer(const struct jwks *set);

/* True if an HMAC secret of a is also one of b. */
bool	jwks_share_secret(const struct jwks *a, const struct jwks *b);

/* True if any key of set is an HMAC secret (the file must stay private). */
bool	jwks_has_secret(const struct jwks *set);

#endif
