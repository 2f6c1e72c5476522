/*
 * keyfiles.h — the key files of the key rotation tests (check_keys.c) in
 * their directory: read, written, installed the two ways README.md
 * "Rotating keys" tells an operator to (rename; rewrite in place and
 * SIGUSR2), and the first keys and sets that `check_keys --init` writes.
 */
#ifndef MG_KEYFILES_H
#define MG_KEYFILES_H

#include <stddef.h>

#include "jwkgen.h"

/* The key directory, and the command that sends SIGUSR2 to every
 * responder (check_keys.c sets them from its environment). */
extern const char *keydir, *signal_cmd;

/* The whole of path, NUL-terminated; its length in *len (may be NULL). */
char	*slurp(const char *path, size_t *len);
/* Write text to DIR/.name.tmp, then rename it over DIR/name. */
void	 install_by_rename(const char *name, const char *text);
/* Rewrite DIR/name in place (same inode), then SIGUSR2 every responder. */
void	 install_in_place_and_signal(const char *name, const char *text);
/* Sleep past the responders' once-a-second look at their key files. */
void	 past_one_check_interval(void);
/* {"keys":[...]} of JWKs a, b (b may be NULL) with kids (kept). */
char	*set_of(const struct jwkgen *a, const char *kida,
	    const struct jwkgen *b, const char *kidb);
/* k from DIR/name: a PEM private key for alg, or an HS256 secret. */
void	 load_pem(struct jwkgen *k, enum jws_alg alg, const char *name);
void	 load_secret(struct jwkgen *k, const char *name);
/* DIR/name with data (mode 0600). */
void	 save(const char *name, const void *data, size_t len);
void	 save_text(const char *name, const char *text);
/* --init DIR: the first bearer key (RSA, b1) and keyring key (t1), and
 * the sets of each; 0. */
int	 keyfiles_init(const char *dir);

#endif
