/*
 * check_download_fields.c — §5's fields of a download answer for what
 * the stored row holds: Content-Type from the stored MIME type (or
 * application/octet-stream), Content-Disposition with both filename forms
 * for hostile, long and risky names, Referrer-Policy, and the longest
 * download token mediagate can issue.  The download itself is
 * check_download's.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <check.h>
#include <yajl/yajl_tree.h>

#include "blackbox.h"
#include "buf.h"
#include "jws.h"
#include "sjson.h"

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

	/* The backslash is a path separator: dropped (RFC 6266 §4.3). */
	ascii = cd_ascii_filename(cd);
	ck_assert_msg(strncmp(ascii, "a\"bc", 4) == 0 &&
	    strstr(ascii, "d;") != NULL &&
	    strlen(ascii) > 4 && strcmp(ascii + strlen(ascii) - 4, ".pdf") == 0,
	    "ASCII filename '%s' from %s", ascii, cd);
	ck_assert_msg(strstr(cd, "filename=\"a\\\"bc") != NULL,
	    "quote not escaped or backslash kept: %s", cd);

	ext = strstr(cd, "filename*=UTF-8''");
	ck_assert_msg(ext != NULL, "no filename* in %s", cd);
	ext += 17;
	ck_assert_msg(strncmp(ext, "a%22bc", 6) == 0,
	    "filename* does not start with a%%22bc: %s", cd);
	ck_assert_msg(strstr(ext, "%C3%A9.pdf") != NULL,
	    "é not encoded as %%C3%%A9 in %s", cd);
	/* RFC 8187 value-chars: attr-char or pct-encoded, nothing else. */
	for (; *ext != '\0' && *ext != ';' && *ext != ' '; ext++)
		ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789!#$&+-.^_`|~%", *ext) != NULL,
		    "'%c' is not allowed in filename*: %s", *ext, cd);
}
END_TEST

/*
 * A long file_name: 12,000 x "ü" (24 KB) or 40,000 x "a" gave lighttpd's
 * own 502 (response headers too large).  The name is cut to 255 bytes on
 * a character boundary, ".pdf" kept, and the file downloads.
 */
START_TEST(download_long_file_name)
{
	const char *name = _i == 0 ? krepeat("\xc3\xbc", 12000, ".pdf") :
	    krepeat("a", 40000, ".pdf");
	const char *want = _i == 0 ?
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    krepeat("_", 125, ""), krepeat("%C3%BC", 125, "")) :
	    strf("attachment; filename=\"%s.pdf\"; filename*=UTF-8''%s.pdf",
	    krepeat("a", 251, ""), krepeat("a", 251, ""));
	struct http_response *r;

	media_put("t-long", "acme", "application/pdf", name, "acme/m-pdf.pdf");
	r = fetch(P_HS, "GET", issue_ok(P_HS, "t-long").path, NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Content-Disposition", want);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
}
END_TEST

/* RFC 6266 §4.3, done for the recipient: no path, no bidi control, no
 * name that is only dots; the header exactly as received. */
static const char *const risky_names[][2] = {
	{ "../../etc/passwd", "attachment; filename=\"download.etcpasswd\"; "
	    "filename*=UTF-8''download.etcpasswd" },
	{ "..", "attachment; filename=\"download\"; filename*=UTF-8''download" },
	{ "invoice\xe2\x80\xaetxt.exe", "attachment; filename="
	    "\"invoicetxt.exe\"; filename*=UTF-8''invoicetxt.exe" },
	{ "C:\\evil\\..\\a.pdf", "attachment; filename=\"C:evil..a.pdf\"; "
	    "filename*=UTF-8''C%3Aevil..a.pdf" },
	{ "\xe2\x81\xa6" "x" "\xe2\x81\xa9\xef\xbb\xbf.txt", "attachment; "
	    "filename=\"x.txt\"; filename*=UTF-8''x.txt" },
	{ "/.pdf", "attachment; filename=\"download.pdf\"; "
	    "filename*=UTF-8''download.pdf" },
};

START_TEST(download_risky_file_name)
{
	struct http_response *r;

	media_put("t-risky", "acme", "text/plain", risky_names[_i][0],
	    "acme/m-pdf.pdf");
	r = fetch(P_HS, "GET", issue_ok(P_HS, "t-risky").path, NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Content-Disposition", risky_names[_i][1]);
}
END_TEST

/* §5 Content-Type is the stored MIME type only if it is one (RFC 9110
 * §8.3.1). */
static const char *const mime_cases[][2] = {
	{ "/", "application/octet-stream" },
	{ " text/plain ", "application/octet-stream" },
	{ "text/plain;", "application/octet-stream" },
	{ "text/plain; charset=\"utf-8\"", "text/plain; charset=\"utf-8\"" },
};

START_TEST(download_stored_mime_checked)
{
	struct http_response *r;

	media_put("t-mime", "acme", mime_cases[_i][0], "a.txt",
	    "acme/m-pdf.pdf");
	r = fetch(P_HS, "GET", issue_ok(P_HS, "t-mime").path, NULL, NULL);
	expect_status(r, 200);
	expect_header(r, "Content-Type", mime_cases[_i][1]);
}
END_TEST

/*
 * Every token mediagate issues fits every limit it checks: a tenant of
 * 256 control characters (escaped to 6 bytes each in the token's JSON)
 * and a 64-character id make the longest token (2,711 bytes); it was
 * issued and then refused by the download route's old 2,048 limit.
 */
START_TEST(download_longest_token)
{
	const char *id = krepeat("W", 64, ""), *path;
	char tenant[257];
	struct http_response *r;

	memset(tenant, '\x01', 256);
	tenant[256] = '\0';
	media_put(id, tenant, "text/plain", "w.txt", "acme/m-pdf.pdf");
	r = post_bearer(P_HS, issue_path(P_HS, id), mint(P_HS,
	    "{\"sub\":\"u\",\"tenant\":\"%s\",\"permissions\":"
	    "[\"media:read\"],\"exp\":%lld}", krepeat("\\u0001", 256, ""),
	    now() + 300), NULL);
	path = expect_issued_by(r, P_HS, id).path;
	ck_assert_msg(strlen(path) > 2048 + 80, "a token of %zu bytes only",
	    strlen(path));
	r = fetch(P_HS, "GET", path, NULL, NULL);
	expect_status(r, 200);
	ck_assert_uint_eq(r->body_len, PDF_SIZE);
}
END_TEST

/* Stored paths that lead outside the storage root. */
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
fields_suite(void)
{
	Suite *s = suite_create("download-fields");
	TCase *tc = bb_tcase("fields");

	tcase_add_test(tc, download_nomime);
	tcase_add_test(tc, download_hostile_file_name);
	tcase_add_loop_test(tc, download_long_file_name, 0, 2);
	tcase_add_loop_test(tc, download_risky_file_name, 0,
	    NELEM(risky_names));
	tcase_add_loop_test(tc, download_stored_mime_checked, 0,
	    NELEM(mime_cases));
	tcase_add_test(tc, download_longest_token);
	suite_add_tcase(s, tc);

	tc = bb_tcase("html");
	tcase_add_test(tc, html_download_referrer_policy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return bb_main("check_download_fields", 1u << HS, fields_suite);
}
