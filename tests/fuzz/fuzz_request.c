/*
 * fuzz_request.c — request_parse() over a FastCGI parameter array made
 * from the input (entries separated by NUL or newline bytes), then
 * request_origin() and log_request_id() on what it found.
 *
 * Invariants: method and uri are never NULL; every value found points
 * into the parameter array; a Content-Length is -1 or a non-negative
 * number, and -1 whenever it is flagged bad; an origin is scheme://host
 * [:port] of printable characters that cannot end the URL's authority or
 * inject markup; a request id is 1..64 characters of [A-Za-z0-9._-].
 */
#include "fuzz.h"
#include "log.h"
#include "request.h"

#define PARAMS_MAX	256

/* True if p is NULL or points into one of the strings of envp. */
static int
points_into(const char *p, char *const *envp, size_t n)
{
	size_t i;

	if (p == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if (p >= envp[i] && p <= envp[i] + strlen(envp[i]))
			return 1;
	return 0;
}

static void
check_origin(const struct request *r)
{
	struct buf out = { 0 };
	const char *p;
	enum mg_err err;

	err = request_origin(r, &out);
	FUZZ_ASSERT(err == MG_OK || err == MG_EBADREQ);
	if (err != MG_OK) {
		buf_free(&out);
		return;
	}
	p = buf_str(&out);
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else {
		FUZZ_ASSERT(strncmp(p, "http://", 7) == 0);
		p += 7;
	}
	FUZZ_ASSERT(*p != '\0');
	for (; *p != '\0'; p++)
		FUZZ_ASSERT(*p > 0x20 && *p < 0x7f &&
		    strchr("/?#@\"'<>\\%&", *p) == NULL);
	buf_free(&out);
}

static void
check_request_id(const char *given)
{
	char id[65];
	size_t len;

	memset(id, 'X', sizeof(id));
	log_request_id(given, id, sizeof(id));
	FUZZ_ASSERT(fuzz_terminated(id, sizeof(id)));
	len = strlen(id);
	FUZZ_ASSERT(len >= 1 && len <= 64);
	FUZZ_ASSERT(strspn(id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *envp[PARAMS_MAX + 1], *copy, *p, *end;
	struct request r;
	size_t n = 0;

	/* One writable copy, cut into NUL-terminated entries. */
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	for (p = copy; p <= end && n < PARAMS_MAX; p++) {
		envp[n++] = p;
		while (p < end && *p != '\0' && *p != '\n')
			p++;
		*p = '\0';
	}
	envp[n] = NULL;

	request_parse(&r, envp);
	FUZZ_ASSERT(r.method != NULL && r.uri != NULL);
	FUZZ_ASSERT(points_into(r.method, envp, n) || *r.method == '\0');
	FUZZ_ASSERT(points_into(r.uri, envp, n) || *r.uri == '\0');
	FUZZ_ASSERT(points_into(r.accept, envp, n));
	FUZZ_ASSERT(points_into(r.authorization, envp, n));
	FUZZ_ASSERT(points_into(r.https, envp, n));
	FUZZ_ASSERT(points_into(r.scheme, envp, n));
	FUZZ_ASSERT(points_into(r.server_name, envp, n));
	FUZZ_ASSERT(points_into(r.server_port, envp, n));
	FUZZ_ASSERT(points_into(r.request_id, envp, n));
	FUZZ_ASSERT(points_into(r.server_software, envp, n));
	FUZZ_ASSERT(r.content_length >= -1);
	if (r.content_length_bad)
		FUZZ_ASSERT(r.content_length == -1);

	check_origin(&r);
	check_request_id(r.request_id);
	free(copy);

	request_parse(&r, NULL);
	FUZZ_ASSERT(*r.method == '\0' && *r.uri == '\0');
	return 0;
}
