// Package pgtest gives a test a PostgreSQL database of its own on the server that
// CUSTOMER_API_TEST_POSTGRES names, owned by a new role without BYPASSRLS and dropped when the
// test ends, and a TCP proxy that can cut the database off.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that enables PostgreSQL tests: the URL of a user that
// may create databases and roles.
const EnvURL = "CUSTOMER_API_TEST_POSTGRES"

// ServerURL returns the URL in CUSTOMER_API_TEST_POSTGRES, or skips the test saying how to set it.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s=%s (a user that may create databases and roles) to run them", EnvURL, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return u
}

// Database is a database created for one test.
type Database struct {
	Name     string // also its owner's role name
	URL      string // as its owner
	AdminURL string // as the user of CUSTOMER_API_TEST_POSTGRES
	server   string
}

// New creates a database and its owner role for tb, dropped when tb ends; it skips tb when
// CUSTOMER_API_TEST_POSTGRES is unset.
func New(tb testing.TB) *Database {
	tb.Helper()
	server := ServerURL(tb)
	sweepOnce.Do(func() { sweep(tb, server) })
	// The creation time in the name lets a later run sweep what a killed run left.
	name := fmt.Sprintf("%s%d_%s", prefix, time.Now().Unix(), strings.ToLower(rand.Text()[:12]))
	password := rand.Text()
	d := &Database{Name: name, server: server,
		URL: withDatabase(tb, server, name, name, password), AdminURL: withDatabase(tb, server, name, "", "")}
	// The names are made here of [a-z0-9_] only, so quoting them as identifiers is enough.
	mustExec(tb, server,
		fmt.Sprintf(`CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '%s'`, name, password),
		fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, name, name),
	)
	tb.Cleanup(func() {
		// FORCE ends whatever connections a failed test left behind.
		mustExec(tb, server,
			fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name),
			fmt.Sprintf(`DROP ROLE IF EXISTS %s`, name),
		)
	})
	return d
}

const prefix = "customer_api_test_"

// staleAfter is older than any test run: what is that old was left by a killed one.
const staleAfter = 6 * time.Hour

var sweepOnce sync.Once

// sweep drops the databases and roles of pgtest older than staleAfter.
func sweep(tb testing.TB, server string) {
	tb.Helper()
	withConn(tb, server, func(ctx context.Context, conn *pgx.Conn) {
		for _, kind := range [][2]string{{"DATABASE", "datname FROM pg_database WHERE datname"}, {"ROLE", "rolname FROM pg_roles WHERE rolname"}} {
			rows, err := conn.Query(ctx, "SELECT "+kind[1]+" LIKE $1", prefix+"%")
			var names []string
			if err == nil {
				names, err = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			if err != nil {
				tb.Fatalf("pgtest: list %ss: %v", kind[0], err)
			}
			for _, name := range names {
				created, _, _ := strings.Cut(strings.TrimPrefix(name, prefix), "_")
				if unix, err := strconv.ParseInt(created, 10, 64); err != nil || time.Since(time.Unix(unix, 0)) <= staleAfter {
					continue
				}
				force := map[string]string{"DATABASE": " WITH (FORCE)"}[kind[0]]
				if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP %s IF EXISTS %s%s`, kind[0], pgx.Identifier{name}.Sanitize(), force)); err != nil {
					tb.Logf("pgtest: drop stale %s %s: %v", kind[0], name, err)
				}
			}
		}
	})
}

// MustRole creates a login role without privileges for tb and returns a URL that connects to the
// database as that role; the test grants it what it needs through Exec.
func (d *Database) MustRole(tb testing.TB, suffix string) string {
	tb.Helper()
	name := d.Name + "_" + suffix
	password := rand.Text()
	mustExec(tb, d.server, fmt.Sprintf(`CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '%s'`, name, password))
	tb.Cleanup(func() {
		// Before the database's cleanup (last in, first out): the role's grants go first.
		mustExec(tb, d.AdminURL, fmt.Sprintf(`DROP OWNED BY %s`, name))
		mustExec(tb, d.server, fmt.Sprintf(`DROP ROLE IF EXISTS %s`, name))
	})
	return withDatabase(tb, d.server, d.Name, name, password)
}

// Exec runs statements in the database as the admin user, failing tb on error.
func (d *Database) Exec(tb testing.TB, statements ...string) {
	tb.Helper()
	mustExec(tb, d.AdminURL, statements...)
}

// QueryRow runs query in the database as the admin user and scans its one row into dest.
func (d *Database) QueryRow(tb testing.TB, query string, dest ...any) {
	tb.Helper()
	withConn(tb, d.AdminURL, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
			tb.Fatalf("pgtest: %s: %v", query, err)
		}
	})
}

// withDatabase returns server with its database, and user unless empty, replaced.
func withDatabase(tb testing.TB, server, database, user, password string) string {
	tb.Helper()
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("pgtest: %s: not a postgres:// URL", EnvURL)
	}
	u.Path = "/" + database
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

func mustExec(tb testing.TB, connURL string, statements ...string) {
	tb.Helper()
	withConn(tb, connURL, func(ctx context.Context, conn *pgx.Conn) {
		for _, stmt := range statements {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				tb.Fatalf("pgtest: %s: %v", stmt, err)
			}
		}
	})
}

// withConn calls fn with a connection to connURL, within 30 seconds.
func withConn(tb testing.TB, connURL string, fn func(context.Context, *pgx.Conn)) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	fn(ctx, conn)
}

// Proxy forwards TCP connections to a target and fails on demand as a network does: Stop refuses
// and breaks connections, Blackhole leaves them unanswered, Start forwards again.
type Proxy struct {
	target string
	addr   string

	mu        sync.Mutex
	ln        net.Listener
	blackhole bool
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// NewProxy starts a proxy on a free local port in front of target (host:port) until tb ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("pgtest: proxy: %v", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	tb.Cleanup(func() {
		p.Stop()
		p.wg.Wait()
	})
	return p
}

// ProxyURL starts a proxy in front of the server of dbURL and returns dbURL pointed at the proxy.
func ProxyURL(tb testing.TB, dbURL string) (*Proxy, string) {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := NewProxy(tb, target)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Stop closes the listener and every open connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.cutLocked()
}

// Blackhole cuts every connection, then accepts new ones but never answers, until Start.
func (p *Proxy) Blackhole() error { return p.listen(true) }

// Start forwards connections again, on the same address.
func (p *Proxy) Start() error { return p.listen(false) }

func (p *Proxy) cutLocked() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// listen switches the black hole on or off, cutting the connections of the mode it enters or
// leaves, and makes the proxy listen on its address again, unless it does.
func (p *Proxy) listen(blackhole bool) error {
	p.mu.Lock()
	if blackhole || p.blackhole {
		p.cutLocked()
	}
	p.blackhole = blackhole
	running := p.ln != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; the kernel may still hold it.
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("pgtest: proxy: listen again on %s: %w", p.addr, err)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return // stopped
			}
			p.wg.Go(func() { p.forward(ln, client) })
		}
	})
}

// forward copies bytes between client and the target, or swallows them in a black hole.
func (p *Proxy) forward(ln net.Listener, client net.Conn) {
	p.mu.Lock()
	blackhole := p.blackhole
	p.mu.Unlock()
	conns := []net.Conn{client}
	if !blackhole {
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close()
			return
		}
		conns = append(conns, server)
	}
	// Either side ending ends both: a half-open PostgreSQL connection is of no use.
	defer p.untrack(conns...)
	if !p.track(ln, blackhole, conns...) {
		return
	}
	if blackhole {
		_, _ = io.Copy(io.Discard, client)
		return
	}
	p.wg.Go(func() {
		_, _ = io.Copy(conns[1], client)
		p.untrack(conns...)
	})
	_, _ = io.Copy(client, conns[1])
}

// track registers conns unless their listener stopped or the mode changed since.
func (p *Proxy) track(ln net.Listener, blackhole bool, conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln || p.blackhole != blackhole {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// untrack closes conns and forgets them.
func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Outage is one way for the database to become unreachable, started on a proxy.
type Outage struct {
	Name  string
	Start func(*Proxy) error
}

// Outages are the ways tests lose the database: refused, and unanswered (only timeouts end it).
var Outages = []Outage{
	{"connections refused", func(p *Proxy) error { p.Stop(); return nil }},
	{"connections unanswered", (*Proxy).Blackhole},
}
