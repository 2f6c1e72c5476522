/* unit_render.c — bodies, escaping and Content-Disposition. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sjson.h"
#include "render.h"
#include "unit_suites.h"

START_TEST(token_json_exact)
{
	struct buf b = { 0 };

	ck_assert_int_eq(render_token_json(&b, "a.b.c",
	    "https://x.test/media/m/download/a.b.c"), MG_OK);
	ck_assert_str_eq(b.ptr, "{\"token\":\"a.b.c\",\"url\":"
	    "\"https://x.test/media/m/download/a.b.c\"}");
	buf_free(&b);
	/* Invalid UTF-8 is refused rather than emitted. */
	ck_assert_int_eq(render_token_json(&b, "\xff", "u"), MG_EINTERNAL);
	buf_free(&b);
}
END_TEST

START_TEST(problem_json)
{
	struct buf b = { 0 };
	yajl_val v;
	long long st;

	ck_assert_int_eq(render_problem_json(&b, 404, "No \"such\" media."),
	    MG_OK);
	v = sjson_parse_object(b.ptr, b.len);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(sjson_string(sjson_get(v, "type")), "about:blank");
	ck_assert_str_eq(sjson_string(sjson_get(v, "title")), "Not Found");
	ck_assert(sjson_integer(sjson_get(v, "status"), &st) && st == 404);
	ck_assert_str_eq(sjson_string(sjson_get(v, "detail")),
	    "No \"such\" media.");
	ck_assert_int_eq(v->u.object.len, 4);
	yajl_tree_free(v);
	buf_free(&b);
}
END_TEST

START_TEST(html_escaping)
{
	struct buf b = { 0 };

	render_html_escape(&b, "<a href=\"x\">&'</a>");
	ck_assert_str_eq(b.ptr,
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	buf_reset(&b);
	render_token_html(&b, "m<1>", "t&k", "https://h/?a=1&b=\"2\"", 60);
	ck_assert(strncmp(b.ptr, "<!DOCTYPE html>", 15) == 0);
	ck_assert_ptr_nonnull(strstr(b.ptr,
	    "<a href=\"https://h/?a=1&amp;b=&quot;2&quot;\">"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "t&amp;k"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "m&lt;1&gt;"));
	ck_assert_ptr_null(strstr(b.ptr, "m<1>"));
	buf_reset(&b);
	render_problem_html(&b, 403, "<script>");
	ck_assert_ptr_nonnull(strstr(b.ptr, "403 Forbidden"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "&lt;script&gt;"));
	ck_assert_ptr_null(strstr(b.ptr, "<script>"));
	buf_free(&b);
}
END_TEST

static const struct {
	const char *name, *want;
} cd_cases[] = {
	{ "report.pdf",
	  "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf" },
	{ "Invoice 1.pdf",
	  "attachment; filename=\"Invoice 1.pdf\"; "
	  "filename*=UTF-8''Invoice%201.pdf" },
	{ "a\"b\\c.pdf",
	  "attachment; filename=\"a\\\"bc.pdf\"; "
	  "filename*=UTF-8''a%22bc.pdf" },
	/* Path separators and the names they leave (RFC 6266 §4.3). */
	{ "../../etc/passwd",
	  "attachment; filename=\"download.etcpasswd\"; "
	  "filename*=UTF-8''download.etcpasswd" },
	{ "..", "attachment; filename=\"download\"; filename*=UTF-8''download" },
	{ ".", "attachment; filename=\"download\"; filename*=UTF-8''download" },
	{ "/", "attachment; filename=\"download\"; filename*=UTF-8''download" },
	{ "\\..\\", "attachment; filename=\"download\"; "
	  "filename*=UTF-8''download" },
	{ ".pdf", "attachment; filename=\"download.pdf\"; "
	  "filename*=UTF-8''download.pdf" },
	{ "../.bashrc", "attachment; filename=\"download.bashrc\"; "
	  "filename*=UTF-8''download.bashrc" },
	{ "C:\\Users\\x\\a b.txt", "attachment; filename=\"C:Usersxa b.txt\"; "
	  "filename*=UTF-8''C%3AUsersxa%20b.txt" },
	{ " . report . .pdf", "attachment; filename=\"report.pdf\"; "
	  "filename*=UTF-8''report.pdf" },
	{ "a/b/c.tar.gz", "attachment; filename=\"abc.tar.gz\"; "
	  "filename*=UTF-8''abc.tar.gz" },
	/* Bidi and other format controls. */
	{ "invoice\xe2\x80\xaetxt.exe",
	  "attachment; filename=\"invoicetxt.exe\"; "
	  "filename*=UTF-8''invoicetxt.exe" },
	{ "a" "\xe2\x80\x8b" "b" "\xe2\x80\x8f" "c" "\xe2\x81\xa6" "d"
	  "\xe2\x81\xa9" "e" "\xef\xbb\xbf" "f" "\xd8\x9c" "g" "\xc2\xad" "h"
	  "\xe2\x80\xa8" "i" "\xf3\xa0\x80\x81" "j.txt",
	  "attachment; filename=\"abcdefghij.txt\"; "
	  "filename*=UTF-8''abcdefghij.txt" },
	{ "\xe2\x80\xae\xe2\x80\xad", "attachment; filename=\"download\"; "
	  "filename*=UTF-8''download" },
	/* Neighbours of the dropped ranges are kept. */
	{ "\xe2\x80\x8a\xe2\x80\xaf.txt", "attachment; filename=\"__.txt\"; "
	  "filename*=UTF-8''%E2%80%8A%E2%80%AF.txt" },
	{ "a\r\nSet-Cookie: x=1;.pdf",
	  "attachment; filename=\"aSet-Cookie: x=1;.pdf\"; "
	  "filename*=UTF-8''aSet-Cookie%3A%20x%3D1%3B.pdf" },
	{ "Rechnung M\xc3\xbcller.pdf",
	  "attachment; filename=\"Rechnung M_ller.pdf\"; "
	  "filename*=UTF-8''Rechnung%20M%C3%BCller.pdf" },
	{ "\xe6\x97\xa5\xe6\x9c\xac.txt",
	  "attachment; filename=\"__.txt\"; "
	  "filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt" },
	{ "bad\xff\xc3(utf8\x7f\xc2\x85.bin",
	  "attachment; filename=\"bad(utf8.bin\"; "
	  "filename*=UTF-8''bad%28utf8.bin" },
	{ "", "attachment; filename=\"download\"; filename*=UTF-8''download" },
	{ "\r\n\t", "attachment; filename=\"download\"; "
	  "filename*=UTF-8''download" },
	{ "\xf0\x9f\x98\x80", "attachment; filename=\"_\"; "
	  "filename*=UTF-8''%F0%9F%98%80" },
};

START_TEST(content_disposition)
{
	struct buf b = { 0 };

	render_content_disposition(&b, cd_cases[_i].name);
	ck_assert_str_eq(b.ptr, cd_cases[_i].want);
	ck_assert_ptr_null(strpbrk(b.ptr, "\r\n"));
	buf_free(&b);
}
END_TEST

/* A file name of n copies of the UTF-8 character c, then ext. */
static char *
repeated(const char *c, size_t n, const char *ext)
{
	struct buf b = { 0 };

	while (n-- > 0)
		buf_puts(&b, c);
	buf_puts(&b, ext);
	return b.ptr;
}

/*
 * 12,000 x "ü" (24 KB) and 40,000 x "a" made a header that lighttpd (502)
 * and Apache (500) refused: the name is bounded to RENDER_NAME_MAX bytes,
 * cut on a character boundary, the extension kept.
 */
START_TEST(long_names_bounded)
{
	static const char *const chars[] = { "a", "\xc3\xbc", "\xe6\x97\xa5",
	    "\xf0\x9f\x98\x80", "\"", "%" };
	struct buf b = { 0 }, cd = { 0 };
	char *name;
	size_t i, n;

	for (i = 0; i < sizeof(chars) / sizeof(chars[0]); i++) {
		for (n = 100; n <= 40000; n = n * 3 + 1) {
			name = repeated(chars[i], n, ".pdf");
			buf_reset(&b);
			render_file_name(&b, name);
			ck_assert_uint_le(b.len, RENDER_NAME_MAX);
			ck_assert_msg(b.len > 4 && strcmp(b.ptr + b.len - 4,
			    ".pdf") == 0, "extension lost: %s", b.ptr);
			/* Whole characters only, and as many as fit. */
			ck_assert_uint_eq((b.len - 4) % strlen(chars[i]), 0);
			ck_assert_uint_eq(b.len - 4, strlen(chars[i]) * n <
			    RENDER_NAME_MAX - 4 ? strlen(chars[i]) * n :
			    (RENDER_NAME_MAX - 4) / strlen(chars[i]) *
			    strlen(chars[i]));
			buf_reset(&cd);
			render_content_disposition(&cd, name);
			ck_assert_uint_le(cd.len, 1400);
			free(name);
		}
	}
	/* Without a safe extension, the whole is the stem. */
	name = repeated("a", 40000, ".this-is-no-extension");
	buf_reset(&b);
	render_file_name(&b, name);
	ck_assert_uint_eq(b.len, RENDER_NAME_MAX);
	free(name);
	name = repeated("a", 300, ".abcdefghijklmnop");
	buf_reset(&b);
	render_file_name(&b, name);
	ck_assert_str_eq(b.ptr + b.len - 17, ".abcdefghijklmnop");
	free(name);
	/* The cut is followed by the trim: no dot before the extension. */
	name = repeated("ab. ", 200, ".txt");
	buf_reset(&b);
	render_file_name(&b, name);
	ck_assert_uint_le(b.len, RENDER_NAME_MAX);
	ck_assert_msg(strstr(b.ptr, "b.txt") != NULL, "%s", b.ptr);
	free(name);
	buf_free(&b);
	buf_free(&cd);
}
END_TEST

Suite *
suite_render(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, token_json_exact);
	tcase_add_test(tc, problem_json);
	tcase_add_test(tc, html_escaping);
	tcase_add_test(tc, long_names_bounded);
	tcase_add_loop_test(tc, content_disposition, 0,
	    sizeof(cd_cases) / sizeof(cd_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
