-- An organization's documents in one pass, the PostgreSQL twin of the SQLite migration with the
-- same version: every customer gets a stable number, doc, and every membership carries its
-- customer's, so that a read walks the organization's memberships in customer id order (the
-- primary key of organization_customers) and fetches each document through a unique index on
-- one bigint instead of the two text columns of the primary key. The document stays in one
-- place, customers, whatever the number of organizations a customer is in.
--
-- doc is an identity column: the inserting roles need no right on its sequence. Existing rows
-- get their numbers as the column is added; existing memberships get theirs from customers with
-- the tables' policies lifted for this transaction only (NO FORCE, then FORCE again: the
-- migrating owner sees every tenant's rows). The UPDATE fires none of the triggers of 00003 and
-- 00004 (they are on INSERT and DELETE of memberships and on customers), so no version and no
-- erasure count changes.
--
-- organization_customers.doc is filled by the store's writes; a trigger fills it for any other
-- insert (an operator's SQL), and its WHEN clause costs the store's writes nothing. A customer's
-- doc never changes, and deleting a customer deletes its memberships (ON DELETE CASCADE).

-- +goose Up
ALTER TABLE customers ADD COLUMN doc bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX customers_by_doc ON customers (doc);
ALTER TABLE organization_customers ADD COLUMN doc bigint;

ALTER TABLE customers NO FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_customers NO FORCE ROW LEVEL SECURITY;
UPDATE organization_customers AS oc SET doc = c.doc
FROM customers AS c
WHERE c.tenant_id = oc.tenant_id AND c.id = oc.customer_id;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_customers FORCE ROW LEVEL SECURITY;

-- +goose StatementBegin
CREATE FUNCTION organization_customers_doc() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.doc := (SELECT c.doc FROM customers AS c WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.customer_id);
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER organization_customers_doc BEFORE INSERT ON organization_customers
    FOR EACH ROW WHEN (NEW.doc IS NULL) EXECUTE FUNCTION organization_customers_doc();

-- +goose Down
DROP TRIGGER organization_customers_doc ON organization_customers;
DROP FUNCTION organization_customers_doc();
ALTER TABLE organization_customers DROP COLUMN doc;
DROP INDEX customers_by_doc;
ALTER TABLE customers DROP COLUMN doc;
