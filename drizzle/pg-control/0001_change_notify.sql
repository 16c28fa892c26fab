-- Every instance caches verified credentials for at most a second; this makes a change visible at once.
-- A change to a tenant, an API key, an OAuth grant or a member (from any instance, the CLI, or SQL typed
-- by hand; not a key's last-use time or a refresh-token rotation) notifies channel mcp_mt_control; listeners drop their caches. A notification sent while a
-- listener is disconnected is lost, so listeners also drop everything when they (re)connect.
CREATE OR REPLACE FUNCTION mcp_mt_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mcp_mt_control', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER tenants_notify AFTER UPDATE OR DELETE ON "tenants" FOR EACH STATEMENT EXECUTE FUNCTION mcp_mt_notify_change();
--> statement-breakpoint
CREATE TRIGGER api_keys_notify AFTER UPDATE OF revoked_at, expires_at, scopes, hash, tenant_id OR DELETE ON "api_keys" FOR EACH STATEMENT EXECUTE FUNCTION mcp_mt_notify_change();
--> statement-breakpoint
CREATE TRIGGER oauth_grants_notify AFTER UPDATE OF revoked_at, scopes, tenant_id OR DELETE ON "oauth_grants" FOR EACH STATEMENT EXECUTE FUNCTION mcp_mt_notify_change();
--> statement-breakpoint
CREATE TRIGGER members_notify AFTER UPDATE OF role, tenant_id OR DELETE ON "members" FOR EACH STATEMENT EXECUTE FUNCTION mcp_mt_notify_change();
