package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/server"
)

// The limits in these tests have tiny rates (one token in over a quarter of an hour), so that
// nothing refills while a test runs, however slow the machine: each outcome is counted, not
// timed.

// clientFrom returns an HTTP client whose connections leave from ip (any of 127.0.0.0/8 reaches
// the test server on Linux), with responses validated against the contract.
func clientFrom(t *testing.T, env *apitest.Env, ip string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	transport := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: &apitest.ValidatingTransport{T: t, Router: apitest.MustRouter(t, env.Contract), Base: transport}}
}

// forgedBearer is an Authorization header naming the tenant, signed with a key of the issuer's
// key id that the issuer never published.
func forgedBearer(t *testing.T, env *apitest.Env, tenantID string) string {
	t.Helper()
	forged, err := auth.Sign(apitest.MustEd25519Key(t, env.Issuer.Key().ID), env.Issuer.Claims(tenantID))
	if err != nil {
		t.Fatal(err)
	}
	env.Sensitive(forged)
	return "Bearer " + forged
}

var tokenSerial atomic.Int64

// freshBearer is an Authorization header with a valid access token for the tenant that the
// service has never seen, so that it must verify it in full.
func freshBearer(t *testing.T, env *apitest.Env, tenantID string, change ...func(jwt.MapClaims)) string {
	t.Helper()
	claims := env.Issuer.Claims(tenantID)
	claims["jti"] = strconv.FormatInt(tokenSerial.Add(1), 10)
	for _, c := range change {
		c(claims)
	}
	token := env.Issuer.MustToken(t, claims)
	env.Sensitive(token)
	return "Bearer " + token
}

// madeUpAPIToken is an API token of the right form that was never issued.
func madeUpAPIToken(t *testing.T) string {
	t.Helper()
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return "cat_" + hex.EncodeToString(id) + ".bWFkZS11cC1zZWNyZXQtb2YtdGhlLXJpZ2h0LWxlbmd0aA"
}

// wantTooMany fails unless the answer is a 429 problem with a Retry-After of at least a second.
func wantTooMany(t *testing.T, resp *http.Response, typ string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests || typ != problem.TooManyRequests.TypeURI() {
		t.Errorf("%d %q, want a 429 problem", resp.StatusCode, typ)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
}

func TestAFloodOfForgedTokensDoesNotLockTheRealTenantOut(t *testing.T) {
	const burst, workers = 10, 8
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) {
		d.ClientLimit = ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: burst, Global: 1000, GlobalBurst: 1000}
	}))
	env.MustImport(t, "tenant-a", "org-a")
	forger := clientFrom(t, env, "127.0.0.2")
	forged := credentials{bearer: forgedBearer(t, env, "tenant-a"), apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}

	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range 25 {
				resp, p := sendWith(t, env, forger, "org-a", forged)
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode == http.StatusTooManyRequests {
					wantTooMany(t, resp, p.Type)
				}
			}
		})
	}
	wg.Wait()
	// Each worker may pass the check while the last failure is still being verified.
	if statuses[http.StatusUnauthorized] < burst || statuses[http.StatusUnauthorized] > burst+workers ||
		statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != workers*25 {
		t.Errorf("the forger's answers: %v; want the burst (and one in flight per worker) as 401, the rest 429", statuses)
	}
	for i := range 5 {
		real := credentials{bearer: freshBearer(t, env, "tenant-a"), apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}
		if resp, p := send(t, env, "org-a", real); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d of the real tenant from another address: %d %+v", i, resp.StatusCode, p)
		}
	}
	t.Run("requests without a bearer token are failures too", func(t *testing.T) {
		client := clientFrom(t, env, "127.0.0.3")
		none := credentials{apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}
		for i := range burst {
			if resp, p := sendWith(t, env, client, "org-a", none); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("request %d: %d %+v, want 401", i, resp.StatusCode, p)
			}
		}
		resp, p := sendWith(t, env, client, "org-a", none)
		wantTooMany(t, resp, p.Type)
	})
}

// TestForgedTokensFromManyAddressesDoNotLockTheRealTenantOut is the flood of issue 17: forgers
// on 40 addresses, each under its own limit, spend the global failure budget; a real tenant
// with valid credentials from another address is then never refused.
func TestForgedTokensFromManyAddressesDoNotLockTheRealTenantOut(t *testing.T) {
	const addresses, rounds, globalBurst = 40, 5, 100 // 200 attempts, 5 per address: under its burst of 10
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) {
		d.ClientLimit = ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 10, Global: 0.001, GlobalBurst: globalBurst}
	}))
	env.MustImport(t, "tenant-a", "org-a")
	apiToken := env.APIToken(t, "tenant-a")
	forgers := make([]*http.Client, addresses)
	for i := range forgers {
		forgers[i] = clientFrom(t, env, fmt.Sprintf("127.0.0.%d", 10+i))
	}
	forged := credentials{bearer: forgedBearer(t, env, "tenant-a"), apiToken: apiToken, tenantID: "tenant-a"}

	statuses := map[int]int{}
	for range rounds {
		for _, forger := range forgers {
			resp, p := sendWith(t, env, forger, "org-a", forged)
			statuses[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				wantTooMany(t, resp, p.Type)
			}
		}
	}
	// The global budget pays for 100 failures; after that every forger has failures on record.
	if statuses[http.StatusUnauthorized] != globalBurst || statuses[http.StatusTooManyRequests] != addresses*rounds-globalBurst {
		t.Fatalf("the forgers' answers: %v; want %d × 401 (the global budget), the rest 429", statuses, globalBurst)
	}

	tenant := clientFrom(t, env, "127.0.0.200")
	var remembered string
	refused := 0
	for i := range 31 {
		// A new access token each time: each must be verified, so each meets the limits.
		real := credentials{bearer: freshBearer(t, env, "tenant-a"), apiToken: apiToken, tenantID: "tenant-a"}
		resp, p := sendWith(t, env, tenant, "org-a", real)
		if resp.StatusCode != http.StatusOK {
			refused++
			t.Errorf("request %d of the real tenant: %d %+v", i, resp.StatusCode, p)
		}
		remembered = real.bearer
	}
	if refused > 0 {
		t.Fatalf("the real tenant was refused %d times of 31, want 0", refused)
	}

	forger := forgers[0]
	t.Run("a forging address is refused up front, even with a good new token", func(t *testing.T) {
		resp, p := sendWith(t, env, forger, "org-a", credentials{bearer: freshBearer(t, env, "tenant-a"), apiToken: apiToken, tenantID: "tenant-a"})
		wantTooMany(t, resp, p.Type)
	})
	t.Run("an access token verified before passes from any address", func(t *testing.T) {
		resp, p := sendWith(t, env, forger, "org-a", credentials{bearer: remembered, apiToken: apiToken, tenantID: "tenant-a"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %+v, want 200", resp.StatusCode, p)
		}
	})
	t.Run("after its success, the address is verified again", func(t *testing.T) {
		resp, p := sendWith(t, env, forger, "org-a", credentials{bearer: freshBearer(t, env, "tenant-a"), apiToken: apiToken, tenantID: "tenant-a"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %+v, want 200", resp.StatusCode, p)
		}
	})
}

// TestALeakedAccessTokenDoesNotSpendItsTenantsBudget sends what a holder of tenant A's access
// token, without its API token, can send; A's budget must be whole afterwards.
func TestALeakedAccessTokenDoesNotSpendItsTenantsBudget(t *testing.T) {
	const burst = 3
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) { d.RateLimit, d.RateBurst = 0.001, burst }))
	env.MustImport(t, "tenant-a", "org-a")
	env.MustImport(t, "tenant-b", "org-b")
	leaked := freshBearer(t, env, "tenant-a")
	attacks := []struct {
		name  string
		creds credentials
		want  int
	}{
		{"the leaked access token with made-up API tokens", credentials{bearer: leaked, tenantID: "tenant-a"}, http.StatusUnauthorized},
		{"the leaked access token with tenant B's API token", credentials{bearer: leaked, apiToken: env.APIToken(t, "tenant-b"), tenantID: "tenant-a"}, http.StatusUnauthorized},
		{"the leaked access token for tenant B", credentials{bearer: leaked, apiToken: env.APIToken(t, "tenant-b"), tenantID: "tenant-b"}, http.StatusForbidden},
		{"forged access tokens naming tenant A", credentials{bearer: forgedBearer(t, env, "tenant-a"), apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}, http.StatusUnauthorized},
	}
	for _, a := range attacks {
		for i := range 30 {
			c := a.creds
			if c.apiToken == "" {
				c.apiToken = madeUpAPIToken(t)
			}
			if resp, p := send(t, env, "org-a", c); resp.StatusCode != a.want {
				t.Fatalf("%s, request %d: %d %+v, want %d", a.name, i, resp.StatusCode, p, a.want)
			}
		}
	}
	for _, tenantID := range []string{"tenant-a", "tenant-b"} {
		real := credentials{bearer: freshBearer(t, env, tenantID), apiToken: env.APIToken(t, tenantID), tenantID: tenantID}
		org := "org-" + tenantID[len("tenant-"):]
		for i := range burst {
			if resp, p := send(t, env, org, real); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s's request %d of its burst of %d: %d %+v", tenantID, i, burst, resp.StatusCode, p)
			}
		}
		resp, p := send(t, env, org, real)
		wantTooMany(t, resp, p.Type) // the budget is there, and spent by the tenant's own requests
	}
}

// TestTheAnswersAreNoOracle checks that for a credential the caller does not hold whole, the
// answer is the same whether that credential is live, revoked, expired, another tenant's or
// made up: an access token of tenant A cannot test stolen API tokens.
func TestTheAnswersAreNoOracle(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, "tenant-a", "org-a")
	env.MustImport(t, "tenant-b", "org-b")
	ctx := t.Context()
	now := time.Now()
	revoked := func(tenantID string) string {
		token, row, err := env.Tokens.Issue(ctx, tenantID, "revoked", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Store.RevokeAPIToken(ctx, row.ID, now); err != nil {
			t.Fatal(err)
		}
		env.Sensitive(token)
		return token
	}
	expired := func(tenantID string) string {
		token, _, err := auth.NewAPITokens(env.Store, func() time.Time { return now.Add(-2 * time.Hour) }).Issue(ctx, tenantID, "expired", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		env.Sensitive(token)
		return token
	}
	apiTokens := map[string]string{
		"tenant A's live API token":    env.APIToken(t, "tenant-a"),
		"tenant A's revoked API token": revoked("tenant-a"),
		"tenant B's live API token":    env.APIToken(t, "tenant-b"),
		"tenant B's revoked API token": revoked("tenant-b"),
		"tenant B's expired API token": expired("tenant-b"),
		"a made-up API token":          madeUpAPIToken(t),
	}
	tests := []struct {
		name      string
		bearer    string
		tenantID  string
		apiTokens []string // keys of apiTokens
		want      int
	}{
		{"tenant A's access token for tenant B", freshBearer(t, env, "tenant-a"), "tenant-b", []string{
			"tenant B's live API token", "tenant B's revoked API token", "tenant B's expired API token", "a made-up API token", "tenant A's live API token",
		}, http.StatusForbidden},
		{"tenant A's access token without the scope", freshBearer(t, env, "tenant-a", func(c jwt.MapClaims) { c["scope"] = "profile" }), "tenant-a", []string{
			"tenant A's live API token", "tenant A's revoked API token", "tenant B's live API token", "a made-up API token",
		}, http.StatusForbidden},
		{"tenant A's access token with an API token that is not A's live one", freshBearer(t, env, "tenant-a"), "tenant-a", []string{
			"tenant B's live API token", "tenant B's revoked API token", "tenant A's revoked API token", "a made-up API token",
		}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var first string
			for _, name := range tc.apiTokens {
				resp, p := send(t, env, "org-b", credentials{bearer: tc.bearer, apiToken: apiTokens[name], tenantID: tc.tenantID})
				detail := ""
				if p.Detail != nil {
					detail = *p.Detail
				}
				answer := fmt.Sprintf("%d %s %q %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"), p.Type, detail)
				if resp.StatusCode != tc.want {
					t.Errorf("with %s: %s, want %d", name, answer, tc.want)
				}
				if first == "" {
					first = answer
				} else if answer != first {
					t.Errorf("with %s: %s\nwith %s: %s", tc.apiTokens[0], first, name, answer)
				}
			}
		})
	}
}

// TestALeakedAccessTokenCannotTestAPITokensWithoutLimit checks that made-up API tokens sent with
// a leaked access token (one the verifier remembers) are charged to the sender's address and
// refused once its failures are spent, while the tenant, from its own address, is served.
func TestALeakedAccessTokenCannotTestAPITokensWithoutLimit(t *testing.T) {
	const burst = 5
	env := apitest.MustStart(t, apitest.WithDeps(func(d *server.Deps) {
		d.ClientLimit = ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: burst, Global: 0.001, GlobalBurst: 1000}
	}))
	env.MustImport(t, "tenant-a", "org-a")
	leaked := freshBearer(t, env, "tenant-a")
	real := credentials{bearer: leaked, apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}
	if resp, p := send(t, env, "org-a", real); resp.StatusCode != http.StatusOK { // the token is now remembered
		t.Fatalf("the tenant's first request: %d %+v", resp.StatusCode, p)
	}
	thief := clientFrom(t, env, "127.0.0.9")
	for i := range burst {
		if resp, p := sendWith(t, env, thief, "org-a", credentials{bearer: leaked, apiToken: madeUpAPIToken(t), tenantID: "tenant-a"}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("made-up API token %d: %d %+v, want 401", i, resp.StatusCode, p)
		}
	}
	resp, p := sendWith(t, env, thief, "org-a", credentials{bearer: leaked, apiToken: madeUpAPIToken(t), tenantID: "tenant-a"})
	wantTooMany(t, resp, p.Type)
	for i := range 10 {
		if resp, p := send(t, env, "org-a", real); resp.StatusCode != http.StatusOK {
			t.Fatalf("the tenant's request %d beside the thief: %d %+v", i, resp.StatusCode, p)
		}
	}
}
