/* keys.c — key files into key sets, at start and on change. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "buf.h"
#include "keys.h"
#include "log.h"

#define KEY_FILE_MAX	(64 * 1024)

static struct keys_counts counts;

static void
file_id(const struct stat *st, struct config_file_id *id)
{
	id->dev = (unsigned long long)st->st_dev;
	id->ino = (unsigned long long)st->st_ino;
	id->size = (long long)st->st_size;
	id->mtime_sec = (long long)st->st_mtim.tv_sec;
	id->mtime_nsec = st->st_mtim.tv_nsec;
	id->present = 1;
}

/*
 * Read a whole key file into *out (NUL-terminated; caller frees) and say
 * what it was (fstat of the descriptor read, so a rename in between is
 * seen by the next poll).  A secret must not be accessible to other users:
 * a key that any local account can read is a key an attacker may already
 * have; with secret < 0 the caller checks that once it knows the content.
 */
static int
read_key_file(const char *var, const char *path, int secret,
    unsigned char **out, size_t *len, struct config_file_id *id,
    mode_t *mode, char *err, size_t errsz)
{
	struct stat st;
	unsigned char *p;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_fail(err, errsz, "%s: cannot open %s: %s", var, path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_fail(err, errsz, "%s: %s is not a regular file", var,
		    path);
	}
	file_id(&st, id);
	*mode = st.st_mode;
	if (secret > 0 && (st.st_mode & S_IRWXO) != 0) {
		close(fd);
		return err_fail(err, errsz, "%s: %s is accessible to other users "
		    "(mode %04o); chmod o-rwx it", var, path,
		    (unsigned)(st.st_mode & 07777));
	}
	if (st.st_size > KEY_FILE_MAX) {
		close(fd);
		return err_fail(err, errsz, "%s: %s is larger than %d bytes", var,
		    path, KEY_FILE_MAX);
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, p + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			free(p);
			return err_fail(err, errsz, "%s: cannot read %s: %s", var,
			    path, strerror(errno));
		}
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	*out = p;
	*len = got;
	return 0;
}

static void
free_bytes(unsigned char *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
	free(p);
}

static int
load_bearer(const struct config *cfg, struct jwks **out,
    struct config_file_id *id, char *err, size_t errsz)
{
	const char *var = cfg->jwt_jwks_file != NULL ?
	    "MEDIAGATE_JWT_JWKS_FILE" : "MEDIAGATE_JWT_KEY_FILE";
	const char *path = cfg->jwt_jwks_file != NULL ? cfg->jwt_jwks_file :
	    cfg->jwt_key_file;
	int hmac = jws_alg_is_hmac(cfg->jwt_alg);
	unsigned char *bytes;
	char why[256];
	size_t len;
	mode_t mode;
	int rc;

	if (read_key_file(var, path, cfg->jwt_jwks_file != NULL ? -1 : hmac,
	    &bytes, &len, id, &mode, err, errsz) != 0)
		return -1;
	if (cfg->jwt_jwks_file != NULL) {
		rc = jwks_parse(JWKS_BEARER, (const char *)bytes, len,
		    cfg->jwt_algs, cfg->jwt_nalgs, out, why, sizeof(why));
		free_bytes(bytes, len);
		if (rc != 0)
			return err_fail(err, errsz, "%s: %s: %s", var, path, why);
		if (jwks_has_secret(*out) && (mode & S_IRWXO) != 0) {
			jwks_free(*out);
			*out = NULL;
			return err_fail(err, errsz, "%s: %s holds HMAC secrets and "
			    "is accessible to other users (mode %04o); chmod "
			    "o-rwx it", var, path, (unsigned)(mode & 07777));
		}
		return 0;
	}
	if (hmac && len < CONFIG_SECRET_MIN) {
		free_bytes(bytes, len);
		return err_fail(err, errsz, "%s: %s holds %zu bytes; an HMAC "
		    "secret needs at least %d", var, path, len,
		    CONFIG_SECRET_MIN);
	}
	rc = jwks_single(cfg->jwt_alg, bytes, len, out, why, sizeof(why));
	free_bytes(bytes, len);
	return rc != 0 ? err_fail(err, errsz, "%s: %s is %s", var, path, why) : 0;
}

static int
load_token(const struct config *cfg, struct jwks **out,
    struct config_file_id *id, char *err, size_t errsz)
{
	const char *var = cfg->token_jwks_file != NULL ?
	    "MEDIAGATE_TOKEN_JWKS_FILE" : "MEDIAGATE_TOKEN_SECRET_FILE";
	const char *path = cfg->token_jwks_file != NULL ?
	    cfg->token_jwks_file : cfg->token_secret_file;
	unsigned char *bytes;
	char why[256];
	size_t len;
	mode_t mode;
	int rc;

	if (read_key_file(var, path, 1, &bytes, &len, id, &mode, err,
	    errsz) != 0)
		return -1;
	if (cfg->token_jwks_file != NULL) {
		rc = jwks_parse(JWKS_KEYRING, (const char *)bytes, len, NULL,
		    0, out, why, sizeof(why));
		free_bytes(bytes, len);
		return rc != 0 ? err_fail(err, errsz, "%s: %s: %s", var, path,
		    why) : 0;
	}
	if (len < CONFIG_SECRET_MIN) {
		free_bytes(bytes, len);
		return err_fail(err, errsz, "%s: %s holds %zu bytes; at least %d "
		    "are needed", var, path, len, CONFIG_SECRET_MIN);
	}
	rc = jwks_single(JWS_HS256, bytes, len, out, why, sizeof(why));
	free_bytes(bytes, len);
	return rc != 0 ? err_fail(err, errsz, "%s: %s is %s", var, path, why) : 0;
}

int
keys_load(const struct config *cfg, struct jwks **bearer,
    struct jwks **token, struct config_file_id *bearer_id,
    struct config_file_id *token_id, char *err, size_t errsz)
{
	*bearer = *token = NULL;
	if (load_bearer(cfg, bearer, bearer_id, err, errsz) != 0)
		return -1;
	if (load_token(cfg, token, token_id, err, errsz) != 0)
		goto bad;
	/* One secret for both would let a bearer token pass as a download
	 * token and the other way round: no key of one set may be a key of
	 * the other. */
	if (jwks_share_secret(*bearer, *token)) {
		err_fail(err, errsz, "%s: must differ from every bearer secret in "
		    "%s", cfg->token_jwks_file != NULL ?
		    "MEDIAGATE_TOKEN_JWKS_FILE" : "MEDIAGATE_TOKEN_SECRET_FILE",
		    cfg->jwt_jwks_file != NULL ? "MEDIAGATE_JWT_JWKS_FILE" :
		    "MEDIAGATE_JWT_KEY_FILE");
		goto bad;
	}
	return 0;
bad:
	jwks_free(*bearer);
	jwks_free(*token);
	*bearer = *token = NULL;
	return -1;
}

/* Is the file at path still what id says was read? */
static bool
unchanged(const char *path, const struct config_file_id *id)
{
	struct config_file_id now = { 0 };
	struct stat st;

	if (stat(path, &st) == 0)
		file_id(&st, &now);
	return now.present == id->present && now.dev == id->dev &&
	    now.ino == id->ino && now.size == id->size &&
	    now.mtime_sec == id->mtime_sec && now.mtime_nsec == id->mtime_nsec;
}

/* Note what the files are now, so a refused file is tried once only. */
static void
note_files(const char *bpath, struct config_file_id *bid, const char *tpath,
    struct config_file_id *tid)
{
	struct stat st;

	memset(bid, 0, sizeof(*bid));
	memset(tid, 0, sizeof(*tid));
	if (stat(bpath, &st) == 0)
		file_id(&st, bid);
	if (stat(tpath, &st) == 0)
		file_id(&st, tid);
}

enum keys_outcome
keys_poll(struct config *cfg, struct keys_watch *w, bool force)
{
	const char *bpath = cfg->jwt_jwks_file != NULL ? cfg->jwt_jwks_file :
	    cfg->jwt_key_file;
	const char *tpath = cfg->token_jwks_file != NULL ?
	    cfg->token_jwks_file : cfg->token_secret_file;
	struct config_file_id bid, tid;
	struct jwks *bearer, *token;
	struct timespec now;
	char err[512];

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec < w->next.tv_sec ||
	    (now.tv_sec == w->next.tv_sec && now.tv_nsec < w->next.tv_nsec)))
		return KEYS_UNCHANGED;
	w->next = now;
	w->next.tv_sec += 1;
	if ((!force || w->refused) && unchanged(bpath, &cfg->bearer_file_id) &&
	    unchanged(tpath, &cfg->token_file_id))
		return KEYS_UNCHANGED;

	if (keys_load(cfg, &bearer, &token, &bid, &tid, err,
	    sizeof(err)) != 0) {
		note_files(bpath, &cfg->bearer_file_id, tpath,
		    &cfg->token_file_id);
		counts.reloads_failed++;
		w->refused = true;
		log_msg("key reload failed, keeping the current keys: %s",
		    err);
		return KEYS_FAILED;
	}
	jwks_free(cfg->bearer_keys);
	jwks_free(cfg->token_keys);
	cfg->bearer_keys = bearer;
	cfg->token_keys = token;
	cfg->bearer_file_id = bid;
	cfg->token_file_id = tid;
	counts.reloads_ok++;
	w->refused = false;
	log_msg("keys reloaded: %zu usable bearer key%s, %zu download-token "
	    "key%s", bearer->usable, bearer->usable == 1 ? "" : "s",
	    token->usable, token->usable == 1 ? "" : "s");
	return KEYS_RELOADED;
}

const struct keys_counts *
keys_counts(void)
{
	return &counts;
}

static void
report_set(const char *var, const struct jwks *set, FILE *out)
{
	const struct jwks_entry *e;
	size_t i;

	if (set->kind == JWKS_SINGLE)
		return;
	fprintf(out, "mediagate: %s: %zu key%s, %zu usable\n", var, set->n,
	    set->n == 1 ? "" : "s", set->usable);
	for (i = 0; i < set->n; i++) {
		e = &set->keys[i];
		if (e->usable)
			fprintf(out, "mediagate: %s: key %zu%s%s%s: %s%s\n",
			    var, i + 1, e->kid ? " (kid \"" : "",
			    e->kid ? e->kid : "", e->kid ? "\")" : "",
			    jws_alg_name(e->key.alg),
			    set->kind == JWKS_KEYRING && e == jwks_signer(set) ?
			    ", signs new tokens" : "");
		else
			fprintf(out, "mediagate: %s: key %zu%s%s%s not usable: "
			    "%s\n", var, i + 1, e->kid ? " (kid \"" : "",
			    e->kid ? e->kid : "", e->kid ? "\")" : "", e->why);
	}
}

void
keys_report(const struct config *cfg, FILE *out)
{
	report_set("MEDIAGATE_JWT_JWKS_FILE", cfg->bearer_keys, out);
	report_set("MEDIAGATE_TOKEN_JWKS_FILE", cfg->token_keys, out);
}
