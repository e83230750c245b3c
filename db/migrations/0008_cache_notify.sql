-- Issue 9. Every change to what the bot caches per tenant (tenants.settings: content mode,
-- registry allowlist, LLM settings; roles; apps) announces the tenant on channel
-- `hoist_tenant_changed`, from whichever process or tool made it (another bot instance, the
-- admin CLI, psql). PostgreSQL delivers a NOTIFY only when the transaction commits, so a
-- listener (db/tenant-cache.ts) that drops its entries on arrival never serves a value older
-- than the commit that changed it by more than the delivery delay.
CREATE OR REPLACE FUNCTION hoist_notify_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_t text;
  new_t text;
BEGIN
  -- tenants is keyed by id, the others by tenant_id.
  IF TG_OP <> 'INSERT' THEN old_t := coalesce(to_jsonb(OLD) ->> 'tenant_id', to_jsonb(OLD) ->> 'id'); END IF;
  IF TG_OP <> 'DELETE' THEN new_t := coalesce(to_jsonb(NEW) ->> 'tenant_id', to_jsonb(NEW) ->> 'id'); END IF;
  IF new_t IS NOT NULL THEN PERFORM pg_notify('hoist_tenant_changed', new_t); END IF;
  IF old_t IS NOT NULL AND old_t IS DISTINCT FROM new_t THEN PERFORM pg_notify('hoist_tenant_changed', old_t); END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER tenants_notify_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION hoist_notify_tenant_changed();
--> statement-breakpoint
CREATE TRIGGER roles_notify_changed AFTER INSERT OR UPDATE OR DELETE ON roles
  FOR EACH ROW EXECUTE FUNCTION hoist_notify_tenant_changed();
--> statement-breakpoint
CREATE TRIGGER apps_notify_changed AFTER INSERT OR UPDATE OR DELETE ON apps
  FOR EACH ROW EXECUTE FUNCTION hoist_notify_tenant_changed();
--> statement-breakpoint
-- TRUNCATE (tests, hand maintenance) names no rows: '*' means every tenant.
CREATE OR REPLACE FUNCTION hoist_notify_all_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hoist_tenant_changed', '*');
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER tenants_notify_truncate AFTER TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION hoist_notify_all_changed();
--> statement-breakpoint
CREATE TRIGGER roles_notify_truncate AFTER TRUNCATE ON roles FOR EACH STATEMENT EXECUTE FUNCTION hoist_notify_all_changed();
--> statement-breakpoint
CREATE TRIGGER apps_notify_truncate AFTER TRUNCATE ON apps FOR EACH STATEMENT EXECUTE FUNCTION hoist_notify_all_changed();
