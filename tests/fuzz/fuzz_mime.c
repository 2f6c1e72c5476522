/*
 * fuzz_mime.c — mime_valid() and mime_content_type() over any stored type.
 *
 * Invariants: mime_valid() agrees with an independent reading of RFC 9110
 * §8.3.1 as a POSIX extended regular expression; whatever is sent as
 * Content-Type is the input itself or application/octet-stream, at most
 * MIME_MAX bytes, without CR, LF, NUL or non-ASCII bytes and without
 * leading or trailing whitespace.
 */
#include <regex.h>

#include "fuzz.h"
#include "mime.h"

#define TCHAR	"[!#$%&'*+.^_`|~0-9A-Za-z-]"
#define QSTR	"\"([]-~#-[ !\t]|\\\\[\t -~])*\""

static regex_t re;

static void
init(void)
{
	static int done;

	if (done)
		return;
	if (regcomp(&re, "^" TCHAR "+/" TCHAR "+([ \t]*;[ \t]*" TCHAR "+=("
	    TCHAR "+|" QSTR "))*$", REG_EXTENDED | REG_NOSUB) != 0)
		abort();
	done = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	size_t len = strlen(s), i;
	const char *ct;
	bool ok, want;

	init();
	ok = mime_valid(s, len);
	want = len <= MIME_MAX && regexec(&re, s, 0, NULL, 0) == 0;
	FUZZ_ASSERT(ok == want);
	/* With the NUL it was cut at, the same bytes are never valid. */
	if (len < size)
		FUZZ_ASSERT(!mime_valid((const char *)data, size));

	ct = mime_content_type(s);
	FUZZ_ASSERT(ct == s ? ok : strcmp(ct, MIME_DEFAULT) == 0 && !ok);
	FUZZ_ASSERT(strlen(ct) <= MIME_MAX && ct[0] != ' ' && ct[0] != '\t');
	FUZZ_ASSERT(ct[strlen(ct) - 1] != ' ' && ct[strlen(ct) - 1] != '\t');
	for (i = 0; ct[i] != '\0'; i++)
		FUZZ_ASSERT((unsigned char)ct[i] >= 0x20 ? (unsigned char)
		    ct[i] < 0x7f : ct[i] == '\t');
	free(s);
	return 0;
}
