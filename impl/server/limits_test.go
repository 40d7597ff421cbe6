package server_test

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/server"
)

// clientFrom returns an HTTP client whose connections leave from ip (any of 127.0.0.0/8 reaches
// the test server on Linux), with responses validated against the contract.
func clientFrom(t *testing.T, env *apitest.Env, ip string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	transport := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: &apitest.ValidatingTransport{T: t, Router: apitest.MustRouter(t, env.Contract), Base: transport}}
}

func TestAFloodOfForgedTokensDoesNotLockTheRealTenantOut(t *testing.T) {
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) {
		d.ClientLimit = ratelimit.ClientConfig{PerClient: 1, PerClientBurst: 10, Global: 1000, GlobalBurst: 1000}
	}))
	env.MustImport(t, "tenant-a", "org-a")
	forger := clientFrom(t, env, "127.0.0.2")
	forged, err := auth.Sign(apitest.MustEd25519Key(t, env.Issuer.Key().ID), env.Issuer.Claims("tenant-a"))
	if err != nil {
		t.Fatal(err)
	}
	forgedCreds := credentials{bearer: "Bearer " + forged, apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}
	real := credentials{bearer: "Bearer " + env.Issuer.MustToken(t, env.Issuer.Claims("tenant-a")), apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}
	env.Sensitive(forged, real.bearer)

	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				resp, p := sendWith(t, env, forger, "org-a", forgedCreds)
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode == http.StatusTooManyRequests {
					if p.Type != problem.TooManyRequests.TypeURI() {
						t.Errorf("429 of type %q", p.Type)
					}
					if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
					}
				}
			}
		})
	}
	wg.Wait()
	if statuses[http.StatusTooManyRequests] == 0 || statuses[http.StatusUnauthorized] > 10+5 {
		t.Errorf("the forger's answers: %v; want at most the burst (and what trickled in) as 401, the rest 429", statuses)
	}
	for i := range 5 {
		if resp, p := send(t, env, "org-a", real); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d of the real tenant from another address: %d %+v", i, resp.StatusCode, p)
		}
	}
}

func TestRefusedCredentialsCountAgainstTheTenantOfTheVerifiedAccessToken(t *testing.T) {
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) { d.RateLimit, d.RateBurst = 0.01, 3 }))
	env.MustImport(t, "tenant-a", "org-a")
	env.MustImport(t, "tenant-b", "org-b")
	bearer := "Bearer " + env.Issuer.MustToken(t, env.Issuer.Claims("tenant-a"))
	env.Sensitive(bearer)
	bad := credentials{bearer: bearer, apiToken: "cat_00000000000000000000000000000000.AAAA", tenantID: "tenant-a"}
	for i := range 3 {
		if resp, _ := send(t, env, "org-a", bad); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("refused API token %d: %d, want 401", i, resp.StatusCode)
		}
	}
	good := bad
	good.apiToken = env.APIToken(t, "tenant-a")
	if resp, _ := send(t, env, "org-a", good); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after three refusals the tenant's bucket of 3 is empty: got %d, want 429", resp.StatusCode)
	}
	other := credentials{bearer: "Bearer " + env.Issuer.MustToken(t, env.Issuer.Claims("tenant-b")), apiToken: env.APIToken(t, "tenant-b"), tenantID: "tenant-b"}
	env.Sensitive(other.bearer)
	if resp, _ := send(t, env, "org-b", other); resp.StatusCode != http.StatusOK {
		t.Fatalf("another tenant: %d, want 200", resp.StatusCode)
	}
}
