/* jwks.c — JSON Web Key Sets: parse, bind to one algorithm, select. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jose/b64.h>
#include <jose/openssl.h>

#include "err.h"
#include "buf.h"
#include "jwks.h"
#include "sigcache.h"

static void unusable(struct jwks_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Mark e not usable, with the reason --check-config and errors show. */
static void
unusable(struct jwks_entry *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	e->usable = false;
}

/* A kid that can be named in a log line: 1..JWKS_KID_MAX printable ASCII. */
static bool
kid_ok(const char *kid)
{
	size_t n = strlen(kid);
	const char *p;

	if (n == 0 || n > JWKS_KID_MAX)
		return false;
	for (p = kid; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    *p == '"' || *p == '\\')
			return false;
	return true;
}

/* RFC 7518 §6.2.1.1: the curve an ES algorithm signs on. */
static const char *
alg_curve(enum jws_alg alg)
{
	return alg == JWS_ES256 ? "P-256" : alg == JWS_ES384 ? "P-384" :
	    "P-521";
}

/* Does alg suit a key of kty (and crv, for EC)?  RFC 7518 §3.1. */
static bool
fits(enum jws_alg alg, const char *kty, const char *crv)
{
	if (jws_alg_is_hmac(alg))
		return strcmp(kty, "oct") == 0;
	if (alg <= JWS_RS512)
		return strcmp(kty, "RSA") == 0;
	return strcmp(kty, "EC") == 0 && crv != NULL &&
	    strcmp(crv, alg_curve(alg)) == 0;
}

static const char *
str_member(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/*
 * §3.1: the algorithm of jwk — its "alg" member, which must be listed and
 * fit the key, or else the one listed algorithm that fits.  0, or -1 with
 * e marked unusable.
 */
static int
bind_alg(struct jwks_entry *e, const json_t *jwk, const char *kty,
    const enum jws_alg *algs, size_t nalgs, bool keyring)
{
	const char *crv = str_member(jwk, "crv"), *name;
	json_t *alg = json_object_get(jwk, "alg");
	size_t i, found = 0;

	if (alg != NULL) {
		if ((name = json_string_value(alg)) == NULL) {
			unusable(e, "its alg is not a string");
			return -1;
		}
		if (jws_alg_parse(name, &e->key.alg) != 0) {
			unusable(e, "alg \"%.20s\" is not a JWS signature "
			    "algorithm mediagate knows", name);
			return -1;
		}
		for (i = 0; i < nalgs && algs[i] != e->key.alg; i++)
			;
		if (i == nalgs) {
			unusable(e, keyring ? "alg %s is not HS256, which "
			    "download tokens use" : "alg %s is not in "
			    "MEDIAGATE_JWT_ALG", name);
			return -1;
		}
		if (!fits(e->key.alg, kty, crv)) {
			unusable(e, "alg %s does not fit kty %s%s%.10s", name,
			    kty, crv != NULL ? " crv " : "",
			    crv != NULL ? crv : "");
			return -1;
		}
		return 0;
	}
	for (i = 0; i < nalgs; i++)
		if (fits(algs[i], kty, crv)) {
			if (found++ > 0) {
				unusable(e, "no alg member, and both %s and %s "
				    "of MEDIAGATE_JWT_ALG fit it",
				    jws_alg_name(e->key.alg),
				    jws_alg_name(algs[i]));
				return -1;
			}
			e->key.alg = algs[i];
		}
	if (found == 0) {
		unusable(e, "no alg member, and no algorithm of "
		    "MEDIAGATE_JWT_ALG fits kty %s%s%.10s", kty,
		    crv != NULL ? " crv " : "", crv != NULL ? crv : "");
		return -1;
	}
	return 0;
}

/* oct: the secret is "k", base64url (RFC 7518 §6.4.1). */
static int
load_oct(struct jwks_entry *e, const json_t *jwk, char *why, size_t whysz)
{
	json_t *k = json_object_get(jwk, "k");
	size_t n;

	if (!json_is_string(k) ||
	    (n = jose_b64_dec(k, NULL, 0)) == SIZE_MAX) {
		snprintf(why, whysz, "its k is missing or not base64url");
		return -1;
	}
	if (n < JWKS_SECRET_MIN) {
		snprintf(why, whysz, "an HMAC secret of %zu bytes; at least "
		    "%d are needed", n, JWKS_SECRET_MIN);
		return -1;
	}
	/* The first call only measures; the second one decodes, and may
	 * still refuse (non-zero trailing bits, RFC 4648 §3.5). */
	e->key.bytes = xmalloc(n + 1);
	if (jose_b64_dec(k, e->key.bytes, n) != n) {
		free(e->key.bytes);
		e->key.bytes = NULL;
		snprintf(why, whysz, "its k is missing or not base64url");
		return -1;
	}
	e->key.len = n;
	e->key.bytes[n] = '\0';
	return jws_key_prepare(&e->key, why, whysz);
}

/*
 * Make e's key from jwk.  RSA and EC: libjose turns the members into an
 * EVP_PKEY (it refuses missing members and points off the curve); jws.c
 * checks size and curve.  0, or -1 with e marked unusable.
 */
static int
load_key(struct jwks_entry *e, const json_t *jwk, const char *kty)
{
	char why[160];
	EVP_PKEY *pk;
	int rc;

	if (strcmp(kty, "oct") == 0)
		rc = load_oct(e, jwk, why, sizeof(why));
	else if ((pk = jose_openssl_jwk_to_EVP_PKEY(NULL, jwk)) == NULL) {
		snprintf(why, sizeof(why), "its members do not make an %s "
		    "public key (RFC 7518 §6)", kty);
		rc = -1;
	} else
		rc = jws_key_adopt(&e->key, pk, why, sizeof(why));
	if (rc != 0)
		unusable(e, "%s", why);
	return rc;
}

/*
 * One member of "keys".  Bearer: any problem of the key itself leaves it
 * unusable (an identity provider may publish encryption keys in the same
 * set).  Keyring: the caller refuses the set instead.
 */
static void
parse_entry(struct jwks *set, struct jwks_entry *e, const json_t *jwk,
    const enum jws_alg *algs, size_t nalgs)
{
	static const enum jws_alg hs256[] = { JWS_HS256 };
	json_t *kid = json_object_get(jwk, "kid");
	const char *kty = str_member(jwk, "kty"), *use;

	e->usable = true;
	if (set->kind == JWKS_KEYRING) {
		algs = hs256;
		nalgs = 1;
	}
	if (kid != NULL) {
		if (!json_is_string(kid) || !kid_ok(json_string_value(kid)))
			return unusable(e, "its kid is not 1 to %d printable "
			    "characters", JWKS_KID_MAX);
		e->kid = xstrdup(json_string_value(kid));
	} else if (set->kind == JWKS_KEYRING)
		return unusable(e, "it has no kid");
	if (kty == NULL)
		return unusable(e, "it has no kty");
	if (strcmp(kty, "oct") != 0 && (set->kind == JWKS_KEYRING ||
	    (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0)))
		return unusable(e, "kty \"%.10s\" is not %s", kty,
		    set->kind == JWKS_KEYRING ? "oct" : "oct, RSA or EC");
	/* RFC 7517 §4.2: "sig" or absent; "enc" keys are not ours. */
	if (json_object_get(jwk, "use") != NULL &&
	    ((use = str_member(jwk, "use")) == NULL || strcmp(use, "sig") != 0))
		return unusable(e, "use is \"%.10s\", not \"sig\"",
		    use != NULL ? use : "?");
	if (bind_alg(e, jwk, kty, algs, nalgs,
	    set->kind == JWKS_KEYRING) != 0 || load_key(e, jwk, kty) != 0)
		return;
	set->usable++;
}

/* Name of entry i for messages: key 2 (kid "a"). */
static void
entry_name(const struct jwks *set, size_t i, char *out, size_t outsz)
{
	if (set->keys[i].kid != NULL)
		snprintf(out, outsz, "key %zu (kid \"%s\")", i + 1,
		    set->keys[i].kid);
	else
		snprintf(out, outsz, "key %zu", i + 1);
}

/* Set-wide rules once every entry is known; 0 or -1 with err. */
static int
check_set(const struct jwks *set, char *err, size_t errsz)
{
	const struct jwks_entry *a, *b;
	char name[JWKS_KID_MAX + 32];
	size_t i, j;

	for (i = 0; i < set->n; i++) {
		a = &set->keys[i];
		if (set->kind == JWKS_KEYRING && !a->usable) {
			entry_name(set, i, name, sizeof(name));
			return err_fail(err, errsz, "%s: %s", name, a->why);
		}
		/* RFC 7517 §4.5: kid tells keys apart; two usable keys with
		 * one kid and one algorithm leave the choice to chance. */
		for (j = 0; j < i && a->usable && a->kid != NULL; j++) {
			b = &set->keys[j];
			if (b->usable && b->kid != NULL &&
			    strcmp(a->kid, b->kid) == 0 &&
			    a->key.alg == b->key.alg)
				return err_fail(err, errsz, "keys %zu and %zu have "
				    "the same kid \"%s\" and algorithm %s",
				    j + 1, i + 1, a->kid,
				    jws_alg_name(a->key.alg));
		}
	}
	if (set->usable == 0) {
		if (set->n == 0)
			return err_fail(err, errsz, "holds no key");
		entry_name(set, 0, name, sizeof(name));
		return err_fail(err, errsz, "holds no usable key (%s: %s)", name,
		    set->keys[0].why);
	}
	return 0;
}

/* A set with an RS or ES key gets its cache of verified signatures. */
static void
set_cache(struct jwks *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->keys[i].usable &&
		    !jws_alg_is_hmac(set->keys[i].key.alg)) {
			set->seen = sigcache_new(SIGCACHE_ENTRIES);
			return;
		}
}

int
jwks_parse(enum jwks_kind kind, const char *json, size_t len,
    const enum jws_alg *algs, size_t nalgs, struct jwks **out, char *err,
    size_t errsz)
{
	json_error_t jerr;
	json_t *root, *keys, *jwk;
	struct jwks *set;
	size_t i;

	*out = NULL;
	/* Duplicate member names make a JWK mean two things (RFC 8259 §4). */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* jansson quotes the input near the error: one log line, so
		 * no control characters. */
		for (i = 0; jerr.text[i] != '\0'; i++)
			if ((unsigned char)jerr.text[i] < 0x20 ||
			    jerr.text[i] == 0x7f)
				jerr.text[i] = '?';
		return err_fail(err, errsz, "not valid JSON: %s (line %d)",
		    jerr.text, jerr.line);
	}
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		json_decref(root);
		return err_fail(err, errsz, "not a JWK Set: no \"keys\" array "
		    "(RFC 7517 §5)");
	}
	if ((i = json_array_size(keys)) > JWKS_MAX_KEYS) {
		json_decref(root);
		return err_fail(err, errsz, "holds %zu keys; at most %d are "
		    "accepted", i, JWKS_MAX_KEYS);
	}
	set = xcalloc(1, sizeof(*set));
	set->kind = kind;
	set->n = json_array_size(keys);
	set->keys = xcalloc(set->n + 1, sizeof(*set->keys));
	json_array_foreach(keys, i, jwk) {
		if (!json_is_object(jwk)) {
			set->n = i;
			jwks_free(set);
			json_decref(root);
			return err_fail(err, errsz, "key %zu is not a JSON object",
			    i + 1);
		}
		parse_entry(set, &set->keys[i], jwk, algs, nalgs);
	}
	json_decref(root);
	if (check_set(set, err, errsz) != 0) {
		jwks_free(set);
		return -1;
	}
	set_cache(set);
	*out = set;
	return 0;
}

int
jwks_single(enum jws_alg alg, const unsigned char *bytes, size_t len,
    struct jwks **out, char *err, size_t errsz)
{
	struct jwks *set = xcalloc(1, sizeof(*set));
	struct jwks_entry *e;

	set->kind = JWKS_SINGLE;
	set->n = 1;
	set->keys = e = xcalloc(1, sizeof(*e));
	e->key.alg = alg;
	e->key.bytes = xmalloc(len + 1);
	memcpy(e->key.bytes, bytes, len);
	e->key.bytes[len] = '\0';
	e->key.len = len;
	if (jws_key_prepare(&e->key, err, errsz) != 0) {
		jwks_free(set);
		*out = NULL;
		return -1;
	}
	e->usable = true;
	set->usable = 1;
	set_cache(set);
	*out = set;
	return 0;
}

void
jwks_free(struct jwks *set)
{
	struct jwks_entry *e;
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		e = &set->keys[i];
		if (e->key.pkey != NULL)
			jws_key_release(&e->key);
		if (e->key.bytes != NULL)
			explicit_bzero(e->key.bytes, e->key.len);
		free(e->key.bytes);
		free(e->kid);
	}
	free(set->keys);
	sigcache_free(set->seen);
	free(set);
}

const struct jws_key *
jwks_pick(const void *arg, const struct jws_header *hdr, enum jws_result *res)
{
	const struct jwks *set = arg;
	const struct jwks_entry *e, *only = NULL;
	size_t i, same_alg = 0;

	*res = JWS_WRONG_ALG;
	for (i = 0; i < set->n; i++) {
		e = &set->keys[i];
		if (!e->usable || e->key.alg != hdr->alg)
			continue;
		*res = JWS_UNKNOWN_KEY;	/* the algorithm is one of ours */
		if (set->kind == JWKS_SINGLE)
			return &e->key;
		if (hdr->has_kid) {
			if (hdr->kid != NULL && e->kid != NULL &&
			    strcmp(hdr->kid, e->kid) == 0)
				return &e->key;
		} else if (set->kind == JWKS_BEARER) {
			same_alg++;
			only = e;
		}
	}
	/* §3.1: no kid only when the algorithm alone names one key. */
	return same_alg == 1 ? &only->key : NULL;
}

enum jws_result
jwks_verify(const struct jwks *set, const char *token, size_t len,
    long long now, yajl_val *claims)
{
	return jws_verify_pick(jwks_pick, set, set->seen, now, token, len,
	    claims);
}

const struct jwks_entry *
jwks_signer(const struct jwks *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->keys[i].usable)
			return &set->keys[i];
	return NULL;
}

bool
jwks_share_secret(const struct jwks *a, const struct jwks *b)
{
	const struct jws_key *x, *y;
	size_t i, j;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++) {
			x = &a->keys[i].key;
			y = &b->keys[j].key;
			if (jws_alg_is_hmac(x->alg) && x->bytes != NULL &&
			    jws_alg_is_hmac(y->alg) && y->bytes != NULL &&
			    x->len == y->len &&
			    memcmp(x->bytes, y->bytes, x->len) == 0)
				return true;
		}
	return false;
}

bool
jwks_has_secret(const struct jwks *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->keys[i].key.bytes != NULL &&
		    jws_alg_is_hmac(set->keys[i].key.alg))
			return true;
	return false;
}
