/*
 * fuzz_route.c — route_match() and route_loggable() over any REQUEST_URI.
 *
 * Invariants: the result is one of the three documented outcomes; on
 * MG_OK the id is valid (or, for /healthz and /metrics, empty) and both
 * fixed buffers are terminated; mounting
 * under a base path changes nothing but the prefix; a log copy of the
 * path never holds control bytes, a query, a fragment or a download token.
 */
#include "fuzz.h"
#include "route.h"

static enum mg_err
match(const char *uri, const char *base, struct route *r)
{
	const char *why = "unset";
	enum mg_err err;

	err = route_match(uri, base, r, &why);
	FUZZ_ASSERT(err == MG_OK || err == MG_ENOTFOUND || err == MG_EBADREQ);
	FUZZ_ASSERT(fuzz_terminated(r->id, sizeof(r->id)));
	FUZZ_ASSERT(fuzz_terminated(r->token, sizeof(r->token)));
	if (err == MG_OK) {
		FUZZ_ASSERT(why == NULL);
		FUZZ_ASSERT(r->kind == ROUTE_ISSUE ||
		    r->kind == ROUTE_DOWNLOAD || r->kind == ROUTE_HEALTH ||
		    r->kind == ROUTE_METRICS);
		/* The operations endpoints (§7) carry no id and no token. */
		if (r->kind == ROUTE_HEALTH || r->kind == ROUTE_METRICS)
			FUZZ_ASSERT(r->id[0] == '\0' && r->token[0] == '\0');
		else
			FUZZ_ASSERT(route_id_valid(r->id, strlen(r->id)));
		if (r->kind == ROUTE_ISSUE)
			FUZZ_ASSERT(r->token[0] == '\0');
	} else {
		FUZZ_ASSERT(why != NULL);
		FUZZ_ASSERT(r->id[0] == '\0');
	}
	return err;
}

static void
check_loggable(const char *uri, size_t outsz)
{
	static const char marker[] = "/download/";
	char out[ROUTE_TOKEN_MAX + 64];
	const char *p;
	size_t i, len;

	memset(out, 'X', sizeof(out));
	route_loggable(uri, out, outsz);
	if (outsz == 0) {
		FUZZ_ASSERT(out[0] == 'X');
		return;
	}
	FUZZ_ASSERT(fuzz_terminated(out, outsz));
	len = strlen(out);
	for (i = 0; i < len; i++)
		FUZZ_ASSERT((unsigned char)out[i] >= 0x20 &&
		    (unsigned char)out[i] < 0x7f && out[i] != '#');
	/* '?' stands for replaced bytes, so only the path before the
	 * query may appear: nothing after the first "?" of uri. */
	FUZZ_ASSERT(len <= strcspn(uri, "?#") + sizeof("<token>") - 1);
	if ((p = strstr(out, marker)) != NULL) {
		p += sizeof(marker) - 1;
		FUZZ_ASSERT(*p == '\0' || strcmp(p, "<token>") == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bases[] = { "/api", "/a/b-c" };
	struct route r0, r1;
	enum mg_err e0, e1;
	char *uri, *mounted;
	size_t i, blen;

	uri = fuzz_cstr(data, size);
	e0 = match(uri, "", &r0);

	/* route_match(base + uri, base) must equal route_match(uri, ""). */
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		blen = strlen(bases[i]);
		mounted = xmalloc(blen + strlen(uri) + 1);
		memcpy(mounted, bases[i], blen);
		strcpy(mounted + blen, uri);
		e1 = match(mounted, bases[i], &r1);
		FUZZ_ASSERT(e1 == e0);
		FUZZ_ASSERT(r1.kind == r0.kind);
		FUZZ_ASSERT(strcmp(r1.id, r0.id) == 0);
		FUZZ_ASSERT(strcmp(r1.token, r0.token) == 0);
		/* Not under the base: never routed. */
		if (strncmp(uri, bases[i], blen) != 0 && uri[0] == '/')
			FUZZ_ASSERT(match(uri, bases[i], &r1) == MG_ENOTFOUND);
		free(mounted);
	}

	check_loggable(uri, 0);
	check_loggable(uri, 1);
	check_loggable(uri, 16);
	check_loggable(uri, 256);
	check_loggable(uri, ROUTE_TOKEN_MAX + 64);
	if (size > 0)
		check_loggable(uri, 1 + data[0] % 64);
	free(uri);
	return 0;
}
