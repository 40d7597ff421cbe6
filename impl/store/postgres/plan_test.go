package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestReadPlans checks that reading an organization is one indexed query, for a small and for a
// large organization: index scans only, no sequential scan, no sort (the order comes from the
// primary key), nothing that holds rows in memory (hash, materialize), never customer_secrets;
// and that each document is fetched by the number its membership carries (customers_by_doc);
// and that reading a version is one index scan. It plans as the tables' owner, so the row-level
// security policies are part of the plan.
func TestReadPlans(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := t.Context()
	st, err := Open(ctx, d.URL, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	// Two tenants, each with 20 000 customers: all in o-big, ten of them in o-small, and all
	// with secrets; and a thousand empty organizations each. Written as the admin (a superuser,
	// whom the policies do not stop) for speed.
	d.Exec(t, `
INSERT INTO tenants (id) VALUES ('t-1'), ('t-2');
INSERT INTO organizations (tenant_id, id) SELECT t, o FROM unnest('{t-1,t-2}'::text[]) AS t, unnest('{o-big,o-small}'::text[]) AS o;
INSERT INTO organizations (tenant_id, id) SELECT t, 'o-' || n FROM unnest('{t-1,t-2}'::text[]) AS t, generate_series(1, 1000) AS n;
INSERT INTO customers (tenant_id, id, document)
    SELECT t, 'c-' || lpad(n::text, 6, '0'), json_build_object('id', n, 'name', repeat('x', 200))
    FROM unnest('{t-1,t-2}'::text[]) AS t, generate_series(1, 20000) AS n;
INSERT INTO customer_secrets (tenant_id, customer_id, password_hash) SELECT tenant_id, id, 'hash' FROM customers;
INSERT INTO organization_customers (tenant_id, organization_id, customer_id) SELECT tenant_id, 'o-big', id FROM customers;
INSERT INTO organization_customers (tenant_id, organization_id, customer_id)
    SELECT tenant_id, 'o-small', id FROM customers WHERE id <= 'c-000010';
ANALYZE`)

	conn, err := st.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, tc := range []struct {
		name, query, org string
		indexScans       int
	}{
		{"a small organization", readOrganizationQuery, "o-small", 3}, // organization, members, customers
		{"a large organization", readOrganizationQuery, "o-big", 3},
		{"a version", sqlstore.OrganizationVersionSQL, "o-big", 1},
	} {
		// pgx prepares its statements, and after a few executions PostgreSQL may switch to a
		// generic plan, made without the parameters' values: both must do.
		for _, generic := range []bool{false, true} {
			name := tc.name + ", custom plan"
			if generic {
				name = tc.name + ", generic plan"
			}
			t.Run(name, func(t *testing.T) {
				plan := explainPlan(t, conn, tc.query, generic, "t-1", tc.org)
				var indexScans int
				byDoc := false
				for _, n := range planNodes(t, plan) {
					byDoc = byDoc || n.Index == "customers_by_doc"
					switch {
					case n.Type == "Sort" || n.Type == "Incremental Sort" || n.Type == "Seq Scan" || n.Type == "Bitmap Heap Scan" ||
						n.Type == "Hash" || n.Type == "Materialize":
						t.Errorf("plan has a %s node", n.Type)
					case n.Relation == "customer_secrets":
						t.Errorf("plan reads customer_secrets")
					case strings.HasPrefix(n.Type, "Index"):
						indexScans++
					}
				}
				if tc.query == readOrganizationQuery && !byDoc {
					t.Errorf("documents are not fetched through customers_by_doc")
				}
				if indexScans != tc.indexScans {
					t.Errorf("plan has %d index scans, want %d", indexScans, tc.indexScans)
				}
				if t.Failed() {
					t.Logf("plan: %s", plan)
				}
			})
		}
	}
}

// explainPlan returns the JSON plan of query with its two parameters, tenantID and another,
// in a transaction of tenantID; a generic plan if generic.
func explainPlan(t *testing.T, conn *pgxpool.Conn, query string, generic bool, tenantID, other string) []byte {
	t.Helper()
	ctx := t.Context()
	var plan []byte
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setTenantSQL, tenantID); err != nil {
			return err
		}
		if !generic {
			return tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+query, tenantID, other).Scan(&plan)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "PREPARE plan_test_query AS "+query); err != nil {
			return err
		}
		defer tx.Exec(ctx, "DEALLOCATE plan_test_query") //nolint:errcheck // the transaction ends anyway
		// EXPLAIN EXECUTE takes no parameters; the test's ids hold no quote.
		return tx.QueryRow(ctx, fmt.Sprintf("EXPLAIN (FORMAT JSON) EXECUTE plan_test_query('%s', '%s')", tenantID, other)).Scan(&plan)
	})
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	return plan
}

// planNode is one node of EXPLAIN (FORMAT JSON) output.
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Plans    []planNode `json:"Plans"`
}

// planNodes flattens a JSON plan into its nodes.
func planNodes(t *testing.T, raw []byte) []planNode {
	t.Helper()
	var explained []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &explained); err != nil || len(explained) != 1 {
		t.Fatalf("decode plan %s: %v", raw, err)
	}
	var out []planNode
	var walk func(planNode)
	walk = func(n planNode) {
		out = append(out, n)
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(explained[0].Plan)
	return out
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"server starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"closed connection", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), true},
		{"connection cut", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"row-level security violation", &pgconn.PgError{Code: "42501"}, false},
		{"not JSON", &pgconn.PgError{Code: "22P02"}, false},
		{"no rows", pgx.ErrNoRows, false},
		{"anything else", errors.New("bad input"), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("%s: unreachable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
