// Package postgres implements store.Store on PostgreSQL through pgx's pool, for several instances
// sharing one database. Every query names its tenant; row-level security on app.tenant_id, set
// per transaction, is a second wall (roles with BYPASSRLS skip it: see docs/deployment.md).
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
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

//go:embed migrations/*.sql
var migrations embed.FS

// Defaults for the zero values of Options when the URL is silent.
const (
	DefaultConnectTimeout  = 5 * time.Second
	defaultImportBatchSize = 1000
	// MinConns is the smallest pool: an import's sequence reads secrets beside its transaction.
	MinConns = 2
	// LookupConns is the size of the request path's lookup pool, beside the main one so that
	// lookups never wait behind reads.
	LookupConns = 2
)

// Options tune the connection pool; a zero field keeps what the URL says, or the default.
type Options struct {
	// MaxConns caps the pool (pgxpool's default: max(4, CPUs)); at least MinConns.
	MaxConns int32
	// ConnectTimeout bounds one connect, DNS and TLS included.
	ConnectTimeout time.Duration
	// StatementTimeout makes the server cancel longer statements.
	StatementTimeout time.Duration
	// ImportBatchSize is how many customers an import sends at once.
	ImportBatchSize int
}

// Store is a store.Store on a PostgreSQL database. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	lookups *pgxpool.Pool // see LookupConns
	// acquireWithin bounds the wait for a connection, so a mute server does not queue requests.
	acquireWithin time.Duration
	db            string // host:port/database, for messages; never the URL, which may hold a password
	batchSize     int
	// importSlots admits MaxConns-1 imports, leaving a connection for their sequences' reads.
	importSlots chan struct{}
	closed      atomic.Bool
}

// Open connects to the database at connString (URL or key=value) and checks that it answers; it
// does not migrate. Connection failures wrap store.ErrUnavailable.
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
		batchSize:     cmp.Or(max(opts.ImportBatchSize, 0), defaultImportBatchSize),
		importSlots:   make(chan struct{}, cfg.MaxConns-1),
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
	cfg.MaxConns = cmp.Or(opts.MaxConns, cfg.MaxConns)
	if cfg.MaxConns < MinConns {
		return fmt.Errorf("the pool needs at least %d connections, not %d", MinConns, cfg.MaxConns)
	}
	cfg.MinConns = min(cfg.MinConns, cfg.MaxConns)
	cc := cfg.ConnConfig
	cc.ConnectTimeout = cmp.Or(max(opts.ConnectTimeout, 0), cc.ConnectTimeout, DefaultConnectTimeout)
	if opts.StatementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	cc.RuntimeParams["application_name"] = cmp.Or(cc.RuntimeParams["application_name"], "customer-api")
	return nil
}

// MigrateUp applies every pending migration, returning their versions, under an advisory lock,
// so any number of instances may start at once; a role that may not change the schema can call
// it on an up-to-date one.
func (s *Store) MigrateUp(ctx context.Context) ([]int64, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("%w: migrate postgres %s: the store is closed", store.ErrUnavailable, s.db)
	}
	// A new locker and provider per call: the locker counts its retries over its lifetime. It
	// retries the advisory lock another instance holds every second for five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
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

// Ping checks that the database answers on the lookups' pool.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: ping postgres %s: the store is closed", store.ErrUnavailable, s.db)
	}
	if err := s.lookups.Ping(ctx); err != nil {
		return fmt.Errorf("%w: ping postgres %s: %w", store.ErrUnavailable, s.db, err)
	}
	return nil
}

// Empty reports whether the store holds no tenant.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := s.pool.QueryRow(ctx, sqlstore.EmptySQL).Scan(&empty); err != nil {
		return false, s.fail(err, "check whether postgres %s is empty", s.db)
	}
	return empty, nil
}

// Close closes both pools, waiting for connections in use; later calls fail with
// store.ErrUnavailable.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.lookups.Close()
	s.pool.Close()
	return nil
}

// ErasureCount returns how many customers the database has deleted, on the lookups' pool.
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

const setTenantSQL = `SELECT set_config('app.tenant_id', $1, true)`

// inTenant sends the tenant's set_config and query as one batch (one implicit transaction, one
// round trip) and hands the query's results to read.
func (s *Store) inTenant(ctx context.Context, pool *pgxpool.Pool, tenantID string, read func(pgx.BatchResults) error, query string, args ...any) error {
	conn, err := s.acquire(ctx, pool)
	if err != nil {
		return err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, tenantID)
	b.Queue(query, args...)
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

// acquire takes a connection from pool, waiting at most acquireWithin.
func (s *Store) acquire(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Conn, error) {
	wait, cancel := context.WithTimeout(ctx, s.acquireWithin)
	defer cancel()
	conn, err := pool.Acquire(wait)
	if err != nil && ctx.Err() == nil && wait.Err() != nil {
		return nil, fmt.Errorf("%w: no connection to postgres %s within %s: %w", store.ErrUnavailable, s.db, s.acquireWithin, err)
	}
	return conn, err
}

// fail wraps err as sqlstore.Fail does; store.ErrNotFound is an answer, never unavailable.
func (s *Store) fail(err error, format string, args ...any) error {
	return sqlstore.Fail(err, (s.closed.Load() || unreachable(err)) && !errors.Is(err, store.ErrNotFound), format, args...)
}

// unreachable reports whether err means that the server could not be reached or serve.
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
	var netErr net.Error // syscall.Errno (ECONNREFUSED, ECONNRESET, EPIPE...) is one too
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return pgconn.SafeToRetry(err)
}
