// Package sqlite implements store.Store on SQLite through modernc.org/sqlite (pure Go), in WAL
// mode; write transactions begin IMMEDIATE so that writers queue on the busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a statement waits for another connection's lock (then ErrUnavailable).
const busyTimeout = 5 * time.Second

// lookupConns is the size of the request path's lookup pool, apart from the main one so that
// lookups never wait behind reads.
const lookupConns = 2

// Store is a store.Store on one SQLite database file. It is safe for concurrent use.
type Store struct {
	db       *sql.DB
	lookups  *sql.DB // read-only, see lookupConns
	path     string
	migrator *goose.Provider // serializes its runs itself
	closed   atomic.Bool
	// prepared maps a lookup's query to its *sql.Stmt: compiling is a third of a lookup's cost.
	prepared sync.Map
	// eraseWait bounds a deletion's wait for readers; tests set checkpointBusy.
	eraseWait      time.Duration
	checkpointBusy func()
}

// Open opens the database file at path, creating it with FileMode, and checks that it answers;
// it does not migrate. ":memory:" and URIs are refused: each pooled connection would see its own.
func Open(path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.Contains(path, "?") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite: %q is not a plain database file path", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("%w: open sqlite: %w", store.ErrUnavailable, err) // as SQLITE_CANTOPEN would be
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)") // durable across application crashes; WAL keeps it consistent
	q.Add("_pragma", "foreign_keys(ON)")
	// Deleted rows are overwritten with zeros, so erased personal data stays in no free page.
	q.Add("_pragma", "secure_delete(ON)")
	q.Set("_txlock", "immediate")
	// sql.Open fails only for a driver not registered; modernc's parses the DSN when it connects.
	db, _ := sql.Open("sqlite", path+"?"+q.Encode())
	pool(db, max(4, runtime.GOMAXPROCS(0)))
	q.Add("_pragma", "query_only(ON)") // the driver applies it after journal_mode
	lookups, _ := sql.Open("sqlite", path+"?"+q.Encode())
	pool(lookups, lookupConns)

	s := &Store{db: db, lookups: lookups, path: path, eraseWait: EraseWait}
	fail := func(err error) (*Store, error) {
		db.Close()
		lookups.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := s.ping(context.Background(), db); err != nil {
		return fail(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		return fail(err)
	}
	if err := privateSidecars(path); err != nil {
		return fail(err)
	}
	var err error
	s.migrator, err = sqlstore.Migrator(goose.DialectSQLite3, db, migrations)
	if err != nil {
		return fail(fmt.Errorf("load migrations: %w", err))
	}
	return s, nil
}

// SetEraseWait sets how long deletions wait for readers to let the data be erased (EraseWait
// until set; 0: one try). Call it before the store is shared.
func (s *Store) SetEraseWait(d time.Duration) { s.eraseWait = max(d, 0) }

// pool sizes a pool of long-lived connections.
func pool(db *sql.DB, conns int) {
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(10 * time.Minute)
}

// MigrateUp applies every pending migration, returning their versions.
func (s *Store) MigrateUp(ctx context.Context) ([]int64, error) {
	results, err := s.migrator.Up(ctx)
	if err != nil {
		return nil, s.fail(err, "migrate sqlite %s", s.path)
	}
	return sqlstore.Versions(results), nil
}

// Ping checks that the database answers on the lookups' connections.
func (s *Store) Ping(ctx context.Context) error {
	return s.ping(ctx, s.lookups)
}

func (s *Store) ping(ctx context.Context, db *sql.DB) error {
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("%w: ping sqlite %s: %w", store.ErrUnavailable, s.path, err)
	}
	return nil
}

// Empty reports whether the store holds no tenant.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := s.db.QueryRowContext(ctx, sqlstore.EmptySQL).Scan(&empty); err != nil {
		return false, s.fail(err, "check whether sqlite %s is empty", s.path)
	}
	return empty, nil
}

// lookup runs a one-row query on the lookups' pool, prepared once; a statement that cannot be
// prepared (no schema yet) is not kept, and its error comes back through Scan.
func (s *Store) lookup(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := s.prepared.Load(query); ok {
		return st.(*sql.Stmt).QueryRowContext(ctx, args...)
	}
	st, err := s.lookups.PrepareContext(ctx, query)
	if err != nil {
		return s.lookups.QueryRowContext(ctx, query, args...)
	}
	if kept, loaded := s.prepared.LoadOrStore(query, st); loaded {
		st.Close()
		st = kept.(*sql.Stmt)
	}
	return st.QueryRowContext(ctx, args...)
}

// restore runs pragma to give a setting of conn back, or has conn closed rather than pooled.
func restore(ctx context.Context, conn *sql.Conn, pragma string) {
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), pragma); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // closes the connection rather than pool it
	}
}

// Close closes the database; later calls fail with store.ErrUnavailable.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.prepared.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if err := errors.Join(s.lookups.Close(), s.db.Close()); err != nil {
		return fmt.Errorf("close sqlite %s: %w", s.path, err)
	}
	return nil
}

// ErasureCount returns how many customers the database has deleted, on the lookups' pool.
func (s *Store) ErasureCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.lookup(ctx, sqlstore.ErasureCountSQL).Scan(&n); err != nil {
		return 0, s.fail(err, "read the erasure count of sqlite %s", s.path)
	}
	return n, nil
}

// fail wraps err as sqlstore.Fail does.
func (s *Store) fail(err error, format string, args ...any) error {
	return sqlstore.Fail(err, s.unreachable(err), format, args...)
}

// unreachable reports whether err means that the database could not serve, not that the SQL failed.
func (s *Store) unreachable(err error) bool {
	if s.closed.Load() || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
	}
	return false
}
