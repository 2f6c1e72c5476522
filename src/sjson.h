/*
 * sjson.h — strict JSON input over yajl ("sjson_", since jansson, which
 * libjwt links in, owns the "json_" names).
 *
 * yajl_tree builds and frees trees recursively and accepts duplicate object
 * keys; everything mediagate parses from a client first goes through
 * sjson_check(), which bounds nesting and validates UTF-8 with the streaming
 * parser, so the tree built afterwards is small and unambiguous.
 */
#ifndef MG_SJSON_H
#define MG_SJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_tree.h>

#define SJSON_MAX_DEPTH	16

/*
 * True if buf[0..len) is exactly one JSON text (RFC 8259) with valid UTF-8,
 * no raw NUL byte and nesting no deeper than max_depth.  *is_object tells
 * whether the top-level value is an object.
 */
bool sjson_check(const char *buf, size_t len, int max_depth, bool *is_object);

/*
 * Parse buf[0..len) into a tree if it passes sjson_check(), is an object,
 * has no string holding U+0000 and no duplicate member names at the top
 * level.  Returns NULL otherwise.
 * The caller owns the result and frees it with sjson_free(), never with
 * yajl_tree_free(): the tree lives in one arena (sjson.c).
 */
yajl_val sjson_parse_object(const char *buf, size_t len);

/* Free a tree returned by sjson_parse_object(); NULL is fine. */
void	 sjson_free(yajl_val root);

/* The string value of v, or NULL if v is not a string. */
static inline const char *
sjson_string(yajl_val v)
{
	return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

/* Member of object obj named key (exact, case-sensitive), or NULL. */
yajl_val sjson_get(yajl_val obj, const char *key);

/*
 * True if v is a JSON number written as an integer (optional '-' and
 * digits, no fraction or exponent) that fits a long long; stores it in *out.
 */
bool sjson_integer(yajl_val v, long long *out);

/*
 * True if v is a JSON number usable as a NumericDate (RFC 7519 §2: seconds,
 * "non-integer values can be represented"): an integer that fits a long
 * long, or a number with a fraction or exponent, finite and within
 * +-2^62, rounded toward -infinity (round_up false) or +infinity (true),
 * so a caller can always round to its safe side.  Stores it in *out.
 * Strings, booleans and every other value are refused.
 */
bool sjson_numeric_date(yajl_val v, bool round_up, long long *out);

#endif
