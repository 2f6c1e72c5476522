/* auth.c — bearer token syntax and claim rules. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "sjson.h"

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=". */
static bool
is_b64token_char(char c)
{
	unsigned char u = (unsigned char)c;

	/* Letters by folding case (one range test), then digits and the
	 * six marks; no strchr per character of a 300-byte token. */
	return ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') ||
	    (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' ||
	    u == '~' || u == '+' || u == '/';
}

enum mg_err
auth_parse_header(const char *header, const char **tok, size_t *len,
    const char **why)
{
	const char *p, *start;

	if (header == NULL || *header == '\0') {
		*why = "A bearer token is required.";
		return MG_EAUTH;
	}
	if (strlen(header) > AUTH_HEADER_MAX) {
		*why = "The Authorization header is too long.";
		return MG_EAUTH;
	}
	if (strncasecmp(header, "Bearer", 6) != 0 ||
	    (header[6] != ' ' && header[6] != '\t')) {
		*why = "The Authorization header must use the Bearer scheme.";
		return MG_EAUTH;
	}
	for (p = header + 6; *p == ' ' || *p == '\t'; p++)
		;
	start = p;
	while (is_b64token_char(*p))
		p++;
	while (*p == '=')
		p++;
	*len = (size_t)(p - start);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*len == 0 || *p != '\0') {
		*why = "The bearer token is malformed.";
		return MG_EAUTH;
	}
	*tok = start;
	return MG_OK;
}

enum claim_state { CLAIM_ABSENT, CLAIM_OK, CLAIM_BAD };

/*
 * RFC 7519 §2 NumericDate, which may be non-integer (1e10, 1700000000.5).
 * A fraction is rounded toward the safe side: exp down (the token expires
 * no later than it says), nbf and iat up (it is valid no earlier).
 */
static enum claim_state
numeric_date(yajl_val claims, const char *name, bool round_up,
    long long *out)
{
	yajl_val v = sjson_get(claims, name);

	if (v == NULL)
		return CLAIM_ABSENT;
	return sjson_numeric_date(v, round_up, out) ? CLAIM_OK : CLAIM_BAD;
}

/*
 * Does a claim grant perm?  A claim that is present but of the wrong type
 * makes the whole token malformed (returns -1) rather than being skipped:
 * a token that different readers would interpret differently is refused.
 */
static int
list_has(yajl_val v, const char *perm, bool allow_string, bool allow_array)
{
	const char *s, *p, *e;
	size_t i, plen = strlen(perm);
	int found = 0;

	if (v == NULL)
		return 0;
	if (allow_string && (s = sjson_string(v)) != NULL) {
		/* RFC 6749 §3.3: space-delimited, case-sensitive. */
		for (p = s; *p != '\0'; p = e) {
			while (*p == ' ')
				p++;
			e = p + strcspn(p, " ");
			if ((size_t)(e - p) == plen && memcmp(p, perm, plen) == 0)
				found = 1;
		}
		return found;
	}
	if (allow_array && YAJL_IS_ARRAY(v)) {
		for (i = 0; i < v->u.array.len; i++) {
			const char *it = sjson_string(v->u.array.values[i]);

			if (it == NULL)
				return -1;
			if (strcmp(it, perm) == 0)
				found = 1;
		}
		return found;
	}
	return -1;
}

/* RFC 7519 §4.1.3: aud is a string or an array of strings. */
static int
audience_has(yajl_val aud, const char *want)
{
	const char *s = sjson_string(aud);
	size_t i;
	int found = 0;

	if (s != NULL)
		return want != NULL && strcmp(s, want) == 0;
	if (!YAJL_IS_ARRAY(aud))
		return -1;
	for (i = 0; i < aud->u.array.len; i++) {
		const char *it = sjson_string(aud->u.array.values[i]);

		if (it == NULL)
			return -1;
		if (want != NULL && strcmp(it, want) == 0)
			found = 1;
	}
	return found;
}

enum mg_err
auth_check_claims(yajl_val claims, const struct auth_policy *pol,
    time_t now, struct principal *who, const char **why)
{
	long long exp, nbf, iat;
	enum claim_state st;
	yajl_val iss, aud;
	const char *s;
	int a, b, c;
	long long t = (long long)now;

	memset(who, 0, sizeof(*who));

	/* Time claims.  Compare as now - leeway > exp rather than adding to
	 * a claim, so that huge values cannot overflow. */
	st = numeric_date(claims, "exp", false, &exp);
	if (st != CLAIM_OK) {
		*why = st == CLAIM_ABSENT ? "The bearer token has no expiry." :
		    "The bearer token's exp claim is not a NumericDate.";
		return MG_EAUTH;
	}
	if (t - pol->leeway >= exp) {
		*why = "The bearer token has expired.";
		return MG_EAUTH;
	}
	if ((st = numeric_date(claims, "nbf", true, &nbf)) == CLAIM_BAD ||
	    (st == CLAIM_OK && nbf > t + pol->leeway)) {
		*why = st == CLAIM_BAD ?
		    "The bearer token's nbf claim is not a NumericDate." :
		    "The bearer token is not valid yet.";
		return MG_EAUTH;
	}
	if ((st = numeric_date(claims, "iat", true, &iat)) == CLAIM_BAD ||
	    (st == CLAIM_OK && iat > t + pol->leeway)) {
		*why = st == CLAIM_BAD ?
		    "The bearer token's iat claim is not a NumericDate." :
		    "The bearer token was issued in the future.";
		return MG_EAUTH;
	}

	/* Registered claims are type-checked whether or not configured. */
	iss = sjson_get(claims, "iss");
	if (iss != NULL && !YAJL_IS_STRING(iss)) {
		*why = "The bearer token's iss claim is not a string.";
		return MG_EAUTH;
	}
	if (pol->issuer != NULL &&
	    ((s = sjson_string(iss)) == NULL || strcmp(s, pol->issuer) != 0)) {
		*why = "The bearer token is from another issuer.";
		return MG_EAUTH;
	}
	aud = sjson_get(claims, "aud");
	a = aud != NULL ? audience_has(aud, pol->audience) : 0;
	if (a < 0) {
		*why = "The bearer token's aud claim is malformed.";
		return MG_EAUTH;
	}
	if (pol->audience != NULL && a == 0) {
		*why = "The bearer token is for another audience.";
		return MG_EAUTH;
	}

	/* The permission may come in any of three customary claims. */
	a = list_has(sjson_get(claims, "permissions"), pol->permission,
	    false, true);
	b = list_has(sjson_get(claims, "scope"), pol->permission, true, false);
	c = list_has(sjson_get(claims, "scp"), pol->permission, true, true);
	if (a < 0 || b < 0 || c < 0) {
		*why = "The bearer token's permissions, scope or scp claim is "
		    "malformed.";
		return MG_EAUTH;
	}
	if (a + b + c == 0) {
		*why = "The bearer token lacks the media:read permission.";
		return MG_ESCOPE;
	}

	if (pol->tenant_claim != NULL) {
		s = sjson_string(sjson_get(claims, pol->tenant_claim));
		if (s == NULL || *s == '\0' || strlen(s) > AUTH_TENANT_MAX) {
			*why = "The bearer token names no tenant.";
			return MG_EFORBIDDEN;
		}
		strcpy(who->tenant, s);
	}
	/* Not a rule, only who asked (RFC 7519 §4.1.2), for the audit log. */
	if ((s = sjson_string(sjson_get(claims, "sub"))) != NULL) {
		/* Cut to fit, as the audit log takes it. */
		size_t n = strnlen(s, sizeof(who->sub) - 1);

		memcpy(who->sub, s, n);
		who->sub[n] = '\0';
		who->has_sub = true;
	}
	*why = NULL;
	return MG_OK;
}

enum mg_err
auth_bearer(const struct jwks *keys, const struct auth_policy *pol,
    const char *header, time_t now, struct principal *who, const char **why)
{
	const char *tok;
	size_t len;
	yajl_val claims;
	enum mg_err err;

	if ((err = auth_parse_header(header, &tok, &len, why)) != MG_OK)
		return err;
	switch (jwks_verify(keys, tok, len, (long long)now, &claims)) {
	case JWS_OK:
		break;
	case JWS_WRONG_ALG:
		*why = "The bearer token is signed with another algorithm.";
		return MG_EAUTH;
	case JWS_BAD_SIGNATURE:
		*why = "The bearer token's signature does not verify.";
		return MG_EAUTH;
	case JWS_UNKNOWN_KEY:
		*why = "The bearer token's kid names no key for its algorithm.";
		return MG_EAUTH;
	case JWS_MALFORMED:
	default:
		*why = "The bearer token is malformed.";
		return MG_EAUTH;
	}
	err = auth_check_claims(claims, pol, now, who, why);
	sjson_free(claims);
	return err;
}
