/* jws.c — pinned-algorithm JWS verification on top of libjwt. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "buf.h"
#include "sjson.h"
#include "jws.h"

static const struct {
	const char	*name;
	jwt_alg_t	 jwt;
} algs[] = {
	[JWS_HS256] = { "HS256", JWT_ALG_HS256 },
	[JWS_HS384] = { "HS384", JWT_ALG_HS384 },
	[JWS_HS512] = { "HS512", JWT_ALG_HS512 },
	[JWS_RS256] = { "RS256", JWT_ALG_RS256 },
	[JWS_RS384] = { "RS384", JWT_ALG_RS384 },
	[JWS_RS512] = { "RS512", JWT_ALG_RS512 },
	[JWS_ES256] = { "ES256", JWT_ALG_ES256 },
	[JWS_ES384] = { "ES384", JWT_ALG_ES384 },
	[JWS_ES512] = { "ES512", JWT_ALG_ES512 },
};

int
jws_alg_parse(const char *name, enum jws_alg *out)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(name, algs[i].name) == 0) {
			*out = (enum jws_alg)i;
			return 0;
		}
	return -1;
}

const char *
jws_alg_name(enum jws_alg alg)
{
	return algs[alg].name;
}

int
jws_alg_is_hmac(enum jws_alg alg)
{
	return alg == JWS_HS256 || alg == JWS_HS384 || alg == JWS_HS512;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
jws_b64_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned long acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val((unsigned char)in[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	out[n] = '\0';
	return (long)n;
}

size_t
jws_b64_encode(const unsigned char *in, size_t len, char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned long acc = 0;
	size_t i, n = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = alphabet[(acc >> bits) & 63];
		}
		acc &= (1UL << bits) - 1;
	}
	if (bits > 0)
		out[n++] = alphabet[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return n;
}

/* Decode one base64url segment of JSON and parse it as a strict object. */
static yajl_val
decode_json_part(const char *part, size_t len)
{
	unsigned char *raw;
	yajl_val v = NULL;
	long n;

	raw = xmalloc(len * 3 / 4 + 1);
	if ((n = jws_b64_decode(part, len, raw)) > 0)
		v = sjson_parse_object((const char *)raw, (size_t)n);
	free(raw);
	return v;
}

/* RFC 7515 §4.1: the header must name exactly the pinned algorithm and
 * carry no "crit" extension, since mediagate understands none. */
static enum jws_result
check_header(yajl_val hdr, enum jws_alg want)
{
	const char *alg = sjson_string(sjson_get(hdr, "alg"));

	if (alg == NULL)
		return JWS_MALFORMED;
	if (sjson_get(hdr, "crit") != NULL)
		return JWS_MALFORMED;
	if (strcmp(alg, algs[want].name) != 0)
		return JWS_WRONG_ALG;
	return JWS_OK;
}

enum jws_result
jws_verify(const struct jws_key *key, const char *token, size_t len,
    yajl_val *claims)
{
	const char *dot1, *dot2, *end = token + len;
	enum jws_result res;
	yajl_val hdr;
	jwt_t *jwt = NULL;
	char *copy;
	int rc;

	*claims = NULL;
	if (len == 0 || len > JWS_MAX_LEN || memchr(token, '\0', len) != NULL)
		return JWS_MALFORMED;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (dot1 == NULL || dot2 == NULL ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL ||
	    dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == end)
		return JWS_MALFORMED;

	if ((hdr = decode_json_part(token, (size_t)(dot1 - token))) == NULL)
		return JWS_MALFORMED;
	res = check_header(hdr, key->alg);
	yajl_tree_free(hdr);
	if (res != JWS_OK)
		return res;

	/*
	 * The header is now known to name the pinned algorithm, so libjwt's
	 * choice of algorithm from the header is the configured one and the
	 * key is never empty: jwt_decode checks the signature.
	 */
	copy = xstrndup(token, len);
	rc = jwt_decode(&jwt, copy, key->bytes, (int)key->len);
	free(copy);
	if (rc != 0 || jwt == NULL || jwt_get_alg(jwt) != algs[key->alg].jwt) {
		jwt_free(jwt);
		/* Well-formed JSON halves were checked above; what remains
		 * is the signature (or a part libjwt reads differently). */
		return JWS_BAD_SIGNATURE;
	}
	jwt_free(jwt);

	*claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	return *claims != NULL ? JWS_OK : JWS_MALFORMED;
}
