package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestAVerifiedTokenIsRememberedUntilItExpires checks the verifier's memory of tokens that
// passed: the same token is not verified in full again, but its expiry still is checked; a token
// is verified in full again after verifiedFor; refused tokens are not remembered. (That a token
// of a withdrawn key is refused at once is TestRotatedKeysArePickedUpWithoutARestart's.)
func TestAVerifiedTokenIsRememberedUntilItExpires(t *testing.T) {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := devSigningKey(private)
	local, err := LocalKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	lookups := 0 // by full verifications, which hand the key function the token's claims
	counting := func(tok *jwt.Token) (any, error) {
		if tok.Claims != nil {
			lookups++
		}
		return local(tok)
	}
	v, err := NewVerifier(VerifierConfig{Issuer: DevIssuer, Audience: DevAudience, Leeway: 10 * time.Second}, counting)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	clock := start
	v.now = func() time.Time { return clock }
	token, err := DevToken(key, "tenant-a", "sub", nil, 5*time.Minute, start)
	if err != nil {
		t.Fatal(err)
	}

	for range 3 {
		if id, err := v.Verify(token); err != nil || id.TenantID != "tenant-a" {
			t.Fatalf("Verify = %+v, %v", id, err)
		}
	}
	if lookups != 1 {
		t.Errorf("%d full verifications of one token verified three times, want 1", lookups)
	}

	clock = start.Add(verifiedFor + time.Second)
	if _, err := v.Verify(token); err != nil || lookups != 2 {
		t.Errorf("after verifiedFor: %v, %d lookups; want a full verification", err, lookups)
	}

	clock = start.Add(5*time.Minute + 11*time.Second) // past exp and the leeway
	var f *Failure
	if _, err := v.Verify(token); !errors.As(err, &f) || f.Reason != ReasonExpired || !errors.Is(err, errInvalidToken) {
		t.Errorf("an expired remembered token: %v, want expired", err)
	}

	clock = start
	forged := token[:len(token)-4] + "AAAA"
	for range 2 {
		if _, err := v.Verify(forged); err == nil {
			t.Fatal("a forged signature passed")
		}
	}
	if v.verified.Len() != 0 {
		t.Errorf("%d tokens remembered after an expiry and two refusals, want 0", v.verified.Len())
	}
}
