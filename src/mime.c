/* mime.c — strict media-type syntax (RFC 9110 §8.3.1). */
#include <string.h>

#include "mime.h"

/* RFC 9110 §5.6.2 tchar. */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Length of the token at p (0 if none). */
static size_t
token_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && is_tchar((unsigned char)*q))
		q++;
	return (size_t)(q - p);
}

/*
 * Length of the quoted-string at p (RFC 9110 §5.6.4), 0 if there is none:
 * qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E; quoted-pair = "\" ( HTAB /
 * SP / VCHAR ).
 */
static size_t
quoted_len(const char *p, const char *end)
{
	const char *q = p + 1;
	unsigned char c;

	if (p >= end || *p != '"')
		return 0;
	while (q < end) {
		c = (unsigned char)*q;
		if (c == '"')
			return (size_t)(q + 1 - p);
		if (c == '\\') {
			if (q + 1 >= end)
				return 0;
			c = (unsigned char)q[1];
			if (c != '\t' && (c < 0x20 || c > 0x7e))
				return 0;
			q += 2;
			continue;
		}
		if (c != '\t' && (c < 0x20 || c > 0x7e))
			return 0;
		q++;
	}
	return 0;
}

static const char *
skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

bool
mime_valid(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *q;
	size_t n;

	if (len == 0 || len > MIME_MAX || memchr(s, '\0', len) != NULL)
		return false;
	/* type "/" subtype */
	if ((n = token_len(p, end)) == 0 || p + n >= end || p[n] != '/')
		return false;
	p += n + 1;
	if ((n = token_len(p, end)) == 0)
		return false;
	p += n;
	/* *( OWS ";" OWS parameter ) */
	while (p < end) {
		q = skip_ows(p, end);
		if (q >= end || *q != ';')
			return false;	/* also: trailing whitespace */
		q = skip_ows(q + 1, end);
		if ((n = token_len(q, end)) == 0 || q + n >= end ||
		    q[n] != '=')
			return false;
		q += n + 1;
		if ((n = token_len(q, end)) == 0 &&
		    (n = quoted_len(q, end)) == 0)
			return false;
		p = q + n;
	}
	return true;
}

const char *
mime_content_type(const char *mime)
{
	return mime != NULL && mime_valid(mime, strlen(mime)) ? mime :
	    MIME_DEFAULT;
}
