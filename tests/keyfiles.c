/*
 * keyfiles.c — the key files of check_keys: read, written, installed by
 * rename or in place, and the first ones of --init (see keyfiles.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jwkgen.h"
#include "keyfiles.h"
#include "testkeys.h"
#include "testlib.h"

const char *keydir, *signal_cmd;

/* ------------------------------------------------------------------ */
/* Files */

char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = xmalloc((size_t)n + 1);
	ck_assert_int_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return p;
}

/* Write text to DIR/name.tmp, then rename it over DIR/name. */
void
install_by_rename(const char *name, const char *text)
{
	char *tmp = strf("%s/.%s.tmp", keydir, name);
	char *dst = strf("%s/%s", keydir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(rename(tmp, dst), 0);
}

/* Rewrite DIR/name in place (same inode), then SIGUSR2 every responder. */
void
install_in_place_and_signal(const char *name, const char *text)
{
	char *dst = strf("%s/%s", keydir, name);
	int fd = open(dst, O_WRONLY | O_TRUNC);
	struct stat before, after;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &before), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(stat(dst, &after), 0);
	ck_assert(before.st_ino == after.st_ino);
	ck_assert_int_eq(system(signal_cmd), 0);
}

/*
 * §3.1: a responder stats its key files at most once a second, before a
 * request.  A request that starts more than a second after the rename is
 * therefore handled with the new file: that is the rule under test, not a
 * guess at how long something takes.
 */
void
past_one_check_interval(void)
{
	struct timespec ts = { 1, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* {"keys":[...]} of JWKs a, b (b may be NULL) with kids. */
char *
set_of(const struct jwkgen *a, const char *kida, const struct jwkgen *b,
    const char *kidb)
{
	char *ea = strf("\"kid\":\"%s\"", kida);
	char *ja = keep(jg_jwk(a, ea), free), *jb = NULL;

	if (b != NULL)
		jb = keep(jg_jwk(b, strf("\"kid\":\"%s\"", kidb)), free);
	return strf("{\"keys\":[%s%s%s]}", ja, jb ? "," : "", jb ? jb : "");
}

/* ------------------------------------------------------------------ */
/* Keys on disk: b1.pem (RSA) and t1.key to start; b2.pem, t2.key later. */

void
load_pem(struct jwkgen *k, enum jws_alg alg, const char *name)
{
	char *pem = slurp(strf("%s/%s", keydir, name), NULL);

	jg_from_pem(k, alg, pem);
	free(pem);
}

void
load_secret(struct jwkgen *k, const char *name)
{
	size_t len;
	char *b = slurp(strf("%s/%s", keydir, name), &len);

	jg_oct_bytes(k, JWS_HS256, (unsigned char *)b, len);
	free(b);
}

void
save(const char *name, const void *data, size_t len)
{
	free(tk_write_file(keydir, name, data, len, 0600));
}

void
save_text(const char *name, const char *text)
{
	save(name, text, strlen(text));
}

/* --init DIR: the first bearer key (RSA, b1) and keyring key (t1). */
int
keyfiles_init(const char *dir)
{
	struct jwkgen b1, t1;
	char *j;

	keydir = dir;
	jg_rsa(&b1, JWS_RS256, 2048);
	jg_oct(&t1, JWS_HS256, 32);
	save("b1.pem", b1.priv_pem, strlen(b1.priv_pem));
	save("t1.key", t1.secret, t1.secret_len);
	j = set_of(&b1, "b1", NULL, NULL);
	save("bearer.jwks", j, strlen(j));
	j = set_of(&t1, "t1", NULL, NULL);
	save("tokens.jwks", j, strlen(j));
	release_kept();
	jg_free(&b1);
	jg_free(&t1);
	return 0;
}
