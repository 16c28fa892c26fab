-- The tenant's running totals (one row), kept by the store's own statements: a quota check is a conditional
-- update of this row, which serializes concurrent writers of the tenant so they cannot overshoot.
INSERT INTO tenant_stats (id, documents, bytes) VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
