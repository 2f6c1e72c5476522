/*
 * check_integration.c — black-box tests of mediagate: real HTTP to real
 * lighttpd in front of real responder pools and a real PostgreSQL.
 *
 * tests/integration.sh starts the services and says where they are in
 * MG_TEST_* variables (see main()).  Three pools with different settings
 * share one database and one download-token secret:
 *
 *   HS  HS256 bearers, tenant isolation on, downloads via X-Sendfile;
 *       four responders
 *   RS  RS256 bearers with issuer and audience, PUBLIC_URL, base path /api
 *   ES  ES256 bearers, tenant isolation off, token lifetime 2 s
 *
 * Every test asserts what a wrong server would get wrong: status, the
 * headers the contract names and the body, parsed.  Nothing here trusts
 * mediagate's own code for an expectation: bearer tokens are minted with
 * libjwt or by hand, issued tokens are checked with libjwt.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jwt.h>
#include <libpq-fe.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "http.h"
#include "jws.h"
#include "sjson.h"
#include "testkeys.h"
#include "testlib.h"

#define TCASE_TIMEOUT	30		/* seconds */
#define PDF_SIZE	(100 * 1024)	/* bytes of the stored m-pdf file */
#define BODY_MAX	(64 * 1024)	/* the contract's request body limit */
#define TTL_DEFAULT	60
#define TTL_ES		2
#define PUBLIC_URL_RS	"https://media.example.test"
#define ISSUER_RS	"https://issuer.test"
#define AUDIENCE_RS	"mediagate-api"
#define PERMISSION	"media:read"
#define WWW_INVALID	"Bearer error=\"invalid_token\""
#define WWW_SCOPE	"Bearer error=\"insufficient_scope\", " \
			    "scope=\"media:read\""

enum pool_id { HS, RS, ES };

struct pool {
	const char	*name;
	const char	*url;		/* MG_TEST_URL_*: where lighttpd is */
	char		 origin[256];	/* http://127.0.0.1:PORT of url */
	const char	*base;		/* MEDIAGATE_BASE_PATH */
	const char	*public_url;	/* MEDIAGATE_PUBLIC_URL or NULL */
	long		 ttl;		/* MEDIAGATE_TOKEN_TTL */
	struct testkey	 key;		/* signs this pool's bearer tokens */
};

static struct pool pools[3];
#define P_HS	(&pools[HS])
#define P_RS	(&pools[RS])
#define P_ES	(&pools[ES])

/* Set once in main() before the runner forks; read-only afterwards. */
static const char	*db_conninfo;
static const char	*storage_root;
static const char	*work_dir;
static unsigned char	 pdf_data[PDF_SIZE];
static const char	 nomime_data[] = "bytes without a declared type\n";
static char		 outside_marker[64];	/* content of a file outside
						   the storage root */

/* ------------------------------------------------------------------ */
/* Requests */

static struct http_response *
request(const struct pool *p, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len)
{
	return send_request(p->url, strf("[%s] %s %.300s", p->name, method,
	    path), method, path, headers, body, len);
}

static const char *
issue_path(const struct pool *p, const char *id)
{
	return strf("%s/media/%s/download-token", p->base, id);
}

/*
 * POST to path with an Authorization field value (NULL: none), an Accept
 * value (NULL: none) and a body.
 */
static struct http_response *
post_authz(const struct pool *p, const char *path, const char *authz,
    const char *accept, const void *body, size_t len)
{
	return request(p, "POST", path, header_lines("Authorization", authz,
	    "Accept", accept), body, len);
}

/* POST with a bearer token (NULL: no Authorization at all). */
static struct http_response *
post_bearer(const struct pool *p, const char *path, const char *jwt,
    const char *accept)
{
	return post_authz(p, path, jwt != NULL ? strf("Bearer %s", jwt) :
	    NULL, accept, NULL, 0);
}

/* GET or HEAD (or any method without a body) with optional Accept and
 * Range. */
static struct http_response *
fetch(const struct pool *p, const char *method, const char *path,
    const char *accept, const char *range)
{
	return request(p, method, path, header_lines("Accept", accept,
	    "Range", range), NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Bearer and download tokens */

static char *mint(const struct pool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A bearer token for pool p over the claims fmt describes (libjwt). */
static char *
mint(const struct pool *p, const char *fmt, ...)
{
	va_list ap;
	char *claims;

	va_start(ap, fmt);
	claims = vstrf(fmt, ap);
	va_end(ap);
	return keep(tk_mint(&p->key, claims), free);
}

/* Claims every pool accepts, with the extra members given (a JSON
 * fragment starting with ',' or ""). */
static const char *
good_claims(const struct pool *p, const char *extra)
{
	long long t = now();

	switch (p - pools) {
	case RS:
		return strf("{\"sub\":\"user-1\",\"tenant\":\"acme\","
		    "\"iss\":\"" ISSUER_RS "\",\"aud\":\"" AUDIENCE_RS "\","
		    "\"scope\":\"" PERMISSION "\",\"iat\":%lld,\"exp\":%lld%s}",
		    t, t + 300, extra);
	case ES:
		return strf("{\"sub\":\"user-1\",\"scp\":[\"" PERMISSION "\"],"
		    "\"iat\":%lld,\"exp\":%lld%s}", t, t + 300, extra);
	default:
		return strf("{\"sub\":\"user-1\",\"tenant\":\"acme\","
		    "\"permissions\":[\"" PERMISSION "\"],\"iat\":%lld,"
		    "\"exp\":%lld%s}", t, t + 300, extra);
	}
}

static char *
good_bearer(const struct pool *p)
{
	return mint(p, "%s", good_claims(p, ""));
}

static char *
b64url(const void *data, size_t len)
{
	char *out = keep(xmalloc(len * 4 / 3 + 4), free);

	jws_b64_encode(data, len, out);
	return out;
}

/* A JWS assembled by hand over exact header and payload text, with the
 * signature part given (e.g. "" for alg none). */
static char *
raw_jws(const char *header, const char *payload, const char *sig)
{
	return strf("%s.%s.%s", b64url(header, strlen(header)),
	    b64url(payload, strlen(payload)), sig);
}

static const char *
dl_path(const struct pool *p, const char *id, const char *token)
{
	return strf("%s/media/%s/download/%s", p->base, id, token);
}

/* ------------------------------------------------------------------ */
/* Database */

static PGconn *
db_open(void)
{
	return db_open_at(db_conninfo, "MG_TEST_DB");
}

static void
db_exec(const char *sql)
{
	PGconn *c = db_open();

	db_check(c, PQexec(c, sql), sql);
	PQfinish(c);
}

/* Replace the row id with a live one of these values (NULL: SQL NULL). */
static void
media_put(const char *id, const char *tenant, const char *mime,
    const char *file_name, const char *storage)
{
	PGconn *c = db_open();

	media_replace(c, id, tenant, mime, file_name, storage);
	PQfinish(c);
}

/* ------------------------------------------------------------------ */
/* Assertions */

static void
expect_status(const struct http_response *r, int want)
{
	ck_assert_msg(r->status == want, "%s: status %d, want %d; body: %.400s",
	    last_req, r->status, want, r->body);
}

/*
 * §6: no body (nor header) carries a key, a database message or the
 * credential the request presented (cred: the bearer token, or the
 * download token of a refused download; NULL: none).
 */
static void
expect_no_secrets(const struct http_response *r, const char *cred)
{
	static const char *const db_words[] = {
		"ERROR:", "FATAL:", "SQLSTATE", "PGRES_", "postgres",
		"libpq", "syntax error", "relation \"", "-----BEGIN",
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *s = i == 0 ? r->body : r->head;
		size_t n = i == 0 ? r->body_len : r->head_len;
		size_t k;

		ck_assert_msg(cred == NULL ||
		    !contains(s, n, cred, strlen(cred)),
		    "%s: the response repeats the credential", last_req);
		ck_assert_msg(!contains(s, n, token_key.priv,
		    token_key.priv_len), "%s: the token secret leaked",
		    last_req);
		ck_assert_msg(!contains(s, n, P_HS->key.priv,
		    P_HS->key.priv_len), "%s: the bearer key leaked",
		    last_req);
		for (k = 0; k < sizeof(db_words) / sizeof(db_words[0]); k++)
			ck_assert_msg(!contains(s, n, db_words[k],
			    strlen(db_words[k])), "%s: response holds '%s': "
			    "%.300s", last_req, db_words[k], s);
	}
	/* Nor where the files are kept. */
	ck_assert_msg(!contains(r->body, r->body_len, storage_root,
	    strlen(storage_root)), "%s: the storage root leaked", last_req);
}

/* Parse the body as one JSON object (no duplicate members). */
static yajl_val
expect_json(const struct http_response *r)
{
	yajl_val v = sjson_parse_object(r->body, r->body_len);

	ck_assert_msg(v != NULL, "%s: body is not a JSON object: %.400s",
	    last_req, r->body);
	return keep(v, release_json);
}

/* obj has exactly the members named in keys (NULL-terminated). */
static void
expect_keys(yajl_val obj, const char *const *keys)
{
	size_t i, n = 0;

	for (i = 0; keys[i] != NULL; i++)
		ck_assert_msg(sjson_get(obj, keys[i]) != NULL,
		    "%s: member '%s' missing", last_req, keys[i]);
	n = i;
	ck_assert_msg(obj->u.object.len == n, "%s: %zu members, want %zu",
	    last_req, obj->u.object.len, n);
}

static void
expect_problem(const struct http_response *r, int status)
{
	static const char *const keys[] = {
		"type", "title", "status", "detail", NULL,
	};
	yajl_val v;
	long long st;

	expect_status(r, status);
	expect_ctype(r, "application/problem+json");
	v = expect_json(r);
	expect_keys(v, keys);
	ck_assert_msg(sjson_string(sjson_get(v, "type")) != NULL &&
	    sjson_string(sjson_get(v, "title")) != NULL &&
	    sjson_string(sjson_get(v, "detail")) != NULL,
	    "%s: type, title and detail must be strings", last_req);
	ck_assert_msg(*sjson_string(sjson_get(v, "title")) != '\0',
	    "%s: empty title", last_req);
	ck_assert_msg(sjson_integer(sjson_get(v, "status"), &st) && st == status,
	    "%s: problem status is not %d: %s", last_req, status, r->body);
}

static void
expect_401(const struct http_response *r, const char *jwt)
{
	expect_problem(r, 401);
	expect_header(r, "WWW-Authenticate", WWW_INVALID);
	expect_no_secrets(r, jwt);
}

static void
expect_html(const struct http_response *r, int status)
{
	expect_status(r, status);
	expect_ctype(r, "text/html");
	ck_assert_msg(strcasestr(r->body, "<!DOCTYPE html>") == r->body,
	    "%s: not an HTML5 page: %.200s", last_req, r->body);
	ck_assert_msg(strstr(r->body, "</html>") != NULL,
	    "%s: unterminated page", last_req);
}

/* A compact JWS: three non-empty base64url parts. */
static void
expect_compact(const char *token)
{
	size_t i, dots = 0, partlen = 0;

	for (i = 0; token[i] != '\0'; i++) {
		if (token[i] == '.') {
			ck_assert_msg(partlen > 0, "empty part in %s", token);
			dots++;
			partlen = 0;
			continue;
		}
		ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789-_", token[i]) != NULL,
		    "not base64url: %s", token);
		partlen++;
	}
	ck_assert_msg(dots == 2 && partlen > 0, "not three parts: %s", token);
}

/* Decode part 0 (header) or 1 (payload) of a compact JWS as JSON. */
static yajl_val
jws_part(const char *token, int part)
{
	const char *s = token, *e;
	unsigned char *out;
	long n;
	yajl_val v;

	if (part == 1)
		s = strchr(token, '.') + 1;
	e = strchr(s, '.');
	out = keep(xmalloc((size_t)(e - s) * 3 / 4 + 2), free);
	n = jws_b64_decode(s, (size_t)(e - s), out);
	ck_assert_msg(n > 0, "bad base64url in %s", token);
	v = sjson_parse_object((const char *)out, (size_t)n);
	ck_assert_msg(v != NULL, "part %d is not a JSON object: %s", part, out);
	return keep(v, release_json);
}

static long long
claim_int(yajl_val claims, const char *name)
{
	long long v;

	ck_assert_msg(sjson_integer(sjson_get(claims, name), &v),
	    "claim %s is not an integer", name);
	return v;
}

/* Signed HS256 with the token secret, checked by libjwt, and by no other
 * key (which shows libjwt did verify). */
static void
expect_signed_by_token_key(const char *token)
{
	jwt_t *jwt = NULL;
	yajl_val hdr = jws_part(token, 0);

	ck_assert_str_eq(sjson_string(sjson_get(hdr, "alg")), "HS256");
	ck_assert_msg(jwt_decode(&jwt, token,
	    (const unsigned char *)token_key.priv, (int)token_key.priv_len) ==
	    0, "token does not verify with the token secret: %s", token);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
	jwt_free(jwt);
	jwt = NULL;
	ck_assert_msg(jwt_decode(&jwt, token,
	    (const unsigned char *)P_HS->key.priv, (int)P_HS->key.priv_len) !=
	    0, "token also verifies with the bearer key");
	jwt_free(jwt);
}

struct issued {
	const char	*token;
	const char	*url;
	const char	*path;		/* url without its origin */
};

static const char *
url_origin(const struct pool *p)
{
	return p->public_url != NULL ? p->public_url : p->origin;
}

/* A 201 JSON answer for media id from pool p, with the §4 shape. */
static struct issued
expect_issued(const struct http_response *r, const struct pool *p,
    const char *id)
{
	static const char *const keys[] = { "token", "url", NULL };
	struct issued is;
	const char *want;
	yajl_val v;

	expect_status(r, 201);
	expect_header(r, "Cache-Control", "no-store");
	expect_ctype(r, "application/json");
	v = expect_json(r);
	expect_keys(v, keys);
	is.token = sjson_string(sjson_get(v, "token"));
	is.url = sjson_string(sjson_get(v, "url"));
	ck_assert_msg(is.token != NULL && is.url != NULL,
	    "%s: token and url must be strings", last_req);
	expect_compact(is.token);
	want = strf("%s%s/media/%s/download/%s", url_origin(p), p->base, id,
	    is.token);
	ck_assert_str_eq(is.url, want);
	is.path = is.url + strlen(url_origin(p));
	return is;
}

static struct issued
issue_ok(const struct pool *p, const char *id)
{
	char *jwt = good_bearer(p);
	struct http_response *r = post_bearer(p, issue_path(p, id), jwt,
	    NULL);
	struct issued is = expect_issued(r, p, id);

	expect_no_secrets(r, jwt);
	return is;
}

/* ------------------------------------------------------------------ */
/* Issuing */

START_TEST(issue_json)
{
	long long before = now(), after, iat, exp;
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, NULL);
	struct issued is;
	yajl_val claims;
	const char *jti;

	after = now();
	is = expect_issued(r, P_HS, "m-pdf");
	/* The origin comes from the request's Host. */
	ck_assert_msg(strncmp(is.url, P_HS->origin, strlen(P_HS->origin)) ==
	    0 && strncmp(P_HS->origin, "http://127.0.0.1:", 17) == 0,
	    "url %s is not under %s", is.url, P_HS->origin);
	expect_no_secrets(r, jwt);
	ck_assert_str_ne(is.token, jwt);

	expect_signed_by_token_key(is.token);
	claims = jws_part(is.token, 1);
	ck_assert_str_eq(sjson_string(sjson_get(claims, "sub")), "m-pdf");
	ck_assert_str_eq(sjson_string(sjson_get(claims, "tenant")), "acme");
	iat = claim_int(claims, "iat");
	exp = claim_int(claims, "exp");
	ck_assert_msg(iat >= before - 1 && iat <= after + 1,
	    "iat %lld outside [%lld, %lld]", iat, before, after);
	ck_assert_int_eq(exp, iat + P_HS->ttl);
	jti = sjson_string(sjson_get(claims, "jti"));
	ck_assert_msg(jti != NULL && strlen(jti) >= 22 &&
	    strspn(jti, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == strlen(jti), "jti '%s' is not 128 bits of "
	    "base64url", jti != NULL ? jti : "(none)");
}
END_TEST

START_TEST(issue_tokens_differ)
{
	struct issued a = issue_ok(P_HS, "m-pdf");
	struct issued b = issue_ok(P_HS, "m-pdf");

	ck_assert_str_ne(a.token, b.token);
	ck_assert_str_ne(sjson_string(sjson_get(jws_part(a.token, 1), "jti")),
	    sjson_string(sjson_get(jws_part(b.token, 1), "jti")));
}
END_TEST

START_TEST(issue_html)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, "text/html");
	const char *prefix, *a, *tok_start, *tok_end;
	char *token;

	expect_html(r, 201);
	expect_header(r, "Cache-Control", "no-store");
	expect_no_secrets(r, jwt);

	prefix = strf("<a href=\"%s/media/m-pdf/download/", P_HS->origin);
	a = strstr(r->body, prefix);
	ck_assert_msg(a != NULL, "no link '%s' in %s", prefix, r->body);
	tok_start = a + strlen(prefix);
	tok_end = strchr(tok_start, '"');
	ck_assert_ptr_nonnull(tok_end);
	ck_assert_msg(tok_end[1] == '>', "href not closed by '\">'");
	token = keep(xstrndup(tok_start, (size_t)(tok_end - tok_start)), free);
	expect_compact(token);
	/* The token is shown as text too, not only inside the link. */
	ck_assert_msg(strstr(tok_end, token) != NULL,
	    "the token is not shown outside the link: %s", r->body);
	expect_signed_by_token_key(token);
	ck_assert_str_eq(sjson_string(sjson_get(jws_part(token, 1), "sub")),
	    "m-pdf");

	/* And it is a working token. */
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", token), NULL, NULL);
	expect_status(r, 200);
}
END_TEST

START_TEST(issue_query_ignored)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token?x=1&id=g-doc", jwt, NULL);
	struct issued is = expect_issued(r, P_HS, "m-pdf");

	ck_assert_ptr_null(strchr(is.url, '?'));
}
END_TEST

/* Request bodies that are accepted and ignored. */
static const char *const good_bodies[] = {
	"", "{}", "{\"a\":{\"b\":[1,2]}}", " \r\n{ \"x\" : null }\n",
};

START_TEST(issue_body_accepted)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_authz(P_HS,
	    "/media/m-pdf/download-token", strf("Bearer %s", jwt), NULL,
	    good_bodies[_i], strlen(good_bodies[_i]));

	expect_issued(r, P_HS, "m-pdf");
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(issue_body_at_limit)
{
	char *jwt = good_bearer(P_HS);
	char *body = keep(xmalloc(BODY_MAX), free);
	struct http_response *r;

	/* Exactly 64 KiB: "{", spaces, "}". */
	memset(body, ' ', BODY_MAX);
	body[0] = '{';
	body[BODY_MAX - 1] = '}';
	r = post_authz(P_HS, "/media/m-pdf/download-token",
	    strf("Bearer %s", jwt), NULL, body, BODY_MAX);
	expect_issued(r, P_HS, "m-pdf");
}
END_TEST

START_TEST(issue_json_content_type_body)
{
	char *jwt = good_bearer(P_HS);
	const char *h[] = {
		strf("Authorization: Bearer %s", jwt),
		"Content-Type: application/json",
		NULL,
	};
	struct http_response *r = request(P_HS, "POST",
	    "/media/m-pdf/download-token", h, "{\"reason\":\"audit\"}", 18);

	expect_issued(r, P_HS, "m-pdf");
}
END_TEST

START_TEST(issue_scheme_case_insensitive)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_authz(P_HS,
	    "/media/m-pdf/download-token", strf("bearer %s", jwt), NULL,
	    NULL, 0);

	expect_issued(r, P_HS, "m-pdf");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Content negotiation (§4, RFC 9110 §12.5.1) */

enum want { W_JSON, W_HTML, W_406 };

static const struct {
	const char	*accept;
	enum want	 want;
} accept_cases[] = {
	{ NULL,						W_JSON },
	{ "",						W_JSON },
	{ "*/*",					W_JSON },
	{ "application/json",				W_JSON },
	{ "application/*",				W_JSON },
	{ "text/html",					W_HTML },
	{ "text/html;q=0.9, application/json;q=0.8",	W_HTML },
	{ "text/*",					W_HTML },
	{ "application/json;q=0, */*",			W_HTML },
	{ "text/html, application/json",		W_JSON },
	{ "application/json, text/html",		W_JSON },
	{ "text/plain",					W_406 },
	{ "application/json;q=0",			W_406 },
	{ "image/*;q=1, text/html;q=0.5",		W_HTML },
	{ "text/*;q=0.5, text/html;q=0, */*;q=0.1",	W_JSON },
	{ "*/*;q=0.1, text/html",			W_HTML },
	{ "TEXT/HTML",					W_HTML },
	{ "image/png, text/plain;q=0.5",		W_406 },
};

START_TEST(negotiate_issue)
{
	const char *accept = accept_cases[_i].accept;
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, accept);

	switch (accept_cases[_i].want) {
	case W_JSON:
		expect_issued(r, P_HS, "m-pdf");
		break;
	case W_HTML:
		expect_html(r, 201);
		ck_assert_ptr_nonnull(strstr(r->body, strf("<a href=\"%s/media/"
		    "m-pdf/download/", P_HS->origin)));
		break;
	case W_406:
		expect_problem(r, 406);
		/* Refused before anything was issued. */
		ck_assert_ptr_null(strstr(r->body, "/download/"));
		break;
	}
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(negotiate_error_html)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/no-such-media/download-token", jwt, "text/html");

	expect_html(r, 404);
	ck_assert_ptr_nonnull(strstr(r->body, "404"));
	expect_no_secrets(r, jwt);

	/* A 401 page keeps its challenge. */
	r = post_bearer(P_HS, "/media/m-pdf/download-token", NULL,
	    "text/html");
	expect_html(r, 401);
	expect_header(r, "WWW-Authenticate", WWW_INVALID);

	/* An unknown path too. */
	r = fetch(P_HS, "GET", "/media/m-pdf/other", "text/html", NULL);
	expect_html(r, 404);
}
END_TEST

START_TEST(negotiate_error_json_default)
{
	struct http_response *r = fetch(P_HS, "GET", "/media/m-pdf/other",
	    "*/*", NULL);

	expect_problem(r, 404);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Errors (§6) */

/* Media ids of exactly 64 characters, the longest allowed. */
#define ID16	"aaaaaaaaaaaaaaaa"
#define ID64	ID16 ID16 ID16 ID16

static const struct {
	const char	*path;
	bool		 web_server_may_answer;	/* lighttpd refuses it first */
} bad_ids[] = {
	{ "/media/" ID64 "a/download-token", false },
	{ "/media/m.pdf/download-token", false },
	{ "/media/m%2Fpdf/download-token", false },
	{ "/media/m-pdf%00/download-token", true },
	{ "/media/m%25pdf/download-token", false },
	{ "/media//download-token", false },
	{ "/media/m%20pdf/download-token", false },
	{ "/media/m%/download-token", true },
	{ "/media/%C3%A9/download-token", false },
	{ "/media/m:pdf/download-token", false },
};

START_TEST(error_bad_id)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS, bad_ids[_i].path, jwt,
	    NULL);

	if (bad_ids[_i].web_server_may_answer &&
	    http_header(r, "Content-Type") != NULL &&
	    strncmp(http_header(r, "Content-Type"), "application/problem+json",
	    24) != 0)
		expect_status(r, 400);
	else
		expect_problem(r, 400);
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(error_id_64_is_valid)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/" ID64 "/download-token", jwt, NULL);

	/* Well-formed, just not there. */
	expect_problem(r, 404);
}
END_TEST

static const char *const bad_bodies[] = {
	"[1]", "\"x\"", "{", "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\x28\"}",
	"null", "1", "{}{}", "{\"a\":1,}", "{'a':1}", "{\"a\":1} x",
};

START_TEST(error_bad_body)
{
	char *jwt = good_bearer(P_HS);
	const char *body = bad_bodies[_i];
	struct http_response *r = post_authz(P_HS,
	    "/media/m-pdf/download-token", strf("Bearer %s", jwt), NULL,
	    body, strlen(body));

	expect_problem(r, 400);
	expect_no_secrets(r, jwt);
}
END_TEST

/* NUL bytes are not JSON whitespace: a body of them is malformed. */
START_TEST(error_body_nul_bytes)
{
	static const char nuls[3] = { 0, 0, 0 };
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_authz(P_HS,
	    "/media/m-pdf/download-token", strf("Bearer %s", jwt), NULL, nuls,
	    sizeof(nuls));

	expect_problem(r, 400);
}
END_TEST

START_TEST(error_body_too_large)
{
	char *jwt = good_bearer(P_HS);
	char *big = keep(xmalloc(BODY_MAX + 1), free);
	struct http_response *r;

	memset(big, ' ', BODY_MAX + 1);
	big[0] = '{';
	big[BODY_MAX] = '}';
	r = post_authz(P_HS, "/media/m-pdf/download-token",
	    strf("Bearer %s", jwt), NULL, big, BODY_MAX + 1);
	expect_problem(r, 413);
	expect_no_secrets(r, jwt);
}
END_TEST

/*
 * Authorization values that must give 401.  Built per test since most
 * depend on the clock; the index selects the case.
 */
enum { N_UNAUTH = 21 };

static const char *
unauth_case(int i, const char **label)
{
	const struct pool *p = P_HS;
	long long t = now();
	char *tok;
	static const char *const labels[N_UNAUTH] = {
		"no Authorization", "Basic", "Bearer garbage", "Bearer a.b",
		"wrong signature", "expired beyond leeway", "nbf in future",
		"iat in future", "alg none", "alg NONE", "alg None",
		"no exp", "exp not an integer", "Bearer only",
		"HS384 token for HS256 pool", "tampered payload",
		"signed with another key", "trailing junk",
		"two tokens", "alg none with signature", "Bearer empty",
	};

	*label = labels[i];
	switch (i) {
	case 0:
		return NULL;
	case 1:
		return "Basic dXNlcjpwYXNzd29yZA==";
	case 2:
		return "Bearer garbage";
	case 3:
		return "Bearer a.b";
	case 4:
		return strf("Bearer %s", tamper(good_bearer(p), 2));
	case 5:
		return strf("Bearer %s", mint(p, "{\"sub\":\"u\","
		    "\"tenant\":\"acme\",\"permissions\":[\"media:read\"],"
		    "\"iat\":%lld,\"exp\":%lld}", t - 400, t - 100));
	case 6:
		return strf("Bearer %s", mint(p, "%s", good_claims(p,
		    strf(",\"nbf\":%lld", t + 300))));
	case 7:
		return strf("Bearer %s", mint(p, "{\"sub\":\"u\","
		    "\"tenant\":\"acme\",\"permissions\":[\"media:read\"],"
		    "\"iat\":%lld,\"exp\":%lld}", t + 300, t + 600));
	case 8:
	case 9:
	case 10:
		tok = raw_jws(strf("{\"alg\":\"%s\",\"typ\":\"JWT\"}",
		    i == 8 ? "none" : i == 9 ? "NONE" : "None"),
		    good_claims(p, ""), "");
		return strf("Bearer %s", tok);
	case 11:
		return strf("Bearer %s", mint(p, "{\"sub\":\"u\","
		    "\"tenant\":\"acme\",\"permissions\":[\"media:read\"],"
		    "\"iat\":%lld}", t));
	case 12:
		return strf("Bearer %s", mint(p, "{\"sub\":\"u\","
		    "\"tenant\":\"acme\",\"permissions\":[\"media:read\"],"
		    "\"exp\":\"%lld\"}", t + 300));
	case 13:
		return "Bearer";
	case 14:
		tok = keep(tk_hs_raw(p->key.priv, p->key.priv_len, "HS384",
		    "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
		    good_claims(p, "")), free);
		return strf("Bearer %s", tok);
	case 15:
		return strf("Bearer %s", tamper(good_bearer(p), 1));
	case 16: {
		struct testkey other;

		tk_generate(&other, JWS_HS256);
		tok = hs256(other.priv, other.priv_len, good_claims(p, ""));
		tk_free(&other);
		return strf("Bearer %s", tok);
	}
	case 17:
		return strf("Bearer %s.x", good_bearer(p));
	case 18:
		return strf("Bearer %s %s", good_bearer(p), good_bearer(p));
	case 19:
		tok = raw_jws("{\"alg\":\"none\"}", good_claims(p, ""),
		    strrchr(good_bearer(p), '.') + 1);
		return strf("Bearer %s", tok);
	default:
		return "Bearer ";
	}
}

START_TEST(error_unauthorized)
{
	const char *label, *authz = unauth_case(_i, &label);
	const char *jwt = NULL;
	struct http_response *r;

	if (authz != NULL && strncmp(authz, "Bearer ", 7) == 0)
		jwt = authz + 7;
	r = post_authz(P_HS, "/media/m-pdf/download-token", authz, NULL,
	    NULL, 0);
	ck_assert_msg(r->status == 401, "%s: %d for case '%s'", last_req,
	    r->status, label);
	expect_401(r, jwt != NULL && *jwt != '\0' ? jwt : NULL);
}
END_TEST

/*
 * Hostile bearer tokens, each correctly signed with the HS pool's key over
 * exact bytes, so that only the claim or header rule under test can
 * refuse it.  @EXP@ stands for a time five minutes ahead.
 */
static const struct {
	const char	*header;	/* NULL: {"alg":"HS256","typ":"JWT"} */
	const char	*claims;
	int		 status;
} hostile[] = {
#define T "\"tenant\":\"acme\""
#define PR "\"permissions\":[\"media:read\"]"
	{ NULL, "{\"exp\":\"@EXP@\"," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@.5," T "," PR "}", 401 },
	{ NULL, "{\"exp\":1e400," T "," PR "}", 401 },
	{ NULL, "{\"exp\":99999999999999999999999," T "," PR "}", 401 },
	{ NULL, "{\"exp\":-1," T "," PR "}", 401 },
	{ NULL, "{\"exp\":true," T "," PR "}", 401 },
	{ NULL, "{\"exp\":[@EXP@]," T "," PR "}", 401 },
	{ NULL, "{\"exp\":9223372036854775807," T "," PR "}", 201 },
	{ NULL, "{\"exp\":@EXP@,\"nbf\":\"0\"," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"iat\":1.5," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"iat\":9223372036854775807," T "," PR "}",
	    401 },
	{ NULL, "{\"exp\":@EXP@,\"nbf\":-9223372036854775807," T "," PR "}",
	    201 },
	{ NULL, "{\"exp\":@EXP@,\"aud\":[1,2]," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"aud\":{}," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"aud\":[\"x\",[\"y\"]]," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"permissions\":\"media:read\"}", 401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"permissions\":[\"media:read\",{}]}",
	    401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"permissions\":{\"media:read\":1}}",
	    401 },
	{ NULL, "{\"exp\":@EXP@," T ",\"scope\":\"media:reader\"}", 403 },
	{ NULL, "{\"exp\":@EXP@," T ",\"scope\":\"amedia:read\"}", 403 },
	{ NULL, "{\"exp\":@EXP@," T ",\"scope\":\"media:read\"}", 201 },
	/* Two readers of duplicate names would disagree: refused. */
	{ NULL, "{\"exp\":@EXP@," T ",\"tenant\":\"globex\"," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"exp\":1," T "," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"tenant\":\"ac\\u0000me\"," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@,\"tenant\":\"\xc3\x28\"," PR "}", 401 },
	{ NULL, "{\"exp\":@EXP@," T "," PR ",\"x\":[[[[[[[[[[[[[[[[[[[[[[[["
	    "]]]]]]]]]]]]]]]]]]]]]]]]}", 401 },
	{ NULL, "[@EXP@]", 401 },
	/* Key-naming header members are ignored: the key is configured. */
	{ "{\"alg\":\"HS256\",\"kid\":\"../../dev/null\",\"jku\":"
	    "\"https://evil.test/jwks\",\"x5u\":\"https://evil.test/c\","
	    "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
	    "{\"exp\":@EXP@," T "," PR "}", 201 },
	{ "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
	    "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"alg\":\"hs256\"}", "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"alg\":\"HS512\"}", "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
	    "{\"exp\":@EXP@," T "," PR "}", 401 },
	{ "{\"typ\":\"JWT\"}", "{\"exp\":@EXP@," T "," PR "}", 401 },
#undef T
#undef PR
};

START_TEST(error_hostile_bearer)
{
	const char *hdr = hostile[_i].header != NULL ? hostile[_i].header :
	    JWT_HEADER;
	const char *tmpl = hostile[_i].claims, *at = strstr(tmpl, "@EXP@");
	char *claims = at == NULL ? kstrdup(tmpl) : strf("%.*s%lld%s",
	    (int)(at - tmpl), tmpl, now() + 300, at + 5);
	char *jwt = keep(tk_hs_raw(P_HS->key.priv, P_HS->key.priv_len,
	    "HS256", hdr, claims), free);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, NULL);

	if (hostile[_i].status == 201)
		expect_issued(r, P_HS, "m-pdf");
	else
		expect_problem(r, hostile[_i].status);
	if (hostile[_i].status == 401)
		expect_header(r, "WWW-Authenticate", WWW_INVALID);
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(error_authorization_too_long)
{
	char *pad = keep(xmalloc(6200), free), *jwt, *authz;
	struct http_response *r;

	/* A token that is valid in every respect but its size. */
	memset(pad, 'x', 6199);
	pad[6199] = '\0';
	jwt = mint(P_HS, "%s", good_claims(P_HS, strf(",\"pad\":\"%s\"",
	    pad)));
	authz = strf("Bearer %s", jwt);
	ck_assert_uint_gt(strlen(authz), 8192);
	r = post_authz(P_HS, "/media/m-pdf/download-token", authz, NULL,
	    NULL, 0);
	/* lighttpd limits a request's header section to 8 KiB by default
	 * and may answer 431 itself; either way nothing is issued. */
	if (r->status == 431)
		ck_assert_ptr_null(strstr(r->body, "/download/"));
	else
		expect_401(r, jwt);
}
END_TEST

START_TEST(error_leeway)
{
	long long t = now();
	char *jwt;
	struct http_response *r;

	/* exp 10 s ago is within the 30 s leeway. */
	jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"exp\":%lld}", t - 100, t - 10);
	r = post_bearer(P_HS, "/media/m-pdf/download-token", jwt, NULL);
	expect_issued(r, P_HS, "m-pdf");

	/* nbf and iat 10 s ahead too. */
	jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
	    t + 10, t + 10, t + 300);
	r = post_bearer(P_HS, "/media/m-pdf/download-token", jwt, NULL);
	expect_issued(r, P_HS, "m-pdf");
}
END_TEST

/* Claims that lack media:read: 403 insufficient_scope. */
static const char *const bad_scopes[] = {
	"\"permissions\":[\"media:write\"]",
	"\"scope\":\"media:readonly\"",
	"\"scope\":\"media:read:all xmedia:read\"",
	"\"scp\":[\"media:write\",\"media\"]",
	"\"permissions\":[]",
	"\"scope\":\"MEDIA:READ\"",
	"\"sub2\":\"media:read\"",
};

START_TEST(error_insufficient_scope)
{
	long long t = now();
	char *jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",%s,"
	    "\"iat\":%lld,\"exp\":%lld}", bad_scopes[_i], t, t + 300);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, NULL);

	expect_problem(r, 403);
	expect_header(r, "WWW-Authenticate", WWW_SCOPE);
	expect_no_secrets(r, jwt);
}
END_TEST

/* Each grants media:read. */
static const char *const good_scopes[] = {
	"\"scope\":\"a media:read b\"",
	"\"scope\":\"media:read\"",
	"\"scp\":[\"media:read\"]",
	"\"scp\":\"media:read\"",
	"\"scp\":\"x media:read\"",
	"\"permissions\":[\"media:write\",\"media:read\"]",
};

START_TEST(issue_scope_forms)
{
	long long t = now();
	char *jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"acme\",%s,"
	    "\"iat\":%lld,\"exp\":%lld}", good_scopes[_i], t, t + 300);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, NULL);

	expect_issued(r, P_HS, "m-pdf");
}
END_TEST

/* Tenant claims that do not name a tenant: 403 (isolation is on). */
static const char *const bad_tenants[] = {
	"", ",\"tenant\":\"\"", ",\"tenant\":42", ",\"tenant\":null",
	",\"tenant\":[\"acme\"]", ",\"tenant\":{\"id\":\"acme\"}",
	",\"Tenant\":\"acme\"",
};

START_TEST(error_tenant_claim)
{
	long long t = now();
	char *jwt = mint(P_HS, "{\"sub\":\"u\",\"permissions\":"
	    "[\"media:read\"],\"iat\":%lld,\"exp\":%lld%s}", t, t + 300,
	    bad_tenants[_i]);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-pdf/download-token", jwt, NULL);
	const char *www;

	expect_problem(r, 403);
	www = http_header(r, "WWW-Authenticate");
	ck_assert_msg(www == NULL || strstr(www, "insufficient_scope") == NULL,
	    "a missing tenant is not a missing scope: %s", www);
	expect_no_secrets(r, jwt);
}
END_TEST

/* Media the caller may not see look exactly like media that do not exist. */
START_TEST(error_not_found_media)
{
	static const char *const ids[] = {
		"g-doc", "m-deleted", "no-such-media",
	};
	char *jwt = good_bearer(P_HS);
	struct http_response *r, *ref = NULL;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		r = post_bearer(P_HS, issue_path(P_HS, ids[i]), jwt, NULL);
		expect_problem(r, 404);
		expect_no_secrets(r, jwt);
		ck_assert_ptr_null(strstr(r->body, "globex"));
		if (ref == NULL)
			ref = r;
		else
			ck_assert_msg(strcmp(ref->body, r->body) == 0,
			    "%s: 404 body differs from another media's: "
			    "%s vs %s", last_req, r->body, ref->body);
	}

	/* The same token of globex does see it. */
	jwt = mint(P_HS, "{\"sub\":\"u\",\"tenant\":\"globex\","
	    "\"permissions\":[\"media:read\"],\"iat\":%lld,\"exp\":%lld}",
	    now(), now() + 300);
	r = post_bearer(P_HS, "/media/g-doc/download-token", jwt, NULL);
	expect_issued(r, P_HS, "g-doc");
	ck_assert_str_eq(sjson_string(sjson_get(jws_part(sjson_string(sjson_get(
	    expect_json(r), "token")), 1), "tenant")), "globex");
}
END_TEST

static const char *const unknown_paths[] = {
	"/", "/media", "/media/", "/media/m-pdf", "/media/m-pdf/",
	"/media/m-pdf/download-token/", "/media/m-pdf/other",
	"/media/m-pdf/download-token/x", "/mediax/m-pdf/download-token",
	"/MEDIA/m-pdf/download-token", "/media/m-pdf/Download-Token",
	"/media/m-pdf/download", "/api/media/m-pdf/download-token",
	"/media/m-pdf/download/a/b",
};

START_TEST(error_unknown_path)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS, unknown_paths[_i], jwt,
	    NULL);

	expect_problem(r, 404);
	expect_no_secrets(r, jwt);
}
END_TEST

static const char *const issue_wrong_methods[] = {
	"GET", "PUT", "DELETE", "PATCH", "HEAD",
};

START_TEST(error_method_issue)
{
	const char *method = issue_wrong_methods[_i];
	char *jwt = good_bearer(P_HS);
	const char *h[] = { strf("Authorization: Bearer %s", jwt), NULL };
	struct http_response *r = request(P_HS, method,
	    "/media/m-pdf/download-token", h, NULL, 0);

	if (strcmp(method, "HEAD") == 0) {
		expect_status(r, 405);
		ck_assert_uint_eq(r->body_len, 0);
	} else
		expect_problem(r, 405);
	expect_header(r, "Allow", "POST");
	expect_no_secrets(r, jwt);
}
END_TEST

START_TEST(error_method_download)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r;

	r = post_bearer(P_HS, is.path, NULL, NULL);
	expect_problem(r, 405);
	expect_header(r, "Allow", "GET, HEAD");
	expect_no_secrets(r, is.token);

	r = request(P_HS, "DELETE", is.path, NULL, NULL, 0);
	expect_problem(r, 405);
	expect_header(r, "Allow", "GET, HEAD");
	expect_no_secrets(r, is.token);
}
END_TEST

START_TEST(error_no_file)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r = post_bearer(P_HS,
	    "/media/m-nofile/download-token", jwt, NULL);

	expect_problem(r, 422);
	expect_no_secrets(r, jwt);

	/* HTML too. */
	r = post_bearer(P_HS, "/media/m-nofile/download-token", jwt,
	    "text/html");
	expect_html(r, 422);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Downloads (§5) */

static void
expect_pdf_headers(const struct http_response *r)
{
	const char *cd;

	expect_header(r, "Content-Type", "application/pdf");
	expect_header(r, "Cache-Control", "private, no-store");
	expect_header(r, "X-Content-Type-Options", "nosniff");
	cd = http_header(r, "Content-Disposition");
	ck_assert_msg(cd != NULL, "%s: no Content-Disposition", last_req);
	ck_assert_uint_eq(http_header_count(r, "Content-Disposition"), 1);
	ck_assert_msg(strncasecmp(cd, "attachment", 10) == 0,
	    "not an attachment: %s", cd);
	ck_assert_msg(strstr(cd, "filename=\"Invoice 1.pdf\"") != NULL,
	    "no ASCII filename in: %s", cd);
	ck_assert_msg(strstr(cd, "filename*=UTF-8''Invoice%201.pdf") != NULL,
	    "no RFC 8187 filename* in: %s", cd);
	/* The web server consumed the sendfile header; where the file lives
	 * is nobody's business. */
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
	ck_assert_uint_eq(http_header_count(r, "X-LIGHTTPD-send-file"), 0);
	ck_assert_uint_eq(http_header_count(r, "X-Accel-Redirect"), 0);
	ck_assert_msg(strstr(r->head, storage_root) == NULL,
	    "the storage path is in the response header: %s", r->head);
}

START_TEST(download_ok)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "GET", is.path, NULL, NULL);

	expect_status(r, 200);
	expect_pdf_headers(r);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	ck_assert_msg(memcmp(r->body, pdf_data, PDF_SIZE) == 0,
	    "the body is not the stored file");

	/* The token is valid for its whole lifetime, and any responder of
	 * the pool accepts it. */
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	r = fetch(P_HS, "GET", is.path, "text/html", NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
}
END_TEST

START_TEST(download_many_tokens)
{
	struct http_response *r;
	int i;

	/* Tokens issued by whichever process, checked by whichever. */
	for (i = 0; i < 6; i++) {
		struct issued is = issue_ok(P_HS, "m-pdf");

		r = fetch(P_HS, "HEAD", is.path, NULL, NULL);
		expect_status(r, 200);
	}
}
END_TEST

START_TEST(download_head)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "HEAD", is.path, NULL, NULL);
	const char *cl;

	expect_status(r, 200);
	expect_pdf_headers(r);
	ck_assert_uint_eq(r->body_len, 0);
	cl = http_header(r, "Content-Length");
	ck_assert_msg(cl == NULL || strcmp(cl, "102400") == 0,
	    "HEAD Content-Length %s, want 102400", cl);
}
END_TEST

START_TEST(download_range)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "GET", is.path, NULL,
	    "bytes=10-19");

	expect_status(r, 206);
	ck_assert_uint_eq(r->body_len, 10);
	ck_assert(memcmp(r->body, pdf_data + 10, 10) == 0);
	expect_header(r, "Content-Range", "bytes 10-19/102400");
	expect_header(r, "Content-Type", "application/pdf");

	/* A suffix range, as a resumed download asks. */
	r = fetch(P_HS, "GET", is.path, NULL, "bytes=-100");
	expect_status(r, 206);
	ck_assert_uint_eq(r->body_len, 100);
	ck_assert(memcmp(r->body, pdf_data + PDF_SIZE - 100, 100) == 0);
}
END_TEST

START_TEST(download_nomime)
{
	struct issued is = issue_ok(P_HS, "m-nomime");
	struct http_response *r = fetch(P_HS, "GET", is.path, NULL, NULL);

	expect_status(r, 200);
	expect_header(r, "Content-Type", "application/octet-stream");
	expect_header(r, "X-Content-Type-Options", "nosniff");
	ck_assert_uint_eq(r->body_len, strlen(nomime_data));
	ck_assert(memcmp(r->body, nomime_data, r->body_len) == 0);
	ck_assert_msg(strstr(http_header(r, "Content-Disposition"),
	    "filename=\"blob\"") != NULL, "%s",
	    http_header(r, "Content-Disposition"));
}
END_TEST

START_TEST(download_other_media)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r = fetch(P_HS, "GET",
	    dl_path(P_HS, "m-nomime", is.token), NULL, NULL);

	expect_problem(r, 403);
	expect_no_secrets(r, is.token);
}
END_TEST

/* Download tokens that are malformed or forged: 403. */
enum { N_FORGED = 11 };

START_TEST(download_forged)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	long long t = now();
	const char *claims = strf("{\"sub\":\"m-pdf\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	const char *tok = NULL;
	struct http_response *r;

	switch (_i) {
	case 0:			/* signature changed */
		tok = tamper(is.token, 2);
		break;
	case 1:			/* payload changed */
		tok = tamper(is.token, 1);
		break;
	case 2:			/* signed with the bearer key */
		tok = hs256(P_HS->key.priv, P_HS->key.priv_len, claims);
		break;
	case 3:			/* alg none */
		tok = raw_jws("{\"alg\":\"none\"}", claims, "");
		break;
	case 4:
		tok = "garbage";
		break;
	case 5:			/* no tenant while isolation is on */
		tok = dl_token("{\"sub\":\"m-pdf\",\"iat\":%lld,\"exp\":%lld,"
		    "\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
		break;
	case 6:			/* no sub */
		tok = dl_token("{\"tenant\":\"acme\",\"iat\":%lld,"
		    "\"exp\":%lld}", t, t + 60);
		break;
	case 7:			/* no exp */
		tok = dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\","
		    "\"iat\":%lld}", t);
		break;
	case 8:			/* HS512 with the right secret */
		tok = keep(tk_hs_raw(token_key.priv, token_key.priv_len,
		    "HS512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims),
		    free);
		break;
	case 9:			/* a bearer token is not a download token */
		tok = good_bearer(P_HS);
		break;
	default:		/* the token with a part cut off */
		tok = keep(xstrndup(is.token, (size_t)(strrchr(is.token, '.') -
		    is.token)), free);
		break;
	}
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", tok), NULL, NULL);
	expect_problem(r, 403);
	expect_no_secrets(r, tok);
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
	ck_assert_ptr_null(memmem(r->body, r->body_len, pdf_data, 64));

	/* HEAD is refused the same way, without a body. */
	r = fetch(P_HS, "HEAD", dl_path(P_HS, "m-pdf", tok), NULL, NULL);
	expect_status(r, 403);
	ck_assert_uint_eq(r->body_len, 0);
}
END_TEST

START_TEST(download_hand_minted)
{
	long long t = now();
	struct http_response *r;
	char *tok;

	/* A token made outside mediagate with the same secret works: the
	 * expiry tests below differ from it only in exp. */
	tok = dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", tok), NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);

	/* The tenant in the token is enforced at download time. */
	tok = dl_token("{\"sub\":\"g-doc\",\"tenant\":\"acme\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	r = fetch(P_HS, "GET", dl_path(P_HS, "g-doc", tok), NULL, NULL);
	expect_problem(r, 404);
	expect_no_secrets(r, tok);

	tok = dl_token("{\"sub\":\"g-doc\",\"tenant\":\"globex\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	r = fetch(P_HS, "GET", dl_path(P_HS, "g-doc", tok), NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Content-Type", "text/plain");
}
END_TEST

START_TEST(download_expired)
{
	long long t = now();
	char *tok = dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t - 65,
	    t - 5);
	struct http_response *r = fetch(P_HS, "GET",
	    dl_path(P_HS, "m-pdf", tok), NULL, NULL);

	expect_problem(r, 410);
	expect_no_secrets(r, tok);
	ck_assert_ptr_null(memmem(r->body, r->body_len, pdf_data, 64));

	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", tok), "text/html", NULL);
	expect_html(r, 410);
	expect_no_secrets(r, tok);
}
END_TEST

START_TEST(download_deleted_after_issue)
{
	struct issued is;
	struct http_response *r;

	media_put("t-del-later", "acme", "application/pdf", "later.pdf",
	    "acme/m-pdf.pdf");
	is = issue_ok(P_HS, "t-del-later");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);

	db_exec("UPDATE media SET deleted_at = now() WHERE id = 't-del-later'");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_problem(r, 404);
	expect_no_secrets(r, is.token);
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
}
END_TEST

START_TEST(download_no_file)
{
	long long t = now();
	char *tok = dl_token("{\"sub\":\"m-nofile\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	struct http_response *r = fetch(P_HS, "GET",
	    dl_path(P_HS, "m-nofile", tok), NULL, NULL);

	expect_problem(r, 422);
	expect_no_secrets(r, tok);
}
END_TEST

/*
 * Read the quoted-string after "filename=" in a Content-Disposition value
 * (RFC 9110 §5.6.4), unescaping quoted-pairs, into a kept string.  Checks
 * that the raw form is printable ASCII.
 */
static const char *
cd_ascii_filename(const char *cd)
{
	const char *p = strstr(cd, "filename=\"");
	struct buf out = { 0 };

	ck_assert_msg(p != NULL, "no filename=\"...\" in %s", cd);
	for (p += 10; *p != '"'; p++) {
		ck_assert_msg(*p != '\0', "unterminated filename in %s", cd);
		ck_assert_msg((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f, "non-ASCII or control byte "
		    "0x%02x in filename of %s", (unsigned char)*p, cd);
		if (*p == '\\') {
			p++;
			ck_assert_msg(*p != '\0', "dangling backslash in %s",
			    cd);
		}
		buf_putc(&out, *p);
	}
	return keep(out.ptr != NULL ? out.ptr : xstrdup(""), free);
}

START_TEST(download_hostile_file_name)
{
	struct issued is;
	struct http_response *r;
	const char *cd, *ascii, *ext;
	size_t i;

	media_put("t-name", "acme", "application/pdf",
	    "a\"b\\c\r\nd;\xc3\xa9.pdf", "acme/m-pdf.pdf");
	is = issue_ok(P_HS, "t-name");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);

	/* One field, and no field was injected after it. */
	ck_assert_uint_eq(http_header_count(r, "Content-Disposition"), 1);
	for (i = 0; i < r->nheaders; i++)
		ck_assert_msg(strncmp(r->headers[i].name, "d;", 2) != 0,
		    "a header line was injected: %s", r->head);
	cd = http_header(r, "Content-Disposition");
	ck_assert_msg(strncasecmp(cd, "attachment;", 11) == 0, "%s", cd);
	ck_assert_msg(strpbrk(cd, "\r\n") == NULL, "CR/LF in %s", cd);

	ascii = cd_ascii_filename(cd);
	ck_assert_msg(strncmp(ascii, "a\"b\\c", 5) == 0 &&
	    strstr(ascii, "d;") != NULL &&
	    strlen(ascii) > 4 && strcmp(ascii + strlen(ascii) - 4, ".pdf") == 0,
	    "ASCII filename '%s' from %s", ascii, cd);
	ck_assert_msg(strstr(cd, "filename=\"a\\\"b\\\\c") != NULL,
	    "quote and backslash not escaped: %s", cd);

	ext = strstr(cd, "filename*=UTF-8''");
	ck_assert_msg(ext != NULL, "no filename* in %s", cd);
	ext += 17;
	ck_assert_msg(strncmp(ext, "a%22b%5Cc", 9) == 0,
	    "filename* does not start with a%%22b%%5Cc: %s", cd);
	ck_assert_msg(strstr(ext, "%C3%A9.pdf") != NULL,
	    "é not encoded as %%C3%%A9 in %s", cd);
	/* RFC 8187 value-chars: attr-char or pct-encoded, nothing else. */
	for (; *ext != '\0' && *ext != ';' && *ext != ' '; ext++)
		ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789!#$&+-.^_`|~%", *ext) != NULL,
		    "'%c' is not allowed in filename*: %s", *ext, cd);
}
END_TEST

/* Stored paths that lead outside the storage root. */
static const char *const escapes[] = {
	"../../etc/passwd", "/etc/passwd", "acme/../../etc/passwd",
	"acme/escape-link.pdf", "acme/escape-dir/outside-secret.txt",
};

START_TEST(download_escape)
{
	struct issued is;
	struct http_response *r;

	media_put("t-escape", "acme", "text/plain", "x.txt", escapes[_i]);
	is = issue_ok(P_HS, "t-escape");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	ck_assert_msg(r->status != 200 && r->status != 206,
	    "%s: stored path '%s' was served", last_req, escapes[_i]);
	expect_problem(r, 500);
	expect_no_secrets(r, is.token);
	ck_assert_ptr_null(strstr(r->body, "root:"));
	ck_assert_ptr_null(strstr(r->body, outside_marker));
	ck_assert_ptr_null(strstr(r->body, "passwd"));
	ck_assert_ptr_null(strstr(r->body, "escape"));
	ck_assert_uint_eq(http_header_count(r, "X-Sendfile"), 0);
}
END_TEST

START_TEST(download_missing_file)
{
	struct issued is;
	struct http_response *r;

	media_put("t-missing", "acme", "application/pdf", "gone.pdf",
	    "acme/not-there.pdf");
	is = issue_ok(P_HS, "t-missing");
	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	ck_assert_msg(r->status >= 400, "%s: status %d", last_req, r->status);
	expect_problem(r, r->status);
	expect_no_secrets(r, is.token);
	ck_assert_ptr_null(strstr(r->body, "not-there"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* The other pools: RS256 with issuer, audience, PUBLIC_URL and a base
 * path; ES256 without tenant isolation and a 2 s lifetime. */

START_TEST(rs_issue)
{
	char *jwt = good_bearer(P_RS);
	struct http_response *r = post_bearer(P_RS,
	    "/api/media/m-pdf/download-token", jwt, NULL);
	struct issued is = expect_issued(r, P_RS, "m-pdf");
	yajl_val claims;

	ck_assert_msg(strncmp(is.url, PUBLIC_URL_RS
	    "/api/media/m-pdf/download/", strlen(PUBLIC_URL_RS) + 26) == 0,
	    "url %s", is.url);
	expect_no_secrets(r, jwt);
	expect_signed_by_token_key(is.token);
	claims = jws_part(is.token, 1);
	ck_assert_str_eq(sjson_string(sjson_get(claims, "tenant")), "acme");
	ck_assert_int_eq(claim_int(claims, "exp"),
	    claim_int(claims, "iat") + P_RS->ttl);

	/* The HTML link carries the public URL too. */
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", jwt,
	    "text/html");
	expect_html(r, 201);
	ck_assert_ptr_nonnull(strstr(r->body, "<a href=\"" PUBLIC_URL_RS
	    "/api/media/m-pdf/download/"));
}
END_TEST

/* aud forms that include mediagate-api. */
static const char *const rs_good_aud[] = {
	"\"aud\":\"mediagate-api\"",
	"\"aud\":[\"mediagate-api\"]",
	"\"aud\":[\"other\",\"mediagate-api\"]",
};

START_TEST(rs_audience_ok)
{
	long long t = now();
	char *jwt = mint(P_RS, "{\"sub\":\"u\",\"tenant\":\"acme\",\"iss\":\""
	    ISSUER_RS "\",%s,\"scope\":\"media:read\",\"iat\":%lld,"
	    "\"exp\":%lld}", rs_good_aud[_i], t, t + 300);
	struct http_response *r = post_bearer(P_RS,
	    "/api/media/m-pdf/download-token", jwt, NULL);

	expect_issued(r, P_RS, "m-pdf");
}
END_TEST

/* Issuer and audience members that must give 401. */
static const char *const rs_bad_claims[] = {
	"\"iss\":\"https://evil.test\",\"aud\":\"mediagate-api\"",
	"\"iss\":\"https://issuer.test/\",\"aud\":\"mediagate-api\"",
	"\"aud\":\"mediagate-api\"",
	"\"iss\":\"" ISSUER_RS "\",\"aud\":\"other-api\"",
	"\"iss\":\"" ISSUER_RS "\",\"aud\":[\"other\",\"mediagate\"]",
	"\"iss\":\"" ISSUER_RS "\"",
	"\"iss\":\"" ISSUER_RS "\",\"aud\":\"mediagate-api-x\"",
	"\"iss\":[\"" ISSUER_RS "\"],\"aud\":\"mediagate-api\"",
};

START_TEST(rs_claims_refused)
{
	long long t = now();
	char *jwt = mint(P_RS, "{\"sub\":\"u\",\"tenant\":\"acme\",%s,"
	    "\"scope\":\"media:read\",\"iat\":%lld,\"exp\":%lld}",
	    rs_bad_claims[_i], t, t + 300);
	struct http_response *r = post_bearer(P_RS,
	    "/api/media/m-pdf/download-token", jwt, NULL);

	expect_401(r, jwt);
}
END_TEST

START_TEST(rs_algorithm_confusion)
{
	const char *claims = good_claims(P_RS, "");
	size_t len = P_RS->key.pub_len;
	struct http_response *r;
	const char *hdr512 = "{\"alg\":\"RS512\",\"typ\":\"JWT\"}";
	char *tok;
	struct testkey other;

	/* HS256 keyed with the PEM the server verifies RS256 with, with and
	 * without its final newline. */
	tok = hs256(P_RS->key.pub, len, claims);
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);
	while (len > 0 && P_RS->key.pub[len - 1] == '\n')
		len--;
	tok = hs256(P_RS->key.pub, len, claims);
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);

	/* An ES256 token, and an RS256 token of another key pair. */
	tok = mint(P_ES, "%s", claims);
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);
	tk_generate(&other, JWS_RS256);
	tok = keep(tk_mint(&other, claims), free);
	tk_free(&other);
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);

	/* A valid RS256 token with alg changed to RS512. */
	tok = good_bearer(P_RS);
	tok = strf("%s%s", b64url(hdr512, strlen(hdr512)), strchr(tok, '.'));
	r = post_bearer(P_RS, "/api/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);
}
END_TEST

START_TEST(rs_base_path)
{
	char *jwt = good_bearer(P_RS);
	struct http_response *r;
	struct issued is;

	/* Outside /api there is no API. */
	r = post_bearer(P_RS, "/media/m-pdf/download-token", jwt, NULL);
	expect_status(r, 404);
	expect_no_secrets(r, jwt);

	r = post_bearer(P_RS, "/api/media/m-pdf", jwt, NULL);
	expect_problem(r, 404);

	/* The download URL's path is served by the same pool. */
	is = issue_ok(P_RS, "m-pdf");
	ck_assert_msg(strncmp(is.path, "/api/media/m-pdf/download/", 26) == 0,
	    "path %s", is.path);
	r = fetch(P_RS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	ck_assert(memcmp(r->body, pdf_data, PDF_SIZE) == 0);
}
END_TEST

START_TEST(es_no_isolation)
{
	char *jwt = good_bearer(P_ES);
	struct http_response *r;
	struct issued is;
	yajl_val claims;

	/* No tenant claim needed, and every tenant's media is visible. */
	r = post_bearer(P_ES, "/media/m-pdf/download-token", jwt, NULL);
	is = expect_issued(r, P_ES, "m-pdf");
	expect_no_secrets(r, jwt);
	claims = jws_part(is.token, 1);
	ck_assert_ptr_null(sjson_get(claims, "tenant"));
	ck_assert_int_eq(claim_int(claims, "exp"),
	    claim_int(claims, "iat") + P_ES->ttl);
	expect_signed_by_token_key(is.token);

	r = post_bearer(P_ES, "/media/g-doc/download-token", jwt, NULL);
	expect_issued(r, P_ES, "g-doc");

	/* Deleted is still deleted. */
	r = post_bearer(P_ES, "/media/m-deleted/download-token", jwt, NULL);
	expect_problem(r, 404);

	/* A tenant claim, if present, does not restrict anything. */
	jwt = mint(P_ES, "%s", good_claims(P_ES, ",\"tenant\":\"acme\""));
	r = post_bearer(P_ES, "/media/g-doc/download-token", jwt, NULL);
	expect_issued(r, P_ES, "g-doc");
}
END_TEST

START_TEST(es_signature)
{
	const char *claims = good_claims(P_ES, "");
	struct http_response *r;
	struct testkey other;
	char *tok;

	tk_generate(&other, JWS_ES256);
	tok = keep(tk_mint(&other, claims), free);
	tk_free(&other);
	r = post_bearer(P_ES, "/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);

	tok = hs256(P_ES->key.pub, P_ES->key.pub_len, claims);
	r = post_bearer(P_ES, "/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);

	tok = tamper(good_bearer(P_ES), 2);
	r = post_bearer(P_ES, "/media/m-pdf/download-token", tok, NULL);
	expect_401(r, tok);

	/* The permission rule applies here too. */
	tok = mint(P_ES, "{\"sub\":\"u\",\"scp\":\"media:list\",\"iat\":%lld,"
	    "\"exp\":%lld}", now(), now() + 300);
	r = post_bearer(P_ES, "/media/m-pdf/download-token", tok, NULL);
	expect_problem(r, 403);
	expect_header(r, "WWW-Authenticate", WWW_SCOPE);
}
END_TEST

START_TEST(es_token_expires)
{
	struct issued is = issue_ok(P_ES, "m-pdf");
	struct http_response *r = fetch(P_ES, "GET", is.path, NULL, NULL);

	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
	sleep(4);
	r = fetch(P_ES, "GET", is.path, NULL, NULL);
	expect_problem(r, 410);
	expect_no_secrets(r, is.token);
}
END_TEST

START_TEST(cross_pool_tokens)
{
	struct issued is;
	struct http_response *r;

	/* A token from the HS pool is good wherever the secret is. */
	is = issue_ok(P_HS, "m-pdf");
	r = fetch(P_ES, "GET", dl_path(P_ES, "m-pdf", is.token), NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);

	/* One without a tenant is refused where isolation is on. */
	is = issue_ok(P_ES, "m-pdf");
	r = fetch(P_HS, "GET", dl_path(P_HS, "m-pdf", is.token), NULL, NULL);
	expect_problem(r, 403);
	expect_no_secrets(r, is.token);
}
END_TEST


/* ------------------------------------------------------------------ */
/* Faults: database outage and signals.  These run last: they stop the
 * database for a moment and end responder processes. */

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
run_script(const char *env)
{
	const char *cmd = getenv(env);

	ck_assert_msg(cmd != NULL && *cmd != '\0', "%s is not set", env);
	ck_assert_msg(system(cmd) == 0, "%s (%s) failed", env, cmd);
}

/* A process that exists and is not a zombie (nothing here reaps the
 * responders spawn-fcgi left behind). */
static bool
proc_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

/* Wait up to ms for pid to end; true if it did. */
static bool
proc_gone_within(pid_t pid, long ms)
{
	long long end = ms_now() + ms;

	while (proc_alive(pid)) {
		if (ms_now() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* The responder pids of pool name, from spawn-fcgi's pid file. */
static int
pool_pids(const char *name, pid_t *pids, int max)
{
	char *path = strf("%s/%s.pid", work_dir, name);
	FILE *f = fopen(path, "r");
	long v;
	int n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (n < max && fscanf(f, "%ld", &v) == 1)
		pids[n++] = (pid_t)v;
	fclose(f);
	return n;
}

/*
 * §6 503: while PostgreSQL is down every request gets 503 with
 * Retry-After, quickly and without the database's message; once it is
 * back the same processes answer 201 again, with no restart.
 */
START_TEST(fault_database_outage)
{
	struct http_response *r;
	long long t0;
	char *jwt = good_bearer(P_HS);
	int i;

	issue_ok(P_HS, "m-pdf");
	run_script("MG_TEST_PG_STOP");
	for (i = 0; i < 4; i++) {
		t0 = ms_now();
		r = post_bearer(P_HS, "/media/m-pdf/download-token", jwt, NULL);
		ck_assert_msg(ms_now() - t0 < 3000, "503 took %lld ms",
		    ms_now() - t0);
		expect_problem(r, 503);
		ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
		expect_no_secrets(r, jwt);
	}
	/* HTML clients get the page form of the same error. */
	r = post_bearer(P_HS, "/media/m-pdf/download-token", jwt, "text/html");
	expect_status(r, 503);
	expect_ctype(r, "text/html");
	run_script("MG_TEST_PG_START");
	for (i = 0; i < 4; i++)
		issue_ok(P_HS, "m-pdf");
}
END_TEST

/*
 * A client that sends issuing requests one after another for ms
 * milliseconds while the database goes away and comes back.  Runs in a
 * child; each answer goes to fd as a struct sample.
 */
struct sample {
	long long	at;		/* ms_now() when the answer came */
	long long	took;		/* ms the request took */
	int		status;		/* HTTP status, or -1 if none */
};

static pid_t
start_stream(const struct pool *p, long ms, int fd)
{
	pid_t child = fork();
	long long end;

	if (child != 0)
		return child;
	end = ms_now() + ms;
	while (ms_now() < end) {
		const char *h[] = { strf("Authorization: Bearer %s",
		    good_bearer(p)), NULL };
		struct http_response r;
		struct sample s;

		s.took = ms_now();
		s.status = http_request(p->url, "POST",
		    "/media/m-pdf/download-token", h, NULL, 0, &r) == 0 ?
		    r.status : -1;
		http_response_free(&r);
		s.at = ms_now();
		s.took = s.at - s.took;
		if (write(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(1);
		release_kept();
		usleep(20000);
	}
	_exit(0);
}

/* Collect the child's samples (the pipe's read end is fd). */
static struct sample *
collect(pid_t child, int fd, size_t *n)
{
	struct sample *v = NULL;
	struct sample s;
	int status;

	*n = 0;
	while (read(fd, &s, sizeof(s)) == (ssize_t)sizeof(s)) {
		v = realloc(v, (*n + 1) * sizeof(*v));
		ck_assert_ptr_nonnull(v);
		v[(*n)++] = s;
	}
	close(fd);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the client process failed");
	return keep(v, free);
}

/*
 * Issue 4's outage rules over a stream of answers: every answer is 201 or
 * 503 and comes within two seconds; there were 201s before the outage;
 * 201s are back within two seconds of the database accepting connections
 * again (up_at).
 */
static void
expect_outage_survived(const struct sample *v, size_t n, long long down_at,
    long long up_at)
{
	size_t i, before = 0, n503 = 0;
	long long first_after = -1;

	ck_assert_msg(n > 10, "only %zu answers", n);
	for (i = 0; i < n; i++) {
		ck_assert_msg(v[i].status == 201 || v[i].status == 503,
		    "answer %zu at %+lld ms: status %d", i,
		    v[i].at - down_at, v[i].status);
		ck_assert_msg(v[i].took < 2500, "answer %zu took %lld ms", i,
		    v[i].took);
		if (v[i].status == 201 && v[i].at < down_at)
			before++;
		if (v[i].status == 503)
			n503++;
		if (v[i].status == 201 && v[i].at - v[i].took >= up_at &&
		    first_after < 0)
			first_after = v[i].at;
	}
	ck_assert_msg(before > 0, "no 201 before the outage");
	ck_assert_msg(n503 > 0, "no 503 during the outage");
	ck_assert_msg(first_after >= 0, "no 201 after the database came back");
	ck_assert_msg(first_after - up_at <= 2000, "201s resumed %lld ms "
	    "after the database came back", first_after - up_at);
}

/* pg_ctl restart -m fast under a steady stream of requests to four
 * responders. */
START_TEST(fault_database_restart_stream)
{
	pid_t pids[8], child;
	int fds[2], n, i;
	long long down_at, up_at;
	struct sample *v;
	size_t nv;

	n = pool_pids("hs", pids, 8);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(pipe(fds), 0);
	child = start_stream(P_HS, 4000, fds[1]);
	close(fds[1]);
	usleep(1000000);
	down_at = ms_now();
	run_script("MG_TEST_PG_RESTART");
	up_at = ms_now();
	v = collect(child, fds[0], &nv);
	/* A fast restart may be quicker than the stream's pace: then no
	 * request saw it down, which is fine too. */
	for (i = 0; i < n; i++)
		ck_assert_msg(proc_alive(pids[i]), "responder %ld died",
		    (long)pids[i]);
	{
		size_t j, n503 = 0;

		for (j = 0; j < nv; j++) {
			ck_assert_msg(v[j].status == 201 || v[j].status == 503,
			    "status %d", v[j].status);
			n503 += v[j].status == 503;
		}
		ck_assert_msg(nv > 0 && v[nv - 1].status == 201,
		    "the last answer was not 201");
		if (n503 > 0)
			expect_outage_survived(v, nv, down_at, up_at);
	}
}
END_TEST

/* The database stopped for ten seconds: 503s all along, quickly, then
 * 201s again. */
START_TEST(fault_database_down_10s)
{
	pid_t pids[8], child;
	int fds[2], n, i;
	long long down_at, up_at;
	struct sample *v;
	size_t nv;

	n = pool_pids("hs", pids, 8);
	ck_assert_int_eq(pipe(fds), 0);
	child = start_stream(P_HS, 13500, fds[1]);
	close(fds[1]);
	usleep(1000000);
	down_at = ms_now();
	run_script("MG_TEST_PG_STOP");
	usleep(10000000);
	run_script("MG_TEST_PG_START");
	up_at = ms_now();
	v = collect(child, fds[0], &nv);
	expect_outage_survived(v, nv, down_at, up_at);
	for (i = 0; i < n; i++)
		ck_assert_msg(proc_alive(pids[i]), "responder %ld died",
		    (long)pids[i]);
}
END_TEST

/*
 * Clients that go away mid-request or mid-response (the responder then
 * writes into a closed connection: EPIPE) cost nothing: the same
 * processes keep answering.
 */
START_TEST(fault_client_aborts)
{
	pid_t pids[8];
	int n, i, k, s;
	char *jwt = good_bearer(P_HS);
	const char *req = strf("POST /media/m-pdf/download-token HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	    "Content-Length: 0\r\n\r\n", jwt);
	const char *big = strf("POST /media/m-pdf/download-token HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	    "Content-Length: 60000\r\n\r\n{\"a\":\"", jwt);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *port = strrchr(P_HS->origin, ':') + 1;

	n = pool_pids("hs", pids, 8);
	sa.sin_port = htons((uint16_t)atoi(port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (k = 0; k < 60; k++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(s, 0);
		ck_assert_int_eq(connect(s, (struct sockaddr *)&sa,
		    sizeof(sa)), 0);
		/* Whole request then gone; half a body then gone; gone
		 * with unread data (RST). */
		if (k % 3 == 2) {
			struct linger l = { 1, 0 };

			setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		if (k % 3 == 1)
			(void)!write(s, big, strlen(big));
		else
			(void)!write(s, req, strlen(req));
		if (k % 2 == 0)
			usleep(2000);
		close(s);
	}
	usleep(200000);
	for (i = 0; i < n; i++)
		ck_assert_msg(proc_alive(pids[i]), "responder %ld died",
		    (long)pids[i]);
	for (i = 0; i < 8; i++)
		issue_ok(P_HS, "m-pdf");
}
END_TEST

/*
 * SIGTERM lets a busy responder finish the request in hand and makes an
 * idle one exit at once.  The request is held in the database by a lock
 * on the media table, so that it is in flight when the signal comes.
 */
START_TEST(fault_sigterm_graceful)
{
	pid_t pids[8], child;
	PGconn *c;
	int n, i, status, alive = 0, busy = -1;
	char *jwt = good_bearer(P_ES);
	const char *path = strf("/media/m-pdf/download-token");

	n = pool_pids("es", pids, 8);
	ck_assert_int_eq(n, 2);
	for (i = 0; i < n; i++)
		ck_assert_msg(proc_alive(pids[i]), "responder %ld is not "
		    "running", (long)pids[i]);

	c = db_open();
	db_check(c, PQexec(c, "BEGIN"), "BEGIN");
	db_check(c, PQexec(c, "LOCK TABLE media IN ACCESS EXCLUSIVE MODE"),
	    "LOCK");
	if ((child = fork()) == 0) {
		struct http_response r;
		const char *h[] = { strf("Authorization: Bearer %s", jwt),
		    NULL };
		int rc = http_request(P_ES->url, "POST", path, h, NULL, 0, &r);

		_exit(rc == 0 && r.status == 201 ? 0 : 1);
	}
	ck_assert_int_gt(child, 0);
	usleep(400000);		/* the request is now waiting on the lock */
	for (i = 0; i < n; i++)
		ck_assert_int_eq(kill(pids[i], SIGTERM), 0);
	usleep(600000);
	for (i = 0; i < n; i++)
		if (proc_alive(pids[i])) {
			alive++;
			busy = i;
		}
	/* The idle one is gone within a second; the busy one is not. */
	ck_assert_msg(alive == 1, "%d responders alive 0.6 s after SIGTERM, "
	    "want exactly the busy one", alive);
	db_check(c, PQexec(c, "COMMIT"), "COMMIT");
	PQfinish(c);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the request in flight at SIGTERM did not get 201");
	ck_assert_msg(proc_gone_within(pids[busy], 1000),
	    "the busy responder did not exit after its request");
}
END_TEST

/* SIGUSR1 (mod_fcgid's graceful stop) ends an idle responder at once;
 * the rest of the pool keeps serving. */
START_TEST(fault_sigusr1_idle)
{
	pid_t pids[8];
	int n;

	n = pool_pids("rs", pids, 8);
	ck_assert_int_eq(n, 2);
	ck_assert(proc_alive(pids[0]));
	ck_assert_int_eq(kill(pids[0], SIGUSR1), 0);
	ck_assert_msg(proc_gone_within(pids[0], 1000),
	    "an idle responder did not exit within 1 s of SIGUSR1");
	ck_assert(proc_alive(pids[1]));
	issue_ok(P_RS, "m-pdf");
	issue_ok(P_RS, "m-pdf");
}
END_TEST

/* ------------------------------------------------------------------ */
/* HTML pages: the page a person sees and the headers every HTML answer
 * carries (CSP Level 3, nosniff, Referrer Policy), over real HTTP. */

#define HTML_CSP	"default-src 'none'; style-src 'unsafe-inline'; " \
			"frame-ancestors 'none'; base-uri 'none'; " \
			"form-action 'none'"

static void
expect_html_headers(const struct http_response *r)
{
	expect_header(r, "Content-Security-Policy", HTML_CSP);
	expect_header(r, "X-Content-Type-Options", "nosniff");
	expect_header(r, "Referrer-Policy", "no-referrer");
}

/* The text between the first "open" and the next "close" after it. */
static const char *
between(const char *hay, const char *open, const char *close)
{
	const char *a = strstr(hay, open), *b;

	ck_assert_msg(a != NULL, "%s: no '%s' in %s", last_req, open, hay);
	a += strlen(open);
	b = strstr(a, close);
	ck_assert_msg(b != NULL, "%s: no '%s' after '%s'", last_req, close,
	    open);
	return keep(xstrndup(a, (size_t)(b - a)), free);
}

START_TEST(html_issue_page)
{
	char *jwt = good_bearer(P_HS);
	struct http_response *r;
	const char *token, *dt, *href;
	struct tm tm = { 0 };
	long long exp;
	char *end;

	media_put("t-html", "acme", "application/pdf",
	    "Rechnung <M\xc3\xbcller & S\xc3\xb6hne> \"2026\".pdf",
	    "acme/m-pdf.pdf");
	r = post_bearer(P_HS, issue_path(P_HS, "t-html"), jwt, "text/html");
	expect_html(r, 201);
	expect_html_headers(r);
	expect_header(r, "Cache-Control", "no-store");
	ck_assert_ptr_nonnull(strstr(r->body, "<meta name=\"viewport\""));

	/* The name, escaped and isolated; the link; the token shown. */
	ck_assert_str_eq(between(r->body, "<h1><bdi>", "</bdi></h1>"),
	    "Rechnung &lt;M\xc3\xbcller &amp; S\xc3\xb6hne&gt; "
	    "&quot;2026&quot;.pdf");
	token = between(r->body, "<code class=\"token\">", "</code>");
	expect_compact(token);
	href = between(r->body, "<p class=\"cta\"><a href=\"", "\">");
	ck_assert_str_eq(href, strf("%s%s", P_HS->origin,
	    dl_path(P_HS, "t-html", token)));

	/* The expiry as an absolute UTC time: the token's exp. */
	exp = claim_int(jws_part(token, 1), "exp");
	dt = between(r->body, "<time datetime=\"", "\"");
	end = strptime(dt, "%Y-%m-%dT%H:%M:%SZ", &tm);
	ck_assert_msg(end != NULL && *end == '\0', "datetime '%s'", dt);
	ck_assert_int_eq((long long)timegm(&tm), exp);
	ck_assert_ptr_nonnull(strstr(r->body, " UTC</time>"));
	ck_assert_ptr_nonnull(strstr(r->body, "<dd>1 minute from issue</dd>"));

	/* The link works. */
	r = fetch(P_HS, "GET", dl_path(P_HS, "t-html", token), NULL, NULL);
	expect_status(r, 200);
}
END_TEST

/* Errors answered as HTML pages, one per way of failing. */
static const struct {
	const char	*label;
	int		 status;
} html_errors[] = {
	{ "no bearer", 401 }, { "no such media", 404 },
	{ "media without a file", 422 }, { "malformed id", 400 },
	{ "wrong method", 405 }, { "unknown path", 404 },
	{ "forged download token", 403 }, { "expired download token", 410 },
	{ "HEAD with a forged download token", 403 },
};

START_TEST(html_error_pages)
{
	const char *label = html_errors[_i].label, *path;
	struct http_response *r;
	long long t = now();

	switch (_i) {
	case 0:
		r = post_bearer(P_HS, issue_path(P_HS, "m-pdf"), NULL,
		    "text/html");
		break;
	case 1:
	case 2:
	case 3:
		r = post_bearer(P_HS, issue_path(P_HS, _i == 1 ? "no-such" :
		    _i == 2 ? "m-nofile" : "bad%21id"), good_bearer(P_HS),
		    "text/html");
		break;
	case 4:
		r = fetch(P_HS, "GET", issue_path(P_HS, "m-pdf"), "text/html",
		    NULL);
		break;
	case 5:
		r = fetch(P_HS, "GET", "/no/such/path", "text/html", NULL);
		break;
	default:
		path = dl_path(P_HS, "m-pdf", _i == 7 ?
		    dl_token("{\"sub\":\"m-pdf\",\"tenant\":\"acme\","
		    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}",
		    t - 120, t - 60) : tamper(issue_ok(P_HS, "m-pdf").token, 2));
		r = fetch(P_HS, _i == 8 ? "HEAD" : "GET", path, "text/html",
		    NULL);
		break;
	}
	ck_assert_msg(r->status == html_errors[_i].status,
	    "%s: %s: status %d, want %d", label, last_req, r->status,
	    html_errors[_i].status);
	expect_html_headers(r);
	expect_ctype(r, "text/html");
	if (_i == 8)
		return;		/* HEAD: the headers only */
	expect_html(r, html_errors[_i].status);
	ck_assert_msg(strstr(r->body, strf("<p class=\"kicker\">Error %d</p>",
	    html_errors[_i].status)) != NULL, "%s: %s", label, r->body);
	ck_assert_ptr_nonnull(strstr(r->body, "<meta name=\"viewport\""));
}
END_TEST

/* The download URL holds the token: no Referer may carry it on. */
START_TEST(html_download_referrer_policy)
{
	struct issued is = issue_ok(P_HS, "m-pdf");
	struct http_response *r;

	r = fetch(P_HS, "GET", is.path, NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Referrer-Policy", "no-referrer");
	expect_header(r, "X-Content-Type-Options", "nosniff");
	r = fetch(P_HS, "HEAD", is.path, NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Referrer-Policy", "no-referrer");
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
issue_suite(void)
{
	Suite *s = suite_create("issue");
	TCase *tc = tcase_kept("issue", TCASE_TIMEOUT);

	tcase_add_test(tc, issue_json);
	tcase_add_test(tc, issue_tokens_differ);
	tcase_add_test(tc, issue_html);
	tcase_add_test(tc, issue_query_ignored);
	tcase_add_loop_test(tc, issue_body_accepted, 0, NELEM(good_bodies));
	tcase_add_test(tc, issue_body_at_limit);
	tcase_add_test(tc, issue_json_content_type_body);
	tcase_add_test(tc, issue_scheme_case_insensitive);
	tcase_add_loop_test(tc, issue_scope_forms, 0, NELEM(good_scopes));
	suite_add_tcase(s, tc);

	tc = tcase_kept("html", TCASE_TIMEOUT);
	tcase_add_test(tc, html_issue_page);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
negotiate_suite(void)
{
	Suite *s = suite_create("negotiate");
	TCase *tc = tcase_kept("negotiate", TCASE_TIMEOUT);

	tcase_add_loop_test(tc, negotiate_issue, 0, NELEM(accept_cases));
	tcase_add_test(tc, negotiate_error_html);
	tcase_add_test(tc, negotiate_error_json_default);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
errors_suite(void)
{
	Suite *s = suite_create("errors");
	TCase *tc;

	tc = tcase_kept("request", TCASE_TIMEOUT);
	tcase_add_loop_test(tc, error_bad_id, 0, NELEM(bad_ids));
	tcase_add_test(tc, error_id_64_is_valid);
	tcase_add_loop_test(tc, error_bad_body, 0, NELEM(bad_bodies));
	tcase_add_test(tc, error_body_too_large);
	tcase_add_test(tc, error_body_nul_bytes);
	tcase_add_loop_test(tc, error_unknown_path, 0, NELEM(unknown_paths));
	tcase_add_loop_test(tc, error_method_issue, 0,
	    NELEM(issue_wrong_methods));
	tcase_add_test(tc, error_method_download);
	suite_add_tcase(s, tc);

	tc = tcase_kept("auth", TCASE_TIMEOUT);
	tcase_add_loop_test(tc, error_unauthorized, 0, N_UNAUTH);
	tcase_add_test(tc, error_authorization_too_long);
	tcase_add_loop_test(tc, error_hostile_bearer, 0, NELEM(hostile));
	tcase_add_test(tc, error_leeway);
	tcase_add_loop_test(tc, error_insufficient_scope, 0,
	    NELEM(bad_scopes));
	tcase_add_loop_test(tc, error_tenant_claim, 0, NELEM(bad_tenants));
	suite_add_tcase(s, tc);

	tc = tcase_kept("media", TCASE_TIMEOUT);
	tcase_add_test(tc, error_not_found_media);
	tcase_add_test(tc, error_no_file);
	suite_add_tcase(s, tc);

	tc = tcase_kept("html", TCASE_TIMEOUT);
	tcase_add_loop_test(tc, html_error_pages, 0, NELEM(html_errors));
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
download_suite(void)
{
	Suite *s = suite_create("download");
	TCase *tc = tcase_kept("download", TCASE_TIMEOUT);

	tcase_add_test(tc, download_ok);
	tcase_add_test(tc, download_many_tokens);
	tcase_add_test(tc, download_head);
	tcase_add_test(tc, download_range);
	tcase_add_test(tc, download_nomime);
	tcase_add_test(tc, download_other_media);
	tcase_add_loop_test(tc, download_forged, 0, N_FORGED);
	tcase_add_test(tc, download_hand_minted);
	tcase_add_test(tc, download_expired);
	tcase_add_test(tc, download_deleted_after_issue);
	tcase_add_test(tc, download_no_file);
	tcase_add_test(tc, download_hostile_file_name);
	tcase_add_loop_test(tc, download_escape, 0, NELEM(escapes));
	tcase_add_test(tc, download_missing_file);
	suite_add_tcase(s, tc);

	tc = tcase_kept("html", TCASE_TIMEOUT);
	tcase_add_test(tc, html_download_referrer_policy);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
pools_suite(void)
{
	Suite *s = suite_create("pools");
	TCase *tc;

	tc = tcase_kept("rs256", TCASE_TIMEOUT);
	tcase_add_test(tc, rs_issue);
	tcase_add_loop_test(tc, rs_audience_ok, 0, NELEM(rs_good_aud));
	tcase_add_loop_test(tc, rs_claims_refused, 0, NELEM(rs_bad_claims));
	tcase_add_test(tc, rs_algorithm_confusion);
	tcase_add_test(tc, rs_base_path);
	suite_add_tcase(s, tc);

	tc = tcase_kept("es256", TCASE_TIMEOUT);
	tcase_add_test(tc, es_no_isolation);
	tcase_add_test(tc, es_signature);
	tcase_add_test(tc, es_token_expires);
	tcase_add_test(tc, cross_pool_tokens);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_kept("faults", TCASE_TIMEOUT);

	tcase_add_test(tc, fault_database_outage);
	tcase_add_test(tc, fault_database_restart_stream);
	tcase_add_test(tc, fault_database_down_10s);
	tcase_add_test(tc, fault_client_aborts);
	tcase_add_test(tc, fault_sigterm_graceful);
	tcase_add_test(tc, fault_sigusr1_idle);
	suite_add_tcase(s, tc);
	return s;
}

/* ------------------------------------------------------------------ */
/* Set-up */

static const char *
need_env(const char *name, int *missing)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "check_integration: %s is not set; run this "
		    "program through tests/integration.sh, which starts the "
		    "services and exports MG_TEST_*\n", name);
		*missing = 1;
	}
	return v;
}

static void
setup_pool(struct pool *p, const char *name, const char *url,
    const char *base, const char *public_url, long ttl)
{
	size_t n;

	p->name = name;
	p->url = url;
	p->base = base;
	p->public_url = public_url;
	p->ttl = ttl;
	if (strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "check_integration: %s URL must start with "
		    "http://: %s\n", name, url);
		exit(1);
	}
	n = 7 + strcspn(url + 7, "/");
	if (n >= sizeof(p->origin)) {
		fprintf(stderr, "check_integration: URL too long: %s\n", url);
		exit(1);
	}
	memcpy(p->origin, url, n);
	p->origin[n] = '\0';
}

static void
make_dir(const char *dir, const char *name)
{
	char *path = path_join(dir, name);

	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "check_integration: mkdir %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	free(path);
}

static void
make_symlink(const char *target, const char *dir, const char *name)
{
	char *path = path_join(dir, name);

	unlink(path);
	if (symlink(target, path) != 0) {
		fprintf(stderr, "check_integration: symlink %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	free(path);
}

/*
 * The files behind tests/fixtures.sql, plus things outside the storage
 * root that stored paths must never reach.  Content is fixed so a
 * download can be compared byte for byte.
 */
static void
make_storage(void)
{
	uint32_t x = 2463534242u;
	char *outside, *secret_dir;
	size_t i;

	memcpy(pdf_data, "%PDF-1.4\n", 9);
	for (i = 9; i < PDF_SIZE; i++) {	/* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pdf_data[i] = (unsigned char)x;
	}
	snprintf(outside_marker, sizeof(outside_marker),
	    "mediagate-outside-secret-%ld", (long)getpid());

	make_dir(storage_root, "acme");
	make_dir(storage_root, "globex");
	free(tk_write_file(storage_root, "acme/m-pdf.pdf", pdf_data,
	    PDF_SIZE, 0644));
	free(tk_write_file(storage_root, "acme/m-deleted.pdf", "%PDF-1.4\n",
	    9, 0644));
	free(tk_write_file(storage_root, "acme/m-nomime.bin", nomime_data,
	    strlen(nomime_data), 0644));
	free(tk_write_file(storage_root, "globex/g-doc.txt", "globex\n", 7,
	    0644));

	make_dir(work_dir, "outside");
	secret_dir = path_join(work_dir, "outside");
	outside = tk_write_file(secret_dir, "outside-secret.txt",
	    outside_marker, strlen(outside_marker), 0644);
	make_symlink(outside, storage_root, "acme/escape-link.pdf");
	make_symlink(secret_dir, storage_root, "acme/escape-dir");
	free(outside);
	free(secret_dir);
}

/* The rows of tests/fixtures.sql must be there. */
static void
check_fixtures(void)
{
	PGconn *c = PQconnectdb(db_conninfo);
	PGresult *res;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "check_integration: cannot connect to "
		    "MG_TEST_DB: %s", PQerrorMessage(c));
		PQfinish(c);
		exit(1);
	}
	res = PQexec(c, "SELECT count(*) FROM media WHERE id IN ('m-pdf', "
	    "'m-nofile', 'm-deleted', 'm-nomime', 'g-doc')");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    strcmp(PQgetvalue(res, 0, 0), "5") == 0;
	PQclear(res);
	PQfinish(c);
	if (!ok) {
		fprintf(stderr, "check_integration: the rows of "
		    "tests/fixtures.sql are not in MG_TEST_DB\n");
		exit(1);
	}
}

int
main(void)
{
	const char *url_hs, *url_rs, *url_es, *keys;
	char *path, *pub;
	int missing = 0, failed;
	SRunner *sr;

	url_hs = need_env("MG_TEST_URL_HS", &missing);
	url_rs = need_env("MG_TEST_URL_RS", &missing);
	url_es = need_env("MG_TEST_URL_ES", &missing);
	db_conninfo = need_env("MG_TEST_DB", &missing);
	keys = need_env("MG_TEST_KEYS", &missing);
	storage_root = need_env("MG_TEST_STORAGE", &missing);
	work_dir = need_env("MG_TEST_WORK", &missing);
	if (missing)
		return 1;

	setup_pool(P_HS, "HS", url_hs, "", NULL, TTL_DEFAULT);
	setup_pool(P_RS, "RS", url_rs, "/api", PUBLIC_URL_RS, TTL_DEFAULT);
	setup_pool(P_ES, "ES", url_es, "", NULL, TTL_ES);

	path = path_join(keys, "bearer-hs.key");
	tk_load(&P_HS->key, JWS_HS256, path, path);
	free(path);
	path = path_join(keys, "bearer-rs.pem");
	pub = path_join(keys, "bearer-rs.pub.pem");
	tk_load(&P_RS->key, JWS_RS256, path, pub);
	free(path);
	free(pub);
	path = path_join(keys, "bearer-es.pem");
	pub = path_join(keys, "bearer-es.pub.pem");
	tk_load(&P_ES->key, JWS_ES256, path, pub);
	free(path);
	free(pub);
	path = path_join(keys, "token.key");
	tk_load(&token_key, JWS_HS256, path, path);
	free(path);

	make_storage();
	check_fixtures();

	sr = srunner_create(issue_suite());
	srunner_add_suite(sr, negotiate_suite());
	srunner_add_suite(sr, errors_suite());
	srunner_add_suite(sr, download_suite());
	srunner_add_suite(sr, pools_suite());
	srunner_add_suite(sr, faults_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	tk_free(&P_HS->key);
	tk_free(&P_RS->key);
	tk_free(&P_ES->key);
	tk_free(&token_key);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
