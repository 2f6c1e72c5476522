/*
 * check_flow.c — the download flow through one shipped web-server
 * deployment (deploy/lighttpd, deploy/apache …), over HTTPS.
 *
 * tests/webservers.sh starts the web server from the file in deploy/ with
 * only ports and paths substituted, and runs this program once per
 * deployment with MG_FLOW_* variables (see main()).  What it proves, for
 * the deployment at hand:
 *
 *   - a bearer token reaches mediagate (Authorization is passed on, even
 *     when it is larger than 8 KiB) and a download token is issued, as
 *     JSON and as HTML, with the public https:// URL;
 *   - the download URL delivers the stored file byte for byte, served by
 *     the web server through the sendfile header, which never reaches the
 *     client (nor does the storage path);
 *   - Range requests (206 with the right bytes and Content-Range, 416),
 *     HEAD (headers, no body), and Content-Disposition for hostile names;
 *   - expired tokens get 410 and forged ones 403, from mediagate;
 *   - request bodies up to mediagate's limit reach it (it answers 413);
 *   - plain HTTP answers a permanent redirect to the same path on HTTPS;
 *   - nothing outside /media/ serves a stored file.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "expect.h"
#include "fixture.h"
#include "flow.h"
#include "http.h"
#include "http_tls.h"
#include "jws.h"
#include "sjson.h"
#include "testkeys.h"
#include "testlib.h"

#define BODY_MAX	(64 * 1024)	/* the contract's request body limit */
#define PERMISSION	"media:read"

/* Set once in main() before the runner forks; read-only afterwards. */
const char	*name;		/* MG_FLOW_NAME, for messages */
const char	*url;		/* MG_FLOW_URL: https://HOST:PORT */
const char	*http_url;	/* MG_FLOW_HTTP_URL: http://HOST:PORT */
static const char	*db_conninfo;	/* MG_FLOW_DB */
const char	*storage_root;	/* MG_FLOW_STORAGE */
static const char	*issuer;	/* MG_FLOW_ISSUER (may be empty) */
static const char	*audience;	/* MG_FLOW_AUDIENCE (may be empty) */
static struct testkey	 bearer_key;	/* signs bearer tokens (RS256) */
unsigned char	*big;		/* content of flow/big.bin */

/* ------------------------------------------------------------------ */
/* Requests */

/* method path on base (url or http_url), named after the deployment in
 * failure messages. */
struct http_response *
request_to(const char *base, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len)
{
	return send_request(base, strf("[%s] %s %s%.260s", name, method, base,
	    path), method, path, headers, body, len);
}

/* GET, HEAD …, with an optional Accept and Range, over HTTPS. */
struct http_response *
fetch(const char *method, const char *path, const char *accept,
    const char *range)
{
	return request_to(url, method, path, header_lines("Accept", accept,
	    "Range", range), NULL, 0);
}

/* POST with an Authorization value (NULL: none) and an Accept (NULL:
 * none), over HTTPS. */
struct http_response *
post(const char *path, const char *authz, const char *accept,
    const void *body, size_t len)
{
	return request_to(url, "POST", path, header_lines("Authorization",
	    authz, "Accept", accept), body, len);
}

const char *
issue_path(const char *id)
{
	return strf("/media/%s/download-token", id);
}

const char *
dl_path(const char *id, const char *token)
{
	return strf("/media/%s/download/%s", id, token);
}

/* ------------------------------------------------------------------ */
/* Tokens */

/* A bearer token the deployment accepts, with extra claims (a JSON
 * fragment starting with ',' or ""). */
char *
bearer(const char *extra)
{
	long long t = now();
	struct buf claims = { 0 };
	char *jwt;

	buf_printf(&claims, "{\"sub\":\"flow-user\",\"tenant\":\"acme\","
	    "\"permissions\":[\"" PERMISSION "\"],\"iat\":%lld,\"exp\":%lld",
	    t, t + 300);
	if (*issuer != '\0')
		buf_printf(&claims, ",\"iss\":\"%s\"", issuer);
	if (*audience != '\0')
		buf_printf(&claims, ",\"aud\":\"%s\"", audience);
	buf_printf(&claims, "%s}", extra);
	jwt = tk_mint(&bearer_key, claims.ptr);
	buf_free(&claims);
	return keep(jwt, free);
}

/* ------------------------------------------------------------------ */
/* Database and storage */

/* ------------------------------------------------------------------ */
/* Assertions */

/* The web server consumed the sendfile header: neither it nor the place
 * the files are kept reaches the client, in any response. */
void
expect_no_sendfile(const struct http_response *r)
{
	static const char *const fields[] = {
		"X-Sendfile", "X-Sendfile2", "X-LIGHTTPD-send-file",
		"X-Accel-Redirect",
	};
	int i;

	for (i = 0; i < NELEM(fields); i++)
		ck_assert_msg(http_header_count(r, fields[i]) == 0,
		    "%s: %s reached the client: %s", last_req, fields[i],
		    r->head);
	ck_assert_msg(!contains(r->head, r->head_len, storage_root,
	    strlen(storage_root)) && !contains(r->body, r->body_len,
	    storage_root, strlen(storage_root)),
	    "%s: the storage root is in the response", last_req);
}

/* A strict problem+json error with this status (expect.h), from
 * mediagate itself, that carries neither the sendfile header nor file
 * bytes. */
void
flow_problem(const struct http_response *r, int status, const char *detail,
    const char *cred)
{
	expect_problem(r, status, detail, cred);
	expect_no_sendfile(r);
	ck_assert_msg(!contains(r->body, r->body_len, big, 64),
	    "%s: an error carries file bytes", last_req);
}

/* A 201 JSON answer for media id, on the deployment's https:// origin. */
struct issued
flow_issued(const struct http_response *r, const char *id)
{
	return expect_issued(r, url, "", id);
}

struct issued
issue_ok(const char *id)
{
	return flow_issued(post(issue_path(id), strf("Bearer %s",
	    bearer("")), NULL, NULL, 0), id);
}

/* The §5 fields of a successful download of a file of size bytes. */
void
expect_download_fields(const struct http_response *r, const char *ctype,
    size_t size)
{
	const char *cd, *cl;

	expect_header(r, "Content-Type", ctype);
	expect_header(r, "Cache-Control", "private, no-store");
	expect_header(r, "X-Content-Type-Options", "nosniff");
	expect_header(r, "Referrer-Policy", "no-referrer");
	ck_assert_msg(http_header_count(r, "Content-Disposition") == 1,
	    "%s: %zu Content-Disposition fields", last_req,
	    http_header_count(r, "Content-Disposition"));
	cd = http_header(r, "Content-Disposition");
	ck_assert_msg(strncasecmp(cd, "attachment;", 11) == 0,
	    "%s: not an attachment: %s", last_req, cd);
	if ((cl = http_header(r, "Content-Length")) != NULL && r->status == 200)
		ck_assert_msg(strtoull(cl, NULL, 10) == size,
		    "%s: Content-Length %s, want %zu", last_req, cl, size);
	expect_no_sendfile(r);
}

/* ------------------------------------------------------------------ */
/* Issuing */

START_TEST(flow_issue_json)
{
	struct http_response *r = post(issue_path("f-big"),
	    strf("Bearer %s", bearer("")), NULL, NULL, 0);
	struct issued is = flow_issued(r, "f-big");

	ck_assert_msg(strncmp(is.path, "/media/f-big/download/", 22) == 0,
	    "%s", is.path);
	/* Every deployment pins browsers to HTTPS. */
	ck_assert_msg(http_header(r, "Strict-Transport-Security") != NULL,
	    "%s: no Strict-Transport-Security", last_req);
}
END_TEST

START_TEST(flow_issue_html)
{
	struct http_response *r = post(issue_path("f-big"),
	    strf("Bearer %s", bearer("")), "text/html", NULL, 0);

	expect_status(r, 201);
	expect_ctype(r, "text/html");
	ck_assert_msg(strstr(r->body, strf("<a href=\"%s/media/f-big/"
	    "download/", url)) != NULL, "%s: no link to the download URL: "
	    "%.400s", last_req, r->body);
	/* The page's headers pass through the web server, once each. */
	expect_html_headers(r);
}
END_TEST

START_TEST(flow_issue_many)
{
	struct http_response *r;
	int i;

	/* Tokens issued by whichever responder are good at whichever. */
	for (i = 0; i < 12; i++) {
		struct issued is = issue_ok("f-big");

		r = fetch("HEAD", is.path, NULL, NULL);
		expect_status(r, 200);
	}
}
END_TEST

START_TEST(flow_bearer_missing)
{
	struct http_response *r = post(issue_path("f-big"), NULL, NULL, NULL,
	    0);

	flow_problem(r, 401, "A bearer token is required.", NULL);
	ck_assert_msg(http_header(r, "WWW-Authenticate") != NULL &&
	    strncmp(http_header(r, "WWW-Authenticate"), "Bearer", 6) == 0,
	    "%s: no WWW-Authenticate: Bearer", last_req);
}
END_TEST

START_TEST(flow_bearer_too_large)
{
	char *pad = keep(xmalloc(7001), free), *jwt;
	const char *authz;
	struct http_response *r;

	/* Valid but for its size: the web server must pass it on (mediagate
	 * has its own 8 KiB limit) instead of answering 400 or 431. */
	memset(pad, 'x', 7000);
	pad[7000] = '\0';
	jwt = bearer(strf(",\"pad\":\"%s\"", pad));
	authz = strf("Bearer %s", jwt);
	ck_assert_uint_gt(strlen(authz), 8192);
	r = post(issue_path("f-big"), authz, NULL, NULL, 0);
	flow_problem(r, 401, "The Authorization header is too long.", jwt);
	ck_assert_ptr_null(strstr(r->body, "/download/"));
}
END_TEST

START_TEST(flow_body_limit)
{
	char *body = keep(xmalloc(BODY_MAX + 1024), free);
	struct http_response *r;

	/* Bodies up to mediagate's limit reach it; past it, it is mediagate
	 * (problem+json) that answers 413. */
	memset(body, ' ', BODY_MAX + 1024);
	body[0] = '{';
	body[BODY_MAX - 1] = '}';
	r = post(issue_path("f-big"), strf("Bearer %s", bearer("")), NULL,
	    body, BODY_MAX);
	flow_issued(r, "f-big");
	body[BODY_MAX - 1] = ' ';
	body[BODY_MAX + 1023] = '}';
	r = post(issue_path("f-big"), strf("Bearer %s", bearer("")), NULL,
	    body, BODY_MAX + 1024);
	flow_problem(r, 413, "larger than 64 KiB", NULL);
}
END_TEST

START_TEST(flow_not_found)
{
	struct http_response *r = post(issue_path("f-no-such-media"),
	    strf("Bearer %s", bearer("")), NULL, NULL, 0);

	flow_problem(r, 404, "No such media.", NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The web server around mediagate */

static const char *const redirect_paths[] = {
	"/media/f-big/download-token",
	"/media/f-big/download/abc.def.ghi?x=1&y=%2F",
	"/media/unknown",
};

START_TEST(flow_redirect)
{
	const char *path = redirect_paths[_i];
	const char *h[] = { NULL };
	struct http_response *r;
	const char *method;
	int m;

	for (m = 0; m < 3; m++) {
		method = m == 0 ? "GET" : m == 1 ? "HEAD" : "POST";
		r = request_to(http_url, method, path, h, NULL, 0);
		ck_assert_msg(r->status == 301 || r->status == 308,
		    "%s: status %d, want 301 or 308", last_req, r->status);
		expect_header(r, "Location", strf("%s%s", url, path));
		ck_assert_msg(!contains(r->body, r->body_len, "problem", 7),
		    "%s: mediagate answered over plain HTTP", last_req);
	}
}
END_TEST

static const char *const outside_paths[] = {
	"/", "/flow/big.bin", "/big.bin", "/media", "/mediax/f-big",
	"/media/../flow/big.bin", "/%2e%2e/flow/big.bin", "/etc/passwd",
};

START_TEST(flow_outside)
{
	struct http_response *r = fetch("GET", outside_paths[_i], NULL,
	    NULL);

	ck_assert_msg(r->status >= 300, "%s: status %d", last_req,
	    r->status);
	ck_assert_msg(!contains(r->body, r->body_len, big, 64),
	    "%s: a stored file was served", last_req);
	ck_assert_ptr_null(strstr(r->body, "root:"));
	expect_no_sendfile(r);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
flow_suite(void)
{
	Suite *s = suite_create(name);
	TCase *tc;

	tc = tcase_kept("issue", TCASE_TIMEOUT);
	tcase_add_test(tc, flow_issue_json);
	tcase_add_test(tc, flow_issue_html);
	tcase_add_test(tc, flow_issue_many);
	tcase_add_test(tc, flow_bearer_missing);
	tcase_add_test(tc, flow_bearer_too_large);
	tcase_add_test(tc, flow_body_limit);
	tcase_add_test(tc, flow_not_found);
	suite_add_tcase(s, tc);

	flow_download_tcase(s);

	tc = tcase_kept("server", TCASE_TIMEOUT);
	tcase_add_loop_test(tc, flow_redirect, 0, NELEM(redirect_paths));
	tcase_add_loop_test(tc, flow_outside, 0, NELEM(outside_paths));
	suite_add_tcase(s, tc);
	return s;
}

/* ------------------------------------------------------------------ */
/* Set-up */

/* flow/big.bin (random bytes), the files of flow_percent_name, and the
 * rows that name them. */
static void
make_storage(void)
{
	char *dir = path_join(storage_root, "flow");
	FILE *f;
	PGconn *c;
	PGresult *res;
	bool ok;

	big = xmalloc(BIG_SIZE);
	if ((f = fopen("/dev/urandom", "rb")) == NULL ||
	    fread(big, 1, BIG_SIZE, f) != BIG_SIZE) {
		fprintf(stderr, "check_flow: /dev/urandom: %s\n",
		    strerror(errno));
		exit(1);
	}
	fclose(f);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "check_flow: mkdir %s: %s\n", dir,
		    strerror(errno));
		exit(1);
	}
	free(tk_write_file(dir, "big.bin", big, BIG_SIZE, 0644));
	free(tk_write_file(dir, "pct%41.txt", "the file named pct%41\n", 22,
	    0644));
	free(tk_write_file(dir, "pctA.txt", "a decoy\n", 8, 0644));
	free(dir);

	c = PQconnectdb(db_conninfo);
	res = PQexec(c, "DELETE FROM media WHERE id IN ('f-big', 'f-other');"
	    "INSERT INTO media (id, tenant_id, mime_type, file_name, "
	    "storage_file_name) VALUES ('f-big', 'acme', NULL, 'big.bin', "
	    "'flow/big.bin'), ('f-other', 'acme', 'text/plain', 'o.txt', "
	    "'flow/pctA.txt')");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "check_flow: MG_FLOW_DB: %s",
		    PQstatus(c) != CONNECTION_OK ? PQerrorMessage(c) :
		    PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	if (!ok)
		exit(1);
}

int
main(void)
{
	const char *keys, *ca;
	char *priv, *pub;
	int missing = 0, failed;
	SRunner *sr;

	fx_prog = "check_flow";
	name = fx_env("MG_FLOW_NAME", "tests/webservers.sh", &missing);
	url = fx_env("MG_FLOW_URL", "tests/webservers.sh", &missing);
	http_url = fx_env("MG_FLOW_HTTP_URL", "tests/webservers.sh", &missing);
	ca = fx_env("MG_FLOW_CA", "tests/webservers.sh", &missing);
	db_conninfo = fx_env("MG_FLOW_DB", "tests/webservers.sh", &missing);
	fx_db = db_conninfo;

	keys = fx_env("MG_FLOW_KEYS", "tests/webservers.sh", &missing);
	storage_root = fx_env("MG_FLOW_STORAGE", "tests/webservers.sh", &missing);
	if (missing)
		return 1;
	issuer = getenv("MG_FLOW_ISSUER") != NULL ?
	    getenv("MG_FLOW_ISSUER") : "";
	audience = getenv("MG_FLOW_AUDIENCE") != NULL ?
	    getenv("MG_FLOW_AUDIENCE") : "";
	if (strncmp(url, "https://", 8) != 0 ||
	    strncmp(http_url, "http://", 7) != 0) {
		fprintf(stderr, "check_flow: MG_FLOW_URL must be https://…, "
		    "MG_FLOW_HTTP_URL http://…\n");
		return 1;
	}
	if (http_tls_init(ca) != 0)
		return 1;

	priv = path_join(keys, "bearer-rs.pem");
	pub = path_join(keys, "bearer-rs.pub.pem");
	tk_load(&bearer_key, JWS_RS256, priv, pub);
	free(priv);
	free(pub);
	priv = path_join(keys, "token.key");
	tk_load(&token_key, JWS_HS256, priv, priv);
	free(priv);
	make_storage();

	sr = srunner_create(flow_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	tk_free(&bearer_key);
	tk_free(&token_key);
	free(big);
	http_tls_free();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
