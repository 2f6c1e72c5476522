/*
 * mime.h — the stored MIME type as a Content-Type field value.  Pure.
 *
 * The media table's mime_type comes from whoever uploaded the file; it is
 * sent only if it is exactly a media-type of RFC 9110 §8.3.1.
 */
#ifndef MG_MIME_H
#define MG_MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_MAX	255	/* longest stored type sent as it is */
#define MIME_DEFAULT	"application/octet-stream"

/*
 * True if s[0..len) is type "/" subtype *( OWS ";" OWS parameter ) with
 * parameter = token "=" ( token / quoted-string ) (RFC 9110 §5.6.2,
 * §5.6.4, §5.6.6), at most MIME_MAX bytes, nothing before or after, and
 * only ASCII (obs-text is refused: it has no one meaning).
 */
bool mime_valid(const char *s, size_t len);

/* The Content-Type for a stored type: mime itself when mime_valid(),
 * MIME_DEFAULT otherwise (NULL included).  Points to mime or a constant. */
const char *mime_content_type(const char *mime);

#endif
