/*
 * render_html.c — the HTML pages a person sees: the token page and the
 * error pages, in one style.
 *
 * The pages must work under the Content-Security-Policy that
 * app_html_headers() sends (default-src 'none'; style-src 'unsafe-inline'):
 * so the only styling is the <style> element below, there is no script,
 * no image, no web font and no other resource to fetch.  Fonts are the
 * system's own (system-ui), which every browser resolves locally.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"

/* A centred card on a desktop, the full width on a phone; a button-like
 * download link (styled through its paragraph, so that the link itself
 * stays the contract's plain <a href="URL">); long names and the token
 * wrap anywhere instead of widening the page (CSS Text 3 overflow-wrap). */
static const char page_style[] =
    ":root{color-scheme:light}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:#eef1f5;color:#1b2430;"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,sans-serif}"
    "main{max-width:38rem;margin:3rem auto;padding:2rem 2.25rem;"
    "background:#fff;border:1px solid #d5dbe3;border-radius:12px;"
    "box-shadow:0 1px 3px rgba(27,36,48,.08)}"
    ".kicker{margin:0;color:#5b6878;font-size:.8125rem;font-weight:600;"
    "letter-spacing:.06em;text-transform:uppercase}"
    ".error .kicker{color:#b3261e}"
    "h1{margin:.25rem 0 1rem;font-size:1.625rem;line-height:1.3;"
    "overflow-wrap:anywhere}"
    "h2{margin:2rem 0 .5rem;font-size:1rem}"
    "bdi{unicode-bidi:isolate}"
    "p{margin:0 0 1rem}"
    ".cta a{display:inline-block;padding:.75rem 1.5rem;border-radius:8px;"
    "background:#0b57d0;color:#fff;font-weight:600;text-decoration:none}"
    ".cta a:hover,.cta a:focus{background:#0842a0}"
    ".cta a:focus{outline:3px solid #a8c7fa;outline-offset:2px}"
    "dl{display:grid;grid-template-columns:5.5rem 1fr;gap:.375rem 1rem;"
    "margin:1.5rem 0 0;padding-top:1.25rem;border-top:1px solid #e3e8ee}"
    "dt{color:#5b6878}"
    "dd{margin:0;overflow-wrap:anywhere}"
    ".note{color:#5b6878;font-size:.875rem}"
    "code{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,"
    "monospace;font-size:.875em}"
    ".token{display:block;padding:.75rem;background:#f5f7fa;"
    "border:1px solid #e3e8ee;border-radius:6px;font-size:.8125rem;"
    "line-height:1.45;overflow-wrap:anywhere}"
    /* last, to override the rules above on a phone */
    "@media (max-width:40rem){main{margin:0;border:0;border-radius:0;"
    "box-shadow:none;padding:1.5rem 1.25rem;min-height:100vh}"
    "dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:.625rem}"
    "dt{font-size:.875rem}}";

static const char *const months[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

/* U+FFFD REPLACEMENT CHARACTER, UTF-8. */
#define REPLACEMENT	"\xef\xbf\xbd"

/* U+202A..U+202E (embeddings, overrides) and U+2066..U+2069 (isolates). */
static bool
is_bidi_control(const unsigned char *p, size_t n)
{
	return n == 3 && p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa &&
	    p[2] <= 0xae) || (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9));
}

static void
escape(struct buf *out, const char *s, bool name)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p != '\0'; p += n) {
		if ((n = render_utf8_len(p)) == 0) {
			buf_puts(out, REPLACEMENT);
			n = 1;
			continue;
		}
		if (n > 1) {
			/* C1 controls U+0080..U+009F */
			if ((n == 2 && p[0] == 0xc2 && p[1] < 0xa0) ||
			    (name && is_bidi_control(p, n)))
				buf_puts(out, REPLACEMENT);
			else
				buf_append(out, p, n);
			continue;
		}
		switch (*p) {
		case '&':  buf_puts(out, "&amp;"); break;
		case '<':  buf_puts(out, "&lt;"); break;
		case '>':  buf_puts(out, "&gt;"); break;
		case '"':  buf_puts(out, "&quot;"); break;
		case '\'': buf_puts(out, "&#39;"); break;
		case '\t': case '\n':
			buf_putc(out, (char)*p);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_puts(out, REPLACEMENT);
			else
				buf_putc(out, (char)*p);
			break;
		}
	}
}

void
render_html_escape(struct buf *out, const char *s)
{
	escape(out, s, false);
}

void
render_html_name(struct buf *out, const char *s)
{
	escape(out, s, true);
}

void
render_duration(struct buf *out, long secs)
{
	static const struct {
		long		 unit;
		const char	*name;
	} parts[] = { { 3600, "hour" }, { 60, "minute" }, { 1, "second" } };
	const char *sep = "";
	size_t i;
	long n;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		n = secs / parts[i].unit;
		secs %= parts[i].unit;
		if (n == 0)
			continue;
		buf_printf(out, "%s%ld %s%s", sep, n, parts[i].name,
		    n == 1 ? "" : "s");
		sep = " ";
	}
}

/* The document up to <main>: title (already escaped by the caller or
 * fixed text), viewport (CSS Device Adaptation: phones lay the page out at
 * their own width, not at 980 px) and the style. */
static void
page_open(struct buf *out, const struct buf *title, const char *main_class)
{
	buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex\">\n<title>");
	buf_append(out, title->ptr, title->len);
	buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<main class=\"%s\">\n", page_style, main_class);
}

static void
page_close(struct buf *out)
{
	buf_puts(out, "</main>\n</body>\n</html>\n");
}

/* Characters of the file name shown in the title: tabs show some 30, and
 * a title over 70 characters is cut by search engines and tools anyway. */
#define TITLE_NAME_MAX	56

/* The first max characters of s (invalid bytes count one each) as a
 * new string the caller frees; "…" marks a cut. */
static char *
name_prefix(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = { 0 };
	size_t n, chars;

	for (chars = 0; *p != '\0' && chars < max; chars++, p += n)
		if ((n = render_utf8_len(p)) == 0)
			n = 1;
	buf_append(&b, s, (size_t)((const char *)p - s));
	if (*p != '\0')
		buf_puts(&b, "\xe2\x80\xa6");
	return b.ptr != NULL ? b.ptr : xstrdup("");
}

void
render_token_html(struct buf *out, const struct token_page *p)
{
	struct buf title = { 0 };
	char *short_name;
	struct tm tm;
	/* The column is NOT NULL; a source that breaks that shows no name
	 * rather than crashing. */
	const char *name = p->file_name != NULL ? p->file_name : "";

	/* U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE: a
	 * title holds no markup, so the name is isolated in plain text
	 * (UAX #9 §2.7; PDI also ends overrides left open inside). */
	short_name = name_prefix(name, TITLE_NAME_MAX);
	buf_puts(&title, "Download \xe2\x81\xa8");
	render_html_name(&title, short_name);
	buf_puts(&title, "\xe2\x81\xa9");
	free(short_name);
	page_open(out, &title, "download");
	buf_free(&title);

	buf_puts(out, "<p class=\"kicker\">Download ready</p>\n<h1><bdi>");
	render_html_name(out, name);
	buf_puts(out, "</bdi></h1>\n<p class=\"cta\"><a href=\"");
	render_html_escape(out, p->url);
	buf_puts(out, "\">Download file</a></p>\n"
	    "<p class=\"note\">Anyone with this link can download the file "
	    "until it expires; after that, request a new one.</p>\n<dl>\n");

	if (gmtime_r(&p->expires, &tm) != NULL) {
		buf_printf(out, "<dt>Expires</dt><dd><time datetime=\""
		    "%04d-%02d-%02dT%02d:%02d:%02dZ\">%d %s %04d, "
		    "%02d:%02d:%02d UTC</time></dd>\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, tm.tm_mday, months[tm.tm_mon],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	buf_puts(out, "<dt>Valid for</dt><dd>");
	render_duration(out, p->ttl);
	buf_puts(out, " from issue</dd>\n<dt>Media</dt><dd><code>");
	render_html_escape(out, p->id);
	buf_puts(out, "</code></dd>\n</dl>\n<h2>Download token</h2>\n"
	    "<p><code class=\"token\">");
	render_html_escape(out, p->token);
	buf_puts(out, "</code></p>\n");
	page_close(out);
}

void
render_problem_html(struct buf *out, int status, const char *detail)
{
	struct buf title = { 0 };

	buf_printf(&title, "%d ", status);
	render_html_escape(&title, err_reason(status));
	page_open(out, &title, "error");
	buf_printf(out, "<p class=\"kicker\">Error %d</p>\n<h1>", status);
	render_html_escape(out, err_reason(status));
	buf_puts(out, "</h1>\n<p>");
	render_html_escape(out, detail);
	buf_puts(out, "</p>\n");
	page_close(out);
	buf_free(&title);
}
