/* negotiate.c — RFC 9110 Accept parsing over a NUL-terminated field value. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "negotiate.h"

/* RFC 9110 §5.6.2 tchar. */
static bool
is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Scan a token; returns its end (== p when empty). */
static const char *
scan_token(const char *p)
{
	while (is_tchar(*p))
		p++;
	return p;
}

/*
 * RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
 * Returns thousandths (0..1000), or -1 if malformed.
 */
static int
parse_qvalue(const char *p, size_t len)
{
	int q, scale = 100;
	size_t i;

	if (len == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (len == 1)
		return q;
	if (p[1] != '.' || len > 5)
		return -1;
	for (i = 2; i < len; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* One parsed media-range. */
struct range {
	const char	*type, *sub;
	size_t		 type_len, sub_len;
	int		 q;		/* thousandths */
};

/*
 * Parse one element starting at p (after OWS).  On success fills r and
 * returns true; always sets *end to the start of the next element (after
 * the comma) or the terminating NUL.
 */
static bool
parse_range(const char *p, struct range *r, const char **end)
{
	const char *e, *name, *val;
	size_t name_len, val_len;
	bool ok = true;

	memset(r, 0, sizeof(*r));
	r->type = p;
	e = scan_token(p);
	r->type_len = (size_t)(e - p);
	if (r->type_len == 0 || *e != '/')
		ok = false;
	else {
		r->sub = e + 1;
		e = scan_token(r->sub);
		r->sub_len = (size_t)(e - r->sub);
		if (r->sub_len == 0)
			ok = false;
		/* "* /html" is not a valid range. */
		if (r->type_len == 1 && r->type[0] == '*' &&
		    !(r->sub_len == 1 && r->sub[0] == '*'))
			ok = false;
	}
	r->q = 1000;
	p = ok ? skip_ows(e) : e;

	/* Parameters: *( OWS ";" OWS [ parameter ] ), §5.6.6. */
	while (ok && *p == ';') {
		p = skip_ows(p + 1);
		if (*p == ';' || *p == ',' || *p == '\0')
			continue;
		name = p;
		p = scan_token(p);
		name_len = (size_t)(p - name);
		if (name_len == 0 || *p != '=') {
			ok = false;
			break;
		}
		val = ++p;
		if (*p == '"') {
			/* quoted-string with quoted-pair */
			for (p++; *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '\0')
					break;
			}
			if (*p != '"') {
				ok = false;
				break;
			}
			p++;
		} else
			p = scan_token(p);
		val_len = (size_t)(p - val);
		if (val_len == 0) {
			ok = false;
			break;
		}
		if (name_len == 1 && (name[0] == 'q' || name[0] == 'Q')) {
			r->q = parse_qvalue(val, val_len);
			if (r->q < 0)
				ok = false;
		}
		p = skip_ows(p);
	}
	if (ok && *p != ',' && *p != '\0')
		ok = false;
	/* Resynchronise on the next comma outside a quoted string. */
	while (*p != ',' && *p != '\0') {
		if (*p == '"') {
			for (p++; *p != '"' && *p != '\0'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '\0')
				break;
		}
		p++;
	}
	*end = *p == ',' ? p + 1 : p;
	return ok;
}

static bool
tok_eq(const char *t, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(t, want, len) == 0;
}

/*
 * Specificity of range r for type/sub: 3 exact, 2 type/ *, 1 * / *, 0 no
 * match.  Parameters other than q do not change the match: mediagate's
 * representations carry none that a client could select on.
 */
static int
specificity(const struct range *r, const char *type, const char *sub)
{
	if (tok_eq(r->type, r->type_len, "*"))
		return 1;
	if (!tok_eq(r->type, r->type_len, type))
		return 0;
	if (tok_eq(r->sub, r->sub_len, "*"))
		return 2;
	return tok_eq(r->sub, r->sub_len, sub) ? 3 : 0;
}

enum media_type
negotiate(const char *accept)
{
	static const struct { const char *type, *sub; } offer[2] = {
		{ "application", "json" },
		{ "text", "html" },
	};
	int best_spec[2] = { 0, 0 }, q[2] = { 0, 0 };
	struct range r;
	const char *p, *next;
	int i, s;

	if (accept == NULL || *skip_ows(accept) == '\0')
		return MT_JSON;

	for (p = accept; *p != '\0'; p = next) {
		p = skip_ows(p);
		if (*p == ',') {		/* empty list element, §5.6.1 */
			next = p + 1;
			continue;
		}
		if (!parse_range(p, &r, &next))
			continue;
		for (i = 0; i < 2; i++) {
			s = specificity(&r, offer[i].type, offer[i].sub);
			/* The most specific range decides; among equally
			 * specific ones (a client repeating itself) the
			 * highest q counts. */
			if (s > best_spec[i] ||
			    (s == best_spec[i] && s > 0 && r.q > q[i])) {
				best_spec[i] = s;
				q[i] = r.q;
			}
		}
	}
	if (q[0] == 0 && q[1] == 0)
		return MT_NONE;
	return q[1] > q[0] ? MT_HTML : MT_JSON;
}
