package server_test

import (
	"encoding/json"
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
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

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
			if err := st.Migrate(t.Context()); err != nil {
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
