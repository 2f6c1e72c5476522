/*
 * keystream.h — a steady stream of issue + download requests over two
 * responder pools, for the key rotation tests (check_keys.c).  Loader
 * threads use only http_request() and their own memory (not testlib's
 * keep() list, which belongs to the main thread); the state they share is
 * S, under S.lock for the strings and tokens.
 */
#ifndef MG_KEYSTREAM_H
#define MG_KEYSTREAM_H

#include <pthread.h>
#include <stdatomic.h>

#include "jwkgen.h"

#define STREAM_LOADERS_MAX	8	/* concurrent clients */
#define STREAM_MAX_ROUNDS	50000	/* bound, whatever happens */
#define STREAM_MAX_TOKENS	4096	/* issued tokens remembered */

struct issued {
	char		*token;
	char		 kid[16];
	long long	 sent_ms;	/* when the issue request was sent */
	long long	 exp;		/* its exp claim */
};

struct stream {
	pthread_mutex_t	 lock;
	char		*bearer;	/* what the identity provider hands out */
	struct issued	 tokens[STREAM_MAX_TOKENS];	/* a ring */
	int		 ntokens;		/* issued so far */
	char		 first_failure[512];
	atomic_int	 stop;
	atomic_long	 rounds, requests, failures;
};
extern struct stream S;

/* The pools' base URLs (kept, not copied), responders, loader threads. */
void	 stream_setup(const char *const urls[2], int responders, int loaders);
/* Warm the pools up, then start the loaders; stop and join them. */
void	 stream_start(void);
void	 stream_stop(void);
/* Wait for n more rounds (bounded); fails the test on any failure. */
void	 rounds_pass(long n);
int	 tokens_now(void);
/* Every token issued since since_ms carries kid; how many there are. */
int	 expect_kid_since(long long since_ms, const char *kid);

long long now_ms(void);
/* A bearer for the stream's media and tenant, signed by k with kid. */
char	*mint_bearer(const struct jwkgen *k, const char *kid);
/* The identity provider signs with k (kid) from now on. */
void	 idp_switch(const struct jwkgen *k, const char *kid);
/* Header kid and exp of a download token (libjwt, unverified). */
void	 token_facts(const char *token, char *kid, size_t kidsz,
	    long long *exp);

#endif
