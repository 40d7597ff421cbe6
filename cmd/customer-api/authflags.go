package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/store"
)

// authFlags configure how serve verifies credentials.
type authFlags struct {
	dev           bool
	oidcIssuer    string
	jwksURL       string
	jwtIssuer     string
	jwtAudience   string
	tenantClaim   string
	requiredScope string
	leeway        time.Duration
	maxLifetime   time.Duration
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.dev, "dev", false, "be your own token issuer, for development: keys in the data dir, JWKS at /.well-known/jwks.json; loopback addresses only")
	fs.StringVar(&a.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL; its discovery document names the JWKS and the issuer")
	fs.StringVar(&a.jwksURL, "jwks-url", "", "URL of the issuer's JSON Web Key Set (with --jwt-issuer), when there is no discovery document")
	fs.StringVar(&a.jwtIssuer, "jwt-issuer", "", "required iss of access tokens (with --jwks-url)")
	fs.StringVar(&a.jwtAudience, "jwt-audience", "", "required aud of access tokens")
	fs.StringVar(&a.tenantClaim, "tenant-claim", "tenant_id", "access token claim that holds the tenant id; must equal the tenantId header")
	fs.StringVar(&a.requiredScope, "required-scope", auth.DefaultScope, "scope an access token needs")
	fs.DurationVar(&a.leeway, "jwt-leeway", 30*time.Second, "clock skew allowed on exp, nbf and iat (at most 60s)")
	fs.DurationVar(&a.maxLifetime, "jwt-max-lifetime", auth.DefaultMaxLifetime, "longest an access token may be valid, from iat (or now) to exp")
}

// check refuses values no verifier accepts, naming the flag.
func (a *authFlags) check() error {
	switch {
	case a.leeway < 0 || a.leeway > auth.MaxLeeway:
		return usageError{fmt.Sprintf("--jwt-leeway %s: at most %s, and not negative", a.leeway, auth.MaxLeeway)}
	case a.maxLifetime <= 0:
		return usageError{fmt.Sprintf("--jwt-max-lifetime %s: must be positive", a.maxLifetime)}
	case a.tenantClaim == "":
		return usageError{"--tenant-claim: must name a claim (default tenant_id)"}
	}
	return nil
}

// errNoIssuer says what to set when serve has no way to verify access tokens.
var errNoIssuer = usageError{"no access token issuer is configured: set --oidc-issuer (CUSTOMER_API_OIDC_ISSUER), " +
	"or --jwks-url with --jwt-issuer (CUSTOMER_API_JWKS_URL, CUSTOMER_API_JWT_ISSUER), and --jwt-audience " +
	"(CUSTOMER_API_JWT_AUDIENCE); or, on a developer's machine, run with --dev"}

// credentials are what serve checks requests with: the authenticator of access tokens and API
// tokens and, with --dev, the keys of the development issuer that serve is too.
type credentials struct {
	authenticator *auth.Authenticator
	// devJWKS is published at /.well-known/jwks.json; nil unless --dev.
	devJWKS []byte
	// devKey signs development access tokens; nil unless --dev.
	devKey *auth.SigningKey
}

// load builds the credentials the flags configure; API tokens are kept in tokens.
func (a *authFlags) load(ctx context.Context, log *slog.Logger, dataDir, addr string, tokens store.TokenStore) (credentials, error) {
	cfg := auth.VerifierConfig{Issuer: a.jwtIssuer, Audience: a.jwtAudience, TenantClaim: a.tenantClaim, Leeway: a.leeway, MaxLifetime: a.maxLifetime}
	var (
		keys  jwt.Keyfunc
		creds credentials
		err   error
	)
	switch {
	case a.dev:
		if a.oidcIssuer != "" || a.jwksURL != "" {
			return credentials{}, usageError{"--dev is its own issuer: leave out --oidc-issuer and --jwks-url"}
		}
		if !isLoopback(addr) {
			return credentials{}, usageError{devAddrError(addr)}
		}
		key, err := auth.LoadDevKey(dataDir)
		if err != nil {
			return credentials{}, err
		}
		creds.devKey = &key
		if keys, err = auth.LocalKeys(key); err != nil {
			return credentials{}, err
		}
		if creds.devJWKS, err = auth.PublicJWKS(key); err != nil {
			return credentials{}, err
		}
		cfg.Issuer, cfg.Audience = auth.DevIssuer, auth.DevAudience
	case a.oidcIssuer != "":
		d, err := auth.Discover(ctx, a.oidcIssuer, &http.Client{Timeout: 10 * time.Second})
		if err != nil {
			return credentials{}, err
		}
		cfg.Issuer = d.Issuer
		if keys, err = auth.RemoteKeys(ctx, d.JWKSURI, auth.KeySetOptions{Logger: log}); err != nil {
			return credentials{}, err
		}
	case a.jwksURL != "":
		if a.jwtIssuer == "" {
			return credentials{}, usageError{"--jwks-url needs --jwt-issuer: the iss access tokens must carry"}
		}
		if keys, err = auth.RemoteKeys(ctx, a.jwksURL, auth.KeySetOptions{Logger: log}); err != nil {
			return credentials{}, err
		}
	default:
		return credentials{}, errNoIssuer
	}
	if cfg.Audience == "" {
		return credentials{}, usageError{"--jwt-audience is required: the aud access tokens must carry for this service"}
	}
	verifier, err := auth.NewVerifier(cfg, keys)
	if err != nil {
		return credentials{}, usageError{err.Error()}
	}
	creds.authenticator = &auth.Authenticator{Verifier: verifier, Tokens: auth.NewAPITokens(tokens, nil), RequiredScope: a.requiredScope}
	return creds, nil
}

// isLoopback reports whether addr (host:port) can only be reached from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// devAddrError says why --dev refuses addr and which address to use instead.
func devAddrError(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("--addr %q: want host:port, and --dev needs a loopback host such as 127.0.0.1:8080", addr)
	}
	if host == "" {
		return fmt.Sprintf("--addr %q has no host, so it listens on every interface; --dev needs a loopback host: use --addr 127.0.0.1:%s", addr, port)
	}
	return fmt.Sprintf("--addr %q: --dev needs a loopback host (127.0.0.1, ::1 or localhost): use --addr 127.0.0.1:%s", addr, port)
}
