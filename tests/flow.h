/*
 * flow.h — what check_flow.c (issuing, the web server around mediagate,
 * set-up) and flow_download.c (downloads) share: the deployment under
 * test, set once in main() before the runner forks, and its requests and
 * expectations.
 */
#ifndef MG_TEST_FLOW_H
#define MG_TEST_FLOW_H

#include <stddef.h>

#include <check.h>

#include "expect.h"
#include "http.h"

#define TCASE_TIMEOUT	60		/* seconds */
#define BIG_SIZE	(1024 * 1024)	/* bytes of the stored file */

extern const char	*name;		/* MG_FLOW_NAME, for messages */
extern const char	*url;		/* MG_FLOW_URL: https://HOST:PORT */
extern const char	*http_url;	/* MG_FLOW_HTTP_URL: http://HOST:PORT */
extern const char	*storage_root;	/* MG_FLOW_STORAGE */
extern unsigned char	*big;		/* content of flow/big.bin */

/* method path on base (url or http_url), named after the deployment. */
struct http_response *request_to(const char *base, const char *method,
	    const char *path, const char *const *headers, const void *body,
	    size_t len);

/* GET, HEAD …, with an optional Accept and Range, over HTTPS. */
struct http_response *fetch(const char *method, const char *path,
	    const char *accept, const char *range);

/* POST with an Authorization and an Accept (NULL: none), over HTTPS. */
struct http_response *post(const char *path, const char *authz,
	    const char *accept, const void *body, size_t len);

const char *issue_path(const char *id);
const char *dl_path(const char *id, const char *token);

/* A bearer token the deployment accepts, with extra claims (a JSON
 * fragment starting with ',' or ""). */
char	*bearer(const char *extra);

/* Neither the sendfile header nor the storage root reaches the client. */
void	 expect_no_sendfile(const struct http_response *r);

/* expect_problem() from mediagate itself, with neither the sendfile
 * header nor file bytes. */
void	 flow_problem(const struct http_response *r, int status,
	    const char *detail, const char *cred);

/* The 201 of §4 for id on the deployment's https:// origin. */
struct issued flow_issued(const struct http_response *r, const char *id);

/* A token for id with a good bearer; asserts the 201. */
struct issued issue_ok(const char *id);

/* The §5 fields of a successful download of a file of size bytes. */
void	 expect_download_fields(const struct http_response *r,
	    const char *ctype, size_t size);

/* Adds the downloads test case to s (flow_download.c). */
void	 flow_download_tcase(Suite *s);

#endif
