/*
 * auth.h — bearer authentication (RFC 6750) and the claim rules of the
 * token-issuing operation.
 *
 * auth_check_claims() is pure: it takes the verified claims, the policy and
 * the current time, so every rule is unit-tested without keys or clocks.
 */
#ifndef MG_AUTH_H
#define MG_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "err.h"
#include "jws.h"
#include "jwks.h"

#define AUTH_HEADER_MAX	8192	/* longer Authorization values: 401 */
#define AUTH_TENANT_MAX	256	/* longest tenant value accepted */
#define AUTH_SUB_MAX	256	/* bytes of sub kept (for the audit log) */

struct auth_policy {
	const char	*issuer;	/* NULL: iss not checked */
	const char	*audience;	/* NULL: aud not checked */
	const char	*tenant_claim;	/* NULL: tenant isolation off */
	const char	*permission;	/* required, e.g. "media:read" */
	long		 leeway;	/* seconds of skew on exp/nbf/iat */
};

struct principal {
	char	tenant[AUTH_TENANT_MAX + 1];	/* "" when isolation is off */
	char	sub[AUTH_SUB_MAX + 1];		/* the sub claim, cut to fit;
						   "" when absent */
	bool	has_sub;			/* sub is a string claim */
};

/*
 * Extract the token from an Authorization field value ("Bearer <token68>",
 * scheme case-insensitive).  Returns MG_OK with *tok and *len pointing into
 * header, or MG_EAUTH with *why set.
 */
enum mg_err auth_parse_header(const char *header, const char **tok,
    size_t *len, const char **why);

/*
 * Apply RFC 7519 §4.1 and the contract's rules to verified claims.
 * Returns MG_OK (principal filled), MG_EAUTH (invalid token), MG_ESCOPE
 * (permission missing) or MG_EFORBIDDEN (tenant claim missing), with *why
 * set to a client-safe explanation on failure.
 */
enum mg_err auth_check_claims(yajl_val claims, const struct auth_policy *pol,
    time_t now, struct principal *who, const char **why);

/*
 * Whole bearer check: header syntax, signature with the key that keys
 * picks for the header's alg and kid (jwks_pick), then the claim rules.
 */
enum mg_err auth_bearer(const struct jwks *keys,
    const struct auth_policy *pol, const char *header, time_t now,
    struct principal *who, const char **why);

#endif
