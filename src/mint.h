/*
 * mint.h — compact HS256 JWS (RFC 7515 §7.1) for the download tokens,
 * written directly: the same bytes libjwt 1.10 writes for the same claims
 * (jansson's compact JSON with the members sorted by name, then
 * base64url), at a fraction of the cost.  libjwt built jansson trees,
 * dumped them, encoded with libb64 and looked the HMAC up by name for
 * every token: about two thirds of the instructions of an issue
 * (tests/bench/callgrind.sh).  libjwt stays the tests' reference:
 * unit_token compares the two byte for byte and decodes with libjwt.
 */
#ifndef MG_MINT_H
#define MG_MINT_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "jws.h"

/* The claims of a download token; tenant and kid NULL when absent. */
struct mint_claims {
	const char	*sub;
	const char	*tenant;
	long long	 iat;
	long long	 exp;
	const char	*jti;
};

/*
 * Append to out the token of claims signed with key (alg JWS_HS256,
 * prepared by jws_key_prepare), its header naming kid when not NULL.
 * Strings are JSON-escaped as jansson does.  MG_EINTERNAL (out unchanged)
 * when a string is longer than max_len bytes (at most 256) or the MAC
 * fails.
 */
enum mg_err mint_hs256(const struct jws_key *key, const char *kid,
    const struct mint_claims *claims, size_t max_len, struct buf *out);

/*
 * Write s as a JSON string, quotes included, escaped as jansson's
 * json_dumps() without flags escapes it ("\"", "\\", \b \f \n \r \t, other
 * controls as \u00XX, everything else as is) into out, which holds
 * 6 * strlen(s) + 3 bytes; returns the length written (NUL added).
 */
size_t mint_json_string(char *out, const char *s);

#endif
