package postgres

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// TestOrganizationCustomersPlan checks that listing an organization's customers is one indexed
// query, for a small and for a large organization: index scans only, no sequential scan, no
// sort (the order comes from the primary key), never customer_secrets. It plans as the tables'
// owner, so the row-level security policies are part of the plan.
func TestOrganizationCustomersPlan(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := t.Context()
	st, err := Open(ctx, d.URL, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	// Two tenants, each with 20 000 customers: all in o-big, ten of them in o-small, and all
	// with secrets. Written as the admin (a superuser, whom the policies do not stop) for speed.
	d.Exec(t, `
INSERT INTO tenants (id) VALUES ('t-1'), ('t-2');
INSERT INTO organizations (tenant_id, id) SELECT t, o FROM unnest('{t-1,t-2}'::text[]) AS t, unnest('{o-big,o-small}'::text[]) AS o;
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
	for _, org := range []string{"o-small", "o-big"} {
		t.Run(org, func(t *testing.T) {
			var plan []byte
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, setTenantSQL, "t-1"); err != nil {
					return err
				}
				return tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+organizationCustomersQuery, "t-1", org).Scan(&plan)
			})
			if err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			nodes := planNodes(t, plan)
			var indexScans int
			for _, n := range nodes {
				switch {
				case n.Type == "Sort" || n.Type == "Incremental Sort" || n.Type == "Seq Scan" || n.Type == "Bitmap Heap Scan":
					t.Errorf("plan has a %s node", n.Type)
				case n.Relation == "customer_secrets":
					t.Errorf("plan reads customer_secrets")
				case strings.HasPrefix(n.Type, "Index"):
					indexScans++
				}
			}
			if indexScans != 2 {
				t.Errorf("plan has %d index scans, want 2 (members, customers)", indexScans)
			}
			if t.Failed() {
				t.Logf("plan: %s", plan)
			}
		})
	}
}

// planNode is one node of EXPLAIN (FORMAT JSON) output.
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
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
