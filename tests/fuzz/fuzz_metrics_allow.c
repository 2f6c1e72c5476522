/*
 * fuzz_metrics_allow.c — metrics_allow_parse() and metrics_allow_match()
 * over any MEDIAGATE_METRICS_ALLOW and any REMOTE_ADDR ("spec\naddr").
 *
 * Invariants: parse either succeeds with 1..METRICS_ALLOW_MAX blocks of a
 * known family, a prefix within the family's width and no host bits set,
 * or fails with a message naming the variable; a block always contains
 * its own network address; matching never reads past the input.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "metrics.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_allow a;
	char err[256] = "", text[INET6_ADDRSTRLEN];
	char *spec, *addr;
	size_t i;

	fuzz_split2(data, size, '\n', &spec, &addr);
	if (metrics_allow_parse(spec, &a, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(a.n >= 1 && a.n <= METRICS_ALLOW_MAX);
		for (i = 0; i < a.n; i++) {
			const struct metrics_net *n = &a.net[i];

			FUZZ_ASSERT(n->family == AF_INET ||
			    n->family == AF_INET6);
			FUZZ_ASSERT(n->prefix <= (n->family == AF_INET ?
			    32u : 128u));
			FUZZ_ASSERT(inet_ntop(n->family, n->addr, text,
			    sizeof(text)) != NULL);
			FUZZ_ASSERT(metrics_allow_match(&a, text));
		}
		(void)metrics_allow_match(&a, addr);
	} else
		FUZZ_ASSERT(strncmp(err, "MEDIAGATE_METRICS_ALLOW: ", 25) == 0);
	free(spec);
	free(addr);
	return 0;
}
