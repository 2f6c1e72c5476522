-- Sample data for the demo (deploy/demo): two tenants, files for each, one
-- not uploaded yet and one deleted.  storage_file_name is relative to
-- MEDIAGATE_STORAGE_ROOT.

INSERT INTO media (id, tenant_id, folder, mime_type, file_extension,
                   file_name, storage_file_name, deleted_at) VALUES
  ('invoice-2024-001', 'acme', 'invoices', 'application/pdf', 'pdf',
   'Invoice 2024-001.pdf', 'acme/invoices/invoice-2024-001.pdf', NULL),
  ('invoice-2024-002', 'acme', 'invoices', 'application/pdf', 'pdf',
   'Rechnung Müller "Q1".pdf', 'acme/invoices/invoice-2024-002.pdf', NULL),
  ('logo-acme', 'acme', 'branding', 'image/png', 'png',
   'acme-logo.png', 'acme/branding/logo.png', NULL),
  ('contract-draft', 'acme', 'contracts', 'application/pdf', 'pdf',
   'contract-draft.pdf', NULL, NULL),
  ('invoice-2023-999', 'acme', 'invoices', 'application/pdf', 'pdf',
   'old invoice.pdf', 'acme/invoices/invoice-2023-999.pdf', now()),
  ('report-q3', 'globex', 'reports', 'text/csv', 'csv',
   'Q3 report.csv', 'globex/reports/q3.csv', NULL);
