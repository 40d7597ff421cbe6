// The refresh of a remote key set is written here, around keyfunc and jwkset's memory storage,
// rather than taken from jwkset's own (NewStorageFromHTTP with RefreshUnknownKID): jwkset runs
// the fetch for an unknown kid under the deadline of its rate-limiter wait (RateLimitWaitMax),
// and lets every other token with that kid queue on the limiter, not wait for the fetch under
// way. Tried against TestRotatedKeysArePickedUpWithoutARestart (a JWKS 60 ms slow): a wait as
// short as the refetch interval times the fetch out; one as long as the fetch timeout passes,
// but 20 forged kids then hold their requests 8 s instead of failing at once.

package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// KeySetOptions tune how a remote key set is kept.
type KeySetOptions struct {
	Client *http.Client
	// RefreshInterval is how often the key set is fetched again (default 15 minutes).
	RefreshInterval time.Duration
	// UnknownKeyRefetch is the least time between two fetches caused by an unknown kid
	// (default 30 seconds). A token with an unknown kid never waits for the limiter: when no
	// fetch is allowed and none is under way, it fails at once.
	UnknownKeyRefetch time.Duration
	// FetchTimeout bounds each fetch of the key set, the first one included (default 10 seconds).
	FetchTimeout time.Duration
	// Logger receives failed refreshes (default slog.Default(); the service passes its own).
	Logger *slog.Logger
}

// maxJWKSBytes bounds the key set document the service reads.
const maxJWKSBytes = 1 << 20

// remoteKeys is a key set fetched over HTTP into memory. keyfunc turns a kid into a key over
// the memory storage; the fetches are this type's own, so that the fetch caused by an unknown
// kid gets its own deadline (see the top of this file).
type remoteKeys struct {
	url     string
	opts    KeySetOptions
	storage jwkset.Storage
	lookup  keyfunc.Keyfunc
	limiter *rate.Limiter

	mu       sync.Mutex
	inFlight chan struct{} // closed when the current unknown-kid fetch ends; nil when none runs
}

// RemoteKeys returns a key function over the JWKS at url. The set is fetched now, refreshed
// every RefreshInterval until ctx ends, and fetched again, at most once per UnknownKeyRefetch,
// when a token names a key id the set does not hold: so a rotated key works without a restart.
// Tokens with the unknown kid that arrive while that fetch runs wait for it (at most
// FetchTimeout); the others fail without waiting.
func RemoteKeys(ctx context.Context, url string, opts KeySetOptions) (jwt.Keyfunc, error) {
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = 15 * time.Minute
	}
	if opts.UnknownKeyRefetch == 0 {
		opts.UnknownKeyRefetch = 30 * time.Second
	}
	if opts.FetchTimeout == 0 {
		opts.FetchTimeout = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	storage := jwkset.NewMemoryStorage()
	lookup, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage})
	if err != nil {
		return nil, fmt.Errorf("key set %s: %w", url, err)
	}
	k := &remoteKeys{url: url, opts: opts, storage: storage, lookup: lookup,
		limiter: rate.NewLimiter(rate.Every(opts.UnknownKeyRefetch), 1)}
	if err := k.fetch(ctx); err != nil {
		return nil, err
	}
	go k.refreshEvery(ctx)
	return k.keyfunc(ctx), nil
}

// keyfunc finds the token's key; an unknown kid may cause one fetch of the set.
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

// refetch fetches the set again for an unknown kid, or waits for the fetch already under way.
// It reports whether a fetch ended (successfully or not) so that the lookup is worth repeating.
func (k *remoteKeys) refetch(ctx context.Context) bool {
	k.mu.Lock()
	if done := k.inFlight; done != nil {
		k.mu.Unlock()
		select {
		case <-done:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !k.limiter.Allow() {
		k.mu.Unlock()
		return false
	}
	done := make(chan struct{})
	k.inFlight = done
	k.mu.Unlock()

	err := k.fetch(ctx)
	k.mu.Lock()
	k.inFlight = nil
	k.mu.Unlock()
	close(done)
	if err != nil {
		k.opts.Logger.WarnContext(ctx, "fetching the issuer's key set for an unknown key id failed; keeping the keys we have",
			"url", k.url, "error", err.Error())
	}
	return err == nil
}

func (k *remoteKeys) refreshEvery(ctx context.Context) {
	ticker := time.NewTicker(k.opts.RefreshInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := k.fetch(ctx); err != nil {
				k.opts.Logger.WarnContext(ctx, "refreshing the issuer's key set failed; keeping the keys we have",
					"url", k.url, "error", err.Error())
			}
		}
	}
}

// fetch reads the key set, under its own deadline, and replaces the keys held. Keys of types
// the library does not support are skipped; a malformed key fails the fetch.
func (k *remoteKeys) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return fmt.Errorf("key set %s: %w", k.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("key set %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("key set %s: status %d", k.url, resp.StatusCode)
	}
	var set jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return fmt.Errorf("key set %s: decode: %w", k.url, err)
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
	if err := k.storage.KeyReplaceAll(ctx, keys); err != nil {
		return fmt.Errorf("key set %s: %w", k.url, err)
	}
	return nil
}

// Discovery is what the service reads from an OpenID Connect discovery document.
type Discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// Discover reads issuer's /.well-known/openid-configuration. The document must name the same
// issuer (OpenID Connect Discovery 1.0, section 4.3).
func Discover(ctx context.Context, issuer string, client *http.Client) (Discovery, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Discovery{}, fmt.Errorf("discovery %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Discovery{}, fmt.Errorf("discovery %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Discovery{}, fmt.Errorf("discovery %s: status %d", url, resp.StatusCode)
	}
	var d Discovery
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		return Discovery{}, fmt.Errorf("discovery %s: %w", url, err)
	}
	if d.Issuer != issuer {
		return Discovery{}, fmt.Errorf("discovery %s names issuer %q, not %q", url, d.Issuer, issuer)
	}
	if d.JWKSURI == "" {
		return Discovery{}, errors.New("discovery " + url + " names no jwks_uri")
	}
	return d, nil
}
