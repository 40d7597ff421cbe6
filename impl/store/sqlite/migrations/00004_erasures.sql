-- A count of the customers ever deleted, in one row, so that a process serving reads learns with
-- one primary-key lookup that another process (`customers delete`, `organizations delete`,
-- `import --replace`, an operator's SQL) erased customers, and drops what it keeps of them. A
-- trigger counts, so every way of deleting a customer does. It holds no tenant data.
--
-- The twin of the PostgreSQL migration with the same version. SQLite has no statement-level
-- triggers: each deleted customer adds one, in the deleting transaction.

-- +goose Up
CREATE TABLE erasures (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    customers INTEGER NOT NULL
) STRICT;

INSERT INTO erasures (id, customers) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER customers_count_erasures AFTER DELETE ON customers
BEGIN
    UPDATE erasures SET customers = customers + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER customers_count_erasures;
DROP TABLE erasures;
