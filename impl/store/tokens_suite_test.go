package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
)

// runTokens runs the API token suite; open returns a fresh, migrated store.
func runTokens(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	hash := bytes.Repeat([]byte{7}, 32)
	// Times are kept to the microsecond, as PostgreSQL keeps them.
	created := time.Date(2026, 11, 1, 10, 0, 0, 123456000, time.UTC)

	t.Run("a created token reads back as stored", func(t *testing.T) {
		st := open(t)
		want := store.APIToken{ID: "tok1", TenantID: "tenant-a", Name: "billing", SecretHash: hash,
			CreatedAt: created, ExpiresAt: created.Add(720 * time.Hour)}
		if err := st.CreateAPIToken(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := st.APIToken(ctx, "tok1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.TenantID != want.TenantID || got.Name != want.Name || !bytes.Equal(got.SecretHash, hash) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.RevokedAt.IsZero() {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("a token without expiry has a zero ExpiresAt", func(t *testing.T) {
		st := open(t)
		if err := st.CreateAPIToken(ctx, store.APIToken{ID: "tok1", TenantID: "t", SecretHash: hash, CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		if got, err := st.APIToken(ctx, "tok1"); err != nil || !got.ExpiresAt.IsZero() {
			t.Errorf("got %+v, %v", got, err)
		}
	})
	t.Run("an unknown token is not found", func(t *testing.T) {
		st := open(t)
		if _, err := st.APIToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		if err := st.RevokeAPIToken(ctx, "nope", created); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoke err = %v, want ErrNotFound", err)
		}
	})
	t.Run("tokens are listed per tenant, oldest first", func(t *testing.T) {
		st := open(t)
		for i, tok := range []store.APIToken{
			{ID: "b", TenantID: "tenant-a", CreatedAt: created.Add(time.Hour)},
			{ID: "a", TenantID: "tenant-a", CreatedAt: created},
			{ID: "c", TenantID: "tenant-b", CreatedAt: created},
		} {
			tok.SecretHash = hash
			if err := st.CreateAPIToken(ctx, tok); err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
		}
		got, err := st.APITokens(ctx, "tenant-a")
		if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
			t.Errorf("tenant-a tokens = %+v, %v", got, err)
		}
		if none, err := st.APITokens(ctx, "tenant-z"); err != nil || none == nil || len(none) != 0 {
			t.Errorf("unknown tenant's tokens = %#v, %v; want empty", none, err)
		}
	})
	t.Run("revoking keeps the first revocation time", func(t *testing.T) {
		st := open(t)
		if err := st.CreateAPIToken(ctx, store.APIToken{ID: "tok1", TenantID: "t", SecretHash: hash, CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		first := created.Add(time.Minute)
		if err := st.RevokeAPIToken(ctx, "tok1", first); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeAPIToken(ctx, "tok1", first.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.APIToken(ctx, "tok1"); err != nil || !got.RevokedAt.Equal(first) {
			t.Errorf("revoked at %v (%v), want %v", got.RevokedAt, err, first)
		}
	})
	t.Run("token ids are unique", func(t *testing.T) {
		st := open(t)
		tok := store.APIToken{ID: "tok1", TenantID: "t", SecretHash: hash, CreatedAt: created}
		if err := st.CreateAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAPIToken(ctx, tok); err == nil {
			t.Error("a second token with the same id was stored")
		}
	})
}
