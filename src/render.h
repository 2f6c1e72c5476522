/*
 * render.h — response bodies and header values.  Pure: each function
 * appends to a caller-owned struct buf.
 */
#ifndef MG_RENDER_H
#define MG_RENDER_H

#include "buf.h"
#include "err.h"

/* {"token": "...", "url": "..."} through yajl's generator; MG_EINTERNAL if
 * a value is not valid UTF-8 (never for what mediagate builds). */
enum mg_err render_token_json(struct buf *out, const char *token,
    const char *url);

/* A small HTML5 page linking to url and showing the token. */
void render_token_html(struct buf *out, const char *id, const char *token,
    const char *url, long ttl);

/* RFC 9457 problem details: type about:blank, title = reason phrase. */
enum mg_err render_problem_json(struct buf *out, int status,
    const char *detail);
void render_problem_html(struct buf *out, int status, const char *detail);

/* Append s with & < > " ' replaced by character references. */
void render_html_escape(struct buf *out, const char *s);

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
