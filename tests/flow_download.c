/*
 * flow_download.c — check_flow's downloads through the deployment: the
 * stored file byte for byte, HEAD, Range (206, 416), Content-Disposition
 * for hostile names, expired and forged tokens, and a stored name the
 * web server could mistake for a URL-encoded one.  See check_flow.c.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>

#include "buf.h"
#include "expect.h"
#include "fixture.h"
#include "flow.h"
#include "http.h"
#include "testlib.h"

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

	media_put("f-name", "acme", "application/pdf", fname, "flow/big.bin");
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
	buf_puts(&ascii, cd_ascii_filename(cd));
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

/*
 * 12,000 x "ü" (24 KB) and 40,000 x "a" made lighttpd answer 502 and
 * Apache 500 (a header line over 8 KB): the name is cut to 255 bytes,
 * the extension kept, and the file downloads.
 */
START_TEST(flow_long_name)
{
	const char *names[] = { krepeat("\xc3\xbc", 12000, ".pdf"),
	    krepeat("a", 40000, ".pdf") };
	const char *wants[] = {
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    krepeat("_", 125, ""), krepeat("%C3%BC", 125, "")),
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    krepeat("a", 251, ""), krepeat("a", 251, "")) };
	struct http_response *r;

	media_put("f-long", "acme", "application/pdf", names[_i], "flow/big.bin");
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

	media_put("f-risky", "acme", "text/plain", risky_names[_i][0],
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

	flow_problem(g, 403, "The download token is malformed or forged.",
	    "not.a.token");
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

	flow_problem(r, 410, "The download token has expired.", tok);
	r = fetch("HEAD", dl_path("f-big", tok), NULL, NULL);
	expect_status(r, 410);
	ck_assert_uint_eq(r->body_len, 0);
	expect_no_sendfile(r);
}
END_TEST

/* Download tokens that must give 403, each built from a token freshly
 * issued for f-big; id is the media of the download path. */
struct forged_case {
	const char	*name;
	const char	*(*token)(const char *issued);
	const char	*id;
	const char	*detail;
};

static const char *
f_other_secret(const char *issued)
{
	long long t = now();

	(void)issued;
	return hs256("another secret of thirty-two bytes!", 35,
	    strf("{\"sub\":\"f-big\",\"tenant\":\"acme\",\"iat\":%lld,"
	    "\"exp\":%lld,\"jti\":\"" FIXED_JTI "\"}", t, t + 60));
}

static const char *
f_bearer(const char *issued)
{
	(void)issued;
	return bearer("");
}

static const char *
f_same(const char *issued)
{
	return issued;
}

static const char *
f_garbage(const char *issued)
{
	(void)issued;
	return "not-a-token";
}

static const struct forged_case forged[] = {
	{ "signature changed", forge_signature, "f-big", "forged" },
	{ "payload changed", forge_payload, "f-big", "forged" },
	{ "HMAC with another secret", f_other_secret, "f-big", "forged" },
	{ "a bearer token", f_bearer, "f-big", "The download token is" },
	{ "a good token for another media", f_same, "f-other",
	    "The download token is for another media." },
	{ "garbage", f_garbage, "f-big", "The download token is malformed" },
};

START_TEST(flow_forged)
{
	const struct forged_case *c = &forged[_i];
	struct issued is = issue_ok("f-big");
	const char *tok;
	struct http_response *r;

	test_case(c->name);
	tok = c->token(is.token);
	r = fetch("GET", dl_path(c->id, tok), NULL, NULL);
	flow_problem(r, 403, c->detail, tok);
	r = fetch("HEAD", dl_path(c->id, tok), NULL, NULL);
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

	media_put("f-pct", "acme", "text/plain", "pct.txt", "flow/pct%41.txt");
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

void
flow_download_tcase(Suite *s)
{
	TCase *tc = tcase_kept("download", TCASE_TIMEOUT);
	tcase_add_test(tc, flow_download);
	tcase_add_test(tc, flow_head);
	tcase_add_loop_test(tc, flow_range, 0, NELEM(ranges));
	tcase_add_test(tc, flow_range_unsatisfiable);
	tcase_add_loop_test(tc, flow_disposition, 0, NELEM(hostile_names));
	tcase_add_loop_test(tc, flow_long_name, 0, 2);
	tcase_add_loop_test(tc, flow_risky_name, 0, NELEM(risky_names));
	tcase_add_test(tc, flow_head_error);
	tcase_add_test(tc, flow_expired);
	tcase_add_loop_test(tc, flow_forged, 0, NELEM(forged));
	tcase_add_test(tc, flow_percent_name);
	suite_add_tcase(s, tc);
}
