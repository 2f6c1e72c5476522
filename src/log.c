/* log.c — stderr logging. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static char prefix[32] = "mediagate: ";
static long pid;	/* read once: getpid(2) is a system call each time */

void
log_init(void)
{
	pid = (long)getpid();
	snprintf(prefix, sizeof(prefix), "mediagate[%ld]: ", pid);
}

void
log_msg(const char *fmt, ...)
{
	char line[2048];
	size_t n;
	va_list ap;
	int r;

	n = strlen(prefix);
	memcpy(line, prefix, n);
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r :
	    sizeof(line) - n - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

/* Decimal a, '-', decimal b into out, cut to outsz - 1 bytes. */
static void
id_format(char *out, size_t outsz, unsigned long a, unsigned long b)
{
	char tmp[2 * BUF_UINT_MAX + 2];
	size_t n;

	n = buf_fmt_uint(tmp, a);
	tmp[n++] = '-';
	n += buf_fmt_uint(tmp + n, b);
	if (outsz == 0)
		return;
	if (n > outsz - 1)
		n = outsz - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

void
log_request_id(const char *given, char *out, size_t outsz)
{
	static unsigned long counter;
	size_t len = given != NULL ? strlen(given) : 0;

	if (len > 0 && len <= 64 && len < outsz &&
	    strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == len) {
		memcpy(out, given, len + 1);
		return;
	}
	if (pid == 0)
		pid = (long)getpid();
	/* "pid-counter", written without snprintf (once per request). */
	id_format(out, outsz, (unsigned long)pid, ++counter);
}
