/* testkeys.c — key generation and token minting for tests. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "buf.h"
#include "testkeys.h"

static void die(const char *what) __attribute__((noreturn));

static void
die(const char *what)
{
	fprintf(stderr, "testkeys: %s\n", what);
	abort();
}

static char *
pem_of(EVP_PKEY *pk, int private, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (bio == NULL)
		die("BIO_new");
	if (private ? !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL,
	    NULL) : !PEM_write_bio_PUBKEY(bio, pk))
		die("PEM_write");
	n = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)n);
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

/* Prepare k->verify from k->pub, as config_load_keys() does. */
static void
prepare(struct testkey *k)
{
	char err[256];

	k->verify.alg = k->alg;
	k->verify.bytes = (unsigned char *)k->pub;
	k->verify.len = k->pub_len;
	k->verify.pkey = NULL;
	if (jws_key_prepare(&k->verify, err, sizeof(err)) != 0)
		die(err);
}

void
tk_generate(struct testkey *k, enum jws_alg alg)
{
	static const char *const curve[] = { "P-256", "P-384", "P-521" };
	EVP_PKEY *pk;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (jws_alg_is_hmac(alg)) {
		k->priv_len = k->pub_len = 48;
		k->priv = xmalloc(48);
		if (RAND_bytes((unsigned char *)k->priv, 48) != 1)
			die("RAND_bytes");
		k->pub = xmalloc(48);
		memcpy(k->pub, k->priv, 48);
		prepare(k);
		return;
	}
	if (alg <= JWS_RS512)
		pk = EVP_RSA_gen(2048);
	else
		pk = EVP_EC_gen(curve[alg - JWS_ES256]);
	if (pk == NULL)
		die("key generation");
	k->priv = pem_of(pk, 1, &k->priv_len);
	k->pub = pem_of(pk, 0, &k->pub_len);
	EVP_PKEY_free(pk);
	prepare(k);
}

static char *
slurp(const char *path, size_t *len)
{
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		die(path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return b.ptr != NULL ? b.ptr : xstrdup("");
}

void
tk_load(struct testkey *k, enum jws_alg alg, const char *priv_path,
    const char *pub_path)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	k->priv = slurp(priv_path, &k->priv_len);
	k->pub = slurp(pub_path, &k->pub_len);
	prepare(k);
}

void
tk_free(struct testkey *k)
{
	jws_key_release(&k->verify);
	free(k->priv);
	free(k->pub);
	memset(k, 0, sizeof(*k));
}

struct jws_key
tk_verify_key(const struct testkey *k)
{
	return k->verify;
}

struct jwks *
tk_verify_set(const struct testkey *k)
{
	struct jwks *set;
	char err[256];

	if (jwks_single(k->alg, (const unsigned char *)k->pub, k->pub_len,
	    &set, err, sizeof(err)) != 0)
		die(err);
	return set;
}

char *
tk_mint(const struct testkey *k, const char *claims_json)
{
	jwt_t *jwt = NULL;
	char *s, *out;

	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, claims_json) != 0 ||
	    jwt_set_alg(jwt, jwt_str_alg(jws_alg_name(k->alg)),
	    (const unsigned char *)k->priv, (int)k->priv_len) != 0 ||
	    (s = jwt_encode_str(jwt)) == NULL)
		die("libjwt could not mint a token");
	out = xstrdup(s);
	free(s);
	jwt_free(jwt);
	return out;
}

static void
b64_append(struct buf *b, const void *data, size_t len)
{
	char *enc = xmalloc(len * 4 / 3 + 4);

	jws_b64_encode(data, len, enc);
	buf_puts(b, enc);
	free(enc);
}

char *
tk_hs_raw(const void *key, size_t key_len, const char *hs_alg,
    const char *header_json, const char *payload_json)
{
	const EVP_MD *md = strcmp(hs_alg, "HS512") == 0 ? EVP_sha512() :
	    strcmp(hs_alg, "HS384") == 0 ? EVP_sha384() : EVP_sha256();
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len;
	struct buf b = { 0 };

	b64_append(&b, header_json, strlen(header_json));
	buf_putc(&b, '.');
	b64_append(&b, payload_json, strlen(payload_json));
	if (HMAC(md, key, (int)key_len, (const unsigned char *)b.ptr, b.len,
	    mac, &mac_len) == NULL)
		die("HMAC");
	buf_putc(&b, '.');
	b64_append(&b, mac, mac_len);
	return b.ptr;
}

char *
tk_write_file(const char *dir, const char *name, const void *data,
    size_t len, unsigned mode)
{
	struct buf path = { 0 };
	int fd;

	buf_printf(&path, "%s/%s", dir, name);
	fd = open(path.ptr, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len ||
	    fchmod(fd, (mode_t)mode) != 0 || close(fd) != 0)
		die(path.ptr);
	return path.ptr;
}
