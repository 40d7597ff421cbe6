-- A count of the customers ever deleted, in one row, the PostgreSQL twin of the SQLite migration
-- with the same version: a process serving reads learns with one primary-key lookup that another
-- process (`customers delete`, `organizations delete`, `import --replace`, an operator's SQL)
-- erased customers, and drops what it keeps of them. A trigger counts, so every way of deleting
-- a customer does.
--
-- The count is no tenant's data: it says how many customers went, not whose. So, like tenants and
-- api_tokens, the table has no row-level security policy (no tenant is set when the serving
-- process reads it), and the roles get SELECT on it only. The trigger function runs as the
-- table's owner (SECURITY DEFINER, as the version triggers of 00003), so no runtime role needs
-- to write it. It is statement-level: one update per deleting statement, by the number of rows
-- it deleted, none for a statement that deleted nothing. Concurrent deletions queue on the row
-- until the first commits, which erasures can afford.

-- +goose Up
CREATE TABLE erasures (
    id        integer NOT NULL PRIMARY KEY CHECK (id = 1),
    customers bigint NOT NULL
);

INSERT INTO erasures (id, customers) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION customers_count_erasures() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    n bigint := (SELECT count(*) FROM deleted);
BEGIN
    IF n > 0 THEN
        UPDATE erasures SET customers = customers + n WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- A SECURITY DEFINER function must not find its tables through the caller's search_path.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION customers_count_erasures() SET search_path = %I, pg_temp', current_schema());
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION customers_count_erasures() FROM PUBLIC;

CREATE TRIGGER customers_count_erasures AFTER DELETE ON customers
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION customers_count_erasures();

-- +goose Down
DROP TRIGGER customers_count_erasures ON customers;
DROP FUNCTION customers_count_erasures();
DROP TABLE erasures;
