/*
 * buf.h — a growable byte buffer, always NUL-terminated.
 *
 * Ownership: a struct buf owns ptr; buf_free() releases it.  buf_reset()
 * keeps the memory so that per-request buffers are reused across requests
 * instead of reallocated.  Allocation failure aborts the process (the
 * supervisor starts a new one); no caller has to handle it.
 */
#ifndef MG_BUF_H
#define MG_BUF_H

#include <stddef.h>

struct buf {
	char	*ptr;	/* NUL-terminated content, or NULL before first use */
	size_t	 len;	/* bytes used, not counting the NUL */
	size_t	 cap;	/* bytes allocated */
};

void	 buf_reset(struct buf *b);
void	 buf_free(struct buf *b);
void	 buf_append(struct buf *b, const void *data, size_t len);
void	 buf_puts(struct buf *b, const char *s);
void	 buf_putc(struct buf *b, char c);
/* Decimal digits of v, as "%llu" would write them, without vfprintf:
 * appended to b, or written to out (BUF_UINT_MAX + 1 bytes: the digits
 * and a NUL; returns their count). */
#define BUF_UINT_MAX	20	/* digits of 2^64 - 1 */
void	 buf_put_uint(struct buf *b, unsigned long long v);
size_t	 buf_fmt_uint(char *out, unsigned long long v);
void	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Content as a C string; "" for a buffer never written. */
const char *buf_str(const struct buf *b);

/* Allocation helpers with the same abort-on-failure policy. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

#endif
