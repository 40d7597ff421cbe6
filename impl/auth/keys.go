// The refresh is ours, not jwkset's (NewStorageFromHTTP with RefreshUnknownKID): jwkset fetches
// for an unknown kid under its rate-limiter wait, and queues other tokens on the limiter. Against
// a JWKS 60 ms slow, a short wait timed the fetch out, a long one held 20 forged kids 8 s.

package auth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// KeySetOptions tune how a remote key set is kept.
type KeySetOptions struct {
	RefreshInterval   time.Duration // default 15 minutes
	UnknownKeyRefetch time.Duration // least time between fetches for an unknown kid; default 30 s
	Logger            *slog.Logger  // failed refreshes; default slog.Default()
}

// maxDocumentBytes bounds the key set and discovery documents read; fetchTimeout each fetch.
const (
	maxDocumentBytes = 1 << 20
	fetchTimeout     = 10 * time.Second
)

// remoteKeys is a key set fetched over HTTP into keyfunc's memory storage.
type remoteKeys struct {
	url     string
	opts    KeySetOptions
	storage *jwkset.MemoryJWKSet
	lookup  keyfunc.Keyfunc
	limiter *rate.Limiter
	flight  singleflight.Group // one fetch for an unknown kid at a time; the others wait for it
}

// RemoteKeys returns a key function over the JWKS at url: fetched now, every RefreshInterval
// until ctx ends, and for an unknown kid at most once per UnknownKeyRefetch (a rotated key works
// without a restart). Tokens arriving during that fetch wait for it; others fail at once.
func RemoteKeys(ctx context.Context, url string, opts KeySetOptions) (jwt.Keyfunc, error) {
	opts.RefreshInterval = cmp.Or(opts.RefreshInterval, 15*time.Minute)
	opts.UnknownKeyRefetch = cmp.Or(opts.UnknownKeyRefetch, 30*time.Second)
	opts.Logger = cmp.Or(opts.Logger, slog.Default())
	storage := jwkset.NewMemoryStorage()
	lookup, _ := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage}) // fails only without a storage
	k := &remoteKeys{url: url, opts: opts, storage: storage, lookup: lookup,
		limiter: rate.NewLimiter(rate.Every(opts.UnknownKeyRefetch), 1)}
	if err := k.fetch(ctx); err != nil {
		return nil, err
	}
	go k.refreshEvery(ctx)
	return k.keyfunc(ctx), nil
}

func (k *remoteKeys) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(token *jwt.Token) (any, error) {
		key, err := k.lookup.Keyfunc(token)
		if !errors.Is(err, jwkset.ErrKeyNotFound) {
			return key, err
		}
		if !k.refetch(ctx) {
			return nil, err
		}
		return k.lookup.Keyfunc(token)
	}
}

// refetch fetches the set for an unknown kid, or waits for the fetch under way; it reports
// whether the lookup is worth repeating.
func (k *remoteKeys) refetch(ctx context.Context) bool {
	fetched := k.flight.DoChan("", func() (any, error) {
		return k.limiter.Allow() && k.fetchOrWarn(ctx, "fetching the issuer's key set for an unknown key id"), nil
	})
	select {
	case r := <-fetched:
		return r.Val.(bool)
	case <-ctx.Done():
		return false
	}
}

func (k *remoteKeys) refreshEvery(ctx context.Context) {
	ticker := time.NewTicker(k.opts.RefreshInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			k.fetchOrWarn(ctx, "refreshing the issuer's key set")
		}
	}
}

// fetchOrWarn fetches the set; a failure is logged, and the keys held stay.
func (k *remoteKeys) fetchOrWarn(ctx context.Context, what string) bool {
	err := k.fetch(ctx)
	if err != nil {
		k.opts.Logger.WarnContext(ctx, what+" failed; keeping the keys we have", "url", k.url, "error", err.Error())
	}
	return err == nil
}

// fetch replaces the keys held. Keys of unsupported types are skipped; a malformed key fails
// the fetch.
func (k *remoteKeys) fetch(ctx context.Context) error {
	var set jwkset.JWKSMarshal
	if err := getJSON(ctx, k.url, "application/jwk-set+json, application/json", &set); err != nil {
		return fmt.Errorf("key set %s: %w", k.url, err)
	}
	keys := make([]jwkset.JWK, 0, len(set.Keys))
	for _, m := range set.Keys {
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		switch {
		case errors.Is(err, jwkset.ErrUnsupportedKey):
			continue
		case err != nil:
			return fmt.Errorf("key set %s: key %q: %w", k.url, m.KID, err)
		}
		keys = append(keys, jwk)
	}
	return k.storage.KeyReplaceAll(ctx, keys) // a memory set: cannot fail
}

// Discover returns the jwks_uri of issuer's /.well-known/openid-configuration, which must name
// the same issuer (OpenID Connect Discovery 1.0, 4.3).
func Discover(ctx context.Context, issuer string) (jwksURI string, err error) {
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var d struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, url, "application/json", &d); err != nil {
		return "", fmt.Errorf("discovery %s: %w", url, err)
	}
	if d.Issuer != issuer {
		return "", fmt.Errorf("discovery %s names issuer %q, not %q", url, d.Issuer, issuer)
	}
	if d.JWKSURI == "" {
		return "", errors.New("discovery " + url + " names no jwks_uri")
	}
	return d.JWKSURI, nil
}

// getJSON decodes the JSON document at url into v, within fetchTimeout.
func getJSON(ctx context.Context, url, accept string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentBytes)).Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
