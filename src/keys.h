/*
 * keys.h — the key files: reading them into key sets, and re-reading them
 * while the responder runs (contract §3.1).
 *
 * The bearer keys come from MEDIAGATE_JWT_KEY_FILE (one key) or
 * MEDIAGATE_JWT_JWKS_FILE (a set), the download-token keys from
 * MEDIAGATE_TOKEN_SECRET_FILE (one secret) or MEDIAGATE_TOKEN_JWKS_FILE (a
 * keyring).  keys_load() is what start-up, --check-config and every reload
 * run, so a file that would not start a responder is never taken by one.
 *
 * A reload builds both sets completely, then replaces the pointers in the
 * configuration and frees the old sets.  The process is single-threaded
 * and reloads only between requests, so no request sees a half-made set.
 */
#ifndef MG_KEYS_H
#define MG_KEYS_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "config.h"

/*
 * Read and check the configured key files into *bearer and *token (the
 * caller owns them: jwks_free), noting what each file was when it was read.
 * 0, or -1 with one line in err (naming the variable and file) and nothing
 * allocated.
 */
int	keys_load(const struct config *cfg, struct jwks **bearer,
	    struct jwks **token, struct config_file_id *bearer_id,
	    struct config_file_id *token_id, char *err, size_t errsz);

enum keys_outcome {
	KEYS_UNCHANGED,		/* nothing to do */
	KEYS_RELOADED,		/* new keys are in use */
	KEYS_FAILED,		/* new content refused, old keys kept */
};

/* The watch of one process over its key files. */
struct keys_watch {
	struct timespec	 next;	/* CLOCK_MONOTONIC: no stat before this */
	bool		 refused;	/* the files as they are now were
					   refused (and logged) */
};

/*
 * Before each request: at most once a second stat the two key files, and
 * reload when either is not what was read (or at once when force is set:
 * SIGHUP, SIGUSR2).  A refused reload logs one line and is not retried
 * until a file changes again.  The hot path costs one clock_gettime.
 */
enum keys_outcome keys_poll(struct config *cfg, struct keys_watch *w,
	    bool force);

/*
 * Reload outcomes since start, for mediagate_key_reloads_total{result}
 * (contract §7.2): result="ok" is reloads_ok, "failed" reloads_failed.
 */
struct keys_counts {
	unsigned long	 reloads_ok;
	unsigned long	 reloads_failed;
};
const struct keys_counts *keys_counts(void);

/*
 * For --check-config: one line per key set on out, and one per key that
 * is not usable, with the reason.
 */
void	keys_report(const struct config *cfg, FILE *out);

#endif
