/* jwkgen.c — JWKs and tokens from libcrypto and libjwt (see jwkgen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "jwkgen.h"

static void
die(const char *what)
{
	fprintf(stderr, "jwkgen: %s\n", what);
	abort();
}

char *
jg_b64url(const unsigned char *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1), *p;

	if (out == NULL)
		die("out of memory");
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	for (p = out; *p != '\0'; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	return out;
}

/* A big-number parameter of pk, base64url, padded to pad bytes (0: none). */
static char *
bn_member(EVP_PKEY *pk, const char *param, int pad)
{
	unsigned char buf[1024];
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
		die(param);
	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	if (n <= 0)
		die("BN_bn2bin");
	return jg_b64url(buf, (size_t)n);
}

static char *
pem_of(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) != 1)
		die("PEM_write_bio_PrivateKey");
	/* The BIO's data is not NUL-terminated: copy exactly n bytes
	 * (strndup may read past them, and ASan's strict_string_checks
	 * says so). */
	n = BIO_get_mem_data(bio, &data);
	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL)
		die("BIO_get_mem_data");
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

static char *
strf2(const char *fmt, const char *a, const char *b, const char *c)
{
	size_t n = strlen(fmt) + strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	if (s == NULL)
		die("out of memory");
	/* fmt is one of this file's literals, with three %s. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(s, n, fmt, a, b, c);
#pragma GCC diagnostic pop
	return s;
}

/* The public members of k->pk (RFC 7518 §6.2.1, §6.3.1). */
static void
fill_members(struct jwkgen *k)
{
	char name[16], *x, *y;
	size_t len = 0;
	int pad;

	if (EVP_PKEY_get_base_id(k->pk) == EVP_PKEY_RSA) {
		x = bn_member(k->pk, OSSL_PKEY_PARAM_RSA_N, 0);
		y = bn_member(k->pk, OSSL_PKEY_PARAM_RSA_E, 0);
		k->members = strf2("\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
		    "\"%s\"%s", x, y, "");
	} else {
		if (EVP_PKEY_get_utf8_string_param(k->pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) != 1)
			die("EC group");
		pad = strcmp(name, "prime256v1") == 0 ? 32 :
		    strcmp(name, "secp384r1") == 0 ? 48 : 66;
		x = bn_member(k->pk, OSSL_PKEY_PARAM_EC_PUB_X, pad);
		y = bn_member(k->pk, OSSL_PKEY_PARAM_EC_PUB_Y, pad);
		k->members = malloc(strlen(x) + strlen(y) + 64);
		sprintf(k->members, "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":"
		    "\"%s\",\"y\":\"%s\"", pad == 32 ? "P-256" : pad == 48 ?
		    "P-384" : "P-521", x, y);
	}
	free(x);
	free(y);
	k->priv_pem = pem_of(k->pk);
}

void
jg_rsa(struct jwkgen *k, enum jws_alg alg, int bits)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if ((k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)) ==
	    NULL)
		die("RSA keygen");
	fill_members(k);
}

void
jg_ec(struct jwkgen *k, enum jws_alg alg, const char *curve)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if ((k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve)) == NULL)
		die("EC keygen");
	fill_members(k);
}

void
jg_from_pem(struct jwkgen *k, enum jws_alg alg, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (bio == NULL || (k->pk = PEM_read_bio_PrivateKey(bio, NULL, NULL,
	    NULL)) == NULL)
		die("PEM_read_bio_PrivateKey");
	BIO_free(bio);
	fill_members(k);
}

void
jg_oct_bytes(struct jwkgen *k, enum jws_alg alg, const unsigned char *b,
    size_t len)
{
	char *s;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (len > sizeof(k->secret))
		die("secret too long");
	memcpy(k->secret, b, len);
	k->secret_len = len;
	s = jg_b64url(k->secret, len);
	k->members = strf2("\"kty\":\"oct\",\"k\":\"%s\"%s%s", s, "", "");
	free(s);
}

void
jg_oct(struct jwkgen *k, enum jws_alg alg, size_t len)
{
	unsigned char b[128];

	if (len > sizeof(b) || RAND_bytes(b, (int)len) != 1)
		die("RAND_bytes");
	jg_oct_bytes(k, alg, b, len);
}

void
jg_free(struct jwkgen *k)
{
	EVP_PKEY_free(k->pk);
	free(k->members);
	free(k->priv_pem);
	memset(k, 0, sizeof(*k));
}

char *
jg_jwk(const struct jwkgen *k, const char *extra)
{
	return strf2("{%s%s%s}", k->members, extra != NULL ? "," : "",
	    extra != NULL ? extra : "");
}

char *
jg_sign(const struct jwkgen *k, enum jws_alg alg, const char *kid,
    const char *claims_json)
{
	const unsigned char *key = k->pk != NULL ?
	    (const unsigned char *)k->priv_pem : k->secret;
	int key_len = k->pk != NULL ? (int)strlen(k->priv_pem) :
	    (int)k->secret_len;
	jwt_t *jwt = NULL;
	char *s;

	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, claims_json) != 0 ||
	    (kid != NULL && jwt_add_header(jwt, "kid", kid) != 0) ||
	    jwt_set_alg(jwt, jwt_str_alg(jws_alg_name(alg)), key, key_len) !=
	    0 || (s = jwt_encode_str(jwt)) == NULL)
		die("libjwt could not sign");
	jwt_free(jwt);
	return s;
}
