/*
 * negotiate.h — proactive content negotiation on Accept (RFC 9110 §12.5.1).
 *
 * mediagate offers two representations, JSON and HTML.  Pure function, no
 * allocation.
 */
#ifndef MG_NEGOTIATE_H
#define MG_NEGOTIATE_H

enum media_type {
	MT_NONE = 0,	/* nothing acceptable: 406 */
	MT_JSON,	/* application/json (problem+json for errors) */
	MT_HTML,	/* text/html */
};

/*
 * Pick the representation for an Accept field value; NULL or an empty or
 * blank value means "no preference" and gives JSON.  Each offered type takes
 * the q-value of the most specific media range that matches it (type/subtype
 * over type/ * over * / *); the higher q wins, ties go to JSON, q=0 excludes.
 * Malformed elements are ignored.
 */
enum media_type negotiate(const char *accept);

#endif
