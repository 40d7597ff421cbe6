package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/store"
)

const tenant = "tenant-ctl"

// result is what one run of customerctl left behind.
type result struct {
	code           int
	stdout, stderr string
}

func runCtl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	for _, k := range []string{"CUSTOMER_API_URL", "CUSTOMER_API_TENANT", "CUSTOMER_API_BEARER", "CUSTOMER_API_TOKEN"} {
		t.Setenv(k, env[k]) // ff reads the process's environment: these tests do not run in parallel
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// credentials returns the environment of a partner of the tenant: URL and valid credentials.
func credentials(t *testing.T, e *apitest.Env, tenantID string) map[string]string {
	t.Helper()
	h := e.Headers(t, tenantID)
	return map[string]string{
		"CUSTOMER_API_URL":    e.URL,
		"CUSTOMER_API_TENANT": tenantID,
		"CUSTOMER_API_BEARER": strings.TrimPrefix(h["Authorization"], "Bearer "),
		"CUSTOMER_API_TOKEN":  h["token"],
	}
}

func demoCustomers(t *testing.T) []gen.Customer {
	t.Helper()
	for _, org := range apitest.DemoDataset() {
		if org.ID == demo.RetailOrganizationID {
			return org.Customers
		}
	}
	t.Fatal("no demo retail organization")
	return nil
}

// assertNoSecrets fails when an output carries a credential.
func assertNoSecrets(t *testing.T, r result, env map[string]string) {
	t.Helper()
	for _, k := range []string{"CUSTOMER_API_BEARER", "CUSTOMER_API_TOKEN"} {
		if v := env[k]; v != "" && (strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v)) {
			t.Errorf("%s was printed", k)
		}
	}
}

func TestCustomersAgainstTheRealService(t *testing.T) {
	e := apitest.MustStart(t)
	customers := demoCustomers(t)
	e.MustImport(t, tenant, "org-retail", customers...)
	e.MustImport(t, tenant, "org-empty")
	env := credentials(t, e, tenant)

	t.Run("JSON by default: the response, indented", func(t *testing.T) {
		r := runCtl(t, env, "customers", "--organization", "org-retail")
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		var list gen.CustomerList
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("stdout is not the customer list: %v", err)
		}
		if len(list) != len(customers) {
			t.Errorf("%d customers, want %d", len(list), len(customers))
		}
		if !strings.HasPrefix(r.stdout, "[\n  {\n    \"customer\": {") {
			t.Errorf("not indented: %.60q", r.stdout)
		}
		for _, secret := range []string{`"password"`, `"pinCode"`, `"answer"`} {
			if strings.Contains(r.stdout, secret) {
				t.Errorf("output carries %s", secret)
			}
		}
		assertNoSecrets(t, r, env)
	})

	t.Run("a table of id, name, type, status and email", func(t *testing.T) {
		r := runCtl(t, env, "customers", "--organization", "org-retail", "-o", "table")
		if r.code != exitOK {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != "ID NAME TYPE STATUS EMAIL" {
			t.Errorf("header %q", lines[0])
		}
		if len(lines) != len(customers)+1 {
			t.Fatalf("%d lines, want a header and %d rows:\n%s", len(lines), len(customers), r.stdout)
		}
		first := customers[0]
		for _, c := range customers {
			if *c.Id < *first.Id {
				first = c
			}
		}
		row := lines[1]
		for _, want := range []string{*first.Id, *first.CustomerName, string(*first.CustomerType), string(*first.CustomerStatus), *first.Person.Email} {
			if !strings.Contains(row, want) {
				t.Errorf("first row %q lacks %q", row, want)
			}
		}
	})

	t.Run("--etag-file: a 200 writes the ETag, an unchanged list then exits 7 with no output", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "org-retail.etag")
		first := runCtl(t, env, "customers", "--organization", "org-retail", "--etag-file", file)
		tag, err := os.ReadFile(file)
		if first.code != exitOK || err != nil || !strings.HasPrefix(string(tag), `"`) {
			t.Fatalf("exit %d, etag file %q (%v), stderr %q", first.code, tag, err, first.stderr)
		}
		again := runCtl(t, env, "customers", "--organization", "org-retail", "--etag-file", file)
		if again.code != exitNotModified || again.stdout != "" || !strings.Contains(again.stderr, "not modified") {
			t.Fatalf("unchanged: exit %d, stdout %q, stderr %q", again.code, again.stdout, again.stderr)
		}
		renamed := customers[0]
		name := "Renamed Customer"
		renamed.CustomerName = &name
		e.MustImport(t, tenant, "org-retail", renamed)
		changed := runCtl(t, env, "customers", "--organization", "org-retail", "--etag-file", file)
		newTag, _ := os.ReadFile(file)
		if changed.code != exitOK || !strings.Contains(changed.stdout, name) || string(newTag) == string(tag) {
			t.Fatalf("changed: exit %d, new tag %q (old %q), stderr %q", changed.code, newTag, tag, changed.stderr)
		}
	})

	t.Run("--output is -o", func(t *testing.T) {
		r := runCtl(t, env, "customers", "--organization", "org-empty", "--output", "table")
		if r.code != exitOK || strings.Join(strings.Fields(r.stdout), " ") != "ID NAME TYPE STATUS EMAIL" {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
	})

	t.Run("an empty organization is an empty array", func(t *testing.T) {
		r := runCtl(t, env, "customers", "--organization", "org-empty")
		if r.code != exitOK || r.stdout != "[]\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("flags win over the environment", func(t *testing.T) {
		wrong := map[string]string{
			"CUSTOMER_API_URL": "http://127.0.0.1:1", "CUSTOMER_API_TENANT": "tenant-other",
			"CUSTOMER_API_BEARER": "wrong", "CUSTOMER_API_TOKEN": "wrong",
		}
		r := runCtl(t, wrong, "customers", "--organization", "org-empty", "--url", env["CUSTOMER_API_URL"],
			"--tenant", tenant, "--bearer", env["CUSTOMER_API_BEARER"], "--token", env["CUSTOMER_API_TOKEN"])
		if r.code != exitOK || r.stdout != "[]\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("a URL without a path gets the API's base path", func(t *testing.T) {
		hostOnly := map[string]string{}
		for k, v := range env {
			hostOnly[k] = v
		}
		hostOnly["CUSTOMER_API_URL"] = "http://" + e.Addr + "/"
		r := runCtl(t, hostOnly, "customers", "--organization", "org-empty")
		if r.code != exitOK || r.stdout != "[]\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("an unknown organization is a client error with readable problem details", func(t *testing.T) {
		r := runCtl(t, env, "customers", "--organization", "org-nope")
		if r.code != exitClientError || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
		for _, want := range []string{"customerctl: 404 Not found: No organization with this id exists for the tenant.",
			"type:       https://customer-api.cyrexa.dev/problems/not-found", "request id: "} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	t.Run("a malformed tenant is a client error naming the header", func(t *testing.T) {
		r := runCtl(t, env, "customers", "--organization", "org-retail", "--tenant", "no spaces allowed")
		if r.code != exitClientError {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "400 Invalid request") || !strings.Contains(r.stderr, "  header tenantId: ") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
	})

	t.Run("a bearer the issuer did not sign is an auth error", func(t *testing.T) {
		bad := map[string]string{}
		for k, v := range env {
			bad[k] = v
		}
		bad["CUSTOMER_API_BEARER"] = "not.a.token"
		r := runCtl(t, bad, "customers", "--organization", "org-retail")
		if r.code != exitAuthError || !strings.Contains(r.stderr, "401 Unauthorized") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		assertNoSecrets(t, r, bad)
	})

	t.Run("an access token of another tenant is an auth error", func(t *testing.T) {
		other := credentials(t, e, "tenant-elsewhere")
		mixed := map[string]string{}
		for k, v := range env {
			mixed[k] = v
		}
		mixed["CUSTOMER_API_BEARER"] = other["CUSTOMER_API_BEARER"]
		r := runCtl(t, mixed, "customers", "--organization", "org-retail")
		if r.code != exitAuthError || !strings.Contains(r.stderr, "403 Forbidden") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// failingStore is a real store whose reads of organizations fail as a lost database does.
type failingStore struct{ store.Store }

func (failingStore) OrganizationVersion(context.Context, string, string) (string, error) {
	return "", store.ErrUnavailable
}

func (failingStore) ReadOrganization(context.Context, string, string) (store.Snapshot, error) {
	return nil, store.ErrUnavailable
}

func TestServerErrors(t *testing.T) {

	t.Run("the real service without its database is a server error", func(t *testing.T) {
		st, _ := apitest.MustSQLite(t)
		e := apitest.MustStartWith(t, apitest.MustContract(t), failingStore{st})
		r := runCtl(t, credentials(t, e, tenant), "customers", "--organization", "org-retail")
		if r.code != exitServerError || !strings.Contains(r.stderr, "503 Service unavailable") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("a gateway's HTML error page is a server error", func(t *testing.T) {
		gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>\x1b[2J bad gateway</html>"))
		}))
		t.Cleanup(gateway.Close)
		r := runCtl(t, map[string]string{"CUSTOMER_API_URL": gateway.URL, "CUSTOMER_API_TENANT": tenant,
			"CUSTOMER_API_BEARER": "b", "CUSTOMER_API_TOKEN": "t"}, "customers", "--organization", "org-1")
		if r.code != exitServerError || r.stderr != "customerctl: the service answered 502 Bad Gateway (text/html, 29 bytes)\n" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("no listener is a network error", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		r := runCtl(t, map[string]string{"CUSTOMER_API_URL": "http://" + addr, "CUSTOMER_API_TENANT": tenant,
			"CUSTOMER_API_BEARER": "secret-bearer", "CUSTOMER_API_TOKEN": "secret-token"}, "customers", "--organization", "org-1")
		if r.code != exitNetwork || !strings.Contains(r.stderr, "no answer from http://"+addr+"/customer/1.0.0") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "secret-") {
			t.Errorf("a credential was printed: %s", r.stderr)
		}
	})

	t.Run("a 200 that is not the contract's JSON is not trusted", func(t *testing.T) {
		odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"not": "a list"}`))
		}))
		t.Cleanup(odd.Close)
		r := runCtl(t, map[string]string{"CUSTOMER_API_URL": odd.URL, "CUSTOMER_API_TENANT": tenant,
			"CUSTOMER_API_BEARER": "b", "CUSTOMER_API_TOKEN": "t"}, "customers", "--organization", "org-1")
		if r.code != exitNetwork || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

func TestTableCellsCannotCarryTerminalControls(t *testing.T) {
	name := "Evil\x1b[2J\tName\nNext"
	id, status := "cus-1", gen.CustomerStatusNew
	var out bytes.Buffer
	if err := write(&out, "table", nil, gen.CustomerList{{Customer: &gen.Customer{Id: &id, CustomerName: &name, CustomerStatus: &status}}}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\x1b\t") || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("table carries control characters: %q", out.String())
	}
	if !strings.Contains(out.String(), "Evil [2J Name Next") {
		t.Errorf("name not shown: %q", out.String())
	}
}

func TestUsage(t *testing.T) {
	full := map[string]string{"CUSTOMER_API_TENANT": tenant, "CUSTOMER_API_BEARER": "b", "CUSTOMER_API_TOKEN": "t"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no command", nil, nil, "usage: customerctl"},
		{"an unknown command", nil, []string{"orders"}, `unknown command "orders"`},
		{"no organization", full, []string{"customers"}, "missing --organization"},
		{"no credentials", nil, []string{"customers", "--organization", "o"},
			"missing --tenant (or CUSTOMER_API_TENANT), --bearer (or CUSTOMER_API_BEARER), --token (or CUSTOMER_API_TOKEN)"},
		{"an unknown output", full, []string{"customers", "--organization", "o", "-o", "yaml"}, `-o "yaml": want json or table`},
		{"a URL that is not http", full, []string{"customers", "--organization", "o", "--url", "ftp://x"}, "is not an http(s) URL"},
		{"a stray argument", full, []string{"customers", "--organization", "o", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCtl(t, tc.env, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %d and %q", r.code, r.stderr, exitUsage, tc.want)
			}
		})
	}

	t.Run("help is not an error", func(t *testing.T) {
		for _, args := range [][]string{{"help"}, {"customers", "-h"}} {
			if r := runCtl(t, nil, args...); r.code != exitOK {
				t.Errorf("%v: exit %d", args, r.code)
			}
		}
	})
}

// The exit statuses are documented; a change to them breaks partners' scripts.
func TestExitStatusesAreDistinct(t *testing.T) {
	t.Parallel()
	seen := map[int]string{}
	for name, code := range map[string]int{"ok": exitOK, "usage": exitUsage, "client": exitClientError,
		"auth": exitAuthError, "server": exitServerError, "network": exitNetwork, "not modified": exitNotModified} {
		if other, dup := seen[code]; dup {
			t.Errorf("%s and %s share exit status %d", name, other, code)
		}
		seen[code] = name
	}
	for status, want := range map[int]int{400: exitClientError, 404: exitClientError, 406: exitClientError, 429: exitClientError,
		401: exitAuthError, 403: exitAuthError, 500: exitServerError, 503: exitServerError, 302: exitNetwork} {
		if got := statusExit(status); got != want {
			t.Errorf("HTTP %d exits %d, want %d", status, got, want)
		}
	}
}

func TestVersionHelp(t *testing.T) {
	r := runCtl(t, nil, "version", "-h")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "usage: customerctl version\n") {
		t.Errorf("version -h: exit %d, stdout %q", r.code, r.stdout)
	}
}
