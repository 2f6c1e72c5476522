/*
 * fuzz.h — helpers shared by the libFuzzer harnesses of tests/fuzz/.
 *
 * Each harness feeds bytes to the pure functions of src/ and checks, where
 * it is cheap, the promises their headers make.  A broken promise aborts,
 * which libFuzzer reports as a crash with the input that caused it.
 */
#ifndef MG_FUZZ_H
#define MG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* data[0..size) as a C string (it ends at the first NUL, as a CGI
 * parameter or a database text value would).  Caller frees. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	return xstrndup((const char *)data, size);
}

/*
 * Split data[0..size) at the first byte sep into *a and *b (two C
 * strings, each ending at its first NUL; caller frees both).  Without sep,
 * *a is all of data and *b is "".  Returns 1 if sep was found.
 */
static inline int
fuzz_split2(const uint8_t *data, size_t size, int sep, char **a, char **b)
{
	const uint8_t *p = memchr(data, sep, size);

	if (p == NULL) {
		*a = fuzz_cstr(data, size);
		*b = xstrdup("");
		return 0;
	}
	*a = fuzz_cstr(data, (size_t)(p - data));
	*b = fuzz_cstr(p + 1, size - (size_t)(p - data) - 1);
	return 1;
}

/* True if s[0..len) is a NUL-terminated string within its buffer. */
static inline int
fuzz_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

#endif
