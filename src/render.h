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
 * Content-Disposition value for a download of file_name (any bytes,
 * expected UTF-8): RFC 6266 "attachment", an ASCII fallback filename="..."
 * (non-ASCII as '_', '"' and '\' escaped, control characters dropped) and
 * RFC 8187 filename*=UTF-8''… with every byte outside attr-char
 * percent-encoded.  Invalid UTF-8 and control characters are dropped from
 * both forms; an empty result becomes "download".
 */
void render_content_disposition(struct buf *out, const char *file_name);

#endif
