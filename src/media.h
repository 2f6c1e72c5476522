/*
 * media.h — the media lookup as the request core sees it: an interface, so
 * that the core decides every response without knowing where rows come
 * from.  db.c supplies the real source (PostgreSQL); the unit suites supply
 * a table.
 */
#ifndef MG_MEDIA_H
#define MG_MEDIA_H

#include <stddef.h>

#include "err.h"

/* One media row as the responder needs it.  The strings belong to the
 * source that filled it and live until media_release(). */
struct media {
	const char	*mime_type;		/* NULL: application/octet-stream */
	const char	*file_name;		/* original name, any UTF-8 */
	const char	*storage_file_name;	/* NULL: not uploaded yet */
	void		*priv;			/* the source's own handle */
};

struct media_source {
	/*
	 * Look up a live (not deleted) media by id, restricted to tenant
	 * unless tenant is NULL.  MG_OK fills *m (release it with
	 * release()), MG_ENOTFOUND when there is no such row, MG_EUNAVAIL
	 * when the store cannot be reached, MG_EINTERNAL for other
	 * failures; on failure errbuf says why (for the log only) and *m
	 * needs no release.
	 */
	enum mg_err	(*lookup)(void *ctx, const char *id, const char *tenant,
			    struct media *m, char *errbuf, size_t errsz);
	void		(*release)(void *ctx, struct media *m);
	void		*ctx;
	/*
	 * Health check (§7.1): can the store answer a trivial query within
	 * ms milliseconds, reconnecting as a lookup would?  MG_OK, or
	 * MG_EUNAVAIL with errbuf saying why (for the log only).  NULL: the
	 * store cannot be checked, /healthz answers 503.
	 */
	enum mg_err	(*ping)(void *ctx, long ms, char *errbuf,
			    size_t errsz);
};

static inline enum mg_err
media_lookup(const struct media_source *src, const char *id,
    const char *tenant, struct media *m, char *errbuf, size_t errsz)
{
	return src->lookup(src->ctx, id, tenant, m, errbuf, errsz);
}

static inline enum mg_err
media_ping(const struct media_source *src, long ms, char *errbuf,
    size_t errsz)
{
	return src->ping(src->ctx, ms, errbuf, errsz);
}

static inline void
media_release(const struct media_source *src, struct media *m)
{
	src->release(src->ctx, m);
}

#endif
