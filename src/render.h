/*
 * render.h — response bodies and header values.  Pure: each function
 * appends to a caller-owned struct buf.
 */
#ifndef MG_RENDER_H
#define MG_RENDER_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"

/* {"token": "...", "url": "..."} through yajl's generator; MG_EINTERNAL if
 * a value is not valid UTF-8 (never for what mediagate builds). */
enum mg_err render_token_json(struct buf *out, const char *token,
    const char *url);

/* RFC 9457 problem details: type about:blank, title = reason phrase. */
enum mg_err render_problem_json(struct buf *out, int status,
    const char *detail);

/*
 * What the token page shows.  Every string is borrowed; file_name is any
 * bytes (expected UTF-8), the others are what mediagate built.
 */
struct token_page {
	const char	*id;		/* media id */
	const char	*file_name;	/* the media's original name */
	const char	*token;		/* the download token */
	const char	*url;		/* the download URL (it ends in token) */
	time_t		 expires;	/* the token's exp */
	long		 ttl;		/* its lifetime, seconds */
};

/*
 * The HTML pages (render_html.c): small HTML5 documents, styled by one
 * inline <style> element and nothing else (no script, no external
 * resource), so that the Content-Security-Policy of app_html_headers()
 * holds.  Values are escaped with render_html_escape(); the file name is
 * isolated from the text around it (<bdi>, and FSI/PDI in the title) so
 * that bidi controls in it cannot reorder the page.
 */
void render_token_html(struct buf *out, const struct token_page *p);
void render_problem_html(struct buf *out, int status, const char *detail);

/* Append s with & < > " ' replaced by character references, and invalid
 * UTF-8, C0/C1 controls (but tab and newline) and DEL by U+FFFD, which
 * HTML's parser would otherwise report as errors (WHATWG HTML 13.2.3.5). */
void render_html_escape(struct buf *out, const char *s);

/*
 * render_html_escape() for a file name shown to a person: bidi
 * embedding, override and isolate controls (U+202A..U+202E,
 * U+2066..U+2069) become U+FFFD too.  Inside <bdi> they could not reorder
 * the page, but they would still reorder the name itself: "x<U+202E>fdp.exe"
 * would read "xexe.pdf" (the classic disguised attachment, Unicode TR 36
 * §2.1).  Marks (U+200E, U+200F) stay: they reorder nothing.
 */
void render_html_name(struct buf *out, const char *s);

/* Append "1 hour 2 minutes 5 seconds" for secs > 0 (zero parts left out). */
void render_duration(struct buf *out, long secs);

/* Length of the UTF-8 sequence at p (RFC 3629 §4: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if invalid. */
size_t render_utf8_len(const unsigned char *p);

/*
 * Content-Disposition value for a download of file_name (any bytes,
 * expected UTF-8): RFC 6266 "attachment", an ASCII fallback filename="..."
 * (non-ASCII as '_', '"' and '\' escaped, control characters dropped) and
 * RFC 8187 filename*=UTF-8''… with every byte outside attr-char
 * percent-encoded.  Invalid UTF-8 and control characters are dropped from
 * both forms; an empty result becomes "download".
 */
void render_content_disposition(struct buf *out, const char *file_name);

#endif
