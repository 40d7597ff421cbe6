package server_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/problem"
)

// credentials are what one attack sends.
type credentials struct {
	bearer   string // the whole Authorization header; "" leaves it out
	apiToken string
	tenantID string
}

func send(t *testing.T, env *apitest.Env, organizationID string, c credentials) (*http.Response, gen.Problem) {
	t.Helper()
	return sendWith(t, env, env.HTTP, organizationID, c)
}

// sendWith sends the request through client.
func sendWith(t *testing.T, env *apitest.Env, client *http.Client, organizationID string, c credentials) (*http.Response, gen.Problem) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/organization/getCustomers/"+organizationID, nil)
	if c.bearer != "" {
		req.Header.Set("Authorization", c.bearer)
	}
	req.Header.Set("token", c.apiToken)
	req.Header.Set("tenantId", c.tenantID)
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return &http.Response{}, gen.Problem{}
	}
	defer resp.Body.Close()
	var p gen.Problem
	if resp.StatusCode != http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatalf("status %d without problem details: %v", resp.StatusCode, err)
		}
	}
	return resp, p
}

// unsigned returns a JWT with alg none.
func unsigned(claims jwt.MapClaims) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"test-key-1"}`))
	body, _ := json.Marshal(claims)
	return header + "." + base64.RawURLEncoding.EncodeToString(body) + "."
}

// TestAttacksOnTheCredentials tries every way a request can fake, stretch or borrow credentials
// against a real issuer that serves its keys over HTTP.
func TestAttacksOnTheCredentials(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, "tenant-a", "org-a")
	env.MustImport(t, "tenant-b", "org-b")
	issuer := env.Issuer
	tokens := env.Store
	ctx := t.Context()

	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := issuer.Claims("tenant-a")
		if change != nil {
			change(c)
		}
		return c
	}
	bearer := func(c jwt.MapClaims) string { return "Bearer " + issuer.MustToken(t, c) }
	now := time.Now()
	otherKey := apitest.MustEd25519Key(t, "test-key-1") // same kid, different key
	unknownKey := apitest.MustEd25519Key(t, "never-published")
	hmacWithPublicKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
		tok.Header["kid"] = issuer.Key().ID
		s, err := tok.SignedString([]byte(issuer.Key().Private.Public().(ed25519.PublicKey)))
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}

	validToken := env.APIToken(t, "tenant-a")
	revoked, revokedRow, err := env.Tokens.Issue(ctx, "tenant-a", "revoked", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.RevokeAPIToken(ctx, revokedRow.ID, now); err != nil {
		t.Fatal(err)
	}
	expired, _, err := auth.NewAPITokens(tokens, func() time.Time { return now.Add(-2 * time.Hour) }).Issue(ctx, "tenant-a", "expired", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// rawBearer signs a header and claims written by hand, as a forger would.
	rawBearer := func(header, payload string) string {
		signing := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
		sig, err := jwt.SigningMethodEdDSA.Sign(signing, issuer.Key().Private)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	claimsJSON := func(change func(jwt.MapClaims)) string {
		b, err := json.Marshal(claims(change))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	withTyp := func(typ any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(nil))
		tok.Header["kid"], tok.Header["typ"] = issuer.Key().ID, typ
		s, err := tok.SignedString(issuer.Key().Private)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	header := `{"alg":"EdDSA","kid":"` + issuer.Key().ID + `"}`
	// withCrit signs a header whose members after alg and kid are crit's (a crit and what it names).
	withCrit := func(crit string) string {
		return rawBearer(`{"alg":"EdDSA","kid":"`+issuer.Key().ID+`",`+crit+`}`, claimsJSON(nil))
	}
	valid := credentials{bearer: bearer(claims(nil)), apiToken: validToken, tenantID: "tenant-a"}
	with := func(change func(*credentials)) credentials {
		c := valid
		change(&c)
		return c
	}
	// withClaims is valid credentials with the access token's claims changed.
	withClaims := func(change func(jwt.MapClaims)) credentials {
		return with(func(c *credentials) { c.bearer = bearer(claims(change)) })
	}

	tests := []struct {
		name         string
		organization string
		creds        credentials
		wantStatus   int
		wantType     string
		wantReason   auth.Reason // what the access line and the metric say; never the client
	}{
		{"valid credentials", "org-a", valid, 200, "", ""},
		{"expired within the leeway", "org-a", withClaims(func(m jwt.MapClaims) { m["exp"] = now.Add(-10 * time.Second).Unix() }), 200, "", ""},
		{"scopes as an scp array", "org-a", withClaims(func(m jwt.MapClaims) { delete(m, "scope"); m["scp"] = []string{"other", auth.DefaultScope} }), 200, "", ""},
		{"typ at+jwt", "org-a", with(func(c *credentials) { c.bearer = withTyp("at+jwt") }), 200, "", ""},
		{"typ application/AT+JWT", "org-a", with(func(c *credentials) { c.bearer = withTyp("application/AT+JWT") }), 200, "", ""},
		{"valid for exactly the maximum lifetime", "org-a", withClaims(func(m jwt.MapClaims) { m["exp"] = now.Add(auth.DefaultMaxLifetime).Unix(); m["iat"] = now.Unix() }), 200, "", ""},
		{"no bearer", "org-a", with(func(c *credentials) { c.bearer = "" }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"malformed bearer", "org-a", with(func(c *credentials) { c.bearer = "Bearer not.a.jwt" }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"bad signature", "org-a", with(func(c *credentials) {
			s, _ := auth.Sign(otherKey, claims(nil))
			c.bearer = "Bearer " + s
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonBadSignature},
		{"expired", "org-a", withClaims(func(m jwt.MapClaims) { m["exp"] = now.Add(-2 * time.Minute).Unix() }), 401, problem.Unauthorized.TypeURI(), auth.ReasonExpired},
		{"no expiry", "org-a", withClaims(func(m jwt.MapClaims) { delete(m, "exp") }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"not yet valid", "org-a", withClaims(func(m jwt.MapClaims) { m["nbf"] = now.Add(2 * time.Minute).Unix() }), 401, problem.Unauthorized.TypeURI(), auth.ReasonNotYetValid},
		{"issued a year in the future", "org-a", withClaims(func(m jwt.MapClaims) {
			m["iat"] = now.AddDate(1, 0, 0).Unix()
			m["exp"] = now.AddDate(1, 0, 0).Add(time.Hour).Unix()
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonNotYetValid},
		{"valid for longer than the maximum lifetime", "org-a", withClaims(func(m jwt.MapClaims) { m["exp"] = now.Add(auth.DefaultMaxLifetime + time.Minute).Unix() }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"expiring in the year 3000 without iat", "org-a", withClaims(func(m jwt.MapClaims) {
			delete(m, "iat")
			m["exp"] = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"typ of another kind of token", "org-a", with(func(c *credentials) { c.bearer = withTyp("dpop+jwt") }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"typ that is not a string", "org-a", with(func(c *credentials) { c.bearer = withTyp(1) }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"alg twice in the header", "org-a", with(func(c *credentials) {
			c.bearer = rawBearer(`{"alg":"none","alg":"EdDSA","kid":"`+issuer.Key().ID+`"}`, claimsJSON(nil))
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"tenant_id twice in the claims", "org-a", with(func(c *credentials) {
			c.bearer = rawBearer(header, `{"tenant_id":"tenant-b",`+claimsJSON(nil)[1:])
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"a key twice in a nested object of the claims", "org-a", with(func(c *credentials) {
			c.bearer = rawBearer(header, `{"cnf":{"x":[{"a":1}],"x":2},`+claimsJSON(nil)[1:])
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"the same key in sibling objects is fine", "org-a", with(func(c *credentials) {
			c.bearer = rawBearer(header, `{"cnf":{"a":{"x":1},"b":{"x":1}},`+claimsJSON(nil)[1:])
		}), 200, "", ""},
		{"crit naming an extension", "org-a", with(func(c *credentials) { c.bearer = withCrit(`"crit":["x-ext"],"x-ext":true`) }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"crit naming a registered header", "org-a", with(func(c *credentials) { c.bearer = withCrit(`"crit":["exp"]`) }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"crit empty", "org-a", with(func(c *credentials) { c.bearer = withCrit(`"crit":[]`) }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"crit that is not a list", "org-a", with(func(c *credentials) { c.bearer = withCrit(`"crit":"x-ext"`) }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"wrong issuer", "org-a", withClaims(func(m jwt.MapClaims) { m["iss"] = "https://evil.test/" }), 401, problem.Unauthorized.TypeURI(), auth.ReasonWrongIssuer},
		{"wrong audience", "org-a", withClaims(func(m jwt.MapClaims) { m["aud"] = "another-api" }), 401, problem.Unauthorized.TypeURI(), auth.ReasonWrongAudience},
		{"alg none", "org-a", with(func(c *credentials) { c.bearer = "Bearer " + unsigned(claims(nil)) }), 401, problem.Unauthorized.TypeURI(), auth.ReasonBadSignature},
		{"HS256 signed with the public key", "org-a", with(func(c *credentials) { c.bearer = hmacWithPublicKey() }), 401, problem.Unauthorized.TypeURI(), auth.ReasonBadSignature},
		{"unknown kid", "org-a", with(func(c *credentials) {
			s, _ := auth.Sign(unknownKey, claims(nil))
			c.bearer = "Bearer " + s
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonUnknownKey},
		{"no tenant claim", "org-a", withClaims(func(m jwt.MapClaims) { delete(m, "tenant_id") }), 401, problem.Unauthorized.TypeURI(), auth.ReasonMalformed},
		{"tenant claim differs from the header", "org-a", withClaims(func(m jwt.MapClaims) { m["tenant_id"] = "tenant-b" }), 403, problem.Forbidden.TypeURI(), auth.ReasonTenantMismatch},
		{"missing scope", "org-a", withClaims(func(m jwt.MapClaims) { m["scope"] = "customers:write profile" }), 403, problem.Forbidden.TypeURI(), auth.ReasonMissingScope},
		{"API token unknown", "org-a", with(func(c *credentials) {
			c.apiToken = "cat_00000000000000000000000000000000.AAAA"
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonAPITokenUnknown},
		{"API token with a wrong secret", "org-a", with(func(c *credentials) {
			c.apiToken = validToken[:strings.Index(validToken, ".")] + ".wrong-secret"
		}), 401, problem.Unauthorized.TypeURI(), auth.ReasonAPITokenUnknown},
		{"API token revoked", "org-a", with(func(c *credentials) { c.apiToken = revoked }), 401, problem.Unauthorized.TypeURI(), auth.ReasonAPITokenRevoked},
		{"API token expired", "org-a", with(func(c *credentials) { c.apiToken = expired }), 401, problem.Unauthorized.TypeURI(), auth.ReasonAPITokenExpired},
		{"API token of another tenant", "org-a", with(func(c *credentials) { c.apiToken = env.APIToken(t, "tenant-b") }), 401, problem.Unauthorized.TypeURI(), auth.ReasonAPITokenOtherTenant},
		{"all of tenant-b's credentials for tenant-a", "org-a", credentials{
			bearer: bearer(issuer.Claims("tenant-b")), apiToken: env.APIToken(t, "tenant-b"), tenantID: "tenant-a",
		}, 403, problem.Forbidden.TypeURI(), auth.ReasonTenantMismatch},
		{"organization of another tenant", "org-b", valid, 404, problem.NotFound.TypeURI(), ""},
	}
	var unauthorizedBody string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No part of a credential may be logged: apitest checks the logs for these.
			for _, secret := range []string{strings.TrimPrefix(tc.creds.bearer, "Bearer "), tc.creds.apiToken} {
				for part := range strings.SplitSeq(secret, ".") {
					if len(part) >= 16 {
						env.Sensitive(part)
					}
				}
			}
			before := testutil.ToFloat64(env.Metrics.AuthFailures.WithLabelValues(string(tc.wantReason)))
			resp, p := send(t, env, tc.organization, tc.creds)
			if resp.StatusCode != tc.wantStatus || p.Type != tc.wantType {
				t.Fatalf("got %d %q, want %d %q (%+v)", resp.StatusCode, p.Type, tc.wantStatus, tc.wantType, p)
			}
			line := env.MustAccessLine(t, resp.Header.Get("X-Request-Id"))
			if got, _ := line["auth_failure"].(string); got != string(tc.wantReason) {
				t.Errorf("access line auth_failure = %q, want %q", got, tc.wantReason)
			}
			if tc.wantReason != "" {
				if after := testutil.ToFloat64(env.Metrics.AuthFailures.WithLabelValues(string(tc.wantReason))); after != before+1 {
					t.Errorf("customer_api_auth_failures_total{reason=%q} went from %v to %v, want +1", tc.wantReason, before, after)
				}
			}
			if tc.wantStatus == http.StatusUnauthorized {
				if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="customer-api", error="invalid_token"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				// Every 401 says the same: nothing tells which check failed.
				if p.Detail == nil {
					t.Fatal("401 without detail")
				}
				if unauthorizedBody == "" {
					unauthorizedBody = *p.Detail
				} else if *p.Detail != unauthorizedBody {
					t.Errorf("401 detail %q differs from %q", *p.Detail, unauthorizedBody)
				}
			}
		})
	}
}

// TestRotatedKeysArePickedUpWithoutARestart rotates the issuer's key while the service runs,
// against an issuer that answers its key set only after a network's latency.
func TestRotatedKeysArePickedUpWithoutARestart(t *testing.T) {
	const interval = 400 * time.Millisecond
	env := apitest.MustStart(t,
		apitest.WithIssuer(func(i *apitest.Issuer) { i.SetLatency(60 * time.Millisecond) }),
		apitest.WithKeySet(auth.KeySetOptions{UnknownKeyRefetch: interval, RefreshInterval: time.Hour}))
	env.MustImport(t, "tenant-a", "org-a")
	creds := credentials{apiToken: env.APIToken(t, "tenant-a"), tenantID: "tenant-a"}
	token := func() string {
		s := env.Issuer.MustToken(t, env.Issuer.Claims("tenant-a"))
		env.Sensitive(s)
		return "Bearer " + s
	}

	creds.bearer = token()
	if resp, _ := send(t, env, "org-a", creds); resp.StatusCode != http.StatusOK {
		t.Fatalf("before rotation: %d", resp.StatusCode)
	}
	oldBearer := creds.bearer

	t.Run("a token of the new key is accepted at once, after one fetch", func(t *testing.T) {
		before := env.Issuer.Fetches()
		env.Issuer.Rotate(apitest.MustEd25519Key(t, "test-key-2"))
		creds.bearer = token()
		if resp, p := send(t, env, "org-a", creds); resp.StatusCode != http.StatusOK {
			t.Fatalf("token of the new key: %d %+v", resp.StatusCode, p)
		}
		if after := env.Issuer.Fetches(); after != before+1 {
			t.Errorf("%d fetches of the key set, want 1", after-before)
		}
	})
	t.Run("a token of the withdrawn key is refused", func(t *testing.T) {
		creds := creds
		creds.bearer = oldBearer
		if resp, _ := send(t, env, "org-a", creds); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token of the withdrawn key: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("a flood of unknown key ids fetches at most once per interval", func(t *testing.T) {
		before := env.Issuer.Fetches()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				s, _ := auth.Sign(apitest.MustEd25519Key(t, fmt.Sprintf("forged-%d", i)), env.Issuer.Claims("tenant-a"))
				c := creds
				c.bearer = "Bearer " + s
				if resp, _ := send(t, env, "org-a", c); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("forged kid: %d, want 401", resp.StatusCode)
				}
			})
		}
		wg.Wait()
		after := env.Issuer.Fetches()
		if allowed := 1 + int(time.Since(start)/interval); after-before > allowed {
			t.Errorf("%d fetches in %s, want at most %d", after-before, time.Since(start), allowed)
		}
	})
	t.Run("the next rotation is picked up within one interval", func(t *testing.T) {
		env.Issuer.Rotate(apitest.MustEd25519Key(t, "test-key-3"))
		creds.bearer = token()
		start := time.Now()
		deadline := time.After(interval + 10*time.Second) // generous: the machine may be loaded
		for {
			resp, _ := send(t, env, "org-a", creds)
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("token of the newest key: %d", resp.StatusCode)
			}
			select {
			case <-deadline:
				t.Fatalf("token of the newest key still refused after %s", time.Since(start))
			case <-time.After(interval / 8):
			}
		}
	})
	if strings.Contains(env.Logs.String(), "deadline exceeded") {
		t.Errorf("a fetch of the key set timed out:\n%s", env.Logs.String())
	}
}
