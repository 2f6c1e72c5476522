/*
 * sigcache.h — signatures already verified: the bearer tokens whose RS/ES
 * signature one key set has checked, so that a client that presents the
 * same bearer again costs a hash instead of a public-key verification
 * (330 k instructions for RS256, 870 k for ES256, against some 5 k for
 * the hash).
 *
 * What an entry says is only "these exact bytes, header, claims and
 * signature, verify under the key set that owns this cache".  The key is
 * still picked, the claims decoded and every claim checked against the
 * clock on each use (jws.c, auth.c); a reload builds a new key set with an
 * empty cache of its own, so no entry outlives the keys that verified it.
 * Entries go at the token's exp (or earlier, when their set is full).
 *
 * Tokens are keyed by the first SIGCACHE_DIGEST bytes of their SHA-256,
 * computed by the caller: 128 bits, so that a token that was never
 * verified could only be taken for one that was by a second preimage of
 * SHA-256 truncated to 128 bits (2^128 work); collisions among tokens the
 * issuer signed itself would gain nothing.  Invalid signatures are never
 * stored, so no client can fill the cache with tokens of its own making.
 *
 * Memory: entries * 24 bytes, allocated at the first store, so a key set
 * that never sees an RS/ES token costs nothing.  Pure: the clock is an
 * argument.  One cache per key set, one process, no locking.
 */
#ifndef MG_SIGCACHE_H
#define MG_SIGCACHE_H

#include <stdbool.h>
#include <stddef.h>

#define SIGCACHE_DIGEST		16	/* bytes of SHA-256 kept per token */
#define SIGCACHE_WAYS		4	/* entries per set */
#define SIGCACHE_ENTRIES	2048	/* per key set (48 KiB) */

struct sigcache;

/* An empty cache of at least entries entries (rounded up to whole sets of
 * a power-of-two count); NULL on entries == 0. */
struct sigcache	*sigcache_new(size_t entries);
void		 sigcache_free(struct sigcache *c);	/* NULL is fine */

/*
 * True if digest was stored and its token has not expired at now; an
 * entry whose exp has come is dropped and reported as absent.
 */
bool	sigcache_seen(struct sigcache *c,
	    const unsigned char digest[SIGCACHE_DIGEST], long long now);

/*
 * Remember digest until exp (the token's exp claim; nothing is stored
 * when exp <= now).  A full set gives up the entry that expires first.
 */
void	sigcache_store(struct sigcache *c,
	    const unsigned char digest[SIGCACHE_DIGEST], long long exp,
	    long long now);

/* Lookups that found their token (hits) and that did not (misses) since
 * the last call, or since the cache was made (the metrics; NULL is fine). */
void	sigcache_take(struct sigcache *c, unsigned long long *hits,
	    unsigned long long *misses);

#endif
