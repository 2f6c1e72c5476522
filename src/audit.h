/*
 * audit.h — the audit log (contract §7.3): one JSON object per line for
 * every download token issued and every download request that reaches the
 * token check.
 *
 * audit_format() and audit_clean_utf8() are pure; audit_write() is the
 * I/O shell: one write(2) per line on an O_APPEND descriptor, the path
 * re-checked on every write so that a rotated file is followed at once,
 * and a failure reported so the caller answers 503 instead of issuing or
 * serving (fail-closed).
 */
#ifndef MG_AUDIT_H
#define MG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"

#define AUDIT_RANGE_MAX	100	/* characters of Range kept */
#define AUDIT_VALUE_MAX	512	/* characters kept of any other value */

/* One line.  NULL members are left out of the object. */
struct audit_event {
	struct timespec	 ts;		/* CLOCK_REALTIME */
	const char	*event;		/* "issue" or "download" */
	int		 status;	/* the HTTP status answered */
	const char	*request_id;
	const char	*media;
	const char	*tenant;	/* with tenant isolation on */
	const char	*sub;		/* issue: the bearer's sub */
	const char	*jti;		/* download: the verified token's jti */
	const char	*client;	/* REMOTE_ADDR */
	const char	*range;		/* download: the Range header */
};

/*
 * Append to out s with every byte sequence that is not valid UTF-8
 * (RFC 3629: overlong forms, surrogates, code points above U+10FFFF,
 * truncated sequences) replaced by U+FFFD, one per maximal invalid
 * subpart, keeping at most max_chars code points.  Pure.
 */
void audit_clean_utf8(struct buf *out, const char *s, size_t max_chars);

/* ts as RFC 3339 UTC with milliseconds, "2026-12-01T23:30:00.123Z". */
void audit_timestamp(const struct timespec *ts, char out[40]);

/*
 * Append ev as one JSON object and a '\n' to out, through yajl's
 * generator (UTF-8 validated, control characters escaped), values from
 * the client cleaned by audit_clean_utf8() first.  MG_OK, or MG_EINTERNAL
 * if the generator refuses.  Pure.
 */
enum mg_err audit_format(const struct audit_event *ev, struct buf *out);

/*
 * Open the log at path (O_WRONLY|O_APPEND|O_CREAT, mode 0640) for this
 * process.  0, or -1 with err filled; audit is on either way, and each
 * audit_write() retries the open, failing until it succeeds.
 */
int audit_open(const char *path, char *err, size_t errsz);
bool audit_enabled(void);
void audit_close(void);

/*
 * Write ev as one line.  MG_OK, or MG_EAUDIT with *cause (for the log
 * only: it names the path) when the line could not be written whole.
 * MG_OK without writing when audit is off.
 */
enum mg_err audit_write(const struct audit_event *ev, const char **cause);

#endif
