// Package postgres implements store.Store on PostgreSQL through jackc/pgx/v5 and its pool, for
// deployments where several stateless instances of the service share one database.
//
// The schema is versioned SQL embedded in the binary and applied by goose, the same library and
// the same version numbers as the SQLite store; an advisory lock held for the whole migration
// lets any number of instances start at once against a fresh database (see Migrate).
//
// Every query names its tenant. Row-level security is a second wall behind that: each statement
// runs in a transaction that sets app.tenant_id, and the schema's policies (forced on the
// tables' owner too) hide the rows of every other tenant. Superusers and roles with BYPASSRLS
// skip policies, so production should connect as an ordinary role (see docs/deployment.md).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

var _ store.Store = (*Store)(nil)

// migrations is the schema in PostgreSQL's SQL, one goose file per version.
//
//go:embed migrations/*.sql
var migrations embed.FS

// Defaults for the zero values of Options when the URL does not set them either.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultImportBatchSize = 1000
	// MinConns is the smallest pool the store accepts: an import holds one connection for its
	// transaction while the import path reads stored secrets through another.
	MinConns = 2
	// LookupConns is the size of a second pool, for the request path's lookups
	// (OrganizationVersion, APIToken, ErasureCount, Ping), so that they never wait behind reads
	// of organizations, imports or deletions, which share the main pool of Options.MaxConns.
	// Each lookup is one primary-key read: an instance opens at most MaxConns + LookupConns
	// connections.
	LookupConns = 2
)

// migrationLockRetry is how often Migrate tries again for the advisory lock another instance
// holds, and for how many seconds in all.
const (
	migrationLockRetrySeconds = 1
	migrationLockAttempts     = 300
)

// Options tune the connection pool. A zero field keeps what the URL says (pool_max_conns,
// connect_timeout, statement_timeout, ...), and where the URL is silent, the default.
type Options struct {
	// MaxConns caps the pool (pgxpool's default: the larger of 4 and the number of CPUs). It must
	// be at least MinConns.
	MaxConns int32
	// ConnectTimeout bounds establishing one connection, DNS and TLS included
	// (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout makes the server cancel any statement that runs longer (none: the server's
	// own statement_timeout).
	StatementTimeout time.Duration
	// MaxConnLifetime and MaxConnIdleTime retire pooled connections (pgxpool's defaults: one hour
	// and 30 minutes); a short lifetime spreads instances over replicas behind a balancer.
	MaxConnLifetime time.Duration
	MaxConnIdleTime time.Duration
	// ImportBatchSize is how many customers an import sends to the server at once
	// (DefaultImportBatchSize).
	ImportBatchSize int
}

// Store is a store.Store on a PostgreSQL database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// lookups is the pool of the request path's lookups (see LookupConns).
	lookups *pgxpool.Pool
	// acquireWithin bounds the wait for a pooled connection (the connect timeout): without it, a
	// server that accepts connections but never answers queues every request behind the
	// failing connects of the requests before it.
	acquireWithin time.Duration
	db            string // host:port/database, for messages; never the URL, which may hold a password
	batchSize     int
	// importSlots admits at most MaxConns-1 imports at once, so that a connection is always left
	// for the reads an import's sequence makes (CustomerSecrets) while its transaction is open.
	importSlots chan struct{}
	closed      atomic.Bool
}

// Open connects to the PostgreSQL database at connString (a postgres:// or postgresql:// URL, or a
// key=value connection string) and checks that it answers. It does not change the schema: call
// Migrate for that. Connection failures wrap store.ErrUnavailable.
func Open(ctx context.Context, connString string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgconn redacts the password in the message of a parse error.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := configure(cfg, opts); err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	cc := cfg.ConnConfig
	s := &Store{
		acquireWithin: cc.ConnectTimeout,
		db:            fmt.Sprintf("%s/%s", net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), cc.Database),
		batchSize:     opts.ImportBatchSize,
		importSlots:   make(chan struct{}, cfg.MaxConns-1),
	}
	if s.batchSize <= 0 {
		s.batchSize = DefaultImportBatchSize
	}
	lookups := cfg.Copy()
	lookups.MaxConns, lookups.MinConns = LookupConns, 0
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", s.db, err)
	}
	if s.lookups, err = pgxpool.NewWithConfig(ctx, lookups); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", s.db, err)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres %s: %w", s.db, err)
	}
	return s, nil
}

// configure applies opts over what the URL set.
func configure(cfg *pgxpool.Config, opts Options) error {
	if opts.MaxConns != 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.MaxConns < MinConns {
		return fmt.Errorf("the pool needs at least %d connections, not %d", MinConns, cfg.MaxConns)
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	cc := cfg.ConnConfig
	switch {
	case opts.ConnectTimeout > 0:
		cc.ConnectTimeout = opts.ConnectTimeout
	case cc.ConnectTimeout == 0:
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.StatementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	if opts.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = opts.MaxConnLifetime
	}
	if opts.MaxConnIdleTime > 0 {
		cfg.MaxConnIdleTime = opts.MaxConnIdleTime
	}
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "customer-api"
	}
	return nil
}

// Migrate applies every pending migration. It is safe to call on every start, from any number of
// instances at once: goose holds a PostgreSQL advisory lock while it reads and changes the
// schema, and the others wait for it (up to five minutes), then find nothing left to do. A role
// without the right to change the schema can call it too, once the schema is up to date.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateUp(ctx)
	return err
}

// MigrateUp is Migrate, returning the versions it applied.
func (s *Store) MigrateUp(ctx context.Context) ([]int64, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("%w: migrate postgres %s: the store is closed", store.ErrUnavailable, s.db)
	}
	// A new locker and provider per call: the locker counts its retries over its lifetime.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(migrationLockRetrySeconds, migrationLockAttempts))
	if err != nil {
		return nil, fmt.Errorf("migrate postgres %s: %w", s.db, err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close() // closes the database/sql handle only, not the pool
	p, err := sqlstore.Migrator(goose.DialectPostgres, db, migrations, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate postgres %s: load migrations: %w", s.db, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, s.fail(err, "migrate postgres %s", s.db)
	}
	return sqlstore.Versions(results), nil
}

// Ping checks that the database answers, on the lookups' pool; failures wrap
// store.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: ping postgres %s: the store is closed", store.ErrUnavailable, s.db)
	}
	if err := s.lookups.Ping(ctx); err != nil {
		return fmt.Errorf("%w: ping postgres %s: %w", store.ErrUnavailable, s.db, err)
	}
	return nil
}

// Empty reports whether the store holds no tenant at all.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := s.pool.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM tenants)").Scan(&empty); err != nil {
		return false, s.fail(err, "check whether postgres %s is empty", s.db)
	}
	return empty, nil
}

// Close closes every connection of both pools, waiting for those in use to be released. Later
// calls fail with store.ErrUnavailable.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.lookups.Close()
	s.pool.Close()
	return nil
}

// ErasureCount returns how many customers the database has deleted (see
// store.Store.ErasureCount), on the lookups' pool in one round trip.
func (s *Store) ErasureCount(ctx context.Context) (int64, error) {
	var n int64
	conn, err := s.acquire(ctx, s.lookups)
	if err == nil {
		defer conn.Release()
		err = conn.QueryRow(ctx, sqlstore.ErasureCountSQL).Scan(&n)
	}
	if err != nil {
		return 0, s.fail(err, "read the erasure count of postgres %s", s.db)
	}
	return n, nil
}

// setTenantSQL scopes the current transaction to one tenant for the row-level security policies.
const setTenantSQL = `SELECT set_config('app.tenant_id', $1, true)`

// inTenant sends the queries that queue adds for tenantID in one round trip, on a connection
// of pool, and hands their results to read, in order. A set_config goes first, and PostgreSQL
// runs a pipelined batch as one implicit transaction, so the tenant holds for every query of the
// batch and ends with it.
func (s *Store) inTenant(ctx context.Context, pool *pgxpool.Pool, tenantID string, queue func(*pgx.Batch), read func(pgx.BatchResults) error) error {
	conn, err := s.acquire(ctx, pool)
	if err != nil {
		return err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, tenantID)
	queue(b)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	if err := read(br); err != nil {
		return err
	}
	return br.Close()
}

// acquire takes a connection from pool (s.pool or s.lookups), waiting at most acquireWithin
// for one. The connection then serves ctx, however long that takes.
func (s *Store) acquire(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Conn, error) {
	wait, cancel := context.WithTimeout(ctx, s.acquireWithin)
	defer cancel()
	conn, err := pool.Acquire(wait)
	if err != nil && ctx.Err() == nil && wait.Err() != nil {
		return nil, fmt.Errorf("%w: no connection to postgres %s within %s: %w", store.ErrUnavailable, s.db, s.acquireWithin, err)
	}
	return conn, err
}

// fail wraps err with the context "format: err", as unavailable when the store is closed or the
// server could not serve (see sqlstore.Fail).
func (s *Store) fail(err error, format string, args ...any) error {
	return sqlstore.Fail(err, s.closed.Load() || unreachable(err), format, args...)
}

// unreachable reports whether err means that the server could not be reached or could not
// serve: failed connects, broken connections, a server shutting down or out of connections, a
// statement cancelled by statement_timeout.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			"53300", // too_many_connections
			"57014": // query_canceled: statement_timeout, or a cancelled context whose caller is gone
			return true
		}
		return pgErr.Code[:2] == "08" // connection_exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return pgconn.SafeToRetry(err)
}
