/*
 * proc.h — time limits that scale when the responders run under valgrind,
 * and the states of processes the tests wait for (an event, never a
 * guessed delay): alive, gone, sitting in accept(2).  Depends on Check
 * only, so that every test program can link it.
 */
#ifndef MG_TEST_PROC_H
#define MG_TEST_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ */
/* Time */

/* Milliseconds of CLOCK_MONOTONIC. */
long long ms_now(void);

/* How much slower than natively the responders run: MG_TIME_SCALE when
 * set, else 10 when MG_WRAP is set (responders under valgrind), else 1. */
long	 time_scale(void);

/* A limit of ms milliseconds on a native run, scaled by time_scale(). */
long long scaled_ms(long long ms);

/* ------------------------------------------------------------------ */
/* Processes */

/* pid exists and is not a zombie (responders are not our children). */
bool	 proc_alive(pid_t pid);

/* Waits up to ms for pid to end; true if it did. */
bool	 proc_gone_within(pid_t pid, long long ms);

/* Whether pid sits in accept(2)/accept4(2) now (/proc/PID/syscall; the
 * numbers come from <sys/syscall.h>, so they fit the architecture). */
bool	 proc_in_accept(pid_t pid);

/* Waits up to ms (scaled) until pid sits in accept(2); asserts it. */
void	 proc_wait_accept(pid_t pid, long long ms);

#endif
