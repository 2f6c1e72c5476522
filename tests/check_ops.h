/*
 * check_ops.h — what the three files of check_ops share (check_ops.c,
 * ops_metrics.c, ops_audit.c): the stack tests/ops.sh started, set in
 * main() before the runner forks, and the requests of both operations.
 */
#ifndef MG_TEST_CHECK_OPS_H
#define MG_TEST_CHECK_OPS_H

#include <check.h>

#include "testkeys.h"

#define MEDIA		"m-pdf"
#define TENANT		"acme"
#define CONC_PROCS	8	/* concurrent clients */
#define CONC_EACH	40	/* requests each: 320 in all */

extern const char *url_a, *url_b, *url_deny, *url_u;
extern const char *audit_a, *audit_u, *work, *py, *helpers;
extern const char *children_a, *pids_b, *pg_stop, *pg_start;
extern struct testkey bearer;	/* signs bearer tokens (HS256) */

/* Seconds of CLOCK_MONOTONIC. */
double	 mono(void);

/* Run a shell command; its stdout, kept; its wait status in *status. */
char	*run_out(const char *cmd, int *status);

/* Write len bytes of data to path; asserts success. */
void	 write_file(const char *path, const char *data, size_t len);

/* A bearer token of tenant acme with media:read and sub (JSON, or
 * NULL: none); kept. */
char	*bearer_for(const char *sub_json);

/* POST download-token; the token of a 201 (kept), or NULL. */
char	*issue(const char *base, const char *prefix, const char *sub_json,
	    const char *reqid, int *status);

/* GET the download of token with an optional Range and X-Request-Id;
 * the status. */
int	 download(const char *base, const char *prefix, const char *token,
	    const char *range, const char *reqid);

/* GET path; the status. */
int	 get_status(const char *base, const char *path);

/* Add the metrics (ops_metrics.c) and audit (ops_audit.c) test cases. */
void	 ops_metrics_tcase(Suite *s);
void	 ops_audit_tcase(Suite *s);

#endif
