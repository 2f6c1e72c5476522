/*
 * metrics.c — the counter file shared by the responders of one host.
 *
 * Why a file: spawn-fcgi, multiwatch and mod_fcgid start responders as
 * separate processes that share nothing by inheritance (mediagate opens
 * everything after the fork), and any of them may be killed and replaced
 * at any time.  A scrape lands on one of them and must still report the
 * sum over all of them since the file was created.
 *
 * Layout (all integers native-endian; the file never leaves the host):
 *
 *   [0, 4096)              header: magic "MGMETRIC", layout version,
 *                          header size, slot size, slot count, creation
 *                          time.  A file whose header differs is refused
 *                          at start (one clear line), never reinterpreted.
 *   [4096 + i*1024, +1024) slot i: a "claimed" word, then one struct
 *                          metrics_counts, zero-padded.  1024 slots.
 *                          Counters added at the end of the struct
 *                          (sig_cache) fall in the padding: a file an
 *                          older mediagate made keeps its layout and
 *                          version, its slots reading 0 there.
 *
 * Creation is race-free: every process opens with O_CREAT (no O_EXCL, so
 * the first and the later ones take the same path), then takes an OFD
 * write lock on byte 0 and, under that lock, sizes the file with
 * ftruncate and writes the header if the file is empty or its header is
 * still all zero (a creator that died between ftruncate and the header
 * write).  Nobody maps the slots before a header has been checked under
 * the lock, so a half-made file is never read.
 *
 * Slot ownership: a process claims the first slot i whose one-byte OFD
 * lock (fcntl F_OFD_SETLK, byte 4096 + i*1024) it can take, and keeps the
 * lock for its whole life.  An OFD lock belongs to the open file
 * description, not to the process's threads or to a copy of the fd made
 * by fork, and the kernel drops it when the process dies however it dies
 * (SIGKILL included), so "the lock is free" means exactly "no live
 * process owns this slot".  A replacement process takes a free slot over
 * with the counts left in it and keeps adding to them: the sum over all
 * slots therefore never goes down, and since one slot has one owner at a
 * time nothing is counted twice.
 *
 * Counting: each slot has exactly one writer, its owner, so an increment
 * is a relaxed atomic load and store of a 64-bit word in the shared
 * mapping — no lock, no read-modify-write bus lock, no system call.  The
 * atomics only keep a concurrent scrape from reading a torn word; a scrape
 * may see one request's counter before its histogram, never a value that
 * was not there.
 *
 * Scraping: sum every slot ever claimed (live or not) and count as
 * responders the claimed slots whose lock is held now (F_OFD_GETLK from
 * the scraping process, its own slot counted directly: a process never
 * conflicts with its own lock).  These system calls happen on /metrics
 * only.
 *
 * Without a file (metrics off) or when all slots are taken, the counters
 * go to a private static slot, so the request path has no branch for it.
 */
/* F_OFD_SETLK and friends (Linux 3.15, POSIX.1-2024) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#define FILE_MAGIC	"MGMETRIC"
#define FILE_VERSION	1u
#define HEADER_SIZE	4096u
#define SLOT_SIZE	1024u
#define NSLOTS		1024u
#define FILE_SIZE	((off_t)HEADER_SIZE + (off_t)SLOT_SIZE * NSLOTS)

struct header {
	char		magic[8];
	uint32_t	version;
	uint32_t	header_size;
	uint32_t	slot_size;
	uint32_t	nslots;
	uint64_t	created;	/* time(2) when the file was made */
};

struct slot {
	uint64_t		claimed;	/* 1 once any process owned it */
	uint64_t		pad;
	struct metrics_counts	c;
};

_Static_assert(sizeof(struct slot) <= SLOT_SIZE, "slot too large");
_Static_assert(sizeof(struct header) <= HEADER_SIZE, "header too large");

const double metrics_bucket_le[METRICS_NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5,
};
const char *const metrics_bucket_text[METRICS_NBUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1", "2.5", "5",
};
/* The same bounds in nanoseconds, for the request path. */
static const uint64_t bucket_ns[METRICS_NBUCKETS] = {
	500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 500000000, 1000000000, 2500000000u, 5000000000u,
};
const int metrics_status_code[METRICS_NSTATUS] = {
	200, 201, 400, 401, 403, 404, 405, 406, 410, 413, 422, 500, 503, 0,
};

static struct slot private_slot;
static struct slot *mine = &private_slot;
static unsigned char *map;	/* the whole file, or NULL */
static int map_fd = -1;

static void
inc(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n,
	    __ATOMIC_RELAXED);
}

static struct slot *
slot_at(unsigned i)
{
	return (struct slot *)(map + HEADER_SIZE + (size_t)i * SLOT_SIZE);
}

static int
lock_byte(int fd, int cmd, short type, off_t at, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = at;
	fl->l_len = 1;
	/* OFD locks require l_pid == 0. */
	return fcntl(fd, cmd, fl);
}

static int
fail(char *err, size_t errsz, const char *path, const char *what)
{
	snprintf(err, errsz, "MEDIAGATE_METRICS_FILE: %s: %s", path, what);
	return -1;
}

/* Under the header lock: make the header, or check the one there. */
static int
check_header(int fd, const char *path, char *err, size_t errsz)
{
	static const char zero[sizeof(struct header)];
	struct header h;
	struct stat st;
	char why[160];

	if (fstat(fd, &st) != 0)
		return fail(err, errsz, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errsz, path, "not a regular file");
	if (st.st_size == 0 && ftruncate(fd, FILE_SIZE) != 0)
		return fail(err, errsz, path, strerror(errno));
	if (st.st_size != 0 && st.st_size != FILE_SIZE) {
		snprintf(why, sizeof(why), "%lld bytes, not a mediagate counter "
		    "file of layout %u (remove it)", (long long)st.st_size,
		    FILE_VERSION);
		return fail(err, errsz, path, why);
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return fail(err, errsz, path, "cannot read the header");
	if (memcmp(&h, zero, sizeof(h)) == 0) {
		memcpy(h.magic, FILE_MAGIC, sizeof(h.magic));
		h.version = FILE_VERSION;
		h.header_size = HEADER_SIZE;
		h.slot_size = SLOT_SIZE;
		h.nslots = NSLOTS;
		h.created = (uint64_t)time(NULL);
		if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			return fail(err, errsz, path, strerror(errno));
		return 0;
	}
	if (memcmp(h.magic, FILE_MAGIC, sizeof(h.magic)) != 0)
		return fail(err, errsz, path, "not a mediagate counter file");
	if (h.version != FILE_VERSION || h.header_size != HEADER_SIZE ||
	    h.slot_size != SLOT_SIZE || h.nslots != NSLOTS) {
		snprintf(why, sizeof(why), "made with layout %u, this mediagate "
		    "uses layout %u (remove the file)", h.version,
		    FILE_VERSION);
		return fail(err, errsz, path, why);
	}
	return 0;
}

int
metrics_attach(const char *path, char *err, size_t errsz)
{
	struct flock fl;
	unsigned i;
	void *p;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(err, errsz, path, strerror(errno));
	if (lock_byte(fd, F_OFD_SETLKW, F_WRLCK, 0, &fl) != 0) {
		fail(err, errsz, path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_header(fd, path, err, errsz) != 0) {
		close(fd);
		return -1;
	}
	(void)lock_byte(fd, F_OFD_SETLK, F_UNLCK, 0, &fl);

	p = mmap(NULL, (size_t)FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (p == MAP_FAILED) {
		fail(err, errsz, path, strerror(errno));
		close(fd);
		return -1;
	}
	map = p;
	map_fd = fd;
	for (i = 0; i < NSLOTS; i++)
		if (lock_byte(fd, F_OFD_SETLK, F_WRLCK,
		    (off_t)HEADER_SIZE + (off_t)i * SLOT_SIZE, &fl) == 0)
			break;
	if (i == NSLOTS) {
		snprintf(err, errsz, "MEDIAGATE_METRICS_FILE: %s: all %u slots "
		    "are held by live responders; this one is not counted",
		    path, NSLOTS);
		return 1;
	}
	mine = slot_at(i);
	__atomic_store_n(&mine->claimed, 1, __ATOMIC_RELAXED);
	return 0;
}

bool
metrics_attached(void)
{
	return map != NULL;
}

void
metrics_detach(void)
{
	if (map != NULL)
		munmap(map, (size_t)FILE_SIZE);
	if (map_fd >= 0)
		close(map_fd);	/* drops the slot's lock */
	map = NULL;
	map_fd = -1;
	mine = &private_slot;
}

int
metrics_status_index(int status)
{
	int i;

	for (i = 0; i < METRICS_NSTATUS - 1; i++)
		if (metrics_status_code[i] == status)
			return i;
	return METRICS_NSTATUS - 1;
}

void
metrics_request(enum metrics_op op, int status, uint64_t ns)
{
	int b;

	if ((unsigned)op >= METRICS_NOPS)
		op = METRICS_OP_OTHER;
	inc(&mine->c.requests[op][metrics_status_index(status)], 1);
	if (op != METRICS_OP_ISSUE && op != METRICS_OP_DOWNLOAD)
		return;
	for (b = 0; b < METRICS_NBUCKETS && ns > bucket_ns[b]; b++)
		;
	inc(&mine->c.bucket[op][b], 1);
	inc(&mine->c.duration_ns[op], ns);
}

void
metrics_db_connect(bool ok)
{
	inc(&mine->c.db_connects[ok ? 0 : 1], 1);
}

void
metrics_key_reload(bool ok)
{
	inc(&mine->c.key_reloads[ok ? 0 : 1], 1);
}

void
metrics_sig_cache(uint64_t hits, uint64_t misses)
{
	if (hits != 0)
		inc(&mine->c.sig_cache[0], hits);
	if (misses != 0)
		inc(&mine->c.sig_cache[1], misses);
}

void
metrics_sum(struct metrics_counts *sum,
    const struct metrics_counts *const *slots, size_t nslots)
{
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)sum;
	size_t i, k, n = sizeof(*sum) / sizeof(uint64_t);

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < nslots; i++) {
		src = (const uint64_t *)slots[i];
		for (k = 0; k < n; k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
}

int
metrics_snapshot(struct metrics_counts *sum, unsigned *responders)
{
	const struct metrics_counts *used[NSLOTS];
	struct flock fl;
	size_t n = 0;
	unsigned i;

	*responders = 0;
	if (map == NULL) {
		memset(sum, 0, sizeof(*sum));
		return -1;
	}
	for (i = 0; i < NSLOTS; i++) {
		struct slot *s = slot_at(i);

		if (__atomic_load_n(&s->claimed, __ATOMIC_RELAXED) == 0)
			continue;
		used[n++] = &s->c;
		if (s == mine)
			(*responders)++;
		else if (lock_byte(map_fd, F_OFD_GETLK, F_WRLCK,
		    (off_t)HEADER_SIZE + (off_t)i * SLOT_SIZE, &fl) == 0 &&
		    fl.l_type != F_UNLCK)
			(*responders)++;
	}
	metrics_sum(sum, used, n);
	return 0;
}
