package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestOrganizationCustomersPlan checks that listing an organization's customers is one indexed
// query: primary-key lookups and range scans only, no full scan, no sort, no secrets.
func TestOrganizationCustomersPlan(t *testing.T) {
	t.Parallel()
	st, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	rows, err := st.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+organizationCustomersQuery, "t-1", "o-1")
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	if len(plan) != 3 {
		t.Errorf("plan has %d steps, want 3 (organization, members, customers):\n%s", len(plan), strings.Join(plan, "\n"))
	}
	for _, step := range plan {
		if !strings.HasPrefix(step, "SEARCH ") || !strings.Contains(step, "USING ") ||
			strings.Contains(step, "TEMP B-TREE") || strings.Contains(step, "customer_secrets") {
			t.Errorf("plan step %q is not an indexed search; plan:\n%s", step, strings.Join(plan, "\n"))
		}
	}
}

// TestPragmas checks the per-connection settings that the DSN asks for.
func TestPragmas(t *testing.T) {
	t.Parallel()
	st, err := Open(filepath.Join(t.TempDir(), "pragmas.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
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
