package apitest

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cyrexa/customer-api/impl/auth"
)

// The issuer and audience of the test authorization server's tokens.
const (
	TestIssuer   = "https://issuer.test/"
	TestAudience = "customer-api-test"
)

// Issuer is a real authorization server for tests: it publishes its keys as a JWKS over HTTP,
// signs access tokens, and can rotate its key without the service restarting.
type Issuer struct {
	JWKSURL string

	key     atomic.Pointer[auth.SigningKey]
	latency atomic.Int64 // a time.Duration
	fetches atomic.Int64
}

// MustIssuer starts an issuer with a fresh Ed25519 key.
func MustIssuer(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{}
	i.Rotate(MustEd25519Key(t, "test-key-1"))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := i.Key()
		select { // a real issuer is a network away
		case <-time.After(time.Duration(i.latency.Load())):
		case <-r.Context().Done():
			return
		}
		i.fetches.Add(1)
		jwks, err := auth.PublicJWKS(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(ts.Close)
	i.JWKSURL = ts.URL + "/jwks.json"
	return i
}

// SetLatency makes every answer of the key set wait d first.
func (i *Issuer) SetLatency(d time.Duration) { i.latency.Store(int64(d)) }

// Fetches returns how often the key set was served so far.
func (i *Issuer) Fetches() int { return int(i.fetches.Load()) }

// MustEd25519Key returns a new Ed25519 signing key with the given id.
func MustEd25519Key(t testing.TB, id string) auth.SigningKey {
	t.Helper()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return auth.SigningKey{ID: id, Algorithm: "EdDSA", Private: private}
}

// Key returns the key the issuer signs with now.
func (i *Issuer) Key() auth.SigningKey { return *i.key.Load() }

// Rotate makes key the one the issuer signs with and publishes (the old one is withdrawn).
func (i *Issuer) Rotate(key auth.SigningKey) { i.key.Store(&key) }

// Claims returns valid claims for the tenant: right issuer and audience, the read scope, valid
// for an hour.
func (i *Issuer) Claims(tenantID string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":       TestIssuer,
		"aud":       TestAudience,
		"sub":       "integration-" + tenantID,
		"tenant_id": tenantID,
		"scope":     auth.DefaultScope,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
	}
}

// MustToken signs claims with the issuer's current key.
func (i *Issuer) MustToken(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	token, err := auth.Sign(i.Key(), claims)
	if err != nil {
		t.Fatal(err)
	}
	return token
}
