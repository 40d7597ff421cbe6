package store_test

import (
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
)

func TestAPITokenState(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		token store.APIToken
		want  store.APITokenState
	}{
		{"a token without expiry or revocation is active", store.APIToken{}, store.APITokenActive},
		{"a token before its expiry is active", store.APIToken{ExpiresAt: now.Add(time.Microsecond)}, store.APITokenActive},
		{"a token at its expiry instant is expired", store.APIToken{ExpiresAt: now}, store.APITokenExpired},
		{"a token past its expiry is expired", store.APIToken{ExpiresAt: now.Add(-time.Hour)}, store.APITokenExpired},
		{"a revoked token is revoked", store.APIToken{RevokedAt: now.Add(-time.Minute)}, store.APITokenRevoked},
		{"a revoked token that has also expired is revoked", store.APIToken{ExpiresAt: now.Add(-time.Hour), RevokedAt: now.Add(-2 * time.Hour)}, store.APITokenRevoked},
		{"a token revoked before its expiry is revoked", store.APIToken{ExpiresAt: now.Add(time.Hour), RevokedAt: now.Add(-time.Minute)}, store.APITokenRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.token.State(now); got != tc.want {
				t.Errorf("State(%s) of %+v = %q, want %q", now.Format(time.RFC3339), tc.token, got, tc.want)
			}
		})
	}
}
