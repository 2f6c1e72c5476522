/*
 * testlib.h — what the black-box test programs (check_integration.c,
 * check_flow.c) share: per-test scratch memory, sending requests, tokens,
 * the database and the assertions whose wording is the same in both.
 *
 * Memory: anything a function here returns as "kept" belongs to the
 * per-test scratch and is released by release_kept() (the teardown of
 * every test case made with tcase_kept()); callers never free it.  That
 * way a failing assertion leaks nothing, even under CK_FORK=no.
 *
 * The globals below are set in main() before the runner forks, except
 * last_req, which each request overwrites.
 */
#ifndef MG_TESTLIB_H
#define MG_TESTLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <check.h>
#include <libpq-fe.h>

#include "http.h"
#include "testkeys.h"

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))
#define JWT_HEADER	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define FIXED_JTI	"AAAAAAAAAAAAAAAAAAAAAA"

/* The request in hand, for failure messages (see send_request()). */
extern char		last_req[512];

/* The name of the table row (case) in hand, or NULL; send_request()
 * starts last_req with it, so every failure names its row. */
extern const char	*test_case_name;

/* The download-token secret; main() loads and frees it. */
extern struct testkey	token_key;

/* ------------------------------------------------------------------ */
/* Per-test scratch */

/* Keep ptr until the end of the test, when release(ptr) is called;
 * returns ptr. */
void	*keep(void *ptr, void (*release)(void *));

/* Release everything kept, newest first (the test cases' teardown). */
void	 release_kept(void);

/* The table row named name is being run: later requests' last_req, hence
 * every failure message, start with "name: " (kept; NULL: no row). */
void	 test_case(const char *name);

/* Release functions for keep(): a tree of yajl_tree_parse(), and one of
 * sjson_parse_object() (an arena of its own). */
void	 release_json(void *v);
void	 release_sjson(void *v);

/* printf into a kept string. */
char	*strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* vprintf into a kept string. */
char	*vstrf(const char *fmt, va_list ap)
	    __attribute__((format(printf, 1, 0)));

/* A kept copy of s. */
char	*kstrdup(const char *s);

/* A kept string of n copies of s, then tail. */
char	*krepeat(const char *s, size_t n, const char *tail);

/* The time, in seconds since the epoch. */
long long now(void);

/* A test case named tname with this timeout (seconds) whose teardown is
 * release_kept(); the suite it is added to owns it. */
TCase	*tcase_kept(const char *tname, int timeout);

/* ------------------------------------------------------------------ */
/* Requests */

/* A kept NULL-terminated list of header lines "f1: v1" and "f2: v2",
 * each left out when its value is NULL. */
const char *const *header_lines(const char *f1, const char *v1,
	    const char *f2, const char *v2);

/* Send method path to base with the NULL-terminated header lines and
 * body; label (then the header lines) goes to last_req.  Aborts the test
 * when no response arrives; returns the kept response. */
struct http_response *send_request(const char *base, const char *label,
	    const char *method, const char *path, const char *const *headers,
	    const void *body, size_t len);

/* ------------------------------------------------------------------ */
/* Tokens */

/* A kept HS256 JWS (header JWT_HEADER) over payload with this secret. */
char	*hs256(const void *key, size_t key_len, const char *payload);

/* A kept download token: token_key's HS256 over the claims fmt formats. */
char	*dl_token(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A kept copy of the compact JWS token with one character changed in the
 * middle of part (0..2).  A middle one, because the last character of a
 * part may carry only padding bits that decoders ignore. */
char	*tamper(const char *token, int part);

/* ------------------------------------------------------------------ */
/* Database */

/* A connection to conninfo (what variable var says); aborts the test,
 * naming var, when it fails.  The caller PQfinish()es it. */
PGconn	*db_open_at(const char *conninfo, const char *var);

/* Asserts that res succeeded, naming what otherwise (then closes c, the
 * connection it came from); clears res either way. */
void	 db_check(PGconn *c, PGresult *res, const char *what);

/* Replaces the media row id with a live one of these values (NULL: SQL
 * NULL), over c; asserts that both statements succeed. */
void	 media_replace(PGconn *c, const char *id, const char *tenant,
	    const char *mime, const char *file_name, const char *storage);

/* ------------------------------------------------------------------ */
/* Assertions */

/* Whether needle (len > 0 bytes) occurs in hay. */
bool	 contains(const void *hay, size_t hay_len, const void *needle,
	    size_t len);

/* Asserts that r has exactly one field named field, whose value is want. */
void	 expect_header(const struct http_response *r, const char *field,
	    const char *want);

/* Asserts that the media type of Content-Type (parameters ignored) is
 * want, case-insensitively. */
void	 expect_ctype(const struct http_response *r, const char *want);

/* ------------------------------------------------------------------ */
/* Set-up (main(), before the runner) */

/* "dir/file", malloc'd: the caller frees it. */
char	*path_join(const char *dir, const char *file);

#endif
