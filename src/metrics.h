/*
 * metrics.h — counters shared by every responder of one host, and their
 * Prometheus text exposition (format 0.0.4).
 *
 * The shared counter file is described at the top of metrics.c.  The
 * request path (metrics_request, metrics_db_connect, metrics_key_reload)
 * takes no lock and makes no system call; attaching, detaching and
 * metrics_snapshot (a scrape) may.  Rendering (metrics_render) and the
 * allow list (metrics_allow_*) are pure.
 */
#ifndef MG_METRICS_H
#define MG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The operation label of mediagate_requests_total. */
enum metrics_op {
	METRICS_OP_ISSUE = 0,
	METRICS_OP_DOWNLOAD,
	METRICS_OP_HEALTH,
	METRICS_OP_METRICS,
	METRICS_OP_OTHER,
	METRICS_NOPS
};

/* Operations with a duration histogram: issue and download (§7.2). */
#define METRICS_NTIMED		2
/* Statuses mediagate answers with, plus one cell for any other. */
#define METRICS_NSTATUS		14
/* Upper bounds (seconds) of the histogram buckets, +Inf aside. */
#define METRICS_NBUCKETS	13
extern const double metrics_bucket_le[METRICS_NBUCKETS];
extern const char *const metrics_bucket_text[METRICS_NBUCKETS];
extern const int metrics_status_code[METRICS_NSTATUS];	/* 0: other */

/*
 * The counters of one responder's slot, and of their sum.  Histogram
 * buckets are not cumulative here (bucket[i] counts durations in
 * (le[i-1], le[i]], bucket[METRICS_NBUCKETS] those above the last bound);
 * the exposition makes them cumulative.
 */
struct metrics_counts {
	uint64_t	requests[METRICS_NOPS][METRICS_NSTATUS];
	uint64_t	bucket[METRICS_NTIMED][METRICS_NBUCKETS + 1];
	uint64_t	duration_ns[METRICS_NTIMED];
	uint64_t	db_connects[2];		/* [0] ok, [1] failed */
	uint64_t	key_reloads[2];		/* [0] ok, [1] failed */
	/* Appended in a slot's zero padding: a file made by an older
	 * mediagate keeps its layout, its slots read 0 here. */
	uint64_t	sig_cache[2];		/* [0] hits, [1] misses */
};

/*
 * Attach this process to the counter file at path, creating it if needed,
 * and claim a slot for the life of the process.  Call after the process
 * has started (after spawn-fcgi's fork) and before serving.  Returns 0, or
 * -1 with err filled (not a mediagate counter file, another layout, cannot
 * open or map): the caller stops with that line.  Returns 1 with err
 * filled when every slot is held by a live process: counting then goes to
 * a private slot that no scrape sees (the caller logs the line).
 */
int	metrics_attach(const char *path, char *err, size_t errsz);
bool	metrics_attached(void);
void	metrics_detach(void);

/* Index of an HTTP status in metrics_counts.requests[][]. */
int	metrics_status_index(int status);

/* Count a finished request: operation, HTTP status, duration. */
void	metrics_request(enum metrics_op op, int status, uint64_t ns);
/* Count a database connection attempt. */
void	metrics_db_connect(bool ok);
/* Count a key file reload (§3.1): taken (ok) or refused (failed). */
void	metrics_key_reload(bool ok);
/* Count lookups in the cache of verified RS/ES signatures (sigcache.h). */
void	metrics_sig_cache(uint64_t hits, uint64_t misses);

/*
 * Sum every slot of the file into *sum and count the slots whose lock is
 * held by a live process into *responders.  0, or -1 when not attached.
 */
int	metrics_snapshot(struct metrics_counts *sum, unsigned *responders);

/* Sum of the counters of nslots slots (pure; the file's core). */
void	metrics_sum(struct metrics_counts *sum,
	    const struct metrics_counts *const *slots, size_t nslots);

/*
 * Append the exposition of sum, responders and the build's version to out
 * (pure).  Every histogram and the ok/failed counters appear even when
 * zero; request counters only for the operation/status pairs seen.
 */
void	metrics_render(const struct metrics_counts *sum, unsigned responders,
	    const char *version, struct buf *out);

/* Content-Type of the exposition. */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* MEDIAGATE_METRICS_ALLOW: addresses and CIDR blocks, IPv4 and IPv6. */
#define METRICS_ALLOW_MAX	64
#define METRICS_ALLOW_DEFAULT	"127.0.0.1,::1"

struct metrics_net {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned	 prefix;	/* 0..32 or 0..128 */
	unsigned char	 addr[16];	/* network, host bits cleared */
};

struct metrics_allow {
	size_t			n;
	struct metrics_net	net[METRICS_ALLOW_MAX];
};

/*
 * Parse a comma-separated list of addresses ("192.0.2.1", "::1") and CIDR
 * blocks ("10.0.0.0/8", "2001:db8::/32"); blanks around items are allowed,
 * empty items are not; host bits below the prefix are ignored.  0, or -1
 * with err filled naming the bad item.
 */
int	metrics_allow_parse(const char *spec, struct metrics_allow *a,
	    char *err, size_t errsz);

/*
 * True if addr (REMOTE_ADDR, as text) is inside one of the blocks.  An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1, as a dual-stack socket
 * reports IPv4 clients) also matches as the IPv4 address it carries.
 */
bool	metrics_allow_match(const struct metrics_allow *a, const char *addr);

#endif
