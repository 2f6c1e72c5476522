-- Rows the integration tests (tests/check_integration.c) rely on, loaded
-- after sql/schema.sql.  Only the columns of the contract's media table are
-- named, as any deployment's table has at least those.  The files behind
-- storage_file_name are written by the test program under
-- MG_TEST_STORAGE; rows the tests change or that carry hostile values are
-- inserted by the tests themselves so that this file stays the baseline.

INSERT INTO media (id, tenant_id, folder, is_private, mime_type,
                   file_extension, file_name, storage_file_name,
                   deleted_at) VALUES
  -- the ordinary case: a stored PDF with a name that needs quoting
  ('m-pdf', 'acme', 'invoices', true, 'application/pdf', 'pdf',
   'Invoice 1.pdf', 'acme/m-pdf.pdf', NULL),
  -- not uploaded yet: issuing answers 422
  ('m-nofile', 'acme', 'default', true, 'application/pdf', 'pdf',
   'pending.pdf', NULL, NULL),
  -- deleted: gone for every operation
  ('m-deleted', 'acme', 'default', true, 'application/pdf', 'pdf',
   'old.pdf', 'acme/m-deleted.pdf', now()),
  -- no MIME type: served as application/octet-stream
  ('m-nomime', 'acme', 'default', true, NULL, NULL,
   'blob', 'acme/m-nomime.bin', NULL),
  -- another tenant's media: invisible to acme
  ('g-doc', 'globex', 'docs', true, 'text/plain', 'txt',
   'globex notes.txt', 'globex/g-doc.txt', NULL);
