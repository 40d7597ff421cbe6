-- Initial schema, the PostgreSQL twin of the SQLite migration with the same version. Every table
-- is scoped by tenant: the tenant id leads every key, so a query that names a tenant can never
-- reach another tenant's rows. Identifiers use the "C" collation, so that ordering by id is byte
-- order whatever the database's default collation, and the primary keys serve that order.
--
-- Row-level security is a second wall behind the tenant condition of every query: the store
-- sets app.tenant_id for the transaction of each statement (set_config(..., true)), and the
-- policies hide every row of another tenant. FORCE makes the policies apply to the tables'
-- owner too; only superusers and roles with BYPASSRLS skip them, so the service must not run as
-- one. tenants has no policy: it holds ids only, and Empty needs to see all of them.

-- +goose Up
CREATE TABLE tenants (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organizations (
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
    id         text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Documents are kept as json, not jsonb: the store treats them as opaque, json returns the
-- stored text as is (no re-serialization on every read), accepts every valid JSON text (jsonb
-- refuses \u0000) and still refuses text that is not JSON.
CREATE TABLE customers (
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
    id         text COLLATE "C" NOT NULL,
    document   json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Documents (a few KB each) are compressed with lz4 where the server has it: it compresses
-- several times faster than the default pglz, which otherwise dominates an import's time, at
-- about the same size. A server built without lz4 keeps pglz.
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE 'ALTER TABLE customers ALTER COLUMN document SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'customers.document keeps the default compression: %', SQLERRM;
END
$$;
-- +goose StatementEnd

-- The primary key orders an organization's members by customer id, so listing them ordered by id
-- is a range scan of this index joined to customers by primary key, with no sort.
CREATE TABLE organization_customers (
    tenant_id       text COLLATE "C" NOT NULL,
    organization_id text COLLATE "C" NOT NULL,
    customer_id     text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, customer_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);

-- Finds the organizations of a customer; also what the foreign key to customers needs.
CREATE INDEX organization_customers_by_customer
    ON organization_customers (tenant_id, customer_id, organization_id);

-- Kept apart from customers so that the read path cannot load secrets by accident.
CREATE TABLE customer_secrets (
    tenant_id            text COLLATE "C" NOT NULL,
    customer_id          text COLLATE "C" NOT NULL,
    password_hash        text NOT NULL DEFAULT '',
    pin_hash             text NOT NULL DEFAULT '',
    secret_answer_hashes text[] NOT NULL DEFAULT '{}' CHECK (array_position(secret_answer_hashes, NULL) IS NULL),
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);

-- The tenant of the current transaction, or NULL when none is set: then no policy matches. The
-- sub-select makes PostgreSQL evaluate it once per statement rather than once per row.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
    USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')));

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers
    USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')));

ALTER TABLE organization_customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_customers
    USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')));

ALTER TABLE customer_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_secrets
    USING (tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')));

-- +goose Down
DROP TABLE customer_secrets;
DROP TABLE organization_customers;
DROP TABLE customers;
DROP TABLE organizations;
DROP TABLE tenants;
