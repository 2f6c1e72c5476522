/*
 * check_keys.c — key rotation on the real stack (contract §3.1, §4): two
 * responder pools behind two lighttpd instances share a bearer JWKS and a
 * download-token keyring, while a steady stream of issue + download
 * requests runs, the sets are rotated the way README.md "Rotating keys"
 * tells an operator to: by rename (add, retire) and by rewriting in place
 * followed by SIGUSR2.  No request may fail; old download tokens stay valid
 * until they expire, new ones carry the new kid, a retired key is refused,
 * and a file with invalid content is refused by every responder with one
 * log line while the old keys keep working.
 *
 *   check_keys --init DIR   write the first keys and sets into DIR
 *   check_keys              the rotation tests (environment: tests/keys.sh)
 *   check_keys --multiwatch `systemctl reload` of a multiwatch pool started
 *                           after them
 *
 * Keys are made with libcrypto and written as JWKs by tests/jwkgen.c;
 * bearer tokens are signed with libjwt.  The key files are read, written
 * and installed by tests/keyfiles.c, the request stream runs in
 * tests/keystream.c.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jwkgen.h"
#include "keyfiles.h"
#include "keystream.h"
#include "testlib.h"

#define MEDIA		"rot-1"
#define RELOADS		"mediagate_key_reloads_total"
#define SIGCACHE	"mediagate_signature_cache_lookups_total"
#define TENANT		"acme"

static const char *url[2], *work, *url_mw, *reload_mw;
static const char *mg_bin, *db_app;
static long ttl;
static int responders, loaders = 4;

/* ------------------------------------------------------------------ */
/* Requests */

/* status of GET download with token on pool n */
static int
download_status(int n, const char *token)
{
	struct http_response *r = send_request(url[n], "download", "GET",
	    strf("/media/" MEDIA "/download/%s", token), NULL, NULL, 0);

	return r->status;
}

static int
issue_status(int n, const char *bearer)
{
	struct http_response *r = send_request(url[n], "issue", "POST",
	    "/media/" MEDIA "/download-token", header_lines("Authorization",
	    strf("Bearer %s", bearer), NULL, NULL), NULL, 0);

	return r->status;
}

/* A download token made here with key k and kid, valid for a minute. */
static char *
own_token(const struct jwkgen *k, const char *kid)
{
	return keep(jg_sign(k, JWS_HS256, kid, strf("{\"sub\":\"" MEDIA "\","
	    "\"tenant\":\"" TENANT "\",\"iat\":%lld,\"exp\":%lld,\"jti\":"
	    "\"own-token-0000000000\"}", now(), now() + 60)), free);
}

/* ------------------------------------------------------------------ */
/* Tests */

START_TEST(rotation_under_load)
{
	struct jwkgen b1, b2, t1, t2;
	long long mark;
	char *old_t1 = NULL, *b1_bearer;
	long long old_exp = 0;
	int i, n;

	load_pem(&b1, JWS_RS256, "b1.pem");
	load_secret(&t1, "t1.key");
	jg_ec(&b2, JWS_ES256, "P-256");
	jg_oct(&t2, JWS_HS256, 48);
	save("b2.pem", b2.priv_pem, strlen(b2.priv_pem));
	save("t2.key", t2.secret, t2.secret_len);

	idp_switch(&b1, "b1");
	b1_bearer = keep(mint_bearer(&b1, "b1"), free);
	stream_start();
	rounds_pass(20);
	ck_assert_int_gt(expect_kid_since(0, "t1"), 0);

	/* Bearer, step 1: the identity provider publishes b2 next to b1;
	 * every host takes the new set (rename); then it signs with b2. */
	install_by_rename("bearer.jwks", set_of(&b1, "b1", &b2, "b2"));
	past_one_check_interval();
	idp_switch(&b2, "b2");
	rounds_pass(20);

	/* Bearer, step 2: b1 is withdrawn (here by rewriting the file in
	 * place and SIGUSR2); a token of b1 is refused from then on. */
	install_in_place_and_signal("bearer.jwks", set_of(&b2, "b2", NULL,
	    NULL));
	for (i = 0; i < 2 * responders; i++)
		ck_assert_int_eq(issue_status(i % 2, b1_bearer), 401);
	rounds_pass(20);

	/* Keyring, step 1: t2 is added at the end on every host; t1 still
	 * signs. */
	install_by_rename("tokens.jwks", set_of(&t1, "t1", &t2, "t2"));
	past_one_check_interval();
	mark = now_ms();
	rounds_pass(20);
	ck_assert_int_gt(expect_kid_since(mark, "t1"), 0);

	/* Keyring, step 2: t2 moves first (in place + SIGUSR2): new tokens
	 * carry t2, and the t1 tokens already out still work. */
	pthread_mutex_lock(&S.lock);
	n = (S.ntokens - 1) % STREAM_MAX_TOKENS;	/* the latest */
	old_t1 = keep(xstrdup(S.tokens[n].token), free);
	old_exp = S.tokens[n].exp;
	ck_assert_str_eq(S.tokens[n].kid, "t1");
	pthread_mutex_unlock(&S.lock);
	install_in_place_and_signal("tokens.jwks", set_of(&t2, "t2", &t1,
	    "t1"));
	mark = now_ms();
	rounds_pass(20);
	ck_assert_int_gt(expect_kid_since(mark, "t2"), 0);
	ck_assert_msg(now() < old_exp, "the last t1 token expired too soon "
	    "(TTL %ld s)", ttl);
	for (i = 0; i < 2 * responders; i++)
		ck_assert_int_eq(download_status(i % 2, old_t1), 200);

	/* Keyring, step 3: once the last t1 token has expired (TTL, plus
	 * the 1 s of skew allowed), t1 is removed (rename). */
	while (now() <= old_exp + 1)
		rounds_pass(1);
	ck_assert_int_eq(download_status(0, old_t1), 410);
	install_by_rename("tokens.jwks", set_of(&t2, "t2", NULL, NULL));
	past_one_check_interval();
	for (i = 0; i < 2 * responders; i++) {
		ck_assert_int_eq(download_status(i % 2, own_token(&t1, "t1")),
		    403);
		ck_assert_int_eq(download_status(i % 2, own_token(&t2, "t2")),
		    200);
	}
	rounds_pass(20);
	stream_stop();

	printf("rotation: %ld requests (%ld rounds of issue + download) "
	    "through 2 pools, %ld failed; tokens issued: %d\n",
	    atomic_load(&S.requests), atomic_load(&S.rounds),
	    atomic_load(&S.failures), tokens_now());
	fflush(stdout);
	ck_assert_msg(atomic_load(&S.failures) == 0, "%ld requests failed, "
	    "first: %s", atomic_load(&S.failures), S.first_failure);
	jg_free(&b1);
	jg_free(&b2);
	jg_free(&t1);
	jg_free(&t2);
}
END_TEST

/* Distinct responder pids with a "key reload failed" line past offset. */
static int
failed_reload_pids(const char *const logs[2], const long off[2], int *max)
{
	static const char needle[] = "]: key reload failed";
	long pids[64];
	int counts[64], npids = 0, i, j;
	char *text, *p, *lb;

	*max = 0;
	for (i = 0; i < 2; i++) {
		text = slurp(logs[i], NULL);
		for (p = text + off[i]; (p = strstr(p, needle)) != NULL;
		    p += sizeof(needle) - 1) {
			for (lb = p; lb > text && lb[-1] != '['; lb--)
				;
			long pid = strtol(lb, NULL, 10);
			for (j = 0; j < npids && pids[j] != pid; j++)
				;
			if (j == npids && npids < 64) {
				pids[npids] = pid;
				counts[npids++] = 0;
			}
			if (j < 64 && ++counts[j] > *max)
				*max = counts[j];
		}
		free(text);
	}
	return npids;
}

/* Lines of the pools' logs that contain needle. */
static long
log_lines(const char *const logs[2], const char *needle)
{
	long n = 0;
	char *text, *p;
	int i;

	for (i = 0; i < 2; i++) {
		text = slurp(logs[i], NULL);
		for (p = text; (p = strstr(p, needle)) != NULL; p++)
			n++;
		free(text);
	}
	return n;
}

/* name{result=...} of the pools' shared counter file (§7.2), as GET
 * /metrics shows it. */
static long
metric(const char *name, const char *result)
{
	struct http_response *r = send_request(url[0], "metrics", "GET",
	    "/metrics", NULL, NULL, 0);
	char *want = strf("%s{result=\"%s\"} ", name, result);
	const char *p;

	ck_assert_int_eq(r->status, 200);
	ck_assert_msg((p = strstr(r->body, want)) != NULL, "%s", r->body);
	return atol(p + strlen(want));
}

START_TEST(invalid_reload_keeps_the_keys)
{
	const char *logs[2] = { strf("%s/a.log", work),
	    strf("%s/b.log", work) };
	char *good = slurp(strf("%s/bearer.jwks", keydir), NULL);
	struct jwkgen b2;
	struct stat st;
	long off[2];
	int i, pids = 0, max = 0;

	load_pem(&b2, JWS_ES256, "b2.pem");
	idp_switch(&b2, "b2");
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(stat(logs[i], &st), 0);
		off[i] = (long)st.st_size;
	}
	stream_start();
	rounds_pass(10);
	install_by_rename("bearer.jwks", "{\"keys\":[{\"kty\":\"RSA\"");
	ck_assert_int_eq(system(signal_cmd), 0);
	/* Every responder meets the bad file before its next request. */
	for (i = 0; i < 600 && pids < responders; i++) {
		rounds_pass(1);
		pids = failed_reload_pids(logs, off, &max);
	}
	ck_assert_int_eq(pids, responders);
	/* Past another check interval: still one line each. */
	past_one_check_interval();
	rounds_pass(2 * responders);
	stream_stop();
	pids = failed_reload_pids(logs, off, &max);
	ck_assert_int_eq(pids, responders);
	ck_assert_int_eq(max, 1);
	printf("invalid reload: %d responders refused it with one log line "
	    "each; %ld requests, %ld failed\n", pids, atomic_load(&S.requests),
	    atomic_load(&S.failures));
	fflush(stdout);
	ck_assert_int_eq(atomic_load(&S.failures), 0);
	/* Every reload counted, taken or refused, by every responder. */
	ck_assert_int_eq(metric(RELOADS, "failed"),
	    log_lines(logs, "]: key reload failed"));
	ck_assert_int_eq(metric(RELOADS, "ok"), log_lines(logs, "]: keys reloaded"));
	printf("mediagate_key_reloads_total: ok %ld, failed %ld (the pools' "
	    "log lines)\n", metric(RELOADS, "ok"), metric(RELOADS, "failed"));
	/* The RS/ES bearers of the stream come again and again: the cache of
	 * verified signatures finds them, after a first verification by
	 * each responder of each key set. */
	printf("mediagate_signature_cache_lookups_total: hit %ld, miss %ld\n",
	    metric(SIGCACHE, "hit"), metric(SIGCACHE, "miss"));
	fflush(stdout);
	ck_assert_int_ge(metric(SIGCACHE, "miss"), 1);
	ck_assert_int_gt(metric(SIGCACHE, "hit"), metric(SIGCACHE, "miss"));
	install_by_rename("bearer.jwks", good);
	free(good);
	jg_free(&b2);
}
END_TEST

/* Run `mediagate --check-config` with the two key sets; its status, and
 * its stdout and stderr in *out (kept). */
static int
check_config(const char *bearer_set, const char *token_set, char **out)
{
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *p;
	int st;

	p = popen(strf("env -i MEDIAGATE_DB='%s' MEDIAGATE_JWT_ALG=RS256,ES256 "
	    "MEDIAGATE_JWT_JWKS_FILE=%s/%s MEDIAGATE_TOKEN_JWKS_FILE=%s/%s "
	    "%s --check-config 2>&1", db_app, keydir, bearer_set, keydir,
	    token_set, mg_bin), "r");
	ck_assert_ptr_nonnull(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_append(&b, chunk, n);
	st = pclose(p);
	*out = kstrdup(buf_str(&b));
	buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* §3.1 through the binary: --check-config names the keys a set holds but
 * does not use, and a set without a usable key stops it with one line. */
START_TEST(check_config_names_unusable_keys)
{
	struct jwkgen b1, enc, t1;
	char *out, *jb1, *jenc;

	load_pem(&b1, JWS_RS256, "b1.pem");
	load_secret(&t1, "t1.key");
	jg_ec(&enc, JWS_ES256, "P-256");
	jb1 = keep(jg_jwk(&b1, "\"kid\":\"b1\""), free);
	jenc = keep(jg_jwk(&enc, "\"kid\":\"enc-1\",\"use\":\"enc\""), free);
	save_text("cc-bearer.jwks", strf("{\"keys\":[%s,%s]}", jb1, jenc));
	save_text("cc-bad.jwks", strf("{\"keys\":[%s]}", jenc));
	save_text("cc-tokens.jwks", set_of(&t1, "t1", NULL, NULL));

	ck_assert_int_eq(check_config("cc-bearer.jwks", "cc-tokens.jwks", &out),
	    0);
	ck_assert_msg(strstr(out, "mediagate: MEDIAGATE_JWT_JWKS_FILE: key 2 "
	    "(kid \"enc-1\") not usable: use is \"enc\", not \"sig\"\n") !=
	    NULL, "%s", out);
	ck_assert_msg(strstr(out, "mediagate: MEDIAGATE_TOKEN_JWKS_FILE: key 1 "
	    "(kid \"t1\"): HS256, signs new tokens\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);

	ck_assert_int_eq(check_config("cc-bad.jwks", "cc-tokens.jwks", &out),
	    1);
	ck_assert_str_eq(out, strf("mediagate: MEDIAGATE_JWT_JWKS_FILE: "
	    "%s/cc-bad.jwks: holds no usable key (key 1 (kid \"enc-1\"): use "
	    "is \"enc\", not \"sig\")\n", keydir));
	printf("check-config: %s", out);
	fflush(stdout);
	jg_free(&b1);
	jg_free(&enc);
	jg_free(&t1);
}
END_TEST

/* The kid of a token issued by the multiwatch pool mw. */
static char *
mw_issue_kid(const char *bearer)
{
	struct http_response *r = send_request(url_mw, "issue mw", "POST",
	    "/media/" MEDIA "/download-token", header_lines("Authorization",
	    strf("Bearer %s", bearer), NULL, NULL), NULL, 0);
	char kid[16], *p, *e;
	long long exp;

	ck_assert_msg(r->status == 201, "mw: status %d", r->status);
	ck_assert_ptr_nonnull(p = strstr(r->body, "\"token\":\""));
	ck_assert_ptr_nonnull(e = strchr(p + 9, '"'));
	token_facts(keep(xstrndup(p + 9, (size_t)(e - p - 9)), free), kid,
	    sizeof(kid), &exp);
	return kstrdup(kid);
}

/*
 * `systemctl reload` of a multiwatch pool (deploy/systemd ExecReload=),
 * started on the files the tests above left: the keyring is rewritten in
 * place with the same size and modification time, which no stat can tell
 * from the old one, so only the signal that multiwatch forwards can make
 * the responders take it.
 */
START_TEST(reload_through_multiwatch)
{
	char *path = strf("%s/tokens.jwks", keydir), *text, *p;
	struct timespec times[2];
	struct jwkgen b2;
	struct stat st;
	char *bearer;
	int fd, i;

	load_pem(&b2, JWS_ES256, "b2.pem");
	bearer = keep(mint_bearer(&b2, "b2"), free);
	text = slurp(path, NULL);
	ck_assert_ptr_nonnull(p = strstr(text, "\"kid\":\"t2\""));
	p[8] = 'z';			/* kid "tz" */
	ck_assert_ptr_nonnull(p = strstr(text, "\"k\":\""));
	p[5] = p[5] == 'A' ? 'B' : 'A';	/* another secret, same length */
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(mw_issue_kid(bearer), "t2");

	ck_assert_int_eq(stat(path, &st), 0);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	ck_assert_int_ge(fd = open(path, O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, text, strlen(text), 0),
	    (ssize_t)strlen(text));
	ck_assert_int_eq(futimens(fd, times), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(st.st_mtim.tv_sec == times[1].tv_sec &&
	    st.st_mtim.tv_nsec == times[1].tv_nsec);

	/* Not seen by the once-a-second look: the file looks the same. */
	past_one_check_interval();
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(mw_issue_kid(bearer), "t2");
	ck_assert_int_eq(system(reload_mw), 0);
	/* multiwatch forwards the signal from its own event loop: the
	 * first answers may still come before it has. */
	for (i = 0; i < 100 && strcmp(mw_issue_kid(bearer), "tz") != 0; i++)
		usleep(100 * 1000);
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(mw_issue_kid(bearer), "tz");
	printf("reload through multiwatch: the keyring rewritten with its "
	    "size and mtime was taken after ExecReload, not before\n");
	fflush(stdout);
	free(text);
	jg_free(&b2);
}
END_TEST

/* ------------------------------------------------------------------ */

static const char *
need(const char *name, int *missing)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "check_keys: %s is not set (run tests/keys.sh)"
		    "\n", name);
		*missing = 1;
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *storage, *db, *t, *r;
	int missing = 0, failed_n;
	Suite *s;
	TCase *tc;
	SRunner *sr;
	PGconn *c;
	char *file;

	if (argc == 3 && strcmp(argv[1], "--init") == 0)
		return keyfiles_init(argv[2]);
	url[0] = need("MG_TEST_URL_A", &missing);
	url[1] = need("MG_TEST_URL_B", &missing);
	keydir = need("MG_TEST_KEYDIR", &missing);
	work = need("MG_TEST_WORK", &missing);
	signal_cmd = need("MG_TEST_SIGNAL", &missing);
	mg_bin = need("MG_BIN", &missing);
	db_app = need("MG_TEST_DB_APP", &missing);
	if (argc == 2 && strcmp(argv[1], "--multiwatch") == 0) {
		url_mw = need("MG_TEST_URL_MW", &missing);
		reload_mw = need("MG_TEST_RELOAD_MW", &missing);
	}
	storage = need("MG_TEST_STORAGE", &missing);
	db = need("MG_TEST_DB", &missing);
	t = need("MG_TEST_TTL", &missing);
	r = need("MG_TEST_RESPONDERS", &missing);
	if (missing)
		return 1;
	ttl = atol(t);
	responders = atoi(r);
	if ((t = getenv("MG_TEST_LOADERS")) != NULL && atoi(t) > 0 &&
	    atoi(t) <= STREAM_LOADERS_MAX)
		loaders = atoi(t);
	stream_setup(url, responders, loaders);

	c = db_open_at(db, "MG_TEST_DB");
	media_replace(c, MEDIA, TENANT, "text/plain", "rotation.txt",
	    "rotation.txt");
	PQfinish(c);
	file = path_join(storage, "rotation.txt");
	free(tk_write_file(storage, "rotation.txt", "rotated\n", 8, 0644));
	free(file);

	s = suite_create("keys");
	tc = tcase_kept("rotation", 600);
	if (argc == 2 && strcmp(argv[1], "--multiwatch") == 0)
		tcase_add_test(tc, reload_through_multiwatch);
	else {
		tcase_add_test(tc, check_config_names_unusable_keys);
		tcase_add_test(tc, rotation_under_load);
		tcase_add_test(tc, invalid_reload_keeps_the_keys);
	}
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* The second test starts from the files the first one left. */
	srunner_run_all(sr, CK_NORMAL);
	failed_n = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed_n == 0 ? 0 : 1;
}
