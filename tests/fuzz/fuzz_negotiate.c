/*
 * fuzz_negotiate.c — negotiate() over any Accept field value.
 *
 * Invariants: the result is one of the three enum values; blank input
 * means JSON; appending an element that accepts JSON at q=1 to a value
 * without quoted strings (which could swallow it) never leaves nothing
 * acceptable.
 */
#include "fuzz.h"
#include "negotiate.h"

static enum media_type
run(const char *accept)
{
	enum media_type mt = negotiate(accept);

	FUZZ_ASSERT(mt == MT_NONE || mt == MT_JSON || mt == MT_HTML);
	return mt;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char more[] = ",application/json";
	char *accept, *longer;
	size_t len;

	accept = fuzz_cstr(data, size);
	len = strlen(accept);
	if (accept[strspn(accept, " \t")] == '\0')
		FUZZ_ASSERT(run(accept) == MT_JSON);
	else
		run(accept);

	if (strpbrk(accept, "\"\\") == NULL) {
		longer = xmalloc(len + sizeof(more));
		memcpy(longer, accept, len);
		memcpy(longer + len, more, sizeof(more));
		FUZZ_ASSERT(run(longer) != MT_NONE);
		free(longer);
	}
	free(accept);
	return 0;
}
