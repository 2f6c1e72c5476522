/* expect.c — the shared black-box assertions; see expect.h. */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "expect.h"
#include "http.h"
#include "jws.h"
#include "sjson.h"
#include "testlib.h"

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
expect_status(const struct http_response *r, int want)
{
	ck_assert_msg(r->status == want, "%s: status %d, want %d; body: %.400s",
	    last_req, r->status, want, r->body);
}

yajl_val
expect_json(const struct http_response *r)
{
	yajl_val v = sjson_parse_object(r->body, r->body_len);

	ck_assert_msg(v != NULL, "%s: body is not a JSON object: %.400s",
	    last_req, r->body);
	return keep(v, release_sjson);
}

void
expect_keys(yajl_val obj, const char *const *keys)
{
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		ck_assert_msg(sjson_get(obj, keys[i]) != NULL,
		    "%s: member '%s' missing", last_req, keys[i]);
	ck_assert_msg(obj->u.object.len == i, "%s: %zu members, want %zu",
	    last_req, obj->u.object.len, i);
}

void
expect_no_bytes(const struct http_response *r, const void *secret,
    size_t len, const char *what)
{
	ck_assert_msg(!contains(r->head, r->head_len, secret, len) &&
	    !contains(r->body, r->body_len, secret, len),
	    "%s: the response repeats %s", last_req, what);
}

void
expect_problem(const struct http_response *r, int want, const char *detail,
    const char *cred)
{
	static const char *const keys[] = {
		"type", "title", "status", "detail", NULL,
	};
	const char *type, *title, *d;
	yajl_val v;
	long long st;

	expect_status(r, want);
	expect_ctype(r, "application/problem+json");
	v = expect_json(r);
	expect_keys(v, keys);
	type = sjson_string(sjson_get(v, "type"));
	title = sjson_string(sjson_get(v, "title"));
	d = sjson_string(sjson_get(v, "detail"));
	ck_assert_msg(type != NULL && title != NULL && d != NULL,
	    "%s: type, title and detail must be strings: %s", last_req,
	    r->body);
	ck_assert_msg(*type != '\0' && *title != '\0' && *d != '\0',
	    "%s: empty type, title or detail: %s", last_req, r->body);
	ck_assert_msg(sjson_integer(sjson_get(v, "status"), &st) && st == want,
	    "%s: problem status is not %d: %s", last_req, want, r->body);
	ck_assert_msg(detail == NULL || strstr(d, detail) != NULL,
	    "%s: detail '%s', want one saying '%s'", last_req, d, detail);
	if (cred != NULL && *cred != '\0')
		expect_no_bytes(r, cred, strlen(cred), "the token presented");
}

void
expect_html(const struct http_response *r, int want, const char *cred)
{
	expect_status(r, want);
	expect_ctype(r, "text/html");
	ck_assert_msg(strncasecmp(r->body, "<!DOCTYPE html>", 15) == 0,
	    "%s: not an HTML5 page: %.200s", last_req, r->body);
	ck_assert_msg(strstr(r->body, "</html>") != NULL,
	    "%s: unterminated page", last_req);
	if (cred != NULL && *cred != '\0')
		expect_no_bytes(r, cred, strlen(cred), "the token presented");
}

void
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
		ck_assert_msg(strchr(b64url_chars, token[i]) != NULL,
		    "not base64url: %s", token);
		partlen++;
	}
	ck_assert_msg(dots == 2 && partlen > 0, "not three parts: %s", token);
}

yajl_val
jws_part(const char *token, int part)
{
	const char *s = token, *e;
	unsigned char *out;
	long n;
	yajl_val v;

	if (part == 1)
		s = strchr(token, '.') + 1;
	e = strchr(s, '.');
	ck_assert_msg(e != NULL, "not a compact JWS: %s", token);
	out = keep(xmalloc((size_t)(e - s) * 3 / 4 + 2), free);
	n = jws_b64_decode(s, (size_t)(e - s), out);
	ck_assert_msg(n > 0, "bad base64url in %s", token);
	v = sjson_parse_object((const char *)out, (size_t)n);
	ck_assert_msg(v != NULL, "part %d of %s is not a JSON object", part,
	    token);
	return keep(v, release_sjson);
}

long long
claim_int(yajl_val claims, const char *name)
{
	long long v;

	ck_assert_msg(sjson_integer(sjson_get(claims, name), &v),
	    "claim %s is not an integer", name);
	return v;
}

const char *
claim_str(yajl_val claims, const char *name)
{
	return sjson_string(sjson_get(claims, name));
}

struct issued
expect_issued(const struct http_response *r, const char *origin,
    const char *base, const char *id)
{
	static const char *const keys[] = { "token", "url", NULL };
	struct issued is;
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
	ck_assert_str_eq(is.url, strf("%s%s/media/%s/download/%s", origin,
	    base, id, is.token));
	is.path = is.url + strlen(origin);
	return is;
}

/*
 * Read the quoted-string after "filename=" in a Content-Disposition value
 * (RFC 9110 §5.6.4), unescaping quoted-pairs, into a kept string.  Checks
 * that the raw form is printable ASCII.
 */
const char *
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

const char *
forge_signature(const char *token)
{
	return tamper(token, 2);
}

const char *
forge_payload(const char *token)
{
	return tamper(token, 1);
}

void
expect_html_headers(const struct http_response *r)
{
	expect_header(r, "Content-Security-Policy", HTML_CSP);
	expect_header(r, "X-Content-Type-Options", "nosniff");
	expect_header(r, "Referrer-Policy", "no-referrer");
}
