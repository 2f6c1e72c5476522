/* sigcache.c — a set-associative table of verified token digests. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sigcache.h"

struct sig_entry {
	unsigned char	digest[SIGCACHE_DIGEST];
	long long	exp;		/* 0: empty slot */
};

struct sigcache {
	size_t			 sets;	/* a power of two */
	struct sig_entry	*e;	/* sets * SIGCACHE_WAYS, or NULL
					   before the first store */
	unsigned long long	 hits, misses;	/* since sigcache_take() */
};

struct sigcache *
sigcache_new(size_t entries)
{
	struct sigcache *c;
	size_t sets = 1;

	if (entries == 0)
		return NULL;
	while (sets * SIGCACHE_WAYS < entries)
		sets *= 2;
	c = xcalloc(1, sizeof(*c));
	c->sets = sets;
	return c;
}

void
sigcache_free(struct sigcache *c)
{
	if (c == NULL)
		return;
	free(c->e);
	free(c);
}

/* The set of a digest: its first bytes are as good as random. */
static struct sig_entry *
set_of(const struct sigcache *c, const unsigned char *digest)
{
	size_t h;

	memcpy(&h, digest, sizeof(h));
	return &c->e[(h & (c->sets - 1)) * SIGCACHE_WAYS];
}

bool
sigcache_seen(struct sigcache *c, const unsigned char digest[SIGCACHE_DIGEST],
    long long now)
{
	struct sig_entry *s;
	size_t i;

	s = c->e != NULL ? set_of(c, digest) : NULL;
	for (i = 0; s != NULL && i < SIGCACHE_WAYS; i++) {
		if (s[i].exp == 0 ||
		    memcmp(s[i].digest, digest, SIGCACHE_DIGEST) != 0)
			continue;
		if (s[i].exp <= now) {
			s[i].exp = 0;
			break;
		}
		c->hits++;
		return true;
	}
	c->misses++;
	return false;
}

void
sigcache_store(struct sigcache *c, const unsigned char digest[SIGCACHE_DIGEST],
    long long exp, long long now)
{
	struct sig_entry *s, *victim;
	size_t i;

	if (exp <= now)
		return;
	if (c->e == NULL)
		c->e = xcalloc(c->sets * SIGCACHE_WAYS, sizeof(*c->e));
	s = set_of(c, digest);
	for (i = 0; i < SIGCACHE_WAYS; i++)
		if (s[i].exp != 0 &&
		    memcmp(s[i].digest, digest, SIGCACHE_DIGEST) == 0) {
			s[i].exp = exp;		/* already there */
			return;
		}
	/* An empty or expired slot, else the one that expires first. */
	victim = &s[0];
	for (i = 0; i < SIGCACHE_WAYS && victim->exp > now; i++)
		if (s[i].exp < victim->exp)
			victim = &s[i];
	memcpy(victim->digest, digest, SIGCACHE_DIGEST);
	victim->exp = exp;
}

void
sigcache_take(struct sigcache *c, unsigned long long *hits,
    unsigned long long *misses)
{
	if (c == NULL) {
		*hits = *misses = 0;
		return;
	}
	*hits = c->hits;
	*misses = c->misses;
	c->hits = c->misses = 0;
}
