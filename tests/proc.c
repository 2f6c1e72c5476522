/* proc.c — time limits and process states for the tests; see proc.h. */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "proc.h"

/* ------------------------------------------------------------------ */
/* Time */

long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long
time_scale(void)
{
	const char *s = getenv("MG_TIME_SCALE"), *wrap = getenv("MG_WRAP");
	long v;

	if (s != NULL && (v = strtol(s, NULL, 10)) >= 1)
		return v;
	return wrap != NULL && *wrap != '\0' ? 10 : 1;
}

long long
scaled_ms(long long ms)
{
	return ms * time_scale();
}

/* ------------------------------------------------------------------ */
/* Processes */

bool
proc_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

bool
proc_gone_within(pid_t pid, long long ms)
{
	long long end = ms_now() + ms;

	while (proc_alive(pid)) {
		if (ms_now() > end)
			return false;
		usleep(10000);
	}
	return true;
}

bool
proc_in_accept(pid_t pid)
{
	char path[64];
	long nr = -2;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -2;
	fclose(f);
#ifdef SYS_accept
	if (nr == SYS_accept)
		return true;
#endif
	return nr == SYS_accept4;
}

void
proc_wait_accept(pid_t pid, long long ms)
{
	long long end = ms_now() + scaled_ms(ms);

	while (!proc_in_accept(pid)) {
		ck_assert_msg(proc_alive(pid), "process %ld is gone",
		    (long)pid);
		ck_assert_msg(ms_now() < end, "process %ld not in accept() "
		    "within %lld ms", (long)pid, scaled_ms(ms));
		usleep(10000);
	}
}

