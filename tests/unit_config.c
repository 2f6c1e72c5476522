/* unit_config.c — environment parsing and key checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testkeys.h"
#include "unit_suites.h"

/* A fake environment: NULL-terminated name/value pairs. */
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

static char tmpdir[] = "/tmp/mg-unit-config-XXXXXX";
static char *hs_key, *tok_key;

static void
setup(void)
{
	char secret[40];

	/* mkdtemp rewrites the template: renew it for every test, which
	 * matters when Check does not fork (CK_FORK=no). */
	strcpy(tmpdir, "/tmp/mg-unit-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(secret, 'k', sizeof(secret));
	hs_key = tk_write_file(tmpdir, "hs.key", secret, 40, 0600);
	memset(secret, 't', sizeof(secret));
	tok_key = tk_write_file(tmpdir, "token.key", secret, 40, 0600);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(hs_key);
	free(tok_key);
}

static int
parse(struct config *cfg, const char *const *env, char *err)
{
	int rc;

	fake_env = env;
	rc = config_parse(cfg, fake_get, err, 256);
	if (rc == 0)
		rc = config_load_keys(cfg, err, 256);
	return rc;
}

START_TEST(defaults)
{
	const char *env[] = {
		"MEDIAGATE_JWT_KEY_FILE", hs_key,
		"MEDIAGATE_TOKEN_SECRET_FILE", tok_key, NULL,
	};
	struct config cfg;
	char err[256];

	ck_assert_int_eq(parse(&cfg, env, err), 0);
	ck_assert_int_eq(cfg.jwt_alg, JWS_HS256);
	ck_assert_str_eq(cfg.db, "");
	ck_assert_int_eq(cfg.jwt_leeway, 30);
	ck_assert_str_eq(cfg.tenant_claim, "tenant");
	ck_assert_int_eq(cfg.token_ttl, 60);
	ck_assert_ptr_null(cfg.public_url);
	ck_assert_ptr_null(cfg.jwt_issuer);
	ck_assert_str_eq(cfg.base_path, "");
	ck_assert_ptr_null(cfg.storage_root);
	ck_assert_int_eq(cfg.sendfile, SENDFILE_X_SENDFILE);
	ck_assert_int_eq(cfg.bearer_keys->keys[0].key.len, 40);
	ck_assert_int_eq(cfg.token_keys->keys[0].key.alg, JWS_HS256);
	config_free(&cfg);
}
END_TEST

START_TEST(all_set)
{
	const char *env[] = {
		"MEDIAGATE_DB", "dbname=x",
		"MEDIAGATE_JWT_ALG", "HS512",
		"MEDIAGATE_JWT_KEY_FILE", hs_key,
		"MEDIAGATE_JWT_ISSUER", "https://i",
		"MEDIAGATE_JWT_AUDIENCE", "aud",
		"MEDIAGATE_JWT_LEEWAY", "0",
		"MEDIAGATE_TENANT_CLAIM", "",
		"MEDIAGATE_TOKEN_SECRET_FILE", tok_key,
		"MEDIAGATE_TOKEN_TTL", "300",
		"MEDIAGATE_PUBLIC_URL", "https://coreapi.io/",
		"MEDIAGATE_BASE_PATH", "/api/",
		"MEDIAGATE_STORAGE_ROOT", "/tmp",
		"MEDIAGATE_SENDFILE_HEADER", "x-lighttpd-send-file",
		NULL,
	};
	struct config cfg;
	char err[256];

	ck_assert_msg(parse(&cfg, env, err) == 0, "%s", err);
	ck_assert_int_eq(cfg.jwt_alg, JWS_HS512);
	ck_assert_ptr_null(cfg.tenant_claim);
	ck_assert_str_eq(cfg.public_url, "https://coreapi.io");
	ck_assert_str_eq(cfg.base_path, "/api");
	ck_assert_str_eq(cfg.storage_root, "/tmp");
	ck_assert_int_eq(cfg.sendfile, SENDFILE_X_LIGHTTPD);
	ck_assert_int_eq(cfg.jwt_leeway, 0);
	ck_assert_int_eq(cfg.token_ttl, 300);
	ck_assert_str_eq(config_sendfile_header(cfg.sendfile),
	    "X-LIGHTTPD-send-file");
	config_free(&cfg);
}
END_TEST

/* Each bad setting names its variable in the one-line error. */
static const struct {
	const char *name, *value, *expect;
} bad[] = {
	{ "MEDIAGATE_JWT_ALG", "none", "MEDIAGATE_JWT_ALG" },
	{ "MEDIAGATE_JWT_ALG", "hs256", "MEDIAGATE_JWT_ALG" },
	{ "MEDIAGATE_JWT_LEEWAY", "-1", "MEDIAGATE_JWT_LEEWAY" },
	{ "MEDIAGATE_JWT_LEEWAY", "5s", "MEDIAGATE_JWT_LEEWAY" },
	{ "MEDIAGATE_TOKEN_TTL", "0", "MEDIAGATE_TOKEN_TTL" },
	{ "MEDIAGATE_TOKEN_TTL", "99999999999999999999", "MEDIAGATE_TOKEN_TTL" },
	{ "MEDIAGATE_PUBLIC_URL", "coreapi.io", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "https://a.io/path", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "https://u@a.io", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "https://", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_BASE_PATH", "api", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/a/../b", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/a b", "MEDIAGATE_BASE_PATH" },
	/* URLs and paths that looked plausible to the old checks. */
	{ "MEDIAGATE_PUBLIC_URL", "http://:", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://]]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:99999", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:65536", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:0", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:8:8", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://:443", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[h]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[::1", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://::1", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[::1]]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[::1]x", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[1::2::3]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[::1%eth0]", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://a..b", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://.a", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://a_b", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://999.1.1.1", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://1.2.3", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://a.io?x", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_PUBLIC_URL", "http://a.io#x", "MEDIAGATE_PUBLIC_URL" },
	{ "MEDIAGATE_BASE_PATH", "/.", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/..", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/../", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/a/.", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/a/..", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/./a", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_BASE_PATH", "/a//b", "MEDIAGATE_BASE_PATH" },
	{ "MEDIAGATE_STORAGE_ROOT", "relative", "MEDIAGATE_STORAGE_ROOT" },
	{ "MEDIAGATE_STORAGE_ROOT", "/nonexistent/x", "MEDIAGATE_STORAGE_ROOT" },
	{ "MEDIAGATE_STORAGE_ROOT", "/etc/passwd", "MEDIAGATE_STORAGE_ROOT" },
	{ "MEDIAGATE_SENDFILE_HEADER", "X-Foo", "MEDIAGATE_SENDFILE_HEADER" },
	{ "MEDIAGATE_TENANT_CLAIM", "a b", "MEDIAGATE_TENANT_CLAIM" },
	{ "MEDIAGATE_JWT_KEY_FILE", "/nonexistent", "MEDIAGATE_JWT_KEY_FILE" },
	{ "MEDIAGATE_JWT_KEY_FILE", "", "MEDIAGATE_JWT_KEY_FILE" },
	{ "MEDIAGATE_TOKEN_SECRET_FILE", "", "MEDIAGATE_TOKEN_SECRET_FILE" },
};

START_TEST(bad_settings)
{
	/* fake_get returns the first match: the bad entry overrides. */
	const char *env[] = {
		bad[_i].name, bad[_i].value,
		"MEDIAGATE_JWT_KEY_FILE", hs_key,
		"MEDIAGATE_TOKEN_SECRET_FILE", tok_key, NULL,
	};
	struct config cfg;
	char err[256];

	ck_assert_int_eq(parse(&cfg, env, err), -1);
	ck_assert_msg(strstr(err, bad[_i].expect) != NULL, "error '%s'", err);
	ck_assert_ptr_null(strchr(err, '\n'));
	config_free(&cfg);
}
END_TEST

/* Public URLs and base paths that are accepted, and as what. */
static const struct {
	const char *name, *value, *want;
} good[] = {
	{ "MEDIAGATE_PUBLIC_URL", "https://coreapi.io", "https://coreapi.io" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:1", "http://h:1" },
	{ "MEDIAGATE_PUBLIC_URL", "http://h:65535/", "http://h:65535" },
	{ "MEDIAGATE_PUBLIC_URL", "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
	{ "MEDIAGATE_PUBLIC_URL", "https://[::1]", "https://[::1]" },
	{ "MEDIAGATE_PUBLIC_URL", "https://[2001:db8::1]:8443",
	    "https://[2001:db8::1]:8443" },
	{ "MEDIAGATE_PUBLIC_URL", "http://[::ffff:1.2.3.4]", "http://[::ffff:1.2.3.4]" },
	{ "MEDIAGATE_PUBLIC_URL", "http://a-b.c-d.example", "http://a-b.c-d.example" },
	{ "MEDIAGATE_PUBLIC_URL", "http://localhost", "http://localhost" },
	{ "MEDIAGATE_BASE_PATH", "/api", "/api" },
	{ "MEDIAGATE_BASE_PATH", "/a/b.c/..d/.e/", "/a/b.c/..d/.e" },
	{ "MEDIAGATE_BASE_PATH", "/...", "/..." },
	{ "MEDIAGATE_BASE_PATH", "/", "" },
};

START_TEST(good_urls_and_paths)
{
	const char *env[] = {
		good[_i].name, good[_i].value,
		"MEDIAGATE_JWT_KEY_FILE", hs_key,
		"MEDIAGATE_TOKEN_SECRET_FILE", tok_key, NULL,
	};
	struct config cfg;
	char err[256];

	ck_assert_msg(parse(&cfg, env, err) == 0, "%s: %s", good[_i].value,
	    err);
	ck_assert_str_eq(strcmp(good[_i].name, "MEDIAGATE_BASE_PATH") == 0 ?
	    cfg.base_path : cfg.public_url, good[_i].want);
	config_free(&cfg);
}
END_TEST

START_TEST(secret_files_checked)
{
	char secret[40], *short_key, *open_key;
	const char *env[] = {
		"MEDIAGATE_JWT_KEY_FILE", NULL,
		"MEDIAGATE_TOKEN_SECRET_FILE", tok_key, NULL,
	};
	struct config cfg;
	char err[256];

	memset(secret, 's', sizeof(secret));
	short_key = tk_write_file(tmpdir, "short.key", secret, 31, 0600);
	open_key = tk_write_file(tmpdir, "open.key", secret, 40, 0604);

	env[1] = short_key;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "at least 32"));
	config_free(&cfg);

	env[1] = open_key;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "other users"));
	config_free(&cfg);

	/* The same secret for bearer and download tokens is refused. */
	env[1] = tok_key;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "differ"));
	config_free(&cfg);
	free(short_key);
	free(open_key);
}
END_TEST

START_TEST(public_keys_checked)
{
	struct testkey rs, es;
	char *rs_pub, *es_pub, *rs_priv;
	const char *env[] = {
		"MEDIAGATE_JWT_ALG", NULL,
		"MEDIAGATE_JWT_KEY_FILE", NULL,
		"MEDIAGATE_TOKEN_SECRET_FILE", tok_key, NULL,
	};
	struct config cfg;
	char err[256];

	tk_generate(&rs, JWS_RS256);
	tk_generate(&es, JWS_ES256);
	/* Public keys are not secret: world-readable is fine. */
	rs_pub = tk_write_file(tmpdir, "rs.pub", rs.pub, rs.pub_len, 0644);
	es_pub = tk_write_file(tmpdir, "es.pub", es.pub, es.pub_len, 0644);
	rs_priv = tk_write_file(tmpdir, "rs.priv", rs.priv, rs.priv_len, 0600);

	env[1] = "RS256"; env[3] = rs_pub;
	ck_assert_msg(parse(&cfg, env, err) == 0, "%s", err);
	config_free(&cfg);
	env[1] = "ES256"; env[3] = es_pub;
	ck_assert_msg(parse(&cfg, env, err) == 0, "%s", err);
	config_free(&cfg);

	env[1] = "ES256"; env[3] = rs_pub;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	config_free(&cfg);
	env[1] = "ES384"; env[3] = es_pub;	/* wrong curve */
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	config_free(&cfg);
	env[1] = "RS256"; env[3] = es_pub;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	config_free(&cfg);
	env[1] = "RS256"; env[3] = hs_key;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "PEM public key"));
	config_free(&cfg);
	env[1] = "RS256"; env[3] = rs_priv;
	ck_assert_int_eq(parse(&cfg, env, err), -1);
	config_free(&cfg);

	free(rs_pub);
	free(es_pub);
	free(rs_priv);
	tk_free(&rs);
	tk_free(&es);
}
END_TEST

Suite *
suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, all_set);
	tcase_add_loop_test(tc, bad_settings, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, good_urls_and_paths, 0,
	    sizeof(good) / sizeof(good[0]));
	tcase_add_test(tc, secret_files_checked);
	tcase_add_test(tc, public_keys_checked);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
