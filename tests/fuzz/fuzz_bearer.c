/*
 * fuzz_bearer.c — the bearer path: auth_parse_header(), jws_verify() with
 * an HS256 key (fixed), an ES256 and an RS256 key (made at start),
 * auth_check_claims(), token_check_claims() and token_check().
 *
 * The input is used four ways:
 *   1. as an Authorization field value (header syntax, then the token);
 *   2. as a compact token as it is (any bytes, NULs included);
 *   3. as a claims set: when sjson_parse_object() takes it, the claim
 *      rules run on it, so they are covered without a valid signature;
 *   4. signed: the input is the payload (or "header\npayload") of a token
 *      that the harness signs with the HS256 and the ES256 key, so the
 *      verifier gets past the signature with any header and claims (and
 *      ES256's R||S to DER conversion sees real signatures).
 *
 * Invariants: every result is one of the documented values; claims come
 * back only with JWS_OK and only as an object; a token whose header or
 * payload the strict reader refuses never verifies; a header naming any
 * algorithm but the key's never verifies; a token the harness signed
 * always verifies when both halves are strict JSON objects and the header
 * names the key's algorithm and no "crit"; the tenant copied out is a
 * non-empty, terminated string when isolation is on.
 *
 * Canonical base64url (RFC 4648 §3.5): the input read as base64url
 * decodes only if encoding the result gives the input back, and the input
 * read as bytes always round-trips; a token that verifies stops verifying
 * when the last character of its signature is respelled with the same
 * data bits and other pad bits.
 */
#include <time.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth.h"
#include "fuzz.h"
#include "jws.h"
#include "sjson.h"
#include "token.h"

#define NOW	((time_t)1700000000)

static unsigned char secret[32] = "mediagate-fuzz-hs256-key-32bytes";

static struct jws_key hs_key = {
	.alg = JWS_HS256, .bytes = secret, .len = sizeof(secret),
};
static struct jws_key es_key = { .alg = JWS_ES256 };
static struct jws_key rs_key = { .alg = JWS_RS256 };
static EVP_PKEY *es_priv;	/* signs the ES256 tokens of step 4 */
static struct jwks *hs_set;	/* the download-token secret as a set */

static const struct auth_policy policies[] = {
	{ NULL, NULL, "tenant", "media:read", 30 },
	{ "https://issuer.test", "mediagate-api", NULL, "media:read", 0 },
	{ NULL, "aud", "org", "media:read", 3600 },
};

/* A fresh key pair; its public half, as PEM text, goes into key. */
static EVP_PKEY *
make_key(struct jws_key *key, EVP_PKEY *pk)
{
	char err[256], *pem;
	BIO *bio;
	long n;

	FUZZ_ASSERT(pk != NULL);
	FUZZ_ASSERT((bio = BIO_new(BIO_s_mem())) != NULL);
	FUZZ_ASSERT(PEM_write_bio_PUBKEY(bio, pk) == 1);
	n = BIO_get_mem_data(bio, &pem);
	FUZZ_ASSERT(n > 0);
	key->bytes = (unsigned char *)xstrndup(pem, (size_t)n);
	key->len = (size_t)n;
	BIO_free(bio);
	if (jws_key_prepare(key, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_bearer: %s\n", err);
		abort();
	}
	return pk;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	if (jws_key_prepare(&hs_key, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_bearer: %s\n", err);
		abort();
	}
	if (jwks_single(JWS_HS256, secret, sizeof(secret), &hs_set, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_bearer: %s\n", err);
		abort();
	}
	es_priv = make_key(&es_key, EVP_PKEY_Q_keygen(NULL, NULL, "EC",
	    "P-256"));
	EVP_PKEY_free(make_key(&rs_key, EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)2048)));
	return 0;
}

static enum jws_result
verify(const struct jws_key *key, const char *tok, size_t len,
    yajl_val *claims)
{
	enum jws_result res;

	*claims = (yajl_val)&hs_key;	/* must be overwritten */
	res = jws_verify(key, tok, len, claims);
	FUZZ_ASSERT(res == JWS_OK || res == JWS_MALFORMED ||
	    res == JWS_WRONG_ALG || res == JWS_BAD_SIGNATURE);
	if (res == JWS_OK)
		FUZZ_ASSERT(*claims != NULL && YAJL_IS_OBJECT(*claims));
	else
		FUZZ_ASSERT(*claims == NULL);
	return res;
}

static void
check_claims(yajl_val claims)
{
	struct principal who;
	char tenant[AUTH_TENANT_MAX + 1];
	const char *why, *sub;
	struct token_ctx ctx;
	enum mg_err err;
	size_t i;

	FUZZ_ASSERT(YAJL_IS_OBJECT(claims));
	for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		why = "unset";
		memset(&who, 'X', sizeof(who));
		err = auth_check_claims(claims, &policies[i], NOW, &who, &why);
		FUZZ_ASSERT(err == MG_OK || err == MG_EAUTH ||
		    err == MG_ESCOPE || err == MG_EFORBIDDEN);
		FUZZ_ASSERT(fuzz_terminated(who.tenant, sizeof(who.tenant)));
		if (err != MG_OK) {
			FUZZ_ASSERT(why != NULL);
			continue;
		}
		FUZZ_ASSERT(why == NULL);
		if (policies[i].tenant_claim != NULL)
			FUZZ_ASSERT(who.tenant[0] != '\0');
		else
			FUZZ_ASSERT(who.tenant[0] == '\0');
	}

	/* A download token's claims: the id is its own sub when it has one,
	 * so that the rules past the sub check are reached. */
	sub = sjson_string(sjson_get(claims, "sub"));
	memset(&ctx, 0, sizeof(ctx));
	ctx.keys = hs_set;
	ctx.ttl = 60;
	for (ctx.tenant_on = 0; ctx.tenant_on <= 1; ctx.tenant_on++) {
		why = "unset";
		memset(tenant, 'X', sizeof(tenant));
		err = token_check_claims(&ctx, claims,
		    sub != NULL ? sub : "invoice-1", NOW, tenant, &why);
		FUZZ_ASSERT(err == MG_OK || err == MG_EFORBIDDEN ||
		    err == MG_EEXPIRED);
		FUZZ_ASSERT(fuzz_terminated(tenant, sizeof(tenant)));
		FUZZ_ASSERT(err == MG_OK ? why == NULL : why != NULL);
		if (err == MG_OK)
			FUZZ_ASSERT(ctx.tenant_on ? tenant[0] != '\0' :
			    tenant[0] == '\0');
	}
}

/* Verify tok with every key; check the claims of what verifies. */
static void
verify_all(const char *tok, size_t len)
{
	const struct jws_key *keys[] = { &hs_key, &es_key, &rs_key };
	yajl_val claims;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (verify(keys[i], tok, len, &claims) == JWS_OK) {
			check_claims(claims);
			sjson_free(claims);
		}
}

/* JWS signature over input[0..len) with key: HMAC-SHA256, or ES256 as
 * R||S (RFC 7518 §3.4).  Returns its length in sig (64 bytes or more). */
static size_t
make_sig(const struct jws_key *key, const char *input, size_t len,
    unsigned char *sig)
{
	unsigned char der[128];
	const unsigned char *dp = der;
	const BIGNUM *r, *s;
	unsigned int maclen = 0;
	size_t derlen = sizeof(der);
	ECDSA_SIG *es;
	EVP_MD_CTX *md;

	if (key->alg == JWS_HS256) {
		FUZZ_ASSERT(HMAC(EVP_sha256(), secret, sizeof(secret),
		    (const unsigned char *)input, len, sig, &maclen) != NULL);
		return maclen;
	}
	FUZZ_ASSERT((md = EVP_MD_CTX_new()) != NULL);
	FUZZ_ASSERT(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    es_priv) == 1);
	FUZZ_ASSERT(EVP_DigestSign(md, der, &derlen,
	    (const unsigned char *)input, len) == 1);
	EVP_MD_CTX_free(md);
	FUZZ_ASSERT((es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)) != NULL);
	ECDSA_SIG_get0(es, &r, &s);
	FUZZ_ASSERT(BN_bn2binpad(r, sig, 32) == 32 &&
	    BN_bn2binpad(s, sig + 32, 32) == 32);
	ECDSA_SIG_free(es);
	return 64;
}

/* b64url(hdr) "." b64url(payload) "." b64url(signature), malloc'd. */
static char *
sign(const struct jws_key *key, const char *hdr, size_t hlen,
    const char *payload, size_t plen, size_t *outlen)
{
	unsigned char sig[EVP_MAX_MD_SIZE + 64];
	size_t n, siglen;
	char *tok;

	tok = xmalloc((hlen + plen + sizeof(sig)) * 4 / 3 + 16);
	n = jws_b64_encode((const unsigned char *)hdr, hlen, tok);
	tok[n++] = '.';
	n += jws_b64_encode((const unsigned char *)payload, plen, tok + n);
	siglen = make_sig(key, tok, n, sig);
	tok[n++] = '.';
	n += jws_b64_encode(sig, siglen, tok + n);
	*outlen = n;
	return tok;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Every other spelling of the signature's last character is refused. */
static void
check_one_spelling(const struct jws_key *key, char *tok, size_t len)
{
	const char *sig = memrchr(tok, '.', len) + 1;
	size_t siglen = (size_t)(tok + len - sig);
	int last, pad, v;
	yajl_val claims;
	char keep;

	/* 4 pad bits after 2 data bits (len % 4 == 2), 2 after 4 (== 3). */
	if (siglen % 4 == 0)
		return;
	pad = siglen % 4 == 2 ? 15 : 3;
	keep = tok[len - 1];
	last = (int)(strchr(b64_alphabet, keep) - b64_alphabet);
	for (v = 0; v <= pad; v++) {
		if (v == (last & pad))
			continue;
		tok[len - 1] = b64_alphabet[(last & ~pad) | v];
		FUZZ_ASSERT(verify(key, tok, len, &claims) != JWS_OK);
	}
	tok[len - 1] = keep;
}

/* The input as base64url text, and as bytes to encode. */
static void
check_b64(const uint8_t *data, size_t size)
{
	unsigned char *dec = xmalloc(size * 3 / 4 + 2);
	char *enc = xmalloc(size * 4 / 3 + 4);
	long n;
	size_t m;

	n = jws_b64_decode((const char *)data, size, dec);
	if (n >= 0) {
		m = jws_b64_encode(dec, (size_t)n, enc);
		FUZZ_ASSERT(m == size && memcmp(enc, data, size) == 0);
	}
	free(dec);
	m = jws_b64_encode(data, size, enc);
	dec = xmalloc(m * 3 / 4 + 2);
	FUZZ_ASSERT(jws_b64_decode(enc, m, dec) == (long)size &&
	    memcmp(dec, data, size) == 0);
	free(dec);
	free(enc);
}

static void
signed_token(const struct jws_key *key, const uint8_t *data, size_t size)
{
	char std_hdr[64];
	const char *hdr = std_hdr, *payload = (const char *)data;
	size_t hlen, plen = size, len;
	const uint8_t *nl = memchr(data, '\n', size);
	enum jws_result res;
	yajl_val claims, h, p;
	char tenant[AUTH_TENANT_MAX + 1];
	struct token_ctx ctx = { hs_set, 60, 1 };
	const char *why, *alg, *want = jws_alg_name(key->alg);
	char *tok;
	enum mg_err err;

	hlen = (size_t)snprintf(std_hdr, sizeof(std_hdr),
	    "{\"alg\":\"%s\",\"typ\":\"JWT\"}", want);
	if (nl != NULL) {
		hdr = (const char *)data;
		hlen = (size_t)(nl - data);
		payload = (const char *)nl + 1;
		plen = size - hlen - 1;
	}
	tok = sign(key, hdr, hlen, payload, plen, &len);
	res = verify(key, tok, len, &claims);

	h = sjson_parse_object(hdr, hlen);
	p = sjson_parse_object(payload, plen);
	alg = sjson_string(sjson_get(h, "alg"));
	if (res == JWS_OK)
		check_one_spelling(key, tok, len);
	if (res == JWS_OK) {
		/* Only what the strict reader accepts, and only the key's
		 * algorithm. */
		FUZZ_ASSERT(h != NULL && p != NULL);
		FUZZ_ASSERT(alg != NULL && strcmp(alg, want) == 0);
		FUZZ_ASSERT(sjson_get(h, "crit") == NULL);
		FUZZ_ASSERT(claims->u.object.len == p->u.object.len);
		check_claims(claims);
		sjson_free(claims);
	} else if (key->alg != JWS_RS256 && len <= JWS_MAX_LEN &&
	    h != NULL && p != NULL && alg != NULL && strcmp(alg, want) == 0 &&
	    sjson_get(h, "crit") == NULL)
		/* Signed with the key, well-formed: it must verify. */
		FUZZ_ASSERT(res == JWS_OK);
	if (alg != NULL && strcmp(alg, want) != 0)
		FUZZ_ASSERT(res == JWS_WRONG_ALG || res == JWS_MALFORMED);
	sjson_free(h);
	sjson_free(p);

	/* An HS256 token is also a download token for invoice-1. */
	if (key->alg == JWS_HS256) {
		why = "unset";
		err = token_check(&ctx, tok, "invoice-1", NOW, tenant, &why);
		FUZZ_ASSERT(err == MG_OK || err == MG_EFORBIDDEN ||
		    err == MG_EEXPIRED);
		FUZZ_ASSERT(err == MG_OK ? why == NULL : why != NULL);
		FUZZ_ASSERT(fuzz_terminated(tenant, sizeof(tenant)));
		if (err == MG_OK)
			FUZZ_ASSERT(res == JWS_OK);
	}
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tok = NULL, *why = "unset";
	yajl_val claims;
	enum mg_err err;
	char *header;
	size_t len = 0;

	/* 1. An Authorization field value. */
	header = fuzz_cstr(data, size);
	err = auth_parse_header(header, &tok, &len, &why);
	FUZZ_ASSERT(err == MG_OK || err == MG_EAUTH);
	if (err == MG_OK) {
		FUZZ_ASSERT(len > 0 && tok >= header &&
		    tok + len <= header + strlen(header));
		verify_all(tok, len);
	} else
		FUZZ_ASSERT(why != NULL);
	free(header);

	/* 2. A compact token as it is. */
	verify_all((const char *)data, size);

	/* 3. A claims set, without a signature. */
	if ((claims = sjson_parse_object((const char *)data, size)) != NULL) {
		check_claims(claims);
		sjson_free(claims);
	}

	/* 4. Signed with the keys. */
	signed_token(&hs_key, data, size);
	signed_token(&es_key, data, size);

	/* 5. base64url, canonical only. */
	check_b64(data, size);
	return 0;
}
