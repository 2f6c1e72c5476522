/*
 * unit_app_origin.c — the request core over a table of media: what is decided
 * before any work (the origin of the download URL), and what HEAD answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "testkeys.h"
#include "unit_suites.h"

static int lookups;

static enum mg_err
fake_lookup(void *ctx, const char *id, const char *tenant, struct media *m,
    char *errbuf, size_t errsz)
{
	(void)ctx;
	(void)tenant;
	(void)errbuf;
	(void)errsz;
	lookups++;
	memset(m, 0, sizeof(*m));
	if (strcmp(id, "m1") != 0)
		return MG_ENOTFOUND;
	m->mime_type = "application/pdf";
	m->file_name = "report.pdf";
	m->storage_file_name = "report.pdf";
	return MG_OK;
}

static void
fake_release(void *ctx, struct media *m)
{
	(void)ctx;
	memset(m, 0, sizeof(*m));
}

static struct testkey bearer, secret;
static char storage[] = "/tmp/mg-unit-app-XXXXXX";
static struct config cfg;
static struct app app;
static const struct media_source source = { fake_lookup, fake_release, NULL, NULL };

static void
setup(void)
{
	tk_generate(&bearer, JWS_HS256);
	tk_generate(&secret, JWS_HS256);
	memset(&cfg, 0, sizeof(cfg));
	cfg.jwt_alg = JWS_HS256;
	cfg.bearer_keys = tk_verify_set(&bearer);
	cfg.token_keys = tk_verify_set(&secret);
	cfg.tenant_claim = "tenant";
	cfg.token_ttl = 60;
	cfg.jwt_leeway = 30;
	cfg.base_path = "";
	strcpy(storage, "/tmp/mg-unit-app-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(storage));
	free(tk_write_file(storage, "report.pdf", "%PDF", 4, 0644));
	cfg.storage_root = storage;
	app_init(&app, &cfg, &source);
	lookups = 0;
}

static void
teardown(void)
{
	char cmd[64];

	app_free(&app);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", storage);
	ck_assert_int_eq(system(cmd), 0);
	jwks_free(cfg.bearer_keys);
	jwks_free(cfg.token_keys);
	tk_free(&bearer);
	tk_free(&secret);
}

/* Run one request given as NULL-terminated "NAME=value" parameters. */
static void
run(char **env, struct response *resp)
{
	struct body body = { "", 0, false };
	struct request req;

	request_parse(&req, env);
	app_handle(&app, &req, &body, time(NULL), resp);
}

static char *
authorization(void)
{
	char claims[256], *tok, *h;

	snprintf(claims, sizeof(claims), "{\"exp\":%lld,\"tenant\":\"acme\","
	    "\"permissions\":[\"media:read\"]}", (long long)time(NULL) + 300);
	tok = tk_mint(&bearer, claims);
	h = malloc(strlen(tok) + 32);
	sprintf(h, "HTTP_AUTHORIZATION=Bearer %s", tok);
	free(tok);
	return h;
}

/* HTTP/1.0 without Host and no SERVER_ADDR: no URL can be made, so 400
 * before the bearer is looked at or the database asked. */
START_TEST(no_origin_fails_first)
{
	char *auth = authorization();
	char *with_bearer[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/media/m1/download-token", "SERVER_NAME=",
	    "SERVER_PORT=80", auth, NULL };
	char *without[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/media/m1/download-token", "SERVER_PORT=80", NULL };
	struct response resp = { 0 };

	run(with_bearer, &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_int_eq(lookups, 0);
	run(without, &resp);
	ck_assert_int_eq(resp.status, 400);	/* not 401 */
	ck_assert_int_eq(lookups, 0);
	response_free(&resp);
	free(auth);
}
END_TEST

/* Without a name, the address the request came in on. */
START_TEST(origin_from_server_addr)
{
	char *auth = authorization();
	char *env[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/media/m1/download-token", "SERVER_NAME=",
	    "SERVER_ADDR=::1", "SERVER_PORT=8080", auth, NULL };
	struct response resp = { 0 };

	run(env, &resp);
	ck_assert_int_eq(resp.status, 201);
	ck_assert_msg(strstr(buf_str(&resp.body),
	    "\"url\":\"http://[::1]:8080/media/m1/download/") != NULL, "%s",
	    buf_str(&resp.body));
	ck_assert_int_eq(lookups, 1);
	response_free(&resp);
	free(auth);
}
END_TEST

/* RFC 9110 §9.3.2: HEAD on an error has GET's headers and its length. */
START_TEST(head_error_keeps_length)
{
	char *get[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/media/m1/download/not.a.token", NULL };
	char *head[] = { "REQUEST_METHOD=HEAD",
	    "REQUEST_URI=/media/m1/download/not.a.token", NULL };
	struct response g = { 0 }, h = { 0 };

	run(get, &g);
	run(head, &h);
	ck_assert_int_eq(g.status, 403);
	ck_assert_int_eq(h.status, 403);
	ck_assert(!g.no_body && !g.head_only);
	ck_assert(!h.no_body && h.head_only);
	ck_assert_uint_gt(g.body.len, 0);
	ck_assert_uint_eq(h.body.len, g.body.len);
	ck_assert_str_eq(buf_str(&h.head), buf_str(&g.head));
	response_free(&g);
	response_free(&h);
}
END_TEST

/* A download's 200 has no body of ours: no length either (the web server
 * sends the file and its length). */
START_TEST(head_download_no_length)
{
	char *auth = authorization();
	char *issue[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/media/m1/download-token", "SERVER_NAME=a.test",
	    "SERVER_PORT=80", auth, NULL };
	char uri[4200], *head[] = { "REQUEST_METHOD=HEAD", uri, NULL };
	struct response resp = { 0 };
	const char *u, *e;

	run(issue, &resp);
	ck_assert_int_eq(resp.status, 201);
	u = strstr(buf_str(&resp.body), "http://a.test/");
	ck_assert_ptr_nonnull(u);
	e = strchr(u, '"');
	snprintf(uri, sizeof(uri), "REQUEST_URI=%.*s", (int)(e - u - 13),
	    u + 13);
	run(head, &resp);
	ck_assert_int_eq(resp.status, 200);
	ck_assert(resp.no_body);
	ck_assert_uint_eq(resp.body.len, 0);
	response_free(&resp);
	free(auth);
}
END_TEST

Suite *
suite_app_origin(void)
{
	Suite *s = suite_create("app_origin");
	TCase *tc = tcase_create("origin_and_head");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_origin_fails_first);
	tcase_add_test(tc, origin_from_server_addr);
	tcase_add_test(tc, head_error_keeps_length);
	tcase_add_test(tc, head_download_no_length);
	suite_add_tcase(s, tc);
	return s;
}
