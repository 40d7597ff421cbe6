-- Initial schema. Every table is scoped by tenant: the tenant id leads every key, so a query
-- that names a tenant can never reach another tenant's rows.

-- +goose Up
CREATE TABLE tenants (
    id         TEXT NOT NULL PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT, WITHOUT ROWID;

CREATE TABLE organizations (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- Documents can be large, so customers keep a rowid table; its primary key index serves the
-- lookups by (tenant_id, id).
CREATE TABLE customers (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    document   TEXT NOT NULL CHECK (json_valid(document)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- The primary key orders an organization's members by customer id, so listing them ordered by id
-- is a range scan of this table joined to customers by primary key, with no sort.
CREATE TABLE organization_customers (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, customer_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Finds the organizations of a customer; also what the foreign key to customers needs.
CREATE INDEX organization_customers_by_customer
    ON organization_customers (tenant_id, customer_id, organization_id);

-- Kept apart from customers so that the read path cannot load secrets by accident.
CREATE TABLE customer_secrets (
    tenant_id            TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    password_hash        TEXT NOT NULL DEFAULT '',
    pin_hash             TEXT NOT NULL DEFAULT '',
    secret_answer_hashes TEXT NOT NULL DEFAULT '[]' CHECK (json_type(secret_answer_hashes) = 'array'),
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE customer_secrets;
DROP INDEX organization_customers_by_customer;
DROP TABLE organization_customers;
DROP TABLE customers;
DROP TABLE organizations;
DROP TABLE tenants;
