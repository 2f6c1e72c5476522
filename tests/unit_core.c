/*
 * unit_core.c — the request core (app_handle) without a database: a
 * table-backed struct media_source stands in for db.c, so that every row
 * of §6's status table and the order in which the checks are made are
 * proved on the core alone.  Each case is a row {name, request builder,
 * status, detail}; the builder is the row's data (method, path, token
 * kinds, Accept, body) put together by build().  The row also says how
 * many media lookups the answer may cost: none for anything refused
 * before the lookup, which is how the order of checks shows.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "buf.h"
#include "media.h"
#include "testkeys.h"
#include "unit_suites.h"

#define NOW		1700000000LL
#define ROOT_TEMPLATE	"/tmp/mg-unit-app-XXXXXX"

/* ------------------------------------------------------------------ */
/* The table the media source reads */

struct row {
	const char	*id;
	const char	*tenant;
	const char	*mime;
	const char	*file_name;
	const char	*storage;	/* NULL: not uploaded yet */
	enum mg_err	 fails;		/* MG_OK, or what the lookup returns */
};

static const struct row rows[] = {
	{ "m-pdf", "acme", "application/pdf", "a.pdf", "acme/a.pdf", MG_OK },
	{ "m-nofile", "acme", NULL, "n.pdf", NULL, MG_OK },
	{ "m-gone", "acme", NULL, "g.pdf", "acme/gone.pdf", MG_OK },
	{ "m-escape", "acme", NULL, "e.pdf", "../../etc/passwd", MG_OK },
	{ "g-doc", "globex", "text/plain", "g.txt", "acme/a.pdf", MG_OK },
	{ "m-down", "acme", NULL, "d", "acme/a.pdf", MG_EUNAVAIL },
	{ "m-broken", "acme", NULL, "b", "acme/a.pdf", MG_EINTERNAL },
};

static int lookups;		/* calls since the case began */

static enum mg_err
table_lookup(void *ctx, const char *id, const char *tenant, struct media *m,
    char *errbuf, size_t errsz)
{
	size_t i;

	(void)ctx;
	lookups++;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (strcmp(rows[i].id, id) != 0)
			continue;
		if (rows[i].fails != MG_OK) {
			snprintf(errbuf, errsz, "table: %s fails", id);
			return rows[i].fails;
		}
		if (tenant != NULL && strcmp(rows[i].tenant, tenant) != 0)
			break;
		m->mime_type = rows[i].mime;
		m->file_name = rows[i].file_name;
		m->storage_file_name = rows[i].storage;
		m->priv = NULL;
		return MG_OK;
	}
	snprintf(errbuf, errsz, "no row");
	return MG_ENOTFOUND;
}

static void
table_release(void *ctx, struct media *m)
{
	(void)ctx;
	(void)m;
}

/* ------------------------------------------------------------------ */
/* The core under test */

static char		 root[] = ROOT_TEMPLATE;
static struct testkey	 bearer_key, token_key;
static struct config	 cfg;
static struct app	 app;

static void
core_setup(void)
{
	static const struct media_source src = {
		table_lookup, table_release, NULL, NULL,
	};
	char *dir, *f;

	strcpy(root, ROOT_TEMPLATE);
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_ne(asprintf(&dir, "%s/acme", root), -1);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	f = tk_write_file(dir, "a.pdf", "%PDF", 4, 0600);
	free(f);
	free(dir);
	tk_generate(&bearer_key, JWS_HS256);
	tk_generate(&token_key, JWS_HS256);

	memset(&cfg, 0, sizeof(cfg));
	cfg.jwt_alg = JWS_HS256;
	cfg.jwt_leeway = 30;
	cfg.tenant_claim = "tenant";
	cfg.token_ttl = 60;
	cfg.public_url = "https://media.test";
	cfg.base_path = "";
	cfg.storage_root = root;
	cfg.sendfile = SENDFILE_X_SENDFILE;
	cfg.bearer_keys = tk_verify_set(&bearer_key);
	cfg.token_keys = tk_verify_set(&token_key);
	app_init(&app, &cfg, &src);
}

static void
core_teardown(void)
{
	char *cmd;

	app_free(&app);
	jwks_free(cfg.bearer_keys);
	jwks_free(cfg.token_keys);
	tk_free(&bearer_key);
	tk_free(&token_key);
	ck_assert_int_ne(asprintf(&cmd, "rm -rf '%s'", root), -1);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* ------------------------------------------------------------------ */
/* Request builders */

enum bearer {
	B_NONE,		/* no Authorization */
	B_GOOD,		/* tenant acme, media:read */
	B_HS384,	/* the right secret, another algorithm */
	B_EXPIRED,
	B_NO_SCOPE,
	B_NO_TENANT,
};

enum dltoken {
	D_GOOD,		/* for the path's id, tenant acme */
	D_OTHER,	/* for m-pdf, whatever the path says */
	D_FORGED,	/* signed with the bearer key */
	D_EXPIRED,
};

enum op { ISSUE, DOWNLOAD, RAW };

struct app_case {
	const char	*name;
	enum op		 op;
	const char	*method;
	const char	*id;		/* ISSUE, DOWNLOAD; RAW: the path */
	enum bearer	 bearer;	/* ISSUE */
	enum dltoken	 token;		/* DOWNLOAD */
	const char	*accept;
	const char	*body;		/* NULL: none */
	bool		 too_large;
	int		 status;
	const char	*detail;	/* in the problem body; NULL: none */
	const char	*header;	/* a header line the answer carries */
	int		 lookups;	/* media lookups the answer costs */
};

static char *
bearer_token(enum bearer b)
{
	static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char *claims;

	switch (b) {
	case B_NONE:
		return NULL;
	case B_HS384:
		return tk_hs_raw(bearer_key.priv, bearer_key.priv_len, "HS384",
		    "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", "{\"exp\":1700000100,"
		    "\"tenant\":\"acme\",\"permissions\":[\"media:read\"]}");
	case B_EXPIRED:
		claims = "{\"exp\":1699999000,\"tenant\":\"acme\","
		    "\"permissions\":[\"media:read\"]}";
		break;
	case B_NO_SCOPE:
		claims = "{\"exp\":1700000100,\"tenant\":\"acme\","
		    "\"scope\":\"media:write\"}";
		break;
	case B_NO_TENANT:
		claims = "{\"exp\":1700000100,\"permissions\":[\"media:read\"]}";
		break;
	case B_GOOD:
	default:
		claims = "{\"exp\":1700000100,\"tenant\":\"acme\","
		    "\"permissions\":[\"media:read\"]}";
		break;
	}
	return tk_hs_raw(bearer_key.priv, bearer_key.priv_len, "HS256", hs256,
	    claims);
}

static char *
download_token(enum dltoken t, const char *id)
{
	static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const struct testkey *k = t == D_FORGED ? &bearer_key : &token_key;
	char claims[256];

	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\"}",
	    t == D_OTHER ? "m-pdf" : id, t == D_EXPIRED ? NOW - 70 : NOW,
	    t == D_EXPIRED ? NOW - 10 : NOW + 60);
	return tk_hs_raw(k->priv, k->priv_len, "HS256", hs256, claims);
}

/* Builds the row's request into req and body; *uri and *authz (NULL:
 * none) are what it allocates, for the caller to free. */
static void
build(const struct app_case *c, struct request *req, struct body *body,
    char **uri, char **authz)
{
	char *tok = NULL;

	memset(req, 0, sizeof(*req));
	memset(body, 0, sizeof(*body));
	*authz = NULL;
	if (c->op == ISSUE) {
		*uri = NULL;
		ck_assert_int_ne(asprintf(uri, "/media/%s/download-token",
		    c->id), -1);
		if ((tok = bearer_token(c->bearer)) != NULL) {
			ck_assert_int_ne(asprintf(authz, "Bearer %s", tok), -1);
			free(tok);
		}
	} else if (c->op == DOWNLOAD) {
		tok = download_token(c->token, c->id);
		ck_assert_int_ne(asprintf(uri, "/media/%s/download/%s", c->id,
		    tok), -1);
		free(tok);
	} else
		*uri = xstrdup(c->id);
	req->method = c->method;
	req->uri = *uri;
	req->accept = c->accept;
	req->authorization = *authz;
	req->server_name = "127.0.0.1";
	req->server_port = "80";
	req->content_length = c->body != NULL ? (long long)strlen(c->body) :
	    -1;
	body->data = c->body != NULL ? c->body : "";
	body->len = c->body != NULL ? strlen(c->body) : 0;
	if (c->too_large) {
		body->too_large = true;
		req->content_length = APP_BODY_MAX + 1;
	}
}

/* ------------------------------------------------------------------ */
/* The cases: every row of §6, then the order of checks */

#define WWW_INVALID	"WWW-Authenticate: Bearer error=\"invalid_token\""
#define WWW_SCOPE	"WWW-Authenticate: Bearer error=\"insufficient_scope\""
#define RETRY		"Retry-After: "

static const struct app_case cases[] = {
	/* §6, row by row */
	{ "400 malformed id", ISSUE, "POST", "m.pdf", B_GOOD, D_GOOD, NULL,
	    NULL, false, 400, "The media id must be", NULL, 0 },
	{ "400 malformed body", ISSUE, "POST", "m-pdf", B_GOOD, D_GOOD, NULL,
	    "[1]", false, 400, "must be empty or a JSON object", NULL, 0 },
	{ "401 bearer missing", ISSUE, "POST", "m-pdf", B_NONE, D_GOOD, NULL,
	    NULL, false, 401, "A bearer token is required.", WWW_INVALID, 0 },
	{ "401 wrong alg", ISSUE, "POST", "m-pdf", B_HS384, D_GOOD, NULL,
	    NULL, false, 401, "signed with another algorithm", WWW_INVALID,
	    0 },
	{ "401 expired", ISSUE, "POST", "m-pdf", B_EXPIRED, D_GOOD, NULL,
	    NULL, false, 401, "has expired", WWW_INVALID, 0 },
	{ "403 lacks media:read", ISSUE, "POST", "m-pdf", B_NO_SCOPE, D_GOOD,
	    NULL, NULL, false, 403, "lacks the media:read permission",
	    WWW_SCOPE, 0 },
	{ "403 lacks the tenant claim", ISSUE, "POST", "m-pdf", B_NO_TENANT,
	    D_GOOD, NULL, NULL, false, 403, "names no tenant", NULL, 0 },
	{ "403 forged download token", DOWNLOAD, "GET", "m-pdf", B_NONE,
	    D_FORGED, NULL, NULL, false, 403, "malformed or forged", NULL, 0 },
	{ "403 download token for another media", DOWNLOAD, "GET", "m-nofile",
	    B_NONE, D_OTHER, NULL, NULL, false, 403, "for another media", NULL,
	    0 },
	{ "404 no such media", ISSUE, "POST", "no-such", B_GOOD, D_GOOD, NULL,
	    NULL, false, 404, "No such media.", NULL, 1 },
	{ "404 media of another tenant", ISSUE, "POST", "g-doc", B_GOOD,
	    D_GOOD, NULL, NULL, false, 404, "No such media.", NULL, 1 },
	{ "404 unknown path", RAW, "GET", "/media/m-pdf/other", B_NONE,
	    D_GOOD, NULL, NULL, false, 404, "No such resource.", NULL, 0 },
	{ "404 stored file missing", DOWNLOAD, "GET", "m-gone", B_NONE,
	    D_GOOD, NULL, NULL, false, 404, "The stored file is missing.",
	    NULL, 1 },
	{ "405 GET on the issuing path", ISSUE, "GET", "m-pdf", B_GOOD,
	    D_GOOD, NULL, NULL, false, 405, "Use POST", "Allow: POST", 0 },
	{ "405 POST on a download", DOWNLOAD, "POST", "m-pdf", B_NONE,
	    D_GOOD, NULL, NULL, false, 405, "Use GET or HEAD",
	    "Allow: GET, HEAD", 0 },
	{ "406 nothing acceptable", ISSUE, "POST", "m-pdf", B_GOOD, D_GOOD,
	    "text/plain", NULL, false, 406, "application/json or text/html",
	    NULL, 0 },
	{ "410 download token expired", DOWNLOAD, "GET", "m-pdf", B_NONE,
	    D_EXPIRED, NULL, NULL, false, 410, "has expired", NULL, 0 },
	{ "413 body over 64 KiB", ISSUE, "POST", "m-pdf", B_GOOD, D_GOOD,
	    NULL, "{}", true, 413, "larger than 64 KiB", NULL, 0 },
	{ "422 no stored file (issue)", ISSUE, "POST", "m-nofile", B_GOOD,
	    D_GOOD, NULL, NULL, false, 422, "no stored file yet", NULL, 1 },
	{ "422 no stored file (download)", DOWNLOAD, "GET", "m-nofile",
	    B_NONE, D_GOOD, NULL, NULL, false, 422, "no stored file yet", NULL,
	    1 },
	{ "500 lookup failure", ISSUE, "POST", "m-broken", B_GOOD, D_GOOD,
	    NULL, NULL, false, 500, "An unexpected error occurred", NULL, 1 },
	{ "500 stored path leaves the root", DOWNLOAD, "GET", "m-escape",
	    B_NONE, D_GOOD, NULL, NULL, false, 500,
	    "An unexpected error occurred", NULL, 1 },
	{ "503 database unreachable (issue)", ISSUE, "POST", "m-down", B_GOOD,
	    D_GOOD, NULL, NULL, false, 503, "database is unavailable", RETRY,
	    1 },
	{ "503 database unreachable (download)", DOWNLOAD, "GET", "m-down",
	    B_NONE, D_GOOD, NULL, NULL, false, 503, "database is unavailable",
	    RETRY, 1 },
	{ "201 issued", ISSUE, "POST", "m-pdf", B_GOOD, D_GOOD, NULL, "{}",
	    false, 201, NULL, "Cache-Control: no-store", 1 },
	{ "200 download", DOWNLOAD, "GET", "m-pdf", B_NONE, D_GOOD, NULL,
	    NULL, false, 200, NULL, "X-Sendfile: ", 1 },

	/* The order of checks: the first failing one answers. */
	{ "unknown path before method", RAW, "PUT", "/media/x/other", B_NONE,
	    D_GOOD, NULL, NULL, false, 404, "No such resource.", NULL, 0 },
	{ "malformed id before method", ISSUE, "GET", "m.pdf", B_NONE, D_GOOD,
	    NULL, NULL, false, 400, "The media id must be", NULL, 0 },
	{ "method before Accept", ISSUE, "GET", "m-pdf", B_NONE, D_GOOD,
	    "text/plain", NULL, false, 405, "Use POST", "Allow: POST", 0 },
	{ "Accept before body size", ISSUE, "POST", "m-pdf", B_NONE, D_GOOD,
	    "text/plain", "{}", true, 406, "application/json or text/html",
	    NULL, 0 },
	{ "body size before bearer", ISSUE, "POST", "m-pdf", B_NONE, D_GOOD,
	    NULL, "{}", true, 413, "larger than 64 KiB", NULL, 0 },
	{ "bearer before body syntax", ISSUE, "POST", "m-pdf", B_NONE,
	    D_GOOD, NULL, "[1]", false, 401, "A bearer token is required.",
	    WWW_INVALID, 0 },
	{ "body syntax before lookup", ISSUE, "POST", "no-such", B_GOOD,
	    D_GOOD, NULL, "[1]", false, 400, "must be empty or a JSON object",
	    NULL, 0 },
	{ "bearer before lookup", ISSUE, "POST", "no-such", B_HS384, D_GOOD,
	    NULL, NULL, false, 401, "signed with another algorithm",
	    WWW_INVALID, 0 },
	{ "scope before lookup", ISSUE, "POST", "m-down", B_NO_SCOPE, D_GOOD,
	    NULL, NULL, false, 403, "lacks the media:read permission",
	    WWW_SCOPE, 0 },
	{ "download token before lookup", DOWNLOAD, "GET", "m-down", B_NONE,
	    D_FORGED, NULL, NULL, false, 403, "malformed or forged", NULL, 0 },
	{ "expiry before lookup", DOWNLOAD, "GET", "no-such", B_NONE,
	    D_EXPIRED, NULL, NULL, false, 410, "has expired", NULL, 0 },
	{ "database before stored file", DOWNLOAD, "HEAD", "m-down", B_NONE,
	    D_GOOD, NULL, NULL, false, 503, NULL, RETRY, 1 },
};

START_TEST(core_case)
{
	const struct app_case *c = &cases[_i];
	struct response resp = { 0 };
	struct request req;
	struct body body;
	char *uri, *authz;

	build(c, &req, &body, &uri, &authz);
	lookups = 0;
	app_handle(&app, &req, &body, (time_t)NOW, &resp);
	ck_assert_msg(resp.status == c->status, "%s: status %d, want %d: %s",
	    c->name, resp.status, c->status, buf_str(&resp.body));
	ck_assert_msg(lookups == c->lookups, "%s: %d media lookups, want %d",
	    c->name, lookups, c->lookups);
	if (c->status >= 400 && strcmp(c->method, "HEAD") != 0) {
		ck_assert_msg(strstr(buf_str(&resp.head), "Content-Type: "
		    "application/problem+json\r\n") != NULL,
		    "%s: not problem+json: %s", c->name, buf_str(&resp.head));
		ck_assert_msg(c->detail == NULL ||
		    strstr(buf_str(&resp.body), c->detail) != NULL,
		    "%s: body %s does not say '%s'", c->name,
		    buf_str(&resp.body), c->detail);
	}
	ck_assert_msg(c->header == NULL ||
	    strstr(buf_str(&resp.head), c->header) != NULL,
	    "%s: no '%s' in %s", c->name, c->header, buf_str(&resp.head));
	/* HEAD: no body on the wire, but an error keeps the body (and so
	 * the Content-Length) GET would have (RFC 9110 §9.3.2). */
	ck_assert_msg(strcmp(c->method, "HEAD") != 0 || resp.no_body ||
	    resp.head_only, "%s: a HEAD answer with a body", c->name);
	response_free(&resp);
	free(uri);
	free(authz);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The headers of HTML answers: every row again with Accept: text/html */

/* How many header lines of head start with line (name: value). */
static int
head_count(const char *head, const char *line)
{
	const char *p;
	int n = 0;

	for (p = head; (p = strstr(p, line)) != NULL; p += strlen(line))
		if (p == head || p[-1] == '\n')
			n++;
	return n;
}

START_TEST(core_html_headers)
{
	static const char *const html[] = {
		"Content-Type: text/html; charset=utf-8\r\n",
		"Content-Security-Policy: default-src 'none'; style-src "
		"'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
		"form-action 'none'\r\n",
		"X-Content-Type-Options: nosniff\r\n",
		"Referrer-Policy: no-referrer\r\n",
	};
	struct app_case c = cases[_i];
	struct response resp = { 0 };
	struct request req;
	struct body body;
	char *uri, *authz;
	const char *head;
	size_t i;

	/* Rows about Accept itself keep theirs. */
	if (c.accept != NULL)
		return;
	c.accept = "text/html";
	build(&c, &req, &body, &uri, &authz);
	app_handle(&app, &req, &body, (time_t)NOW, &resp);
	head = buf_str(&resp.head);
	ck_assert_msg(resp.status == c.status, "%s: status %d, want %d",
	    c.name, resp.status, c.status);
	if (resp.status == 200) {
		/* A download: the URL holds the token. */
		ck_assert_msg(head_count(head, html[3]) == 1, "%s: %s", c.name,
		    head);
		ck_assert_msg(strstr(head, "text/html") == NULL, "%s: %s",
		    c.name, head);
	} else {
		for (i = 0; i < sizeof(html) / sizeof(html[0]); i++)
			ck_assert_msg(head_count(head, html[i]) == 1,
			    "%s: not once '%.40s' in %s", c.name, html[i],
			    head);
		ck_assert_msg(resp.body.len == 0 ||
		    strncmp(buf_str(&resp.body), "<!DOCTYPE html>", 15) == 0,
		    "%s: %.80s", c.name, buf_str(&resp.body));
	}
	response_free(&resp);
	free(uri);
	free(authz);
}
END_TEST

Suite *
suite_core(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, core_setup, core_teardown);
	tcase_add_loop_test(tc, core_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("html");
	tcase_add_checked_fixture(tc, core_setup, core_teardown);
	tcase_add_loop_test(tc, core_html_headers, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
