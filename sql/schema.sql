-- mediagate schema: the media table and a read-only role for responders.
--
--   psql -v ON_ERROR_STOP=1 -d DB -f sql/schema.sql
--
-- Run on an empty database.  Responders connect as a LOGIN role that is a
-- member of mediagate_reader, e.g.
--   CREATE ROLE mediagate LOGIN IN ROLE mediagate_reader;

CREATE TABLE media (
  id                text PRIMARY KEY
                    CONSTRAINT media_id_format
                    CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  tenant_id         text NOT NULL,
  folder            text NOT NULL DEFAULT 'default',
  is_private        boolean NOT NULL DEFAULT true,
  mime_type         text,                      -- NULL: application/octet-stream
  file_extension    text,
  file_name         text NOT NULL,             -- original name, any UTF-8
  storage_file_name text,                      -- relative path under STORAGE_ROOT; NULL: not uploaded yet
  created_at        timestamptz NOT NULL DEFAULT now(),
  deleted_at        timestamptz                -- set: the media is gone
);

-- Every responder lookup is by primary key (id), which needs no further
-- index.  Listing a tenant's live media, the platform's other common
-- query, is served by this partial index.
CREATE INDEX media_tenant_live_idx
  ON media (tenant_id, created_at)
  WHERE deleted_at IS NULL;

-- Least privilege: responders only read the columns they use.  Roles are
-- cluster-wide, so the role is created only if another database of the
-- cluster has not already done so.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediagate_reader') THEN
    CREATE ROLE mediagate_reader NOLOGIN;
  END IF;
END
$$;

REVOKE ALL ON media FROM PUBLIC;
GRANT SELECT (id, tenant_id, mime_type, file_name, storage_file_name,
              deleted_at)
  ON media TO mediagate_reader;
