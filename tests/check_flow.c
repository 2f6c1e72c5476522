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
#include "http.h"
#include "http_tls.h"
#include "jws.h"
#include "sjson.h"
#include "testkeys.h"
#include "testlib.h"

#define TCASE_TIMEOUT	60		/* seconds */
#define BIG_SIZE	(1024 * 1024)	/* bytes of the stored file */
#define BODY_MAX	(64 * 1024)	/* the contract's request body limit */
#define PERMISSION	"media:read"

/* Set once in main() before the runner forks; read-only afterwards. */
static const char	*name;		/* MG_FLOW_NAME, for messages */
static const char	*url;		/* MG_FLOW_URL: https://HOST:PORT */
static const char	*http_url;	/* MG_FLOW_HTTP_URL: http://HOST:PORT */
static const char	*db_conninfo;	/* MG_FLOW_DB */
static const char	*storage_root;	/* MG_FLOW_STORAGE */
static const char	*issuer;	/* MG_FLOW_ISSUER (may be empty) */
static const char	*audience;	/* MG_FLOW_AUDIENCE (may be empty) */
static struct testkey	 bearer_key;	/* signs bearer tokens (RS256) */
static unsigned char	*big;		/* content of flow/big.bin */

/* ------------------------------------------------------------------ */
/* Requests */

/* method path on base (url or http_url), named after the deployment in
 * failure messages. */
static struct http_response *
request_to(const char *base, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len)
{
	return send_request(base, strf("[%s] %s %s%.260s", name, method, base,
	    path), method, path, headers, body, len);
}

/* GET, HEAD …, with an optional Accept and Range, over HTTPS. */
static struct http_response *
fetch(const char *method, const char *path, const char *accept,
    const char *range)
{
	return request_to(url, method, path, header_lines("Accept", accept,
	    "Range", range), NULL, 0);
}

/* POST with an Authorization value (NULL: none) and an Accept (NULL:
 * none), over HTTPS. */
static struct http_response *
post(const char *path, const char *authz, const char *accept,
    const void *body, size_t len)
{
	return request_to(url, "POST", path, header_lines("Authorization",
	    authz, "Accept", accept), body, len);
}

static const char *
issue_path(const char *id)
{
	return strf("/media/%s/download-token", id);
}

static const char *
dl_path(const char *id, const char *token)
{
	return strf("/media/%s/download/%s", id, token);
}

/* ------------------------------------------------------------------ */
/* Tokens */

/* A bearer token the deployment accepts, with extra claims (a JSON
 * fragment starting with ',' or ""). */
static char *
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

/* Replace the row id with a live one of tenant acme (mime NULL: SQL
 * NULL). */
static void
media_put(const char *id, const char *mime, const char *file_name,
    const char *storage)
{
	PGconn *c = db_open_at(db_conninfo, "MG_FLOW_DB");

	media_replace(c, id, "acme", mime, file_name, storage);
	PQfinish(c);
}

/* ------------------------------------------------------------------ */
/* Assertions */

static void
expect_status(const struct http_response *r, int want)
{
	ck_assert_msg(r->status == want, "%s: status %d, want %d; head: %.300s;"
	    " body: %.300s", last_req, r->status, want, r->head, r->body);
}

/* The web server consumed the sendfile header: neither it nor the place
 * the files are kept reaches the client, in any response. */
static void
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

/* A problem+json error with this status, from mediagate itself. */
static void
expect_problem(const struct http_response *r, int status)
{
	yajl_val v;
	long long st;

	expect_status(r, status);
	expect_ctype(r, "application/problem+json");
	v = keep(sjson_parse_object(r->body, r->body_len), release_json);
	ck_assert_msg(v != NULL, "%s: body is not a JSON object: %.300s",
	    last_req, r->body);
	ck_assert_msg(sjson_integer(sjson_get(v, "status"), &st) &&
	    st == status, "%s: problem status is not %d: %s", last_req,
	    status, r->body);
	expect_no_sendfile(r);
	ck_assert_msg(!contains(r->body, r->body_len, big, 64),
	    "%s: an error carries file bytes", last_req);
}

struct issued {
	const char	*token;
	const char	*path;		/* the URL without its origin */
};

/* A 201 JSON answer for media id: exactly token and url, url on the
 * deployment's https:// origin. */
static struct issued
expect_issued(const struct http_response *r, const char *id)
{
	struct issued is;
	const char *u;
	yajl_val v;

	expect_status(r, 201);
	expect_header(r, "Cache-Control", "no-store");
	expect_ctype(r, "application/json");
	v = keep(sjson_parse_object(r->body, r->body_len), release_json);
	ck_assert_msg(v != NULL && v->u.object.len == 2, "%s: not a JSON "
	    "object of two members: %.300s", last_req, r->body);
	is.token = sjson_string(sjson_get(v, "token"));
	u = sjson_string(sjson_get(v, "url"));
	ck_assert_msg(is.token != NULL && u != NULL, "%s: no token or url: "
	    "%s", last_req, r->body);
	ck_assert_str_eq(u, strf("%s/media/%s/download/%s", url, id,
	    is.token));
	is.path = u + strlen(url);
	return is;
}

static struct issued
issue_ok(const char *id)
{
	return expect_issued(post(issue_path(id), strf("Bearer %s",
	    bearer("")), NULL, NULL, 0), id);
}

/* The §5 fields of a successful download of a file of size bytes. */
static void
expect_download_fields(const struct http_response *r, const char *ctype,
    size_t size)
{
	const char *cd, *cl;

	expect_header(r, "Content-Type", ctype);
	expect_header(r, "Cache-Control", "private, no-store");
	expect_header(r, "X-Content-Type-Options", "nosniff");
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
	struct issued is = expect_issued(r, "f-big");

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

	expect_problem(r, 401);
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
	expect_problem(r, 401);
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
	expect_issued(r, "f-big");
	body[BODY_MAX - 1] = ' ';
	body[BODY_MAX + 1023] = '}';
	r = post(issue_path("f-big"), strf("Bearer %s", bearer("")), NULL,
	    body, BODY_MAX + 1024);
	expect_problem(r, 413);
}
END_TEST

START_TEST(flow_not_found)
{
	struct http_response *r = post(issue_path("f-no-such-media"),
	    strf("Bearer %s", bearer("")), NULL, NULL, 0);

	expect_problem(r, 404);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Downloads */

START_TEST(flow_download)
{
	struct issued is = issue_ok("f-big");
	struct http_response *r;
	int i;

	/* Twice: the token stays good for its lifetime (resumed
	 * downloads). */
	for (i = 0; i < 2; i++) {
		r = fetch("GET", is.path, NULL, NULL);
		expect_status(r, 200);
		expect_download_fields(r, "application/octet-stream",
		    BIG_SIZE);
		ck_assert_msg(r->body_len == BIG_SIZE, "%s: %zu bytes, want %d",
		    last_req, r->body_len, BIG_SIZE);
		ck_assert_msg(memcmp(r->body, big, BIG_SIZE) == 0,
		    "%s: the body is not the stored file", last_req);
	}
	/* What the client prefers for errors does not matter here. */
	r = fetch("GET", is.path, "text/html", NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, BIG_SIZE);
}
END_TEST

START_TEST(flow_head)
{
	struct issued is = issue_ok("f-big");
	struct http_response *r = fetch("HEAD", is.path, NULL, NULL);

	expect_status(r, 200);
	expect_download_fields(r, "application/octet-stream", BIG_SIZE);
	ck_assert_uint_eq(r->body_len, 0);
}
END_TEST

static const struct {
	const char	*range;
	size_t		 first, last;	/* expected, inclusive */
} ranges[] = {
	{ "bytes=0-0", 0, 0 },
	{ "bytes=100-199", 100, 199 },
	{ "bytes=-100", BIG_SIZE - 100, BIG_SIZE - 1 },
	{ "bytes=1048000-", 1048000, BIG_SIZE - 1 },
	{ "bytes=524288-2000000", 524288, BIG_SIZE - 1 },
};

START_TEST(flow_range)
{
	struct issued is = issue_ok("f-big");
	struct http_response *r = fetch("GET", is.path, NULL,
	    ranges[_i].range);
	size_t first = ranges[_i].first, last = ranges[_i].last;

	expect_status(r, 206);
	expect_header(r, "Content-Range", strf("bytes %zu-%zu/%d", first,
	    last, BIG_SIZE));
	ck_assert_msg(r->body_len == last - first + 1, "%s: %zu bytes, want "
	    "%zu", last_req, r->body_len, last - first + 1);
	ck_assert_msg(memcmp(r->body, big + first, r->body_len) == 0,
	    "%s: wrong bytes", last_req);
	expect_download_fields(r, "application/octet-stream", BIG_SIZE);
}
END_TEST

START_TEST(flow_range_unsatisfiable)
{
	struct issued is = issue_ok("f-big");
	struct http_response *r = fetch("GET", is.path, NULL,
	    "bytes=2000000-");

	/* RFC 9110 §15.5.17: Content-Range "bytes *\/length" is a SHOULD,
	 * which lighttpd 1.4.69 does not follow. */
	expect_status(r, 416);
	if (http_header(r, "Content-Range") != NULL)
		expect_header(r, "Content-Range", strf("bytes */%d",
		    BIG_SIZE));
	expect_no_sendfile(r);
	ck_assert_msg(!contains(r->body, r->body_len, big, 64),
	    "%s: file bytes in a 416", last_req);
}
END_TEST

/* Names that need care in a header (RFC 6266, RFC 8187). */
static const char *const hostile_names[] = {
	"Invoice \"Q1\".pdf",
	"back\\slash\\.pdf",
	"r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\x84.pdf",
	"line\r\nX-Injected: yes\r\n\r\nbody.pdf",
	"tab\there\x01\x1f\x7f.pdf",
	"semi;colon,comma=eq 100%.pdf",
};

/* Length of the UTF-8 sequence at p (valid input assumed). */
static size_t
u8len(const unsigned char *p)
{
	return *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
}

/* Percent-decode an RFC 8187 value into a kept string. */
static const char *
pct_decode(const char *s, size_t len)
{
	struct buf out = { 0 };
	size_t i;
	unsigned v;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    sscanf(s + i + 1, "%2x", &v) == 1) {
			buf_putc(&out, (char)v);
			i += 2;
		} else
			buf_putc(&out, s[i]);
	}
	return keep(out.ptr != NULL ? out.ptr : xstrdup(""), free);
}

START_TEST(flow_disposition)
{
	const char *fname = hostile_names[_i], *cd, *p, *e, *ext;
	struct buf want = { 0 }, ascii = { 0 };
	struct http_response *r;
	const unsigned char *w;
	size_t i, n;

	media_put("f-name", "application/pdf", fname, "flow/big.bin");
	r = fetch("GET", issue_ok("f-name").path, NULL, NULL);
	expect_status(r, 200);
	expect_download_fields(r, "application/pdf", BIG_SIZE);
	ck_assert_uint_eq(r->body_len, BIG_SIZE);
	/* No field was injected after Content-Disposition. */
	ck_assert_msg(http_header_count(r, "X-Injected") == 0,
	    "%s: a header was injected: %s", last_req, r->head);
	cd = http_header(r, "Content-Disposition");
	ck_assert_msg(strpbrk(cd, "\r\n") == NULL, "CR/LF in %s", cd);

	/* The name without control characters and path separators, which
	 * both forms drop. */
	for (w = (const unsigned char *)fname; *w != '\0'; w++)
		if (*w >= 0x20 && *w != 0x7f && *w != '/' && *w != '\\')
			buf_putc(&want, (char)*w);

	/* filename*=UTF-8''…: attr-chars and %XX only, decoding to it. */
	ck_assert_msg((p = strstr(cd, "filename*=UTF-8''")) != NULL,
	    "no filename* in %s", cd);
	p += 17;
	n = strcspn(p, "; \t");
	for (i = 0; i < n; i++)
		ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789!#$&+-.^_`|~%", p[i]) != NULL,
		    "'%c' is not allowed in filename*: %s", p[i], cd);
	ext = pct_decode(p, n);
	ck_assert_msg(strcmp(ext, buf_str(&want)) == 0,
	    "filename* decodes to '%s', want '%s'", ext, buf_str(&want));

	/* filename="…": a quoted-string of printable ASCII whose value is
	 * the name, one ASCII stand-in for each other character. */
	ck_assert_msg((p = strstr(cd, "filename=\"")) != NULL,
	    "no filename=\"…\" in %s", cd);
	for (p += 10; *p != '"'; p++) {
		ck_assert_msg(*p != '\0', "unterminated filename in %s", cd);
		ck_assert_msg((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f, "byte 0x%02x in the ASCII "
		    "filename of %s", (unsigned char)*p, cd);
		if (*p == '\\')
			p++;
		buf_putc(&ascii, *p);
	}
	for (w = (const unsigned char *)buf_str(&want), e = buf_str(&ascii);
	    *w != '\0'; w += u8len(w), e++) {
		ck_assert_msg(*e != '\0', "ASCII filename '%s' is short of "
		    "'%s'", buf_str(&ascii), buf_str(&want));
		if (*w < 0x80)
			ck_assert_msg(*e == (char)*w, "ASCII filename '%s' "
			    "is not '%s'", buf_str(&ascii), buf_str(&want));
	}
	ck_assert_msg(*e == '\0', "ASCII filename '%s' is longer than '%s'",
	    buf_str(&ascii), buf_str(&want));
	buf_free(&want);
	buf_free(&ascii);
}
END_TEST

/* A kept string of n copies of s, then tail. */
static const char *
repeat(const char *s, size_t n, const char *tail)
{
	struct buf b = { 0 };

	while (n-- > 0)
		buf_puts(&b, s);
	buf_puts(&b, tail);
	return keep(b.ptr, free);
}

/*
 * 12,000 x "ü" (24 KB) and 40,000 x "a" made lighttpd answer 502 and
 * Apache 500 (a header line over 8 KB): the name is cut to 255 bytes,
 * the extension kept, and the file downloads.
 */
START_TEST(flow_long_name)
{
	const char *names[] = { repeat("\xc3\xbc", 12000, ".pdf"),
	    repeat("a", 40000, ".pdf") };
	const char *wants[] = {
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    repeat("_", 125, ""), repeat("%C3%BC", 125, "")),
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    repeat("a", 251, ""), repeat("a", 251, "")) };
	struct http_response *r;

	media_put("f-long", "application/pdf", names[_i], "flow/big.bin");
	r = fetch("GET", issue_ok("f-long").path, NULL, NULL);
	expect_status(r, 200);
	expect_download_fields(r, "application/pdf", BIG_SIZE);
	expect_header(r, "Content-Disposition", wants[_i]);
	ck_assert_uint_eq(r->body_len, BIG_SIZE);
}
END_TEST

/* Risky names as the client receives them: no path, no bidi control. */
static const char *const risky_names[][2] = {
	{ "../../etc/passwd", "attachment; filename=\"download.etcpasswd\"; "
	    "filename*=UTF-8''download.etcpasswd" },
	{ "..", "attachment; filename=\"download\"; filename*=UTF-8''download" },
	{ "invoice\xe2\x80\xaetxt.exe", "attachment; filename=\"invoicetxt.exe\"; "
	    "filename*=UTF-8''invoicetxt.exe" },
};

START_TEST(flow_risky_name)
{
	struct http_response *r;

	media_put("f-risky", "text/plain", risky_names[_i][0],
	    "flow/big.bin");
	r = fetch("GET", issue_ok("f-risky").path, NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Content-Disposition", risky_names[_i][1]);
}
END_TEST

/* RFC 9110 §9.3.2: HEAD on an error has GET's Content-Length. */
START_TEST(flow_head_error)
{
	const char *path = dl_path("f-big", "not.a.token");
	struct http_response *g = fetch("GET", path, NULL, NULL);
	struct http_response *h = fetch("HEAD", path, NULL, NULL);
	const char *gl = http_header(g, "Content-Length");
	const char *hl = http_header(h, "Content-Length");

	expect_problem(g, 403);
	expect_status(h, 403);
	ck_assert_uint_eq(h->body_len, 0);
	/* mod_proxy_fcgi sends GET's body chunked, without a length: then
	 * HEAD may have none either, but never a wrong one. */
	if (gl != NULL)
		ck_assert_msg(hl != NULL && strcmp(hl, gl) == 0, "%s: HEAD "
		    "Content-Length %s, GET %s", last_req, hl ? hl : "(none)",
		    gl);
	else if (hl != NULL)
		ck_assert_msg(strtoul(hl, NULL, 10) == g->body_len, "%s: HEAD "
		    "Content-Length %s, GET's body %zu bytes", last_req, hl,
		    g->body_len);
}
END_TEST

START_TEST(flow_expired)
{
	long long t = now();
	char *tok = dl_token("{\"sub\":\"f-big\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t - 70,
	    t - 10);
	struct http_response *r = fetch("GET", dl_path("f-big", tok), NULL,
	    NULL);

	expect_problem(r, 410);
	ck_assert_msg(!contains(r->body, r->body_len, tok, strlen(tok)),
	    "%s: the token is in the error", last_req);
	r = fetch("HEAD", dl_path("f-big", tok), NULL, NULL);
	expect_status(r, 410);
	ck_assert_uint_eq(r->body_len, 0);
	expect_no_sendfile(r);
}
END_TEST

enum { N_FORGED = 6 };

START_TEST(flow_forged)
{
	struct issued is = issue_ok("f-big");
	long long t = now();
	const char *claims = strf("{\"sub\":\"f-big\",\"tenant\":\"acme\","
	    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60);
	const char *tok = NULL, *id = "f-big";
	struct http_response *r;

	switch (_i) {
	case 0:			/* signature changed */
		tok = tamper(is.token, 2);
		break;
	case 1:			/* payload changed */
		tok = tamper(is.token, 1);
		break;
	case 2:			/* HMAC with another secret */
		tok = hs256("another secret of thirty-two bytes!", 35,
		    claims);
		break;
	case 3:			/* a bearer token is not a download token */
		tok = bearer("");
		break;
	case 4:			/* a good token for another media */
		tok = is.token;
		id = "f-other";
		break;
	default:
		tok = "not-a-token";
		break;
	}
	r = fetch("GET", dl_path(id, tok), NULL, NULL);
	expect_problem(r, 403);
	r = fetch("HEAD", dl_path(id, tok), NULL, NULL);
	expect_status(r, 403);
	ck_assert_uint_eq(r->body_len, 0);
	expect_no_sendfile(r);
}
END_TEST

/* A stored name the web server could mistake for a URL-encoded one: the
 * file served must be that one, never the one its decoded name names. */
START_TEST(flow_percent_name)
{
	struct issued is;
	struct http_response *r;

	media_put("f-pct", "text/plain", "pct.txt", "flow/pct%41.txt");
	is = issue_ok("f-pct");
	r = fetch("GET", is.path, NULL, NULL);
	ck_assert_msg(!contains(r->body, r->body_len, "decoy", 5),
	    "%s: the web server served flow/pctA.txt for flow/pct%%41.txt",
	    last_req);
	expect_status(r, 200);
	ck_assert_str_eq(r->body, "the file named pct%41\n");
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

	tc = tcase_kept("download", TCASE_TIMEOUT);
	tcase_add_test(tc, flow_download);
	tcase_add_test(tc, flow_head);
	tcase_add_loop_test(tc, flow_range, 0, NELEM(ranges));
	tcase_add_test(tc, flow_range_unsatisfiable);
	tcase_add_loop_test(tc, flow_disposition, 0, NELEM(hostile_names));
	tcase_add_loop_test(tc, flow_long_name, 0, 2);
	tcase_add_loop_test(tc, flow_risky_name, 0, NELEM(risky_names));
	tcase_add_test(tc, flow_head_error);
	tcase_add_test(tc, flow_expired);
	tcase_add_loop_test(tc, flow_forged, 0, N_FORGED);
	tcase_add_test(tc, flow_percent_name);
	suite_add_tcase(s, tc);

	tc = tcase_kept("server", TCASE_TIMEOUT);
	tcase_add_loop_test(tc, flow_redirect, 0, NELEM(redirect_paths));
	tcase_add_loop_test(tc, flow_outside, 0, NELEM(outside_paths));
	suite_add_tcase(s, tc);
	return s;
}

/* ------------------------------------------------------------------ */
/* Set-up */

static const char *
need_env(const char *var, int *missing)
{
	const char *v = getenv(var);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "check_flow: %s is not set; run this program "
		    "through tests/webservers.sh, which starts the services "
		    "and exports MG_FLOW_*\n", var);
		*missing = 1;
	}
	return v;
}

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

	name = need_env("MG_FLOW_NAME", &missing);
	url = need_env("MG_FLOW_URL", &missing);
	http_url = need_env("MG_FLOW_HTTP_URL", &missing);
	ca = need_env("MG_FLOW_CA", &missing);
	db_conninfo = need_env("MG_FLOW_DB", &missing);
	keys = need_env("MG_FLOW_KEYS", &missing);
	storage_root = need_env("MG_FLOW_STORAGE", &missing);
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
