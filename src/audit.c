/*
 * audit.c — audit lines: formatting (pure) and the append-only writer.
 *
 * Why one write(2) on O_APPEND: POSIX makes the seek to the end and the
 * write one atomic step for regular files, so whole lines of concurrent
 * responders never interleave, with no lock between processes.
 *
 * Rotation: before every line the path is stat(2)ed and compared with the
 * (st_dev, st_ino) of the open descriptor; when another file sits at the
 * path, it is opened and the old descriptor closed.  Checking on every
 * write (one stat, well under a microsecond, next to the database query
 * the same request makes) rather than once a second means that no line
 * goes to the old file once the new one exists.  While the path names no
 * file (between logrotate's rename and its create) lines still go to the
 * renamed file, which is the rotated log, so nothing is lost; only when
 * the open file has no name left (deleted) is a new one created at once.
 *
 * Invalid UTF-8 from the client (sub, Range, and whatever else a value
 * holds) is replaced by U+FFFD before the generator sees it, so that
 * yajl_gen_validate_utf8 never refuses a line and each line stays one
 * valid JSON object; yajl escapes quotes, backslashes and control
 * characters (RFC 8259 §7).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "audit.h"

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0 with
 * *bad set to the length of the maximal invalid subpart (Unicode §3.9,
 * "U+FFFD substitution of maximal subparts").
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	*bad = 1;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;		/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return 0;
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

void
audit_clean_utf8(struct buf *out, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n = strlen(s), chars, len, bad;

	/* Valid runs are copied in one piece, not a character at a time. */
	for (chars = 0; n > 0 && chars < max_chars; chars++) {
		len = utf8_seq(p, n, &bad);
		if (len == 0) {
			buf_append(out, run, (size_t)(p - run));
			buf_append(out, replacement, 3);
			len = bad;
			run = p + len;
		}
		p += len;
		n -= len;
	}
	buf_append(out, run, (size_t)(p - run));
}

void
audit_timestamp(const struct timespec *ts, char out[40])
{
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
	    tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
	    tm.tm_sec % 100, (int)(ts->tv_nsec / 1000000) % 1000);
}

static bool
gen_raw(yajl_gen g, const char *s, size_t len)
{
	return yajl_gen_string(g, (const unsigned char *)s, len) ==
	    yajl_gen_status_ok;
}

/* A member whose value comes from outside: cleaned, then generated. */
static bool
gen_member(yajl_gen g, struct buf *tmp, const char *key, const char *v,
    size_t max)
{
	if (v == NULL)
		return true;
	buf_reset(tmp);
	audit_clean_utf8(tmp, v, max);
	return gen_raw(g, key, strlen(key)) && gen_raw(g, tmp->ptr, tmp->len);
}

enum mg_err
audit_format(const struct audit_event *ev, struct buf *out)
{
	/* Reused across lines: the generator (reset before each line, so
	 * no allocation per line) and the scratch buffer for cleaning. */
	static struct buf tmp;
	static yajl_gen g;
	const unsigned char *p;
	char ts[40];
	size_t len;
	bool ok;

	if (g == NULL) {
		if ((g = yajl_gen_alloc(NULL)) == NULL)
			return MG_EINTERNAL;
		yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	}
	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	audit_timestamp(&ev->ts, ts);
	ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
	    gen_member(g, &tmp, "ts", ts, sizeof(ts)) &&
	    gen_member(g, &tmp, "event", ev->event, AUDIT_VALUE_MAX) &&
	    gen_raw(g, "status", 6) &&
	    yajl_gen_integer(g, ev->status) == yajl_gen_status_ok &&
	    gen_member(g, &tmp, "request_id", ev->request_id,
	    AUDIT_VALUE_MAX) &&
	    gen_member(g, &tmp, "media", ev->media, AUDIT_VALUE_MAX) &&
	    gen_member(g, &tmp, "tenant", ev->tenant, AUDIT_VALUE_MAX) &&
	    gen_member(g, &tmp, "sub", ev->sub, AUDIT_VALUE_MAX) &&
	    gen_member(g, &tmp, "jti", ev->jti, AUDIT_VALUE_MAX) &&
	    gen_member(g, &tmp, "client", ev->client, AUDIT_VALUE_MAX) &&
	    gen_member(g, &tmp, "range", ev->range, AUDIT_RANGE_MAX) &&
	    yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &p, &len) == yajl_gen_status_ok;
	if (ok) {
		buf_append(out, p, len);	/* p belongs to g */
		buf_putc(out, '\n');
	}
	return ok ? MG_OK : MG_EINTERNAL;
}

/* The writer's state: one per process. */
static struct {
	char		*path;		/* NULL: audit off */
	int		 fd;		/* -1: not open */
	dev_t		 dev;
	ino_t		 ino;
	bool		 torn;		/* the last write was short */
	struct buf	 line;
	char		 cause[256];
} lg = { .fd = -1 };

static const char *
set_cause(const char *what)
{
	snprintf(lg.cause, sizeof(lg.cause), "audit log %s: %s: %s", lg.path,
	    what, strerror(errno));
	return lg.cause;
}

/* Open lg.path, replacing the descriptor; -1 with errno on failure. */
static int
reopen(void)
{
	struct stat st;
	int fd;

	fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0640);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		/* The path now names something we cannot write: the old
		 * file is no longer the log, so write to neither. */
		if (lg.fd >= 0)
			close(lg.fd);
		lg.fd = -1;
		errno = e;
		return -1;
	}
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = fd;
	lg.dev = st.st_dev;
	lg.ino = st.st_ino;
	return 0;
}

int
audit_open(const char *path, char *err, size_t errsz)
{
	audit_close();
	lg.path = strdup(path);
	if (lg.path == NULL || reopen() != 0) {
		snprintf(err, errsz, "MEDIAGATE_AUDIT_LOG: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

bool
audit_enabled(void)
{
	return lg.path != NULL;
}

void
audit_close(void)
{
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = -1;
	free(lg.path);
	lg.path = NULL;
	buf_free(&lg.line);
}

/* Make lg.fd the file the path names now (see the top of the file). */
static int
follow(const char **cause)
{
	struct stat st, cur;

	if (lg.fd < 0) {
		if (reopen() != 0) {
			*cause = set_cause("open");
			return -1;
		}
		return 0;
	}
	if (stat(lg.path, &st) == 0) {
		if (st.st_dev == lg.dev && st.st_ino == lg.ino)
			return 0;
	} else if (fstat(lg.fd, &cur) == 0 && cur.st_nlink > 0)
		return 0;	/* renamed, the new one not made yet */
	if (reopen() != 0) {
		*cause = set_cause("reopen");
		return -1;
	}
	return 0;
}

enum mg_err
audit_write(const struct audit_event *ev, const char **cause)
{
	ssize_t n;

	*cause = NULL;
	if (lg.path == NULL)
		return MG_OK;
	buf_reset(&lg.line);
	/* After a short write, start on a fresh line so that the torn one
	 * stays alone and every later line parses. */
	if (lg.torn)
		buf_putc(&lg.line, '\n');
	if (audit_format(ev, &lg.line) != MG_OK) {
		*cause = "audit line: JSON generation failed";
		return MG_EAUDIT;
	}
	if (follow(cause) != 0)
		return MG_EAUDIT;
	do
		n = write(lg.fd, lg.line.ptr, lg.line.len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*cause = set_cause("write");
		return MG_EAUDIT;
	}
	if ((size_t)n != lg.line.len) {
		lg.torn = true;
		snprintf(lg.cause, sizeof(lg.cause), "audit log %s: short "
		    "write (%zd of %zu bytes)", lg.path, n, lg.line.len);
		*cause = lg.cause;
		return MG_EAUDIT;
	}
	lg.torn = false;
	return MG_OK;
}
