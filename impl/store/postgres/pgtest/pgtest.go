// Package pgtest gives tests a PostgreSQL database of their own on the server that
// CUSTOMER_API_TEST_POSTGRES names, and a TCP proxy in front of it that a test can cut and
// restore to see the service lose and regain its database.
//
// Every database is new, named customer_api_test_<unix time>_<random>, owned by a new role of
// the same name that is neither superuser nor BYPASSRLS (so row-level security applies as in
// production), and dropped with its role when the test ends. Runs therefore never collide,
// neither with each other nor with data already on the server; what a killed run leaves behind
// is dropped by a later run once it is six hours old.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// EnvURL names the environment variable that enables PostgreSQL tests: the URL of a server and
// a user that may create databases and roles.
const EnvURL = "CUSTOMER_API_TEST_POSTGRES"

// ExampleURL is the server that every development and CI machine runs.
const ExampleURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL returns the URL in CUSTOMER_API_TEST_POSTGRES, or skips the test with one line that
// says how to enable it.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		tb.Skipf("PostgreSQL tests skipped: set %s=%s (a user that may create databases and roles) to run them", EnvURL, ExampleURL)
	}
	return u
}

// Database is a database created for one test.
type Database struct {
	// Name is the database's name, which is also its owner's role name.
	Name string
	// URL connects to the database as its owner.
	URL string
	// AdminURL connects to the database as the user of CUSTOMER_API_TEST_POSTGRES.
	AdminURL string

	server string // the URL of CUSTOMER_API_TEST_POSTGRES
}

// New creates a database and its owner role for tb and drops both when tb ends. It skips tb
// when CUSTOMER_API_TEST_POSTGRES is unset.
func New(tb testing.TB) *Database {
	tb.Helper()
	server := ServerURL(tb)
	sweepOnce.Do(func() { sweep(tb, server) })
	// The creation time in the name lets a later run drop what a killed run left behind.
	name := fmt.Sprintf("%s%d_%s", prefix, time.Now().Unix(), randomHex(tb, 6))
	password := randomHex(tb, 16)
	d := &Database{Name: name, server: server}
	var err error
	if d.URL, err = withDatabase(server, name, name, password); err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	if d.AdminURL, err = withDatabase(server, name, "", ""); err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
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

// prefix starts the name of every database and role that pgtest creates.
const prefix = "customer_api_test_"

// staleAfter is the age at which a database or role of pgtest counts as left behind by a run
// that was killed before its cleanup; no test run lasts that long.
const staleAfter = 6 * time.Hour

var sweepOnce sync.Once

// sweep drops the databases and roles of pgtest that are older than staleAfter.
func sweep(tb testing.TB, server string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	stale := func(query string) []string {
		rows, err := conn.Query(ctx, query, prefix+"%")
		if err != nil {
			tb.Fatalf("pgtest: %s: %v", query, err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			tb.Fatalf("pgtest: %s: %v", query, err)
		}
		var out []string
		for _, name := range names {
			created, _, _ := strings.Cut(strings.TrimPrefix(name, prefix), "_")
			if unix, err := strconv.ParseInt(created, 10, 64); err == nil && time.Since(time.Unix(unix, 0)) > staleAfter {
				out = append(out, name)
			}
		}
		return out
	}
	for _, db := range stale(`SELECT datname FROM pg_database WHERE datname LIKE $1`) {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, pgx.Identifier{db}.Sanitize())); err != nil {
			tb.Logf("pgtest: drop stale database %s: %v", db, err)
		}
	}
	for _, role := range stale(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`) {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP ROLE IF EXISTS %s`, pgx.Identifier{role}.Sanitize())); err != nil {
			tb.Logf("pgtest: drop stale role %s: %v", role, err)
		}
	}
}

// MustRole creates a login role without any privilege for tb (dropped when tb ends, after the
// database) and returns a URL that connects to the database as that role. The test grants it
// what it needs through Exec.
func (d *Database) MustRole(tb testing.TB, suffix string) string {
	tb.Helper()
	name := d.Name + "_" + suffix
	password := randomHex(tb, 16)
	mustExec(tb, d.server, fmt.Sprintf(`CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '%s'`, name, password))
	tb.Cleanup(func() {
		// Runs before the database's own cleanup (cleanups run last in, first out): the role's
		// grants in the database must go first.
		mustExec(tb, d.AdminURL, fmt.Sprintf(`DROP OWNED BY %s`, name))
		mustExec(tb, d.server, fmt.Sprintf(`DROP ROLE IF EXISTS %s`, name))
	})
	u, err := withDatabase(d.server, d.Name, name, password)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

// Exec runs statements in the database as the admin user, failing tb on error.
func (d *Database) Exec(tb testing.TB, statements ...string) {
	tb.Helper()
	mustExec(tb, d.AdminURL, statements...)
}

// QueryRow runs query in the database as the admin user and scans its one row into dest,
// failing tb on error.
func (d *Database) QueryRow(tb testing.TB, query string, dest ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.AdminURL)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		tb.Fatalf("pgtest: %s: %v", query, err)
	}
}

// withDatabase returns server with its database (and, when user is not empty, its user and
// password) replaced.
func withDatabase(server, database, user, password string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("not a postgres:// URL")
	}
	u.Path = "/" + database
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String(), nil
}

func mustExec(tb testing.TB, connURL string, statements ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	for _, stmt := range statements {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			tb.Fatalf("pgtest: %s: %v", stmt, err)
		}
	}
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("pgtest: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// Proxy forwards TCP connections to a target address, and fails the ways a network does on
// demand: Stop closes its listener and cuts every connection (refused connects, broken
// connections); Blackhole cuts every connection and then accepts new ones but never answers
// (connects that hang, as behind a dropped route); Start forwards again on the same address.
type Proxy struct {
	target string
	addr   string

	mu        sync.Mutex
	ln        net.Listener
	blackhole bool
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// NewProxy starts a proxy on a free local port in front of target (host:port) and stops it when
// tb ends.
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

// Stop closes the listener and every open connection. It is harmless on a stopped proxy.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.cutLocked()
}

// Blackhole cuts every open connection; from then on the proxy accepts connections but
// neither forwards nor answers them, until Start.
func (p *Proxy) Blackhole() error {
	p.mu.Lock()
	p.blackhole = true
	p.cutLocked()
	p.mu.Unlock()
	return p.listen()
}

// Start forwards connections again, listening again on the proxy's address if it was stopped.
// It is harmless on a running proxy.
func (p *Proxy) Start() error {
	p.mu.Lock()
	if p.blackhole {
		p.blackhole = false
		p.cutLocked() // the connections held in the black hole
	}
	p.mu.Unlock()
	return p.listen()
}

func (p *Proxy) cutLocked() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// listen makes the proxy listen on its address again, unless it does.
func (p *Proxy) listen() error {
	p.mu.Lock()
	running := p.ln != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; give the kernel a little time should it still hold it.
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

// forward copies bytes both ways between client and a new connection to the target, or, in a
// black hole, swallows what the client sends.
func (p *Proxy) forward(ln net.Listener, client net.Conn) {
	p.mu.Lock()
	blackhole := p.blackhole
	p.mu.Unlock()
	if blackhole {
		if !p.track(ln, true, client) {
			client.Close()
			return
		}
		defer p.untrack(client)
		_, _ = io.Copy(io.Discard, client)
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(ln, false, client, server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client, server)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Either side ending ends both: a half-open PostgreSQL connection is of no use.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
}

// track registers conns, unless the listener that accepted them has been stopped or the mode
// changed since.
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

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

// Outage is one way for the database to become unreachable, started on a proxy.
type Outage struct {
	Name  string
	Start func(*Proxy) error
}

// Outages are the ways tests lose the database: connections refused, and connections accepted
// but never answered (the harder case: only timeouts end the wait).
var Outages = []Outage{
	{"connections refused", func(p *Proxy) error { p.Stop(); return nil }},
	{"connections unanswered", (*Proxy).Blackhole},
}
