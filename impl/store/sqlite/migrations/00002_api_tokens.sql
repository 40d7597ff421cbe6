-- API tokens issued to tenants' integrations. Only the SHA-256 of each token's secret is kept.

-- +goose Up
CREATE TABLE api_tokens (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
) STRICT, WITHOUT ROWID;

CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, created_at);

-- +goose Down
DROP INDEX api_tokens_by_tenant;
DROP TABLE api_tokens;
