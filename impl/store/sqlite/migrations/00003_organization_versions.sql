-- Organizations get a version: an opaque token that changes whenever the organization's
-- membership or the document of one of its customers changes, so that the read path can answer
-- If-None-Match and find cached bodies with one primary-key lookup. Triggers keep it right
-- whatever writes the tables (the import, a later write path, an operator's DELETE, the
-- ON DELETE CASCADE of a customer or an organization). Versions are random rather than
-- counters, so that an organization deleted and created again with the same id never repeats
-- an old version.
--
-- The twin of the PostgreSQL migration with the same version. SQLite has no statement-level
-- triggers, so each inserted or deleted member writes the organization's row once; that is one
-- small primary-key update per new member of an import.

-- +goose Up
-- ADD COLUMN takes constant defaults only: new organizations get their version from a trigger.
ALTER TABLE organizations ADD COLUMN version TEXT NOT NULL DEFAULT '';
UPDATE organizations SET version = lower(hex(randomblob(16)));

-- +goose StatementBegin
CREATE TRIGGER organizations_version_new AFTER INSERT ON organizations
WHEN NEW.version = ''
BEGIN
    UPDATE organizations SET version = lower(hex(randomblob(16)))
    WHERE tenant_id = NEW.tenant_id AND id = NEW.id;
END;
-- +goose StatementEnd

-- An import's INSERT ... ON CONFLICT DO NOTHING of an existing member inserts nothing and fires
-- nothing, so a re-import that changes nothing keeps the version.
-- +goose StatementBegin
CREATE TRIGGER organization_customers_version_insert AFTER INSERT ON organization_customers
BEGIN
    UPDATE organizations SET version = lower(hex(randomblob(16)))
    WHERE tenant_id = NEW.tenant_id AND id = NEW.organization_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER organization_customers_version_delete AFTER DELETE ON organization_customers
BEGIN
    UPDATE organizations SET version = lower(hex(randomblob(16)))
    WHERE tenant_id = OLD.tenant_id AND id = OLD.organization_id;
END;
-- +goose StatementEnd

-- Every organization holding the customer, found through organization_customers_by_customer.
-- An update that writes the same document (the import does when only secrets changed) keeps
-- the versions.
-- +goose StatementBegin
CREATE TRIGGER customers_version_update AFTER UPDATE OF document ON customers
WHEN OLD.document IS NOT NEW.document
BEGIN
    UPDATE organizations SET version = lower(hex(randomblob(16)))
    WHERE tenant_id = NEW.tenant_id
      AND id IN (SELECT organization_id FROM organization_customers
                 WHERE tenant_id = NEW.tenant_id AND customer_id = NEW.id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER customers_version_update;
DROP TRIGGER organization_customers_version_delete;
DROP TRIGGER organization_customers_version_insert;
DROP TRIGGER organizations_version_new;
ALTER TABLE organizations DROP COLUMN version;
