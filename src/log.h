/*
 * log.h — one line per event on stderr, which lighttpd, Apache and systemd
 * all collect.  Lines are written with one write(2) so lines from several
 * processes sharing the stream do not interleave.
 */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stddef.h>

/* "mediagate[pid]: " prefix; call once after the process starts. */
void log_init(void);

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Copy a client-supplied X-Request-Id into out (capacity outsz) if it is
 * 1..64 of [A-Za-z0-9._-], else make one from the pid and a counter.
 */
void log_request_id(const char *given, char *out, size_t outsz);

#endif
