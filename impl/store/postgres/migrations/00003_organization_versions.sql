-- Organizations get a version, the PostgreSQL twin of the SQLite migration with the same
-- version: an opaque token that changes whenever the organization's membership or the document
-- of one of its customers changes, so that the read path can answer If-None-Match and find
-- cached bodies with one primary-key lookup. Triggers keep it right whatever writes the tables
-- (the import, a later write path, an operator's DELETE, the ON DELETE CASCADE of a customer or
-- an organization). Versions are random rather than counters, so that an organization deleted
-- and created again with the same id never repeats an old version.
--
-- The triggers are statement-level with transition tables: an import writes a batch of
-- customers with one statement, and each organization the statement touches gets one new
-- version per statement rather than one row version (a dead tuple) per customer. PostgreSQL
-- allows transition tables only on single-event triggers without a column list; for
-- INSERT ... ON CONFLICT DO UPDATE, the INSERT trigger sees the inserted rows and the UPDATE
-- trigger the updated ones, and ON CONFLICT DO NOTHING puts nothing in the transition table.
--
-- The trigger functions run as the tables' owner (SECURITY DEFINER), so the runtime role needs
-- no UPDATE on organizations. Row-level security still applies to the owner (FORCE): each
-- function scopes itself to each tenant whose rows the statement changed, then restores the
-- caller's tenant. The changed rows passed the caller's own policies and grants, so a caller
-- can only touch the versions of organizations whose members it could write.

-- +goose Up
-- A volatile default: every existing organization gets its own version, every new one too.
ALTER TABLE organizations ADD COLUMN version text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');

-- +goose StatementBegin
-- Fired with the inserted or deleted members as the transition table "changed".
CREATE FUNCTION organization_customers_touch_versions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    caller text := current_setting('app.tenant_id', true);
    tenant text;
BEGIN
    FOR tenant IN SELECT DISTINCT tenant_id FROM changed LOOP
        PERFORM set_config('app.tenant_id', tenant, true);
        UPDATE organizations SET version = replace(gen_random_uuid()::text, '-', '')
        WHERE tenant_id = tenant
          AND id IN (SELECT organization_id FROM changed WHERE tenant_id = tenant);
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(caller, ''), true);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Fired with the updated customers as old_rows and new_rows. Only a changed document counts:
-- the import rewrites a customer whose secrets alone changed with the same document.
CREATE FUNCTION customers_touch_versions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    caller text := current_setting('app.tenant_id', true);
    tenant text;
BEGIN
    FOR tenant IN
        SELECT DISTINCT n.tenant_id
        FROM new_rows AS n
        JOIN old_rows AS o ON o.tenant_id = n.tenant_id AND o.id = n.id
        WHERE n.document::text IS DISTINCT FROM o.document::text
    LOOP
        PERFORM set_config('app.tenant_id', tenant, true);
        UPDATE organizations SET version = replace(gen_random_uuid()::text, '-', '')
        WHERE tenant_id = tenant
          AND id IN (SELECT oc.organization_id
                     FROM new_rows AS n
                     JOIN old_rows AS o ON o.tenant_id = n.tenant_id AND o.id = n.id
                     JOIN organization_customers AS oc ON oc.tenant_id = n.tenant_id AND oc.customer_id = n.id
                     WHERE n.tenant_id = tenant AND n.document::text IS DISTINCT FROM o.document::text);
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(caller, ''), true);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- A SECURITY DEFINER function must not find its tables through the caller's search_path.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION organization_customers_touch_versions() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION customers_touch_versions() SET search_path = %I, pg_temp', current_schema());
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION organization_customers_touch_versions() FROM PUBLIC;
REVOKE ALL ON FUNCTION customers_touch_versions() FROM PUBLIC;

CREATE TRIGGER organization_customers_version_insert AFTER INSERT ON organization_customers
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION organization_customers_touch_versions();

CREATE TRIGGER organization_customers_version_delete AFTER DELETE ON organization_customers
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION organization_customers_touch_versions();

CREATE TRIGGER customers_version_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customers_touch_versions();

-- +goose Down
DROP TRIGGER customers_version_update ON customers;
DROP TRIGGER organization_customers_version_delete ON organization_customers;
DROP TRIGGER organization_customers_version_insert ON organization_customers;
DROP FUNCTION customers_touch_versions();
DROP FUNCTION organization_customers_touch_versions();
ALTER TABLE organizations DROP COLUMN version;
