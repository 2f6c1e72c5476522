/*
 * ceiling_finish.h — how the benchmark's reference responders end a
 * request: as mediagate does (finish_request in src/main.c), closing a
 * connection with nothing left unread at once instead of through
 * libfcgi's shutdown-and-wait, so that a reference pays for a connection
 * exactly what mediagate pays and stays a ceiling.  (They read no body:
 * what lighttpd sends for these requests arrives in one piece with the
 * parameters.)
 */
#ifndef CEILING_FINISH_H
#define CEILING_FINISH_H

#include <sys/ioctl.h>

#include <fcgiapp.h>

static void
ceiling_finish(FCGX_Request *fr)
{
	int unread = -1;

	if (!fr->keepConnection && ioctl(fr->ipcFd, FIONREAD, &unread) == 0 &&
	    unread == 0)
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
}

#endif
