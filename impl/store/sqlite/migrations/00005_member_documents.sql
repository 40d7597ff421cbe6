-- An organization's documents in one pass: every membership carries the stable row number of its
-- customer's document, so that a read scans the organization's memberships in customer id order
-- (the primary key of organization_customers) and fetches each document by row number, one
-- B-tree descent instead of two (the (tenant_id, id) index, then the table). The document stays
-- in one place, customers, whatever the number of organizations a customer is in.
--
-- customers is rebuilt with an INTEGER PRIMARY KEY, doc: an implicit rowid may change on VACUUM,
-- a declared one never does; (tenant_id, id) stays unique. Its two child tables are rebuilt with
-- it, organization_customers with the new column doc, so that their foreign keys name the new
-- table. The old tables are renamed away, the new ones filled, and the old ones dropped, children
-- first: a DROP's implicit DELETE fires no trigger, and by then nothing refers to the old
-- customers, so no version, membership, secret or erasure count changes; secure_delete overwrites
-- their pages. Indexes and triggers go with the old tables and are created again, unchanged.
--
-- organization_customers.doc is filled by the store's writes; a trigger fills it for any other
-- insert (an operator's SQL). A customer's doc never changes, and deleting a customer deletes its
-- memberships (ON DELETE CASCADE), so no membership points at a number a later customer reuses.
--
-- The twin of the PostgreSQL migration with the same version.

-- +goose Up
ALTER TABLE customers RENAME TO customers_00004;
ALTER TABLE organization_customers RENAME TO organization_customers_00004;
ALTER TABLE customer_secrets RENAME TO customer_secrets_00004;

CREATE TABLE customers (
    doc        INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    document   TEXT NOT NULL CHECK (json_valid(document)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE organization_customers (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    doc             INTEGER,
    PRIMARY KEY (tenant_id, organization_id, customer_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE customer_secrets (
    tenant_id            TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    password_hash        TEXT NOT NULL DEFAULT '',
    pin_hash             TEXT NOT NULL DEFAULT '',
    secret_answer_hashes TEXT NOT NULL DEFAULT '[]' CHECK (json_type(secret_answer_hashes) = 'array'),
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

INSERT INTO customers (tenant_id, id, document, created_at, updated_at)
SELECT tenant_id, id, document, created_at, updated_at FROM customers_00004 ORDER BY tenant_id, id;
INSERT INTO organization_customers (tenant_id, organization_id, customer_id, doc)
SELECT oc.tenant_id, oc.organization_id, oc.customer_id, c.doc
FROM organization_customers_00004 AS oc
JOIN customers AS c ON c.tenant_id = oc.tenant_id AND c.id = oc.customer_id;
INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
SELECT tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes FROM customer_secrets_00004;

DROP TABLE customer_secrets_00004;
DROP TABLE organization_customers_00004;
DROP TABLE customers_00004;

CREATE INDEX organization_customers_by_customer
    ON organization_customers (tenant_id, customer_id, organization_id);

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

-- +goose StatementBegin
CREATE TRIGGER customers_count_erasures AFTER DELETE ON customers
BEGIN
    UPDATE erasures SET customers = customers + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER organization_customers_doc AFTER INSERT ON organization_customers
WHEN NEW.doc IS NULL
BEGIN
    UPDATE organization_customers
    SET doc = (SELECT c.doc FROM customers AS c WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.customer_id)
    WHERE tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id AND customer_id = NEW.customer_id;
END;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE customers RENAME TO customers_00005;
ALTER TABLE organization_customers RENAME TO organization_customers_00005;
ALTER TABLE customer_secrets RENAME TO customer_secrets_00005;

CREATE TABLE customers (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    document   TEXT NOT NULL CHECK (json_valid(document)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE organization_customers (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, customer_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE customer_secrets (
    tenant_id            TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    password_hash        TEXT NOT NULL DEFAULT '',
    pin_hash             TEXT NOT NULL DEFAULT '',
    secret_answer_hashes TEXT NOT NULL DEFAULT '[]' CHECK (json_type(secret_answer_hashes) = 'array'),
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

INSERT INTO customers (tenant_id, id, document, created_at, updated_at)
SELECT tenant_id, id, document, created_at, updated_at FROM customers_00005 ORDER BY tenant_id, id;
INSERT INTO organization_customers (tenant_id, organization_id, customer_id)
SELECT tenant_id, organization_id, customer_id FROM organization_customers_00005;
INSERT INTO customer_secrets (tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes)
SELECT tenant_id, customer_id, password_hash, pin_hash, secret_answer_hashes FROM customer_secrets_00005;

DROP TABLE customer_secrets_00005;
DROP TABLE organization_customers_00005;
DROP TABLE customers_00005;

CREATE INDEX organization_customers_by_customer
    ON organization_customers (tenant_id, customer_id, organization_id);

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

-- +goose StatementBegin
CREATE TRIGGER customers_count_erasures AFTER DELETE ON customers
BEGIN
    UPDATE erasures SET customers = customers + 1 WHERE id = 1;
END;
-- +goose StatementEnd
