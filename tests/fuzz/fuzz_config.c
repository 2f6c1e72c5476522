/*
 * fuzz_config.c — config_parse() over an environment made from the input:
 * one NAME=value per line (the first line naming a variable wins; a line
 * without '=' is ignored).  config_parse() is pure but for realpath(3) and
 * stat(2) on MEDIAGATE_STORAGE_ROOT; config_load_keys() is not called.
 *
 * Invariants: 0 or -1; -1 leaves one non-empty, terminated message line;
 * 0 leaves every value within its documented range and form.
 */
#include "config.h"
#include "fuzz.h"

#define ENV_MAX	64

static char	*env_names[ENV_MAX], *env_values[ENV_MAX];
static size_t	 env_len;

static const char *
fake_getenv(const char *name)
{
	size_t i;

	for (i = 0; i < env_len; i++)
		if (strcmp(env_names[i], name) == 0)
			return env_values[i];
	return NULL;
}

static void
env_load(const uint8_t *data, size_t size)
{
	const uint8_t *line = data, *end = data + size, *nl, *eq;

	env_len = 0;
	while (line < end && env_len < ENV_MAX) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		eq = memchr(line, '=', (size_t)(nl - line));
		if (eq != NULL) {
			env_names[env_len] = fuzz_cstr(line,
			    (size_t)(eq - line));
			env_values[env_len++] = fuzz_cstr(eq + 1,
			    (size_t)(nl - eq - 1));
		}
		line = nl + 1;
	}
}

static void
env_free(void)
{
	size_t i;

	for (i = 0; i < env_len; i++) {
		free(env_names[i]);
		free(env_values[i]);
	}
	env_len = 0;
}

static void
check_config(const struct config *cfg)
{
	size_t len;

	FUZZ_ASSERT(cfg->db != NULL);
	FUZZ_ASSERT(cfg->jwt_alg >= JWS_HS256 && cfg->jwt_alg <= JWS_ES512);
	/* Each secret from exactly one source, a file or a set. */
	FUZZ_ASSERT((cfg->jwt_key_file != NULL) !=
	    (cfg->jwt_jwks_file != NULL));
	FUZZ_ASSERT(cfg->jwt_key_file == NULL || cfg->jwt_key_file[0] != '\0');
	FUZZ_ASSERT(cfg->jwt_jwks_file == NULL ||
	    cfg->jwt_jwks_file[0] != '\0');
	FUZZ_ASSERT((cfg->token_secret_file != NULL) !=
	    (cfg->token_jwks_file != NULL));
	FUZZ_ASSERT(cfg->token_secret_file == NULL ||
	    cfg->token_secret_file[0] != '\0');
	FUZZ_ASSERT(cfg->token_jwks_file == NULL ||
	    cfg->token_jwks_file[0] != '\0');
	/* MEDIAGATE_JWT_ALG: a list, each algorithm once, several only
	 * with a set. */
	FUZZ_ASSERT(cfg->jwt_nalgs >= 1 && cfg->jwt_nalgs <= CONFIG_ALGS_MAX);
	FUZZ_ASSERT(cfg->jwt_alg == cfg->jwt_algs[0]);
	FUZZ_ASSERT(cfg->jwt_nalgs == 1 || cfg->jwt_jwks_file != NULL);
	for (len = 0; len < cfg->jwt_nalgs; len++) {
		size_t j;

		FUZZ_ASSERT(cfg->jwt_algs[len] <= JWS_ES512);
		for (j = 0; j < len; j++)
			FUZZ_ASSERT(cfg->jwt_algs[j] != cfg->jwt_algs[len]);
	}
	FUZZ_ASSERT(cfg->jwt_issuer == NULL || cfg->jwt_issuer[0] != '\0');
	FUZZ_ASSERT(cfg->jwt_audience == NULL || cfg->jwt_audience[0] != '\0');
	FUZZ_ASSERT(cfg->jwt_leeway >= 0 && cfg->jwt_leeway <= 3600);
	FUZZ_ASSERT(cfg->token_ttl >= 1 && cfg->token_ttl <= 86400);
	FUZZ_ASSERT(cfg->tenant_claim == NULL ||
	    (cfg->tenant_claim[0] != '\0' && strlen(cfg->tenant_claim) <= 128));
	FUZZ_ASSERT(cfg->sendfile == SENDFILE_X_SENDFILE ||
	    cfg->sendfile == SENDFILE_X_LIGHTTPD ||
	    cfg->sendfile == SENDFILE_X_ACCEL);
	FUZZ_ASSERT(config_sendfile_header(cfg->sendfile) != NULL);

	/* "" or "/seg..." without a trailing '/', "//", "/./" or "/../". */
	FUZZ_ASSERT(cfg->base_path != NULL);
	len = strlen(cfg->base_path);
	if (len > 0) {
		FUZZ_ASSERT(cfg->base_path[0] == '/');
		FUZZ_ASSERT(cfg->base_path[len - 1] != '/');
		FUZZ_ASSERT(strstr(cfg->base_path, "//") == NULL);
		FUZZ_ASSERT(strspn(cfg->base_path,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-._~/") == len);
	}

	/* scheme://host[:port]: nothing that could start a path, a query,
	 * user information or a second header. */
	if (cfg->public_url != NULL) {
		const char *host = cfg->public_url;

		if (strncmp(host, "https://", 8) == 0)
			host += 8;
		else {
			FUZZ_ASSERT(strncmp(host, "http://", 7) == 0);
			host += 7;
		}
		FUZZ_ASSERT(*host != '\0');
		FUZZ_ASSERT(strpbrk(host, "/?#@ \t\r\n\"<>\\") == NULL);
	}
	if (cfg->storage_root != NULL)
		FUZZ_ASSERT(cfg->storage_root[0] == '/');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[256];
	int rc;

	env_load(data, size);
	memset(err, 'X', sizeof(err));
	rc = config_parse(&cfg, fake_getenv, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	if (rc == 0)
		check_config(&cfg);
	else {
		FUZZ_ASSERT(fuzz_terminated(err, sizeof(err)));
		FUZZ_ASSERT(err[0] != '\0');
	}
	/* Also after a failure: config_parse() may have copied some values
	 * before it met the bad one. */
	config_free(&cfg);
	env_free();
	return 0;
}
