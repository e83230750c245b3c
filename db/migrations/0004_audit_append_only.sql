-- Issue 8. The audit log is append-only for the application: UPDATE, DELETE and TRUNCATE are
-- refused unless the transaction set `hoist.audit_maintenance = 'on'` (SET LOCAL /
-- set_config(..., true)), which only retention, forget-me and tenant deletion do
-- (db/privacy). A superuser can still bypass triggers; `hoist audit verify` is what catches that.
CREATE OR REPLACE FUNCTION hoist_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('hoist.audit_maintenance', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    IF TG_OP = 'UPDATE' THEN RETURN NEW; END IF;
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % refused outside audit maintenance', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION hoist_audit_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION hoist_audit_append_only();
--> statement-breakpoint
-- Tenant data keys move to tenant_keys (one row per key version); 'legacy' marks a key
-- wrapped before master key ids existed (db/crypto.ts unwraps it with any known master key).
INSERT INTO tenant_keys (tenant_id, version, wrapped_key, master_kid)
  SELECT id, key_version, wrapped_key, 'legacy' FROM tenants WHERE wrapped_key IS NOT NULL
  ON CONFLICT DO NOTHING;
--> statement-breakpoint
-- Heads for chains written before audit_heads existed (unsigned; the next append signs them).
INSERT INTO audit_heads (tenant_id, seq, hash)
  SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash FROM audit_events ORDER BY tenant_id, seq DESC
  ON CONFLICT DO NOTHING;
