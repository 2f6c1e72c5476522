/*
 * expect.h — the assertions every black-box test program shares: status,
 * JSON bodies, the strict problem-details check of §6, HTML pages, and
 * the issued download token of §4.
 *
 * Each assertion names the request in hand (last_req, which starts with
 * the name of the table row being run, see test_case()) in its failure
 * message.  Anything returned is kept (testlib.h): the caller frees
 * nothing.
 */
#ifndef MG_TEST_EXPECT_H
#define MG_TEST_EXPECT_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "http.h"

/* Asserts the status line's code. */
void	 expect_status(const struct http_response *r, int want);

/* The body parsed as one JSON object (no duplicate members); kept. */
yajl_val expect_json(const struct http_response *r);

/* obj has exactly the members named in keys (NULL-terminated). */
void	 expect_keys(yajl_val obj, const char *const *keys);

/*
 * §6, strictly: status want; Content-Type application/problem+json; a
 * JSON object of exactly type, title, status and detail, the first two
 * and the last non-empty strings, status the integer want; detail
 * contains the text detail (NULL: any); and neither the head nor the body
 * repeats cred (the token the request presented; NULL: none).
 */
void	 expect_problem(const struct http_response *r, int want,
	    const char *detail, const char *cred);

/* §6's HTML form: status want, text/html, a whole HTML5 page, and cred
 * (NULL: none) nowhere in it. */
void	 expect_html(const struct http_response *r, int want,
	    const char *cred);

/* Neither head nor body of r holds the len bytes at secret. */
void	 expect_no_bytes(const struct http_response *r, const void *secret,
	    size_t len, const char *what);

/* A compact JWS: three non-empty base64url parts. */
void	 expect_compact(const char *token);

/* Part 0 (header) or 1 (payload) of a compact JWS, parsed; kept. */
yajl_val jws_part(const char *token, int part);

/* The integer claim name of claims; asserts that it is one. */
long long claim_int(yajl_val claims, const char *name);

/* The string member name of a JWS part, or NULL. */
const char *claim_str(yajl_val claims, const char *name);

/* What a 201 of §4 carries. */
struct issued {
	const char	*token;
	const char	*url;
	const char	*path;		/* url without its origin */
};

/*
 * §4: 201, Cache-Control: no-store, application/json, exactly token and
 * url, the token a compact JWS, and url = origin + base + /media/ + id +
 * /download/ + token.
 */
struct issued expect_issued(const struct http_response *r,
	    const char *origin, const char *base, const char *id);

/*
 * The value of filename="..." in a Content-Disposition field (RFC 9110
 * §5.6.4 quoted-string, quoted-pairs undone), kept; asserts that it is
 * there, terminated, and printable ASCII.
 */
const char *cd_ascii_filename(const char *cd);

/* Forgeries of a good token for the download tables: one character
 * changed in the signature, or in the payload (testlib's tamper()). */
const char *forge_signature(const char *token);
const char *forge_payload(const char *token);

/*
 * The headers every HTML answer carries (README "The HTML page"):
 * Content-Security-Policy HTML_CSP, X-Content-Type-Options: nosniff and
 * Referrer-Policy: no-referrer, each exactly once.
 */
#define HTML_CSP	"default-src 'none'; style-src 'unsafe-inline'; " \
			"frame-ancestors 'none'; base-uri 'none'; " \
			"form-action 'none'"
void	 expect_html_headers(const struct http_response *r);

#endif
