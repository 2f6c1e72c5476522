/*
 * ceiling.c — the benchmark's reference responder: a libfcgi responder
 * that does no work at all.  Every request, whatever its method and path,
 * gets 201 Created with the headers mediagate sends on success and a fixed
 * 250-byte JSON body.  Run under the same lighttpd and spawn-fcgi set-up as
 * mediagate, it is the most any FastCGI responder can do there: the
 * benchmark divides mediagate's rate by its rate.
 *
 * With CEILING_SENDFILE set to a file's absolute path it answers every
 * request instead as mediagate answers a download: 200 with X-Sendfile
 * naming that file and the same other headers, no body; the web server
 * then sends the file.  That is the most a FastCGI responder can do for a
 * download.
 *
 *   cc -O2 -o ceiling ceiling.c $(pkg-config --cflags --libs fcgi)
 *
 * Like mediagate it serves the listening socket it inherits as descriptor
 * 0.  "--check-config" exits 0 at once, so that the pool functions of
 * tests/lib/services.sh, which run the binary that way first, can start it.
 * SIGTERM (default action) ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "ceiling_finish.h"

#define BODY_LEN	250

static char body[BODY_LEN + 1];

/* {"token":"xxx…","url":"http://127.0.0.1/media/x/download/t"}, padded. */
static void
make_body(void)
{
	static const char head[] = "{\"token\":\"";
	static const char tail[] =
	    "\",\"url\":\"http://127.0.0.1/media/bench/download/t\"}";
	size_t fill = BODY_LEN - (sizeof(head) - 1) - (sizeof(tail) - 1);

	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, 'x', fill);
	memcpy(body + sizeof(head) - 1 + fill, tail, sizeof(tail));
}

/* The download answer for path, or NULL when it does not fit. */
static char *
make_sendfile_head(const char *path)
{
	static char head[8192];
	int n;

	n = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\n"
	    "X-Sendfile: %s\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment; filename=\"bench.bin\"; "
	    "filename*=UTF-8''bench.bin\r\n"
	    "Cache-Control: private, no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n", path);
	return n > 0 && (size_t)n < sizeof(head) ? head : NULL;
}

int
main(int argc, char **argv)
{
	static const char head[] =
	    "Status: 201 Created\r\n"
	    "Cache-Control: no-store\r\n"
	    "Vary: Accept\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 250\r\n"
	    "\r\n";
	const char *sendfile = getenv("CEILING_SENDFILE");
	const char *dl_head = NULL;
	FCGX_Request fr;

	if (argc > 1 && strcmp(argv[1], "--check-config") == 0)
		return 0;
	if (argc > 1) {
		fprintf(stderr, "ceiling: unknown argument '%s'\n", argv[1]);
		return 1;
	}
	make_body();
	if (strlen(body) != BODY_LEN) {
		fprintf(stderr, "ceiling: body is %zu bytes\n", strlen(body));
		return 1;
	}
	if (sendfile != NULL && *sendfile != '\0' &&
	    (*sendfile != '/' || strpbrk(sendfile, "\r\n") != NULL ||
	    (dl_head = make_sendfile_head(sendfile)) == NULL)) {
		fprintf(stderr, "ceiling: CEILING_SENDFILE must be an absolute "
		    "path\n");
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_IsCGI()) {
		fprintf(stderr, "ceiling: file descriptor 0 is not a "
		    "listening socket (run under spawn-fcgi)\n");
		return 1;
	}
	if (FCGX_InitRequest(&fr, 0, 0) != 0) {
		fprintf(stderr, "ceiling: FCGX_InitRequest failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		if (dl_head != NULL)
			FCGX_PutS(dl_head, fr.out);
		else {
			FCGX_PutStr(head, (int)sizeof(head) - 1, fr.out);
			FCGX_PutStr(body, BODY_LEN, fr.out);
		}
		ceiling_finish(&fr);
	}
	FCGX_Free(&fr, 1);
	return 0;
}
