package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// runEnv runs the program in-process with args and the variables of env set (t.Setenv: a test
// that sets any is not parallel).
func runEnv(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	out, _, err := runCmd(t, stdin, args...)
	return out, err
}

// TestMigrateAndImportIntoPostgres runs the admin commands against a PostgreSQL database given
// by CUSTOMER_API_DATABASE, with the pool flags set through their environment variables.
func TestMigrateAndImportIntoPostgres(t *testing.T) {
	d := pgtest.New(t)
	env := map[string]string{
		"CUSTOMER_API_DATABASE":             d.URL,
		"CUSTOMER_API_DB_MAX_CONNS":         "3",
		"CUSTOMER_API_DB_CONNECT_TIMEOUT":   "3s",
		"CUSTOMER_API_DB_STATEMENT_TIMEOUT": "30s",
		"CUSTOMER_API_DATA_DIR":             filepath.Join(t.TempDir(), "unused"),
	}
	for i, want := range []string{" migrations to the database at postgres://", "is up to date: no migration to apply"} {
		out, err := runEnv(t, env, "", "migrate")
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("migrate %d: %q, %v; want %q", i+1, out, err, want)
		}
	}

	file := filepath.Join(t.TempDir(), "customers.json")
	data := `[{"customer":{"id":"cus-1","customerName":"Anna","person":{"password":"hunter2"}}},{"customer":{"id":"cus-2"}}]`
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 created, 0 updated, 0 unchanged", "0 created, 0 updated, 2 unchanged"} {
		out, err := runEnv(t, env, "", "import", "--tenant", "t1", "--organization", "o1", file)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("import: %q, %v; want %q", out, err, want)
		}
	}
	// A bad record writes nothing, not even the organization.
	bad := `[{"customer":{"id":"cus-3"}},{"customer":{"id":"cus-4","customerStatus":"gone"}}]`
	if _, err := runEnv(t, env, bad, "import", "--tenant", "t1", "--organization", "o2", "-"); err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("import of a bad record: err = %v, want it to name record 1", err)
	}
	if _, err := os.Stat(env["CUSTOMER_API_DATA_DIR"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory was created for a PostgreSQL database: %v", err)
	}

	st, err := postgres.Open(t.Context(), d.URL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, cs, err := storetest.Collect(t.Context(), st, "t1", "o1")
	if err != nil || len(cs) != 2 || cs[0].ID != "cus-1" || strings.Contains(string(cs[0].Document), "hunter2") {
		t.Errorf("customers of t1/o1 = %+v, %v; want cus-1 and cus-2 without the password", cs, err)
	}
	if sec, err := st.CustomerSecrets(t.Context(), "t1", "cus-1"); err != nil || !strings.HasPrefix(sec.PasswordHash, "$argon2id$") {
		t.Errorf("secrets of cus-1 = %+v, %v; want an argon2id hash", sec, err)
	}
	if _, err := st.OrganizationVersion(t.Context(), "t1", "o2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("organization of the failed import: err = %v, want ErrNotFound", err)
	}

	// Erasure and sync, as on SQLite.
	if out, err := runEnv(t, env, `[{"customer":{"id":"cus-2"}}]`, "import", "--replace", "--tenant", "t1", "--organization", "o1", "-"); err != nil || !strings.Contains(out, "1 left the organization (1 deleted") {
		t.Errorf("import --replace: %q, %v", out, err)
	}
	if _, err := st.CustomerSecrets(t.Context(), "t1", "cus-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("secrets of cus-1 after it left its last organization: err = %v, want ErrNotFound", err)
	}
	if out, err := runEnv(t, env, "", "customers", "delete", "--tenant", "t1", "cus-2"); err != nil || !strings.Contains(out, "deleted 1 customer of") {
		t.Errorf("customers delete: %q, %v", out, err)
	}
	if out, err := runEnv(t, env, "", "organizations", "delete", "--tenant", "t1", "o1"); err != nil || !strings.Contains(out, "deleted organization o1") {
		t.Errorf("organizations delete: %q, %v", out, err)
	}
	if _, err := st.OrganizationVersion(t.Context(), "t1", "o1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted organization: err = %v, want ErrNotFound", err)
	}
	// The tenant keeps no organization now; deleting it (the test's role owns the schema)
	// removes it from the listing.
	if out, err := runEnv(t, env, "", "tenants", "list"); err != nil || !strings.Contains(out, "\nt1 ") {
		t.Errorf("tenants list: %q, %v", out, err)
	}
	if out, err := runEnv(t, env, "", "tenants", "delete", "t1"); err != nil || !strings.Contains(out, "deleted tenant t1: 0 organizations, 0 customers") {
		t.Errorf("tenants delete: %q, %v", out, err)
	}
	if out, err := runEnv(t, env, "", "tenants", "list", "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("tenants list after the deletion: %q, %v", out, err)
	}
}

func TestDatabaseFlags(t *testing.T) {
	t.Parallel()
	const withPassword = "postgres://user:s3cret@127.0.0.1:1/db?sslmode=disable"
	tests := []struct {
		name        string
		args        []string
		wantUsage   bool
		wantInError string
	}{
		{name: "another scheme", args: []string{"--database", "mysql://user:s3cret@host/db"}, wantUsage: true, wantInError: "mysql://user:***@host/db"},
		{name: "a pool of one", args: []string{"--database", withPassword, "--db-max-conns", "1"}, wantUsage: true, wantInError: "--db-max-conns"},
		{name: "a negative pool", args: []string{"--database", withPassword, "--db-max-conns", "-3"}, wantUsage: true, wantInError: "--db-max-conns"},
		{name: "no connect timeout", args: []string{"--database", withPassword, "--db-connect-timeout", "0s"}, wantUsage: true, wantInError: "--db-connect-timeout"},
		{name: "a negative statement timeout", args: []string{"--database", withPassword, "--db-statement-timeout", "-1s"}, wantUsage: true, wantInError: "--db-statement-timeout"},
		{name: "not a duration", args: []string{"--database", withPassword, "--db-connect-timeout", "soon"}, wantUsage: true},
		{name: "a server that does not answer", args: []string{"--database", withPassword, "--db-connect-timeout", "2s"}, wantInError: "postgres://user:***@127.0.0.1:1/db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := runEnv(t, nil, "", append([]string{"migrate"}, tc.args...)...)
			if err == nil {
				t.Fatal("migrate succeeded")
			}
			if _, usage := err.(usageError); usage != tc.wantUsage {
				t.Errorf("err = %v (%T); usage error: %v, want %v", err, err, usage, tc.wantUsage)
			}
			if !strings.Contains(err.Error(), tc.wantInError) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %v; want it to contain %q and no password", err, tc.wantInError)
			}
			if !tc.wantUsage && !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("err = %v; want it to wrap ErrUnavailable", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("migrate took %v to fail", d)
			}
		})
	}
}

// TestRedactDSN: the password is hidden wherever it is, the user name shown (README: "a
// PostgreSQL URL with the password hidden").
func TestRedactDSN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://user:pw@db.example:5432/customers":                     "postgres://user:***@db.example:5432/customers",
		"postgresql://user@db/customers?sslmode=require":                   "postgresql://user@db/customers?sslmode=require",
		"postgres://:pw@db/customers":                                      "postgres://:***@db/customers",
		"postgres://db/customers?sslmode=require&password=pw&user=u":       "postgres://db/customers?sslmode=require&password=***&user=u",
		"postgres://db/customers?sslpassword=pw&pass%77ord=pw&PASSWORD=pw": "postgres://db/customers?sslpassword=***&pass%77ord=***&PASSWORD=***",
		"postgres://u:p@ss@db/customers":                                   "postgres://u:***@db/customers",
		"./var/customers.db":                                               "./var/customers.db",
		"postgres://db/customers?bad%zzkey=pw":                             "postgres://db/customers?bad%zzkey=***",
		// The OTLP endpoint's, which serve logs at start.
		"https://otel:s3cret@collector.example:4318/v1/traces":              "https://otel:***@collector.example:4318/v1/traces",
		"https://collector.example:4318?api_key=k&Token=t&x=1&sig=s&AUTH=a": "https://collector.example:4318?api_key=***&Token=***&x=1&sig=***&AUTH=***",
		"http://localhost:4318": "http://localhost:4318",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
