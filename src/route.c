/* route.c — path matching and media id validation. */
#include <stdbool.h>
#include <string.h>

#include "route.h"

static bool
is_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int
route_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > ROUTE_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_id_char((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode seg[0..len) into out (capacity cap, NUL added).  Returns
 * the decoded length, or -1 if an escape is malformed, the result holds a
 * NUL byte, or it does not fit.
 */
static long
pct_decode(const char *seg, size_t len, char *out, size_t cap)
{
	const char *pct = memchr(seg, '%', len);
	size_t i, n;
	int hi, lo;
	char c;

	/* What comes before the first escape is copied as it is: a token
	 * has none, and this is two hundred bytes per download. */
	n = pct != NULL ? (size_t)(pct - seg) : len;
	if (n >= cap)
		return -1;
	memcpy(out, seg, n);
	for (i = n; i < len; i++) {
		c = seg[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			hi = hexval(seg[i + 1]);
			lo = hexval(seg[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			if (c == '\0')
				return -1;
			i += 2;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return (long)n;
}

/* Length of the path part of uri: up to '?' or '#'. */
static size_t
path_len(const char *uri)
{
	return strcspn(uri, "?#");
}

/*
 * Strip base from the front of path; returns the rest (which starts with
 * '/'), or NULL if path is not under base.
 */
static const char *
strip_base(const char *path, size_t *len, const char *base)
{
	size_t blen = strlen(base);

	if (*len < blen || memcmp(path, base, blen) != 0)
		return NULL;
	if (*len == blen || path[blen] != '/')
		return NULL;
	*len -= blen;
	return path + blen;
}

enum mg_err
route_match(const char *uri, const char *base, struct route *r,
    const char **why)
{
	const char *seg[4], *p, *path;
	size_t seglen[4], len;
	int nseg = 0;
	long n;

	memset(r, 0, sizeof(*r));
	*why = "No such resource.";
	len = path_len(uri);
	if ((path = strip_base(uri, &len, base)) == NULL)
		return MG_ENOTFOUND;

	/* Split "/a/b/c/d" into raw segments; more than four is unknown. */
	for (p = path; len > 0 && *p == '/' && p < path + len; ) {
		const char *s = p + 1, *e = s;

		while (e < path + len && *e != '/')
			e++;
		if (nseg == 4)
			return MG_ENOTFOUND;
		seg[nseg] = s;
		seglen[nseg++] = (size_t)(e - s);
		p = e;
	}
	if (nseg == 1 && seglen[0] == 7 && memcmp(seg[0], "healthz", 7) == 0) {
		r->kind = ROUTE_HEALTH;
		*why = NULL;
		return MG_OK;
	}
	if (nseg == 1 && seglen[0] == 7 && memcmp(seg[0], "metrics", 7) == 0) {
		r->kind = ROUTE_METRICS;
		*why = NULL;
		return MG_OK;
	}
	if (nseg < 3 || seglen[0] != 5 || memcmp(seg[0], "media", 5) != 0)
		return MG_ENOTFOUND;

	if (nseg == 3 && seglen[2] == 14 &&
	    memcmp(seg[2], "download-token", 14) == 0)
		r->kind = ROUTE_ISSUE;
	else if (nseg == 4 && seglen[2] == 8 &&
	    memcmp(seg[2], "download", 8) == 0)
		r->kind = ROUTE_DOWNLOAD;
	else
		return MG_ENOTFOUND;

	n = pct_decode(seg[1], seglen[1], r->id, sizeof(r->id));
	if (n < 0 || !route_id_valid(r->id, (size_t)n)) {
		r->id[0] = '\0';
		*why = "The media id must be 1 to 64 characters of "
		    "A-Z, a-z, 0-9, '_' and '-'.";
		return MG_EBADREQ;
	}
	if (r->kind == ROUTE_DOWNLOAD &&
	    pct_decode(seg[3], seglen[3], r->token, sizeof(r->token)) < 0)
		r->token[0] = '\0';
	*why = NULL;
	return MG_OK;
}

void
route_loggable(const char *uri, char *out, size_t outsz)
{
	static const char marker[] = "/download/";
	size_t i, n, len = path_len(uri);
	const char *cut;

	if (outsz == 0)
		return;
	/*
	 * A download path carries a credential: keep everything after
	 * "/download/" out of the log, whether or not the path is valid.
	 */
	n = len;
	for (cut = uri; (cut = strstr(cut, marker)) != NULL; cut++)
		if ((size_t)(cut - uri) + sizeof(marker) - 1 <= len) {
			n = (size_t)(cut - uri) + sizeof(marker) - 1;
			break;
		}
	for (i = 0; i < n && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)uri[i];
		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
	if (n < len && i + 8 <= outsz - 1)
		memcpy(out + i, "<token>", 8);
}
