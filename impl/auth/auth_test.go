package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/auth"
)

func claims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": "https://issuer.test/", "aud": "api", "sub": "s", "tenant_id": "t1",
		"scope": "a customers:read", "exp": now.Add(time.Hour).Unix()}
}

// TestEveryAllowedAlgorithmVerifies signs with RS256, ES256 and EdDSA keys published together.
func TestEveryAllowedAlgorithmVerifies(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := []auth.SigningKey{
		{ID: "rsa", Algorithm: "RS256", Private: rsaKey},
		{ID: "ec", Algorithm: "ES256", Private: ecKey},
		{ID: "ed", Algorithm: "EdDSA", Private: edKey},
	}
	jwks, err := auth.PublicJWKS(keys...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(jwks), `"d"`) {
		t.Fatal("the published key set holds a private part")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) }))
	defer srv.Close()
	kf, err := auth.RemoteKeys(t.Context(), srv.URL, auth.KeySetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Issuer: "https://issuer.test/", Audience: "api"}, kf)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		token, err := auth.Sign(k, claims(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.Verify(token)
		if err != nil {
			t.Errorf("%s: %v", k.Algorithm, err)
			continue
		}
		if id.TenantID != "t1" || id.Subject != "s" || !id.HasScope("customers:read") || id.HasScope("customers") {
			t.Errorf("%s: identity %+v", k.Algorithm, id)
		}
	}
}

func TestVerifierRefusesALeewayOverAMinute(t *testing.T) {
	if _, err := auth.NewVerifier(auth.VerifierConfig{Issuer: "i", Audience: "a", Leeway: 2 * time.Minute}, nil); err == nil {
		t.Error("a leeway of two minutes was accepted")
	}
	if _, err := auth.NewVerifier(auth.VerifierConfig{Audience: "a"}, nil); err == nil {
		t.Error("a verifier without an issuer was accepted")
	}
}

func TestDiscover(t *testing.T) {
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/keys"})
	}))
	defer srv.Close()

	issuer = srv.URL
	jwksURI, err := auth.Discover(t.Context(), srv.URL)
	if err != nil || jwksURI != srv.URL+"/keys" {
		t.Fatalf("discovery = %q, %v", jwksURI, err)
	}
	issuer = "https://someone-else.test"
	if _, err := auth.Discover(t.Context(), srv.URL); err == nil {
		t.Error("a document naming another issuer was accepted")
	}
}

func TestAPITokens(t *testing.T) {
	st, _ := apitest.MustSQLite(t)
	ctx := context.Background()
	tokens := auth.NewAPITokens(st, nil)
	token, row, err := tokens.Issue(ctx, "t1", "n", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tokens.Check(ctx, token); err != nil || got.ID != row.ID || got.TenantID != "t1" {
		t.Fatalf("check of a fresh token: %+v, %v", got, err)
	}
	stored, _ := st.APIToken(ctx, row.ID)
	if len(stored.SecretHash) != 32 {
		t.Error("the stored hash is not a SHA-256")
	}
	for _, bad := range []string{"", "cat_", "cat_x.y", token + "x", strings.Replace(token, "cat_", "tok_", 1),
		"cat_" + strings.Repeat("0", 32) + ".secret"} {
		if _, err := tokens.Check(ctx, bad); !errors.Is(err, auth.ErrInvalidAPIToken) {
			t.Errorf("Check(%q) = %v, want ErrInvalidAPIToken", bad, err)
		}
	}
	later := auth.NewAPITokens(st, func() time.Time { return time.Now().Add(2 * time.Hour) })
	if _, err := later.Check(ctx, token); !errors.Is(err, auth.ErrInvalidAPIToken) {
		t.Errorf("an expired token passed: %v", err)
	}
	if err := st.RevokeAPIToken(ctx, row.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Check(ctx, token); !errors.Is(err, auth.ErrInvalidAPIToken) {
		t.Errorf("a revoked token passed: %v", err)
	}
}

func TestDevKeyIsCreatedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := auth.LoadDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := auth.LoadDevKey(dir)
	if err != nil || second.ID != first.ID {
		t.Fatalf("second load: %v, kid %s vs %s", err, second.ID, first.ID)
	}
	kf, _ := auth.LocalKeys(first)
	v, _ := auth.NewVerifier(auth.VerifierConfig{Issuer: auth.DevIssuer, Audience: auth.DevAudience}, kf)
	token, err := auth.DevToken(second, "t1", "dev", []string{auth.DefaultScope}, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if id, err := v.Verify(token); err != nil || id.TenantID != "t1" {
		t.Fatalf("dev token: %+v, %v", id, err)
	}
}

// TestAFailedRefetchIsLoggedThroughTheGivenLogger breaks the issuer after the first fetch and
// expects the unknown kid's refetch failure in the service's JSON log, not the default logger.
func TestAFailedRefetchIsLoggedThroughTheGivenLogger(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signing := auth.SigningKey{ID: "k1", Algorithm: "EdDSA", Private: key}
	jwks, err := auth.PublicJWKS(signing)
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write(jwks)
	}))
	defer srv.Close()
	var logs syncBuffer
	kf, err := auth.RemoteKeys(t.Context(), srv.URL, auth.KeySetOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	broken.Store(true)
	v, _ := auth.NewVerifier(auth.VerifierConfig{Issuer: "https://issuer.test/", Audience: "api"}, kf)
	token, _ := auth.Sign(auth.SigningKey{ID: "k2", Algorithm: "EdDSA", Private: key}, claims(time.Now()))
	_, err = v.Verify(token)
	if f := (*auth.Failure)(nil); !errors.As(err, &f) || f.Reason != auth.ReasonUnknownKey {
		t.Fatalf("Verify = %v, want unknown_key", err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil || line["level"] != "WARN" || !strings.Contains(fmt.Sprint(line["error"]), "status 502") {
		t.Errorf("log %q: want one JSON warning with the status", logs.String())
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
