package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// failingStore is a real store whose read of customers is replaced by a failure.
type failingStore struct {
	store.Store
	read func() ([]store.Customer, error)
}

func (f failingStore) OrganizationVersion(context.Context, string, string) (string, error) {
	return "v-failing", nil
}

func (f failingStore) ReadOrganization(context.Context, string, string) (store.Snapshot, error) {
	list, err := f.read()
	if err != nil {
		return nil, err
	}
	return &memSnapshot{V: "v-failing", List: list}, nil
}

// TestServiceFailuresAreOpaqueProblems checks that a failing store and a panicking handler both
// answer a 500 (or 503) problem without internal detail, and that the log line that explains it
// carries the same request id as the response.
func TestServiceFailuresAreOpaqueProblems(t *testing.T) {
	const internal = "disk /dev/sda1 exploded at offset 0x1234"
	tests := []struct {
		name       string
		read       func() ([]store.Customer, error)
		wantStatus int
		wantType   string
		wantLog    string
		// contractFailure: the response validator, not the handler, turns this into a 500.
		contractFailure bool
	}{
		{
			name:       "store error",
			read:       func() ([]store.Customer, error) { return nil, errors.New(internal) },
			wantStatus: http.StatusInternalServerError, wantType: problem.Internal.TypeURI(), wantLog: internal,
		},
		{
			name:       "panic",
			read:       func() ([]store.Customer, error) { panic(internal) },
			wantStatus: http.StatusInternalServerError, wantType: problem.Internal.TypeURI(), wantLog: internal,
		},
		{
			name:       "store unreachable",
			read:       func() ([]store.Customer, error) { return nil, errors.Join(store.ErrUnavailable, errors.New(internal)) },
			wantStatus: http.StatusServiceUnavailable, wantType: problem.Unavailable.TypeURI(), wantLog: internal,
		},
		{
			name: "a stored document that breaks the contract",
			read: func() ([]store.Customer, error) {
				return []store.Customer{{ID: "cus-1", Document: []byte(`{"id":"cus-1","customerStatus":"gone"}`)}}, nil
			},
			wantStatus: http.StatusInternalServerError, wantType: problem.Internal.TypeURI(),
			wantLog: `"pointer":"/0/customer/customerStatus"`, contractFailure: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := apitest.MustStart(t)
			env := apitest.MustStartWith(t, base.Contract, failingStore{Store: base.Store, read: tc.read})
			if tc.contractFailure {
				env.AllowContractFailures()
			}

			resp, err := env.Client.GetOrganizationCustomersWithResponse(context.Background(), "org-1", env.Params(t, tenant), env.Bearer(t, tenant))
			if err != nil {
				t.Fatal(err)
			}
			var p gen.Problem
			if err := json.Unmarshal(resp.Body, &p); err != nil {
				t.Fatalf("body %s: %v", resp.Body, err)
			}
			if resp.StatusCode() != tc.wantStatus || p.Type != tc.wantType {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode(), p.Type, tc.wantStatus, tc.wantType)
			}
			if strings.Contains(string(resp.Body), "0x1234") || strings.Contains(string(resp.Body), "gone") {
				t.Errorf("the problem shows internal detail: %s", resp.Body)
			}
			if tc.wantStatus == http.StatusServiceUnavailable && resp.HTTPResponse.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			id := resp.HTTPResponse.Header.Get("X-Request-Id")
			if p.RequestId == nil || *p.RequestId != id {
				t.Fatalf("requestId %v, header %q", p.RequestId, id)
			}
			if !eventually(func() bool { return logLineHas(env.Logs.String(), id, tc.wantLog) }) {
				t.Errorf("no log line with request id %s explains the failure:\n%s", id, env.Logs.String())
			}
			if ok := getCustomers(t, base, tenant, "org-1"); ok.StatusCode() != http.StatusNotFound {
				t.Errorf("the service did not keep serving: %d", ok.StatusCode())
			}
		})
	}
}

// eventually reports whether cond holds within a few seconds: log lines trail the response.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// logLineHas reports whether one JSON log line carries the request id and mentions want.
func logLineHas(logs, requestID, want string) bool {
	for _, line := range strings.Split(logs, "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if entry["request_id"] == requestID && strings.Contains(line, want) {
			return true
		}
	}
	return false
}

// answer is what one request got back.
type answer struct {
	status     int
	retryAfter string
	problem    gen.Problem // for problem details
	body       string
}

// get sends a GET with valid credentials of tenant to url through the env's validating client.
func get(t *testing.T, env *apitest.Env, url string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env.Headers(t, tenant) {
		req.Header.Set(k, v)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(body)}
	if resp.Header.Get("Content-Type") == problem.ContentType {
		if err := json.Unmarshal(body, &a.problem); err != nil {
			t.Fatalf("GET %s: problem details: %v", url, err)
		}
	}
	return a
}

// readyzURL is the readiness endpoint of env, which lives outside the API's base path.
func readyzURL(env *apitest.Env) string { return "http://" + env.Addr + "/readyz" }

// wantUnavailable checks a 503 problem that asks the client to retry.
func wantUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || a.problem.Status != http.StatusServiceUnavailable ||
		a.problem.Type != problem.Unavailable.TypeURI() || a.retryAfter != problem.RetryAfterSeconds {
		t.Errorf("%s: status %d, Retry-After %q, body %s; want 503 problem details with Retry-After %s",
			what, a.status, a.retryAfter, a.body, problem.RetryAfterSeconds)
	}
}

func TestReadyzAnswersWhileTheDatabaseDoes(t *testing.T) {
	t.Parallel()
	env := apitest.MustStart(t)
	if a := get(t, env, readyzURL(env)); a.status != http.StatusOK || !strings.Contains(a.body, `"ready"`) {
		t.Fatalf("readyz: %d %s; want 200 ready", a.status, a.body)
	}
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, "readyz on a closed store", get(t, env, readyzURL(env)))
}

func TestReadyzAnswers503WhileDraining(t *testing.T) {
	t.Parallel()
	draining := make(chan struct{})
	base := apitest.MustStart(t)
	base.MustImport(t, tenant, "org-1")
	env := apitest.MustStartWith(t, base.Contract, base.Store, apitest.WithDeps(func(d *server.Deps) { d.Draining = draining }))
	if a := get(t, env, readyzURL(env)); a.status != http.StatusOK {
		t.Fatalf("readyz before draining: %d %s", a.status, a.body)
	}
	close(draining)
	wantUnavailable(t, "readyz while draining", get(t, env, readyzURL(env)))
	// Requests are still served until the listener closes.
	if a := get(t, env, env.URL+"/organization/getCustomers/org-1"); a.status != http.StatusOK {
		t.Errorf("a request while draining: %d %s", a.status, a.body)
	}
}

// TestPostgresOutageAnswers503AndRecovers runs the service on PostgreSQL behind a TCP proxy and
// cuts the network: /readyz and the API answer 503 problem details with Retry-After promptly,
// whether connections are refused or go unanswered, and both recover on their own once the
// database is back.
func TestPostgresOutageAnswers503AndRecovers(t *testing.T) {
	pgtest.ServerURL(t)
	t.Parallel()
	for _, outage := range pgtest.Outages {
		t.Run(outage.Name, func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			proxy, viaProxy := pgtest.ProxyURL(t, d.URL)
			const connectTimeout = time.Second
			st, err := postgres.Open(t.Context(), viaProxy, postgres.Options{ConnectTimeout: connectTimeout})
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.MigrateUp(t.Context()); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			env := apitest.MustStartWith(t, apitest.MustContract(t), st)
			in := demoCustomers(t, demo.RetailOrganizationID)[:3]
			env.MustImport(t, tenant, "org-1", in...)
			customersURL := env.URL + "/organization/getCustomers/org-1"
			if a := get(t, env, customersURL); a.status != http.StatusOK {
				t.Fatalf("customers before the outage: %d %s", a.status, a.body)
			}

			if err := outage.Start(proxy); err != nil {
				t.Fatal(err)
			}
			for _, url := range []string{readyzURL(env), customersURL} {
				start := time.Now()
				wantUnavailable(t, "GET "+url+" during the outage", get(t, env, url))
				if took := time.Since(start); took > connectTimeout+5*time.Second {
					t.Errorf("GET %s during the outage took %v", url, took)
				}
			}

			if err := proxy.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				ready, customers := get(t, env, readyzURL(env)), get(t, env, customersURL)
				if ready.status == http.StatusOK && customers.status == http.StatusOK {
					if !strings.Contains(customers.body, `"id":"`+*in[0].Id+`"`) {
						t.Errorf("customers after the outage: %s", customers.body)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no recovery: readyz %d %s, customers %d %s", ready.status, ready.body, customers.status, customers.body)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
