/* unit_render.c — bodies, escaping and Content-Disposition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "sjson.h"
#include "render.h"
#include "unit_suites.h"

#define RFFFD	"\xef\xbf\xbd"	/* U+FFFD, UTF-8 */

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
	/* Plain ASCII is written directly, the rest through yajl_gen: both
	 * escape what JSON needs and nothing else ('/' stays). */
	ck_assert_int_eq(render_token_json(&b, "t~ /",
	    "http://[::1]:8/a?b=c&d=%20"), MG_OK);
	ck_assert_str_eq(b.ptr, "{\"token\":\"t~ /\",\"url\":"
	    "\"http://[::1]:8/a?b=c&d=%20\"}");
	buf_free(&b);
	ck_assert_int_eq(render_token_json(&b, "q\"b\\",
	    "http://h/\xc3\xa9\t"), MG_OK);
	ck_assert_str_eq(b.ptr, "{\"token\":\"q\\\"b\\\\\",\"url\":"
	    "\"http://h/\xc3\xa9\\t\"}");
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
	sjson_free(v);
	buf_free(&b);
}
END_TEST

START_TEST(html_escaping)
{
	struct buf b = { 0 };

	render_html_escape(&b, "<a href=\"x\">&'</a>");
	ck_assert_str_eq(b.ptr,
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	/* Invalid UTF-8, C0 and C1 controls and DEL become U+FFFD; tab,
	 * newline and valid UTF-8 (bidi controls included) stay. */
	buf_reset(&b);
	render_html_escape(&b, "a\xff" "b\x01\t\n\x7f\xc2\x85\xc3\xa9\xe2\x80\xae");
	ck_assert_str_eq(b.ptr, "a" RFFFD "b" RFFFD "\t\n" RFFFD RFFFD
	    "\xc3\xa9\xe2\x80\xae");
	/* In a name the bidi embeddings, overrides and isolates go too. */
	buf_reset(&b);
	render_html_name(&b, "x\xe2\x80\xaa\xe2\x80\xae\xe2\x81\xa6\xe2\x81\xa9"
	    "\xe2\x80\x8f" "fdp.exe");
	ck_assert_str_eq(b.ptr, "x" RFFFD RFFFD RFFFD RFFFD "\xe2\x80\x8f"
	    "fdp.exe");
	buf_free(&b);
}
END_TEST

static const struct {
	long secs;
	const char *want;
} durations[] = {
	{ 1, "1 second" }, { 2, "2 seconds" }, { 60, "1 minute" },
	{ 61, "1 minute 1 second" }, { 90, "1 minute 30 seconds" },
	{ 3600, "1 hour" }, { 3725, "1 hour 2 minutes 5 seconds" },
	{ 86400, "24 hours" },
};

START_TEST(duration)
{
	struct buf b = { 0 };

	render_duration(&b, durations[_i].secs);
	ck_assert_str_eq(buf_str(&b), durations[_i].want);
	buf_free(&b);
}
END_TEST

/* 2026-12-01T23:59:00Z */
#define EXPIRES	1796169540

static void
render_page(struct buf *b, const char *id, const char *name,
    const char *token, const char *url, long ttl)
{
	struct token_page p = {
		.id = id, .file_name = name, .token = token, .url = url,
		.expires = EXPIRES, .ttl = ttl,
	};

	render_token_html(b, &p);
}

/* Occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

/* What every page must be: one HTML5 document, a viewport, one inline
 * <style> and nothing that loads or runs anything. */
static void
expect_page_shell(const char *page)
{
	static const char *const banned[] = {
		"<script", "<link", "<img", "<iframe", "<object", "<embed",
		"<form", "<base", "src=", "@import", "url(", "javascript:",
		"style=\"",
	};
	const char *p;
	size_t i;

	ck_assert_msg(strncmp(page, "<!DOCTYPE html>\n<html lang=\"en\">\n"
	    "<head>\n<meta charset=\"utf-8\">\n", 58) == 0,
	    "page head: %.80s", page);
	ck_assert_ptr_nonnull(strstr(page, "<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">"));
	ck_assert_int_eq(count(page, "<style>"), 1);
	ck_assert_int_eq(count(page, "</style>"), 1);
	ck_assert_int_eq(count(page, "<title>"), 1);
	ck_assert_int_eq(count(page, "<main"), 1);
	ck_assert_int_eq(count(page, "<h1>"), 1);
	for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		ck_assert_msg(strstr(page, banned[i]) == NULL,
		    "'%s' in the page", banned[i]);
	/* No event handler attribute (" onclick=", " onerror=" …). */
	for (p = page; (p = strstr(p, " on")) != NULL; p++)
		ck_assert_msg(p[3 + strspn(p + 3, "abcdefghijklmnopqrstuvwxyz")]
		    != '=', "event handler in the page: %.20s", p);
	ck_assert_msg(strcmp(page + strlen(page) - 16, "</body>\n</html>\n")
	    == 0, "page tail");
}

START_TEST(token_page_structure)
{
	struct buf b = { 0 };
	const char *url = "https://coreapi.io/media/inv-1/download/h.p.s";

	render_page(&b, "inv-1", "Invoice 1.pdf", "h.p.s", url, 60);
	expect_page_shell(b.ptr);
	ck_assert_ptr_nonnull(strstr(b.ptr, "<title>Download \xe2\x81\xa8"
	    "Invoice 1.pdf\xe2\x81\xa9</title>"));
	ck_assert_ptr_nonnull(strstr(b.ptr,
	    "<h1><bdi>Invoice 1.pdf</bdi></h1>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "<p class=\"cta\"><a href=\""
	    "https://coreapi.io/media/inv-1/download/h.p.s\">Download file</a>"));
	ck_assert_int_eq(count(b.ptr, "<a "), 1);
	ck_assert_ptr_nonnull(strstr(b.ptr,
	    "<time datetime=\"2026-12-01T23:59:00Z\">"
	    "1 December 2026, 23:59:00 UTC</time>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "<dd>1 minute from issue</dd>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "<code>inv-1</code>"));
	ck_assert_ptr_nonnull(strstr(b.ptr,
	    "<code class=\"token\">h.p.s</code>"));
	/* The token wraps rather than widening the page. */
	ck_assert_ptr_nonnull(strstr(b.ptr, ".token{display:block;"));
	ck_assert_int_ge(count(b.ptr, "overflow-wrap:anywhere"), 3);
	ck_assert_ptr_nonnull(strstr(b.ptr, "bdi{unicode-bidi:isolate}"));

	/* Another instant and lifetime. */
	buf_reset(&b);
	render_page(&b, "a", "n", "t", "u", 3725);
	ck_assert_ptr_nonnull(strstr(b.ptr, "<dd>1 hour 2 minutes 5 seconds"));
	buf_free(&b);
}
END_TEST

/* Every value the page shows is escaped where it is shown. */
START_TEST(token_page_escaping)
{
	struct buf b = { 0 };

	render_page(&b, "i<d>&\"'", "n<a>&\"'", "t<k>&\"'",
	    "https://h/?a=1&b=\"2\"<'>", 60);
	expect_page_shell(b.ptr);
	ck_assert_ptr_nonnull(strstr(b.ptr, "<code>i&lt;d&gt;&amp;&quot;&#39;"
	    "</code>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "<bdi>n&lt;a&gt;&amp;&quot;&#39;"
	    "</bdi>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "<title>Download \xe2\x81\xa8"
	    "n&lt;a&gt;&amp;&quot;&#39;\xe2\x81\xa9</title>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "<code class=\"token\">"
	    "t&lt;k&gt;&amp;&quot;&#39;</code>"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "href=\"https://h/?a=1&amp;"
	    "b=&quot;2&quot;&lt;&#39;&gt;\">"));
	ck_assert_ptr_null(strstr(b.ptr, "<d>"));
	ck_assert_ptr_null(strstr(b.ptr, "<a>"));
	ck_assert_ptr_null(strstr(b.ptr, "<k>"));
	ck_assert_ptr_null(strstr(b.ptr, "\"2\""));
	buf_free(&b);
}
END_TEST

/* A name made to attack the page: markup, quotes, an RTL override, 300
 * characters, invalid UTF-8. */
static char *
hostile_name(void)
{
	struct buf b = { 0 };
	int i;

	buf_puts(&b, "<script>alert(1)</script>\"'&amp;\xe2\x80\xae"
	    "fdp.exe\xff ");
	for (i = 0; i < 260; i++)
		buf_putc(&b, 'A' + i % 26);
	return b.ptr;
}

START_TEST(token_page_hostile_name)
{
	struct buf b = { 0 };
	char *name = hostile_name();

	render_page(&b, "m-1", name, "t.t.t", "https://h/m", 60);
	expect_page_shell(b.ptr);
	ck_assert_ptr_nonnull(strstr(b.ptr, "<h1><bdi>&lt;script&gt;alert(1)"
	    "&lt;/script&gt;&quot;&#39;&amp;amp;" RFFFD "fdp.exe" RFFFD
	    " ABCDEFGHIJ"));
	ck_assert_ptr_null(strstr(b.ptr, "\xe2\x80\xae"));
	/* The title shows the first 56 characters (U+FFFD for each bidi
	 * control and invalid byte), then an ellipsis. */
	ck_assert_ptr_nonnull(strstr(b.ptr, "<title>Download \xe2\x81\xa8"
	    "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;amp;" RFFFD
	    "fdp.exe" RFFFD " ABCDEFGHIJKLMN\xe2\x80\xa6\xe2\x81\xa9"
	    "</title>"));
	ck_assert_ptr_null(strstr(b.ptr, "\xff"));
	/* The long name is in an element that wraps anywhere. */
	ck_assert_ptr_nonnull(strstr(b.ptr, "h1{margin:.25rem 0 1rem;"
	    "font-size:1.625rem;line-height:1.3;overflow-wrap:anywhere}"));
	free(name);
	buf_free(&b);
}
END_TEST

START_TEST(problem_page)
{
	struct buf b = { 0 };

	render_problem_html(&b, 403, "<script>\"'&");
	expect_page_shell(b.ptr);
	ck_assert_ptr_nonnull(strstr(b.ptr, "<title>403 Forbidden</title>"));
	ck_assert_ptr_nonnull(strstr(b.ptr,
	    "<p class=\"kicker\">Error 403</p>\n<h1>Forbidden</h1>"));
	ck_assert_ptr_nonnull(strstr(b.ptr,
	    "<p>&lt;script&gt;&quot;&#39;&amp;</p>"));
	/* Same style as the token page. */
	ck_assert_ptr_nonnull(strstr(b.ptr, ".cta a{display:inline-block;"));
	buf_free(&b);
}
END_TEST

/* tidy (HTML Tidy 5, W3C's HTML5 rules) reports neither an error nor a
 * warning for each page. */
START_TEST(pages_tidy)
{
	char path[] = "/tmp/mediagate-unit-tidy.XXXXXX", cmd[200], out[2048];
	struct buf b = { 0 };
	char *name = hostile_name();
	size_t n;
	FILE *f;
	int fd, rc;

	switch (_i) {
	case 0:
		render_page(&b, "inv-1", "Invoice 1.pdf", "h.p.s", "https://h/m",
		    60);
		break;
	case 1:
		render_page(&b, "m<1>", name, "t&k", "https://h/?a=1&b=2",
		    86400);
		break;
	default:
		render_problem_html(&b, 404, "No \"such\" media <here>.");
		break;
	}
	free(name);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, b.ptr, b.len), (ssize_t)b.len);
	close(fd);
	buf_free(&b);
	snprintf(cmd, sizeof(cmd), "tidy -q -e %s 2>&1", path);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	rc = pclose(f);
	unlink(path);
	ck_assert_msg(rc == 0 && n == 0, "tidy (status %d) on page %d: %s",
	    rc, _i, out);
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
	tcase_add_loop_test(tc, duration, 0,
	    sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(tc, token_page_structure);
	tcase_add_test(tc, token_page_escaping);
	tcase_add_test(tc, token_page_hostile_name);
	tcase_add_test(tc, problem_page);
	tcase_add_loop_test(tc, pages_tidy, 0, 3);
	tcase_add_loop_test(tc, content_disposition, 0,
	    sizeof(cd_cases) / sizeof(cd_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
