package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/store/internal/sqlstore"
)

// TestReadPlans checks that the read path's queries are indexed: primary-key lookups and range
// scans only, no full scan, no sort (no temporary B-tree for ORDER BY), no secrets.
func TestReadPlans(t *testing.T) {
	t.Parallel()
	st := openMigrated(t)
	for _, tc := range []struct {
		name, query string
		steps       int
	}{
		{"an organization and its customers are one statement", readOrganizationQuery, 3}, // organization, members, customers
		{"a version is one primary-key lookup", sqlstore.OrganizationVersionSQL, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := explain(t, st, tc.query, "t-1", "o-1")
			if len(plan) != tc.steps {
				t.Errorf("plan has %d steps, want %d:\n%s", len(plan), tc.steps, strings.Join(plan, "\n"))
			}
			if tc.query == readOrganizationQuery && (len(plan) < 3 || !strings.Contains(plan[2], "INTEGER PRIMARY KEY")) {
				t.Errorf("customers are not fetched by row number; plan:\n%s", strings.Join(plan, "\n"))
			}
			for _, step := range plan {
				if !strings.HasPrefix(step, "SEARCH ") || !strings.Contains(step, "USING ") ||
					strings.Contains(step, "TEMP B-TREE") || strings.Contains(step, "customer_secrets") {
					t.Errorf("plan step %q is not an indexed search; plan:\n%s", step, strings.Join(plan, "\n"))
				}
			}
		})
	}
}

// TestImportPlans checks that an import finds the stored customers of a batch by key, never by
// a scan of the tenant's customers.
func TestImportPlans(t *testing.T) {
	t.Parallel()
	st := openMigrated(t)
	plan := explain(t, st, storedSQL, "t-1", `["c-1"]`)
	if len(plan) == 0 || plan[0] != "SEARCH c USING INDEX sqlite_autoindex_customers_1 (tenant_id=? AND id=?)" {
		t.Errorf("stored customers are not found by key; plan:\n%s", strings.Join(plan, "\n"))
	}
}

// openMigrated opens and migrates a store on a new database, closed when the test ends.
func openMigrated(t *testing.T) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// explain returns the details of EXPLAIN QUERY PLAN for query, one per step.
func explain(t *testing.T, st *Store, query string, args ...any) []string {
	t.Helper()
	plan, err := queryAll(t.Context(), st.db, "EXPLAIN QUERY PLAN "+query, func(rows *sql.Rows) (string, error) {
		var id, parent, notused int
		var detail string
		err := rows.Scan(&id, &parent, &notused, &detail)
		return detail, err
	}, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v", err)
	}
	return plan
}

// TestPragmas checks the per-connection settings that the DSN asks for.
func TestPragmas(t *testing.T) {
	t.Parallel()
	st := openMigrated(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		if err := st.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}
