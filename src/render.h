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
 * Bounds of a download's file name, in bytes of UTF-8: 255 is what common
 * file systems hold (ext4, XFS, APFS; NTFS holds 255 UTF-16 units), and
 * keeps Content-Disposition under 1.4 KB, far inside every web server's
 * limit on a response header from a FastCGI backend (Apache 8 KB a line).
 */
#define RENDER_NAME_MAX	255
#define RENDER_EXT_MAX	16	/* ".ext" kept when truncating: 1..16 alnum */

/*
 * Append the file name a download is offered under, from file_name (any
 * bytes, expected UTF-8): invalid UTF-8, control characters (C0, DEL, C1),
 * path separators ('/' and '\\'), Unicode format controls (Cf: bidi
 * overrides and isolates, zero-width characters, BOM, ...), U+2028/U+2029
 * and U+FFFE/U+FFFF dropped; leading and trailing dots and spaces
 * trimmed; an empty stem ("", ".", "..", ".pdf") becomes "download", the
 * extension kept; the stem cut on a character boundary so that the whole
 * is at most RENDER_NAME_MAX bytes, keeping ".ext" (1..RENDER_EXT_MAX
 * ASCII letters and digits).  The result is valid UTF-8, never empty.
 */
void render_file_name(struct buf *out, const char *file_name);

/*
 * Content-Disposition value for a download of file_name: RFC 6266
 * "attachment", an ASCII fallback filename="..." (non-ASCII as '_', '"'
 * escaped) and RFC 8187 filename*=UTF-8''... with every byte outside
 * attr-char percent-encoded, both of render_file_name(file_name).
 */
void render_content_disposition(struct buf *out, const char *file_name);

#endif
