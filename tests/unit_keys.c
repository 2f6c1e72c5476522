/*
 * unit_keys.c — key files (contract §1, §3.1, §4): the start-up line each
 * bad set gives, the rule that no download secret is a bearer secret,
 * the download-token keyring end to end, --check-config's listing, and
 * reloads (a new file taken whole, invalid content refused once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jwt.h>

#include "config.h"
#include "jwkgen.h"
#include "keys.h"
#include "sjson.h"
#include "testkeys.h"
#include "token.h"
#include "unit_suites.h"

#define NOW	1700000000L

static const char *const *fake_env;

static const char *
fake_get(const char *name)
{
	const char *const *p;

	for (p = fake_env; *p != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static char dir[] = "/tmp/mg-unit-keys-XXXXXX";
static struct jwkgen rs, es, hs, t1, t2;

static void
make_keys(void)
{
	jg_rsa(&rs, JWS_RS256, 2048);
	jg_ec(&es, JWS_ES256, "P-256");
	jg_oct(&hs, JWS_HS256, 32);
	jg_oct(&t1, JWS_HS256, 32);
	jg_oct(&t2, JWS_HS256, 40);
}

static void
free_keys(void)
{
	jg_free(&rs);
	jg_free(&es);
	jg_free(&hs);
	jg_free(&t1);
	jg_free(&t2);
}

static void
setup(void)
{
	strcpy(dir, "/tmp/mg-unit-keys-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write text to dir/name with mode; returns the path (freed by caller). */
static char *
put(const char *name, const char *text, unsigned mode)
{
	return tk_write_file(dir, name, text, strlen(text), mode);
}

/* put() of text made by set2(), which it frees. */
static char *
put_set(const char *name, char *text, unsigned mode)
{
	char *path = put(name, text, mode);

	free(text);
	return path;
}

/* {"keys":[a,b]} of two JWKs made from keys (b may be NULL). */
static char *
set2(const struct jwkgen *a, const char *xa, const struct jwkgen *b,
    const char *xb)
{
	char *ja = jg_jwk(a, xa), *jb = b ? jg_jwk(b, xb) : NULL, *s;

	s = malloc(strlen(ja) + (jb ? strlen(jb) : 0) + 16);
	sprintf(s, "{\"keys\":[%s%s%s]}", ja, jb ? "," : "", jb ? jb : "");
	free(ja);
	free(jb);
	return s;
}

/* Parse env and load keys: 0, or -1 with the start-up line in err. */
static int
load(struct config *cfg, const char *const *env, char *err, size_t errsz)
{
	fake_env = env;
	if (config_parse(cfg, fake_get, err, errsz) != 0)
		return -1;
	return config_load_keys(cfg, err, errsz);
}

static void
expect_line(const char *const *env, const char *want)
{
	struct config cfg;
	char err[512];

	ck_assert_int_eq(load(&cfg, env, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}

START_TEST(startup_lines)
{
	char *tok = put("tok.key", "tttttttttttttttttttttttttttttttttttttttt",
	    0600);
	char *pem = put("k.pem", "x", 0600);
	char *rsset = put_set("rs.jwks", set2(&rs, "\"kid\":\"r\"", NULL, NULL),
	    0644);
	char *bad = put("bad.jwks", "{\"keys\":[{\"kid\":\"a\","
	    "\"kty\":\"RSA\",\"use\":\"enc\"}]}", 0644);
	char *hsset = put_set("hs.jwks", set2(&hs, "\"kid\":\"h\"", NULL, NULL),
	    0644);
	char *ring = put_set("ring.jwks", set2(&hs, "\"kid\":\"t\"", NULL, NULL),
	    0600);
	char want[1024];

	{
		const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256,ES256",
		    "MEDIAGATE_JWT_KEY_FILE", pem,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
		expect_line(env, "MEDIAGATE_JWT_ALG: lists 2 algorithms; more "
		    "than one needs MEDIAGATE_JWT_JWKS_FILE (a key file holds "
		    "one key)");
	}
	{
		const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256,RS256",
		    "MEDIAGATE_JWT_JWKS_FILE", rsset,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
		expect_line(env, "MEDIAGATE_JWT_ALG: 'RS256,RS256' lists RS256 "
		    "twice");
	}
	{
		const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256,,ES256",
		    "MEDIAGATE_JWT_JWKS_FILE", rsset,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
		expect_line(env, "MEDIAGATE_JWT_ALG: 'RS256,,ES256' is not one "
		    "of HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512 "
		    "(or a comma-separated list of them)");
	}
	{
		const char *env[] = { "MEDIAGATE_JWT_KEY_FILE", pem,
		    "MEDIAGATE_JWT_JWKS_FILE", rsset,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
		expect_line(env, "MEDIAGATE_JWT_KEY_FILE and "
		    "MEDIAGATE_JWT_JWKS_FILE: set only one of them");
	}
	{
		const char *env[] = { "MEDIAGATE_JWT_JWKS_FILE", rsset,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok,
		    "MEDIAGATE_TOKEN_JWKS_FILE", ring, NULL };
		expect_line(env, "MEDIAGATE_TOKEN_SECRET_FILE and "
		    "MEDIAGATE_TOKEN_JWKS_FILE: set only one of them");
	}
	{
		const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256,ES256",
		    "MEDIAGATE_JWT_JWKS_FILE", bad,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
		snprintf(want, sizeof(want), "MEDIAGATE_JWT_JWKS_FILE: %s: holds "
		    "no usable key (key 1 (kid \"a\"): use is \"enc\", not "
		    "\"sig\")", bad);
		expect_line(env, want);
	}
	{
		/* oct keys make a bearer set secret. */
		const char *env[] = { "MEDIAGATE_JWT_JWKS_FILE", hsset,
		    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
		snprintf(want, sizeof(want), "MEDIAGATE_JWT_JWKS_FILE: %s holds "
		    "HMAC secrets and is accessible to other users (mode 0644); "
		    "chmod o-rwx it", hsset);
		expect_line(env, want);
	}
	{
		/* A download key that is also a bearer key (§1, §4). */
		const char *env[] = { "MEDIAGATE_JWT_JWKS_FILE", hsset,
		    "MEDIAGATE_TOKEN_JWKS_FILE", ring, NULL };
		ck_assert_int_eq(chmod(hsset, 0600), 0);
		expect_line(env, "MEDIAGATE_TOKEN_JWKS_FILE: must differ from "
		    "every bearer secret in MEDIAGATE_JWT_JWKS_FILE");
	}
	{
		const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256",
		    "MEDIAGATE_JWT_JWKS_FILE", rsset,
		    "MEDIAGATE_TOKEN_JWKS_FILE", rsset, NULL };
		snprintf(want, sizeof(want), "MEDIAGATE_TOKEN_JWKS_FILE: %s is "
		    "accessible to other users (mode 0644); chmod o-rwx it",
		    rsset);
		expect_line(env, want);
		ck_assert_int_eq(chmod(rsset, 0600), 0);
		snprintf(want, sizeof(want), "MEDIAGATE_TOKEN_JWKS_FILE: %s: "
		    "key 1 (kid \"r\"): kty \"RSA\" is not oct", rsset);
		expect_line(env, want);
	}
	free(tok);
	free(pem);
	free(rsset);
	free(bad);
	free(hsset);
	free(ring);
}
END_TEST

/* A minted download token's header kid, or NULL (libjwt decodes it). */
static char *
header_kid(const char *token)
{
	jwt_t *jwt = NULL;
	const char *kid;
	char *out;

	ck_assert_int_eq(jwt_decode(&jwt, token, NULL, 0), 0);
	kid = jwt_get_header(jwt, "kid");
	out = kid != NULL ? strdup(kid) : NULL;
	jwt_free(jwt);
	return out;
}

START_TEST(keyring_signs_with_first_verifies_by_kid)
{
	char *bearer = put_set("rs.jwks", set2(&rs, "\"kid\":\"r\"", NULL, NULL),
	    0644);
	char *ring = put_set("ring.jwks", set2(&t2, "\"kid\":\"new\"", &t1,
	    "\"kid\":\"old\""), 0600);
	const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256",
	    "MEDIAGATE_JWT_JWKS_FILE", bearer,
	    "MEDIAGATE_TOKEN_JWKS_FILE", ring, NULL };
	struct config cfg;
	struct token_ctx ctx;
	struct buf b = { 0 };
	char err[512], tenant[AUTH_TENANT_MAX + 1], *kid, *tok;
	const char *why;

	ck_assert_msg(load(&cfg, env, err, sizeof(err)) == 0, "%s", err);
	ctx.keys = cfg.token_keys;
	ctx.ttl = 60;
	ctx.tenant_on = 1;
	ck_assert_int_eq(token_mint(&ctx, "m1", "acme", NOW, &b, &why), MG_OK);
	kid = header_kid(b.ptr);
	ck_assert_str_eq(kid, "new");
	ck_assert_int_eq(token_check(&ctx, b.ptr, "m1", NOW, tenant, &why),
	    MG_OK);
	/* An old token, signed by libjwt with the second key. */
	tok = jg_sign(&t1, JWS_HS256, "old", "{\"sub\":\"m1\",\"tenant\":"
	    "\"acme\",\"exp\":1700000060}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_OK);
	free(tok);
	/* No kid, or the kid of another key: forged (403). */
	tok = jg_sign(&t1, JWS_HS256, NULL, "{\"sub\":\"m1\",\"tenant\":"
	    "\"acme\",\"exp\":1700000060}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	free(tok);
	tok = jg_sign(&t1, JWS_HS256, "new", "{\"sub\":\"m1\",\"tenant\":"
	    "\"acme\",\"exp\":1700000060}");
	ck_assert_int_eq(token_check(&ctx, tok, "m1", NOW, tenant, &why),
	    MG_EFORBIDDEN);
	free(tok);
	free(kid);
	buf_free(&b);
	config_free(&cfg);
	free(bearer);
	free(ring);
}
END_TEST

START_TEST(single_secret_tokens_carry_no_kid)
{
	char *bearer = put("hs.key", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
	    0600);
	char *tok = put("tok.key", "tttttttttttttttttttttttttttttttttttttttt",
	    0600);
	const char *env[] = { "MEDIAGATE_JWT_KEY_FILE", bearer,
	    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
	struct config cfg;
	struct token_ctx ctx = { NULL, 60, 0 };
	struct buf b = { 0 };
	char err[512];
	const char *why;

	ck_assert_msg(load(&cfg, env, err, sizeof(err)) == 0, "%s", err);
	ctx.keys = cfg.token_keys;
	ck_assert_int_eq(token_mint(&ctx, "m1", "", NOW, &b, &why), MG_OK);
	ck_assert_ptr_null(header_kid(b.ptr));
	buf_free(&b);
	config_free(&cfg);
	free(bearer);
	free(tok);
}
END_TEST

START_TEST(check_config_lists_unusable_keys)
{
	char *json = malloc(8192), *ja = jg_jwk(&rs, "\"kid\":\"r\""),
	    *jb = jg_jwk(&es, "\"kid\":\"enc-1\",\"use\":\"enc\"");
	char *bearer, *ring, *out = NULL, err[512];
	const char *env[7];
	struct config cfg;
	size_t outlen;
	FILE *f;

	snprintf(json, 8192, "{\"keys\":[%s,%s]}", ja, jb);
	bearer = put("b.jwks", json, 0644);
	ring = put_set("ring.jwks", set2(&t2, "\"kid\":\"new\"", &t1,
	    "\"kid\":\"old\""), 0600);
	env[0] = "MEDIAGATE_JWT_ALG"; env[1] = "RS256,ES256";
	env[2] = "MEDIAGATE_JWT_JWKS_FILE"; env[3] = bearer;
	env[4] = "MEDIAGATE_TOKEN_JWKS_FILE"; env[5] = ring; env[6] = NULL;
	ck_assert_msg(load(&cfg, env, err, sizeof(err)) == 0, "%s", err);
	f = open_memstream(&out, &outlen);
	keys_report(&cfg, f);
	fclose(f);
	ck_assert_str_eq(out,
	    "mediagate: MEDIAGATE_JWT_JWKS_FILE: 2 keys, 1 usable\n"
	    "mediagate: MEDIAGATE_JWT_JWKS_FILE: key 1 (kid \"r\"): RS256\n"
	    "mediagate: MEDIAGATE_JWT_JWKS_FILE: key 2 (kid \"enc-1\") not "
	    "usable: use is \"enc\", not \"sig\"\n"
	    "mediagate: MEDIAGATE_TOKEN_JWKS_FILE: 2 keys, 2 usable\n"
	    "mediagate: MEDIAGATE_TOKEN_JWKS_FILE: key 1 (kid \"new\"): HS256, "
	    "signs new tokens\n"
	    "mediagate: MEDIAGATE_TOKEN_JWKS_FILE: key 2 (kid \"old\"): "
	    "HS256\n");
	free(out);
	free(ja);
	free(jb);
	free(json);
	config_free(&cfg);
	free(bearer);
	free(ring);
}
END_TEST

/* Replace path by a new file with text, as an operator would (rename). */
static void
replace(const char *path, const char *text)
{
	char *tmp = malloc(strlen(path) + 8);
	FILE *f;

	sprintf(tmp, "%s.tmp", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(tmp, 0600), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	free(tmp);
}

START_TEST(reload_takes_new_files_and_refuses_bad_ones)
{
	char *bearer = put_set("rs.jwks", set2(&rs, "\"kid\":\"r\"", NULL, NULL),
	    0600);
	char *ring = put_set("ring.jwks", set2(&t1, "\"kid\":\"old\"", NULL, NULL),
	    0600);
	const char *env[] = { "MEDIAGATE_JWT_ALG", "RS256,ES256",
	    "MEDIAGATE_JWT_JWKS_FILE", bearer,
	    "MEDIAGATE_TOKEN_JWKS_FILE", ring, NULL };
	struct keys_watch w = { { 0, 0 }, false };
	unsigned long ok0 = keys_counts()->reloads_ok,
	    bad0 = keys_counts()->reloads_failed;
	const struct jwks *before;
	struct config cfg;
	char err[512], *json, *tok;

	ck_assert_msg(load(&cfg, env, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_UNCHANGED);
	/* Within the second: no stat at all, even if a file changed. */
	replace(ring, (json = set2(&t2, "\"kid\":\"new\"", &t1,
	    "\"kid\":\"old\"")));
	free(json);
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_UNCHANGED);
	w.next.tv_sec = 0;	/* a second later */
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_RELOADED);
	ck_assert_str_eq(jwks_signer(cfg.token_keys)->kid, "new");
	ck_assert_uint_eq(keys_counts()->reloads_ok, ok0 + 1);

	/* Invalid content: refused, old keys kept, counted once. */
	before = cfg.bearer_keys;
	replace(bearer, "{\"keys\":[");
	w.next.tv_sec = 0;
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_FAILED);
	ck_assert_ptr_eq(cfg.bearer_keys, before);
	tok = jg_sign(&rs, JWS_RS256, "r", "{\"exp\":4000000000}");
	{
		yajl_val claims;

		ck_assert_int_eq(jwks_verify(cfg.bearer_keys, tok, strlen(tok),
		    (long long)time(NULL), &claims), JWS_OK);
		sjson_free(claims);
	}
	free(tok);
	w.next.tv_sec = 0;
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_UNCHANGED);
	/* Nor again on a signal: that content was refused already. */
	ck_assert_int_eq(keys_poll(&cfg, &w, true), KEYS_UNCHANGED);
	ck_assert_uint_eq(keys_counts()->reloads_failed, bad0 + 1);

	/* Fixed: taken at the next look; a signal forces a reload. */
	replace(bearer, (json = set2(&rs, "\"kid\":\"r\"", &es,
	    "\"kid\":\"e\"")));
	free(json);
	w.next.tv_sec = 0;
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_RELOADED);
	ck_assert_uint_eq(cfg.bearer_keys->usable, 2);
	ck_assert_int_eq(keys_poll(&cfg, &w, true), KEYS_RELOADED);
	ck_assert_uint_eq(keys_counts()->reloads_ok, ok0 + 3);
	config_free(&cfg);
	free(bearer);
	free(ring);
}
END_TEST

/* §3.1 "for all four key variables": the single-key files reload too. */
START_TEST(reload_single_key_files)
{
	char *bearer = put("hs.key", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
	    0600);
	char *tok = put("tok.key", "tttttttttttttttttttttttttttttttttttttttt",
	    0600);
	const char *env[] = { "MEDIAGATE_JWT_KEY_FILE", bearer,
	    "MEDIAGATE_TOKEN_SECRET_FILE", tok, NULL };
	struct keys_watch w = { { 0, 0 }, false };
	struct config cfg;
	char err[512];

	ck_assert_msg(load(&cfg, env, err, sizeof(err)) == 0, "%s", err);
	replace(tok, "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu");
	replace(bearer, "llllllllllllllllllllllllllllllllllllllll");
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_RELOADED);
	ck_assert_int_eq(cfg.token_keys->keys[0].key.bytes[0], 'u');
	ck_assert_int_eq(cfg.bearer_keys->keys[0].key.bytes[0], 'l');
	/* The same checks as at start: a short secret is refused. */
	replace(tok, "short");
	w.next.tv_sec = 0;
	ck_assert_int_eq(keys_poll(&cfg, &w, false), KEYS_FAILED);
	ck_assert_int_eq(cfg.token_keys->keys[0].key.bytes[0], 'u');
	config_free(&cfg);
	free(bearer);
	free(tok);
}
END_TEST

Suite *
suite_keys(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("keys");

	tcase_add_unchecked_fixture(tc, make_keys, free_keys);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, startup_lines);
	tcase_add_test(tc, keyring_signs_with_first_verifies_by_kid);
	tcase_add_test(tc, single_secret_tokens_carry_no_kid);
	tcase_add_test(tc, check_config_lists_unusable_keys);
	tcase_add_test(tc, reload_takes_new_files_and_refuses_bad_ones);
	tcase_add_test(tc, reload_single_key_files);
	suite_add_tcase(s, tc);
	return s;
}
