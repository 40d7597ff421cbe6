-- API tokens issued to tenants' integrations, the PostgreSQL twin of the SQLite migration with
-- the same version. Only the SHA-256 of each token's secret is kept.
--
-- The table has no row-level security policy: a token is looked up by its id before its tenant
-- is known, and it holds no secret.

-- +goose Up
CREATE TABLE api_tokens (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id   text COLLATE "C" NOT NULL,
    name        text NOT NULL DEFAULT '',
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, created_at, id);

-- +goose Down
DROP TABLE api_tokens;
