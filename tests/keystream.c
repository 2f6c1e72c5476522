/*
 * keystream.c — the request stream of check_keys: loader threads that
 * each issue a token on one pool and download with it on the other, with
 * the bearer the test's identity provider currently hands out, counting
 * requests and failures and remembering the latest tokens (see
 * keystream.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jwt.h>

#include "buf.h"
#include "keystream.h"
#include "testlib.h"

#define MEDIA		"rot-1"
#define TENANT		"acme"

struct stream S = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *const *url;
static int responders, loaders;

void
stream_setup(const char *const urls[2], int nresponders, int nloaders)
{
	url = urls;
	responders = nresponders;
	loaders = nloaders;
}

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
mint_bearer(const struct jwkgen *k, const char *kid)
{
	char claims[256];

	snprintf(claims, sizeof(claims), "{\"sub\":\"loader\",\"exp\":%lld,"
	    "\"permissions\":[\"media:read\"],\"tenant\":\"" TENANT "\"}",
	    now() + 3600);
	return jg_sign(k, k->alg, kid, claims);
}

/* The identity provider starts signing with k (kid). */
void
idp_switch(const struct jwkgen *k, const char *kid)
{
	char *b = mint_bearer(k, kid), *old;

	pthread_mutex_lock(&S.lock);
	old = S.bearer;
	S.bearer = b;
	pthread_mutex_unlock(&S.lock);
	free(old);	/* loaders copy it under the lock */
}

/* Header kid and exp of a download token, read with libjwt. */
void
token_facts(const char *token, char *kid, size_t kidsz, long long *exp)
{
	jwt_t *jwt = NULL;
	const char *k;

	*kid = '\0';
	*exp = 0;
	if (jwt_decode(&jwt, token, NULL, 0) != 0)
		return;
	if ((k = jwt_get_header(jwt, "kid")) != NULL)
		snprintf(kid, kidsz, "%s", k);
	*exp = jwt_get_grant_int(jwt, "exp");
	jwt_free(jwt);
}

static void
failed(const char *what, const struct http_response *r)
{
	atomic_fetch_add(&S.failures, 1);
	pthread_mutex_lock(&S.lock);
	if (S.first_failure[0] == '\0')
		snprintf(S.first_failure, sizeof(S.first_failure),
		    "%s: status %d %s %.200s", what, r->status, r->error,
		    r->body != NULL ? r->body : "");
	pthread_mutex_unlock(&S.lock);
}

/* One round: issue a token on one pool, download with it on the other. */
static void
round_once(int n)
{
	struct http_response r = { 0 }, d = { 0 };
	const char *h[3] = { NULL, "Accept: application/json", NULL };
	char *auth, *tok = NULL, *p, *e, *path;
	long long sent = now_ms();
	struct issued *is;

	/* Not strf(): its keep() list belongs to the main thread. */
	pthread_mutex_lock(&S.lock);
	auth = xmalloc(strlen(S.bearer) + 32);
	sprintf(auth, "Authorization: Bearer %s", S.bearer);
	pthread_mutex_unlock(&S.lock);
	h[0] = auth;
	atomic_fetch_add(&S.requests, 1);
	if (http_request(url[n % 2], "POST", "/media/" MEDIA "/download-token",
	    h, NULL, 0, &r) != 0 || r.status != 201 ||
	    (p = strstr(r.body, "\"token\":\"")) == NULL ||
	    (e = strchr(p + 9, '"')) == NULL) {
		failed("issue", &r);
		goto done;
	}
	tok = xstrndup(p + 9, (size_t)(e - p - 9));
	path = xmalloc(strlen(tok) + 64);
	sprintf(path, "/media/" MEDIA "/download/%s", tok);
	atomic_fetch_add(&S.requests, 1);
	if (http_request(url[(n + 1) % 2], "GET", path, NULL, NULL, 0, &d) !=
	    0 || d.status != 200)
		failed("download", &d);
	free(path);
	pthread_mutex_lock(&S.lock);
	is = &S.tokens[S.ntokens++ % STREAM_MAX_TOKENS];
	free(is->token);
	is->token = tok;
	is->sent_ms = sent;
	token_facts(tok, is->kid, sizeof(is->kid), &is->exp);
	tok = NULL;
	pthread_mutex_unlock(&S.lock);
done:
	free(auth);
	free(tok);
	http_response_free(&r);
	http_response_free(&d);
}

static void *
loader(void *arg)
{
	int n = (int)(long)arg;

	while (!atomic_load(&S.stop) &&
	    atomic_fetch_add(&S.rounds, 1) < STREAM_MAX_ROUNDS)
		round_once(n++);
	return NULL;
}

static pthread_t threads[STREAM_LOADERS_MAX];

/*
 * Responders under valgrind take seconds over their first requests (its
 * translation of libcrypto): a few rounds before the stream starts, which
 * may time out and are not counted.
 */
static void
warm_up(void)
{
	struct http_response r;
	const char *h[2] = { NULL, NULL };
	int n, ok = 0;

	h[0] = strf("Authorization: Bearer %s", S.bearer);
	for (n = 0; n < 40 && ok < 2 * responders; n++) {
		memset(&r, 0, sizeof(r));
		if (http_request(url[n % 2], "POST", "/media/" MEDIA
		    "/download-token", h, NULL, 0, &r) == 0 && r.status == 201)
			ok++;
		http_response_free(&r);
	}
	ck_assert_msg(ok == 2 * responders, "the pools do not answer");
}

void
stream_start(void)
{
	long i;

	warm_up();
	atomic_store(&S.stop, 0);
	for (i = 0; i < loaders; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, loader,
		    (void *)i), 0);
}

void
stream_stop(void)
{
	int i;

	atomic_store(&S.stop, 1);
	for (i = 0; i < loaders; i++)
		pthread_join(threads[i], NULL);
}

/* Wait for n more rounds of the stream (an event, bounded at 300 s). */
void
rounds_pass(long n)
{
	long until = atomic_load(&S.rounds) + n;
	int i;

	for (i = 0; i < 3000 && atomic_load(&S.rounds) < until; i++)
		usleep(100 * 1000);
	ck_assert_msg(atomic_load(&S.rounds) >= until, "the stream stalled");
	ck_assert_msg(atomic_load(&S.failures) == 0, "a request failed: %s",
	    S.first_failure);
}

int
tokens_now(void)
{
	int n;

	pthread_mutex_lock(&S.lock);
	n = S.ntokens;
	pthread_mutex_unlock(&S.lock);
	return n;
}

/* Every token whose issue was sent at or after since_ms has kid. */
int
expect_kid_since(long long since_ms, const char *kid)
{
	int i, seen = 0;

	pthread_mutex_lock(&S.lock);
	for (i = 0; i < S.ntokens && i < STREAM_MAX_TOKENS; i++) {
		if (S.tokens[i].sent_ms < since_ms)
			continue;
		seen++;
		if (strcmp(S.tokens[i].kid, kid) != 0) {
			pthread_mutex_unlock(&S.lock);
			ck_abort_msg("token %d carries kid '%s', not '%s'", i,
			    S.tokens[i].kid, kid);
		}
	}
	pthread_mutex_unlock(&S.lock);
	return seen;
}

