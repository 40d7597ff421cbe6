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
	"time"

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
	// (default 30 seconds). A token with an unknown kid never waits for its turn: it fails.
	UnknownKeyRefetch time.Duration
	// Logger receives failed refreshes (default slog.Default()).
	Logger *slog.Logger
}

// RemoteKeys returns a key function over the JWKS at url. The set is fetched now, refreshed
// every RefreshInterval until ctx ends, and fetched again, at most once per UnknownKeyRefetch,
// when a token names a key id the set does not hold: so a rotated key works without a restart.
func RemoteKeys(ctx context.Context, url string, opts KeySetOptions) (jwt.Keyfunc, error) {
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = 15 * time.Minute
	}
	if opts.UnknownKeyRefetch == 0 {
		opts.UnknownKeyRefetch = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	failFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		Client:                    opts.Client,
		HTTPTimeout:               5 * time.Second,
		RefreshInterval:           opts.RefreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(opts.UnknownKeyRefetch), 1),
		RateLimitWaitMax:          time.Millisecond, // refuse rather than queue behind the limiter
		NoErrorReturnFirstHTTPReq: &failFirst,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				opts.Logger.WarnContext(ctx, "refreshing the issuer's key set failed; keeping the keys we have", "url", u, "error", err.Error())
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("key set %s: %w", url, err)
	}
	return kf.Keyfunc, nil
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
