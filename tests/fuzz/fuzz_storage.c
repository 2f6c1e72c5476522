/*
 * fuzz_storage.c — storage_name_ok() over any stored file name, against
 * an independent reading of its rules.  storage_resolve() is left out: it
 * asks the file system (realpath(3), stat(2)).
 *
 * Invariant: a name is accepted exactly when it is non-empty, relative,
 * at most PATH_MAX / 2 bytes, free of control bytes, DEL and backslash,
 * and has no empty, "." or ".." segment.
 */
#include <limits.h>

#include "fuzz.h"
#include "storage.h"

static int
name_ok_oracle(const char *s)
{
	size_t len = strlen(s), i, seg = 0;

	if (len == 0 || len > PATH_MAX / 2 || s[0] == '/')
		return 0;
	for (i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c == '\0') {
			if (i == seg || (i - seg == 1 && s[seg] == '.') ||
			    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
				return 0;
			seg = i + 1;
		} else if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_cstr(data, size);
	int ok = storage_name_ok(name);

	FUZZ_ASSERT(ok == 0 || ok == 1);
	FUZZ_ASSERT(ok == name_ok_oracle(name));
	free(name);
	return 0;
}
