/* jws.c — pinned-algorithm JWS verification with libcrypto. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "buf.h"
#include "sigcache.h"
#include "sjson.h"
#include "jws.h"

static const char *const alg_names[] = {
	[JWS_HS256] = "HS256", [JWS_HS384] = "HS384", [JWS_HS512] = "HS512",
	[JWS_RS256] = "RS256", [JWS_RS384] = "RS384", [JWS_RS512] = "RS512",
	[JWS_ES256] = "ES256", [JWS_ES384] = "ES384", [JWS_ES512] = "ES512",
};

int
jws_alg_parse(const char *name, enum jws_alg *out)
{
	size_t i;

	for (i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (strcmp(name, alg_names[i]) == 0) {
			*out = (enum jws_alg)i;
			return 0;
		}
	return -1;
}

const char *
jws_alg_name(enum jws_alg alg)
{
	return alg_names[alg];
}

int
jws_alg_is_hmac(enum jws_alg alg)
{
	return alg == JWS_HS256 || alg == JWS_HS384 || alg == JWS_HS512;
}

/* base64url digit values (RFC 4648 §5), -1 outside the alphabet: a table,
 * since every byte of every bearer and download token passes here. */
static const signed char b64_val[256] = {
#define X16 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
	X16, X16,
	/* 0x20 */ -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	/* 0x30 */ 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	/* 0x40 */ -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	/* 0x50 */ 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	/* 0x60 */ -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	/* 0x70 */ 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	X16, X16, X16, X16, X16, X16, X16, X16,
#undef X16
};

long
jws_b64_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	const unsigned char *end = p + len;
	unsigned long acc = 0;
	size_t n = 0;
	int bits = 0, v, bad;

	if (len % 4 == 1)
		return -1;
	/* Whole groups of four digits into three bytes; a digit outside the
	 * alphabet makes the OR of the values negative. */
	for (; end - p >= 4; p += 4) {
		int a = b64_val[p[0]], b = b64_val[p[1]],
		    c = b64_val[p[2]], d = b64_val[p[3]];

		if ((a | b | c | d) < 0)
			return -1;
		out[n++] = (unsigned char)(a << 2 | b >> 4);
		out[n++] = (unsigned char)((b & 15) << 4 | c >> 2);
		out[n++] = (unsigned char)((c & 3) << 6 | d);
	}
	for (bad = 0; p < end; p++) {
		bad |= v = b64_val[*p];
		acc = (acc << 6) | (unsigned long)(v & 63);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* RFC 4648 §3.5: the pad bits of the last character must be zero,
	 * so that each byte string has exactly one accepted spelling. */
	if (bad < 0 || acc != 0)
		return -1;
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

	/* Whole groups of three bytes (four characters) first. */
	for (i = 0; i + 3 <= len; i += 3) {
		acc = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		out[n++] = alphabet[acc >> 18];
		out[n++] = alphabet[(acc >> 12) & 63];
		out[n++] = alphabet[(acc >> 6) & 63];
		out[n++] = alphabet[acc & 63];
	}
	acc = 0;
	for (; i < len; i++) {
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

static const EVP_MD *
alg_md(enum jws_alg alg)
{
	switch (alg) {
	case JWS_HS384: case JWS_RS384: case JWS_ES384:
		return EVP_sha384();
	case JWS_HS512: case JWS_RS512: case JWS_ES512:
		return EVP_sha512();
	default:
		return EVP_sha256();
	}
}

/* Bytes of each of R and S in an ES signature (RFC 7518 §3.4). */
static size_t
es_part_len(enum jws_alg alg)
{
	return alg == JWS_ES256 ? 32 : alg == JWS_ES384 ? 48 : 66;
}

/* An HMAC context keyed once; verify_hmac() re-initialises it. */
static int
prepare_hmac(struct jws_key *key, char *err, size_t errsz)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(alg_md(key->alg)), 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL)
		ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* ctx holds its own reference */
	if (ctx == NULL || key->len == 0 ||
	    EVP_MAC_init(ctx, key->bytes, key->len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		snprintf(err, errsz, "not usable as an HMAC secret");
		return -1;
	}
	key->pkey = ctx;
	return 0;
}

/* RS and ES: the key must suit the algorithm (RSA of at least 2048 bits;
 * EC on the algorithm's curve, RFC 7518 §3.4). */
static int
check_pkey(const struct jws_key *key, EVP_PKEY *pk, char *err, size_t errsz)
{
	static const char *const curve[] = { "prime256v1", "secp384r1",
	    "secp521r1" };
	const char *name = alg_names[key->alg];
	char group[64];
	int base = EVP_PKEY_get_base_id(pk);

	if (key->alg <= JWS_RS512) {
		if (base != EVP_PKEY_RSA) {
			snprintf(err, errsz, "not an RSA key, as %s needs",
			    name);
			return -1;
		}
		if (EVP_PKEY_get_bits(pk) < 2048) {
			snprintf(err, errsz, "an RSA key of %d bits; at least "
			    "2048 are needed", EVP_PKEY_get_bits(pk));
			return -1;
		}
	} else if (base != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, curve[key->alg - JWS_ES256]) != 0) {
		snprintf(err, errsz, "not an EC key on curve %s, as %s needs",
		    curve[key->alg - JWS_ES256], name);
		return -1;
	}
	return 0;
}

int
jws_key_adopt(struct jws_key *key, void *pkey, char *err, size_t errsz)
{
	if (jws_alg_is_hmac(key->alg) || pkey == NULL ||
	    check_pkey(key, pkey, err, errsz) != 0) {
		if (jws_alg_is_hmac(key->alg) || pkey == NULL)
			snprintf(err, errsz, "not a public key for %s",
			    alg_names[key->alg]);
		EVP_PKEY_free(pkey);
		return -1;
	}
	key->pkey = pkey;
	return 0;
}

int
jws_key_prepare(struct jws_key *key, char *err, size_t errsz)
{
	EVP_PKEY *pk;
	BIO *bio;

	if (jws_alg_is_hmac(key->alg))
		return prepare_hmac(key, err, errsz);
	bio = BIO_new_mem_buf(key->bytes, (int)key->len);
	pk = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (pk == NULL) {
		snprintf(err, errsz, "not a PEM public key (-----BEGIN PUBLIC "
		    "KEY-----)");
		return -1;
	}
	return jws_key_adopt(key, pk, err, errsz);
}

void
jws_key_release(struct jws_key *key)
{
	if (jws_alg_is_hmac(key->alg))
		EVP_MAC_CTX_free(key->pkey);
	else
		EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
}

/*
 * RFC 7518 §3.4: an ES signature is R || S, each of fixed length; libcrypto
 * wants the DER ECDSA-Sig-Value.  Returns the DER length written to *der
 * (caller frees with OPENSSL_free), or 0 if sig has the wrong length.
 */
static int
es_to_der(enum jws_alg alg, const unsigned char *sig, size_t len,
    unsigned char **der)
{
	size_t n = es_part_len(alg);
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	int out;

	if (len != 2 * n || (es = ECDSA_SIG_new()) == NULL)
		return 0;
	r = BN_bin2bn(sig, (int)n, NULL);
	s = BN_bin2bn(sig + n, (int)n, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return 0;
	}
	*der = NULL;
	out = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return out > 0 ? out : 0;
}

/* RS and ES: verify sig over input[0..len) with the prepared key. */
static bool
verify_pkey(const struct jws_key *key, const char *input, size_t len,
    const unsigned char *sig, size_t sig_len)
{
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx;
	bool ok = false;
	int der_len;

	if (key->pkey == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return false;
	if (key->alg >= JWS_ES256) {
		if ((der_len = es_to_der(key->alg, sig, sig_len, &der)) == 0)
			goto done;
		sig = der;
		sig_len = (size_t)der_len;
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, alg_md(key->alg), NULL,
	    key->pkey) == 1 && EVP_DigestVerify(ctx, sig, sig_len,
	    (const unsigned char *)input, len) == 1;
done:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/*
 * HS: recompute the MAC over input[0..len) and compare in constant time.
 * Re-initialising the prepared context keeps the secret and skips the
 * algorithm look-ups a one-shot HMAC() repeats on every call.
 */
static bool
verify_hmac(const struct jws_key *key, const char *input, size_t len,
    const unsigned char *sig, size_t sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx = key->pkey;
	size_t mac_len = 0;

	if (ctx == NULL || EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)input, len) != 1 ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1)
		return false;
	return sig_len == mac_len && CRYPTO_memcmp(sig, mac, mac_len) == 0;
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

/*
 * RFC 7515 §4.1: the header must name an algorithm mediagate knows and
 * carry no "crit" extension, since mediagate understands none.  hdr->kid
 * points into h; a kid that is not a string (§4.1.4) names no key.
 */
static enum jws_result
check_header(yajl_val h, struct jws_header *hdr)
{
	const char *alg = sjson_string(sjson_get(h, "alg"));
	yajl_val kid = sjson_get(h, "kid");

	if (alg == NULL)
		return JWS_MALFORMED;
	if (sjson_get(h, "crit") != NULL)
		return JWS_MALFORMED;
	hdr->has_kid = kid != NULL;
	hdr->kid = sjson_string(kid);
	if (jws_alg_parse(alg, &hdr->alg) != 0)
		return JWS_WRONG_ALG;
	return JWS_OK;
}

/* The pick of a single key: its algorithm or nothing; kid plays no part. */
static const struct jws_key *
pick_one(const void *arg, const struct jws_header *hdr, enum jws_result *res)
{
	const struct jws_key *key = arg;

	if (hdr->alg != key->alg) {
		*res = JWS_WRONG_ALG;
		return NULL;
	}
	return key;
}

enum jws_result
jws_verify(const struct jws_key *key, const char *token, size_t len,
    yajl_val *claims)
{
	return jws_verify_pick(pick_one, key, NULL, 0, token, len, claims);
}

/*
 * Headers seen before.  Whether a header passes check_header(), and what it
 * names, depends on its bytes alone, and a service sees few distinct
 * headers (one per issuer key, and mediagate's own), so the outcome for
 * the last few headers that passed is kept and reused when the same bytes
 * come again: no base64url decoding and no JSON parse, a quarter of an
 * HS256 verification.  Only the header is remembered; the key is picked,
 * and the signature and claims checked, for every token.  The responder
 * is single-threaded.
 */
#define HDR_MEMO_N	4
#define HDR_MEMO_LEN	256	/* longest header segment remembered */

static struct hdr_memo {
	size_t		 len;		/* 0: empty slot */
	char		 seg[HDR_MEMO_LEN];
	enum jws_alg	 alg;
	int		 has_kid;
	bool		 kid_is_str;
	char		 kid[HDR_MEMO_LEN];
} hdr_memo[HDR_MEMO_N];
static unsigned hdr_memo_next;

static const struct hdr_memo *
memo_find(const char *seg, size_t len)
{
	size_t i;

	for (i = 0; i < HDR_MEMO_N; i++)
		if (hdr_memo[i].len == len && memcmp(hdr_memo[i].seg, seg,
		    len) == 0)
			return &hdr_memo[i];
	return NULL;
}

static void
memo_store(const char *seg, size_t len, const struct jws_header *hdr)
{
	struct hdr_memo *m;

	if (len == 0 || len > HDR_MEMO_LEN ||
	    (hdr->kid != NULL && strlen(hdr->kid) >= HDR_MEMO_LEN))
		return;
	m = &hdr_memo[hdr_memo_next++ % HDR_MEMO_N];
	m->len = len;
	memcpy(m->seg, seg, len);
	m->alg = hdr->alg;
	m->has_kid = hdr->has_kid;
	m->kid_is_str = hdr->kid != NULL;
	if (hdr->kid != NULL)
		strcpy(m->kid, hdr->kid);
}

/* The cache key of a token: its SHA-256, cut to SIGCACHE_DIGEST bytes. */
static bool
token_digest(const char *token, size_t len,
    unsigned char out[SIGCACHE_DIGEST])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(token, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len < SIGCACHE_DIGEST)
		return false;
	memcpy(out, md, SIGCACHE_DIGEST);
	return true;
}

/*
 * Check the signature of token (signing input token[0..input_len), the
 * encoded signature from sig_at to end) with key; RS and ES through seen
 * when there is one.  On success, *digested tells the caller that digest
 * holds the token's cache key, to store once the claims have been read.
 */
static bool
signature_ok(const struct jws_key *key, struct sigcache *seen,
    long long now, const char *token, size_t input_len, const char *sig_at,
    const char *end, unsigned char digest[SIGCACHE_DIGEST], bool *digested)
{
	unsigned char *sig;
	long sig_len;
	bool ok;

	*digested = false;
	if (seen != NULL && !jws_alg_is_hmac(key->alg) &&
	    token_digest(token, (size_t)(end - token), digest)) {
		if (sigcache_seen(seen, digest, now))
			return true;
		*digested = true;
	}
	sig = xmalloc((size_t)(end - sig_at) * 3 / 4 + 1);
	sig_len = jws_b64_decode(sig_at, (size_t)(end - sig_at), sig);
	if (sig_len <= 0)
		ok = false;
	else if (jws_alg_is_hmac(key->alg))
		ok = verify_hmac(key, token, input_len, sig, (size_t)sig_len);
	else
		ok = verify_pkey(key, token, input_len, sig, (size_t)sig_len);
	free(sig);
	return ok;
}

enum jws_result
jws_verify_pick(jws_pick_fn pick, const void *arg, struct sigcache *seen,
    long long now, const char *token, size_t len, yajl_val *claims)
{
	const char *dot1, *dot2, *end = token + len;
	struct jws_header hdr = { .kid = NULL, .has_kid = 0 };
	const struct hdr_memo *memo;
	const struct jws_key *key;
	enum jws_result res;
	yajl_val h;
	unsigned char digest[SIGCACHE_DIGEST];
	long long exp;
	bool fresh;

	*claims = NULL;
	if (len == 0 || len > JWS_MAX_LEN || memchr(token, '\0', len) != NULL)
		return JWS_MALFORMED;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (dot1 == NULL || dot2 == NULL ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL ||
	    dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == end)
		return JWS_MALFORMED;

	if ((memo = memo_find(token, (size_t)(dot1 - token))) != NULL) {
		hdr.alg = memo->alg;
		hdr.has_kid = memo->has_kid;
		hdr.kid = memo->kid_is_str ? memo->kid : NULL;
		res = JWS_OK;
		key = pick(arg, &hdr, &res);
	} else {
		if ((h = decode_json_part(token, (size_t)(dot1 - token))) ==
		    NULL)
			return JWS_MALFORMED;
		res = check_header(h, &hdr);
		if (res == JWS_OK)
			memo_store(token, (size_t)(dot1 - token), &hdr);
		key = res == JWS_OK ? pick(arg, &hdr, &res) : NULL;
		sjson_free(h);	/* hdr.kid dies here; key does not use it */
	}
	if (key == NULL)
		return res != JWS_OK ? res : JWS_UNKNOWN_KEY;

	/* The signing input is header.payload exactly as sent. */
	if (!signature_ok(key, seen, now, token, (size_t)(dot2 - token),
	    dot2 + 1, end, digest, &fresh))
		return JWS_BAD_SIGNATURE;

	*claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (*claims == NULL)
		return JWS_MALFORMED;
	/* Kept until the token's own exp; without a usable one the claims
	 * check refuses the token anyway, so there is nothing to keep. */
	if (fresh && sjson_numeric_date(sjson_get(*claims, "exp"), false, &exp))
		sigcache_store(seen, digest, exp, now);
	return JWS_OK;
}
