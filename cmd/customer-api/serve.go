package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/buildinfo"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

func serve(ctx context.Context, env environment, args []string) error {
	fs := newCommand("serve", true)
	var authn authFlags
	authn.register(fs.FlagSet)
	var clients ratelimit.ClientConfig
	fs.Float64Var(&clients.PerClient, "client-rate-limit", 100, "failed authentication attempts per second per client address (an IPv4 address or an IPv6 /64); past it, the address is refused before its credentials are checked (0: unlimited)")
	fs.IntVar(&clients.PerClientBurst, "client-rate-burst", 200, "failed attempts a client address may make at once above its rate")
	fs.Float64Var(&clients.Global, "global-rate-limit", 1000, "failed authentication attempts per second of all clients together; past it, addresses with failures on record are refused before their credentials are checked, others never (0: unlimited)")
	fs.IntVar(&clients.GlobalBurst, "global-rate-burst", 2000, "failed attempts all clients may make at once above the global rate")
	fs.BoolVar(&clients.TrustForwardedFor, "trust-forwarded-for", false, "take the client address from the last X-Forwarded-For entry when it is an IP address, else the peer (only behind a proxy that sets it and is the only way in)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	loadDemo := fs.Bool("demo", false, "load demo data when the database is empty")
	shutdownTimeout := fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
	drainDelay := fs.Duration("drain-delay", 2*time.Second, "on SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes")
	validation := fs.String("response-validation", string(contract.Enforce), "what happens to a response that breaks the contract: enforce (replace it with a 500), log (send it, log and count it) or off")
	rateLimit := fs.Float64("rate-limit", 50, "requests per second per tenant, counting only requests whose access token and API token both verified for it (0: unlimited)")
	rateBurst := fs.Int("rate-burst", 100, "such requests a tenant may make at once above its rate")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", `address of the /metrics listener, apart from the API ("" or "off": none)`)
	profiling := fs.Bool("pprof", false, "also serve Go's profiles (net/http/pprof) under /debug/pprof/ on the --metrics-addr listener")
	cacheEntries := fs.Int("validation-cache-entries", contract.DefaultCacheEntries, "how many validated customer documents to remember (0: validate every customer of every read)")
	readWindow := byteSize(listing.DefaultWindow)
	fs.Var(&readWindow, "read-window", "the most bytes of one list held in memory, a `size` such as 8MiB; a larger list is spooled to disk")
	bodyCache := byteSize(listing.DefaultCacheBytes)
	fs.Var(&bodyCache, "body-cache", "bytes (a `size`) of encoded lists of small organizations kept to answer unchanged reads (0: none)")
	maxReads := fs.Int("max-store-reads", listing.DefaultMaxReads, "lists read from the database at once; more wait for --read-queue-timeout, then get 503")
	maxReadsPerTenant := fs.Int("max-store-reads-per-tenant", 0, "of --max-store-reads, how many one tenant may take at once (0: half, and fewer than the CPUs, at least 1)")
	queueTimeout := fs.Duration("read-queue-timeout", listing.DefaultQueueTimeout, "how long a list waits for its turn to read the database")
	spoolDir := fs.String("spool-dir", "", "directory of the unlinked files that hold lists larger than --read-window until their client has them (default: the system's temporary directory)")
	spoolLimit := byteSize(listing.DefaultSpoolBytes)
	fs.Var(&spoolLimit, "spool-limit", "disk (a `size`) the spooled lists may take together; one tenant may take half, and a list that finds no room gets 503")
	writeStall := fs.Duration("write-stall-timeout", listing.DefaultWriteStall, "a client that takes no bytes of a list for this long is dropped")
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	log := fs.logger(env)
	build := buildinfo.Read()
	log.Info("customer-api starting", "version", build.Version, "revision", build.Revision,
		"modified", build.Modified, "go_version", build.GoVersion)
	for _, c := range []struct {
		bad bool
		msg string
	}{
		{authn.leeway < 0 || authn.leeway > auth.MaxLeeway, fmt.Sprintf("--jwt-leeway %s: at most %s, and not negative", authn.leeway, auth.MaxLeeway)},
		{authn.maxLifetime <= 0, fmt.Sprintf("--jwt-max-lifetime %s: must be positive", authn.maxLifetime)},
		{authn.tenantClaim == "", "--tenant-claim: must name a claim (default tenant_id)"},
		{*drainDelay < 0 || *shutdownTimeout <= 0, "--drain-delay must be 0 or more and --shutdown-timeout positive"},
		{*rateLimit < 0 || *rateBurst < 1, "--rate-limit must be 0 or more and --rate-burst at least 1"},
		{clients.PerClient < 0 || clients.Global < 0 || clients.PerClientBurst < 1 || clients.GlobalBurst < 1, "--client-rate-limit and --global-rate-limit must be 0 or more, their bursts at least 1"},
		{*cacheEntries < 0, "--validation-cache-entries must be 0 or more"},
		{readWindow < 64<<10, "--read-window must be at least 64KiB"},
		{*profiling && (*metricsAddr == "" || *metricsAddr == "off"), "--pprof serves the profiles on the metrics listener: give --metrics-addr an address"},
		{*maxReads < 1 || *maxReadsPerTenant < 0 || *queueTimeout <= 0, "--max-store-reads must be at least 1, --max-store-reads-per-tenant 0 or more and --read-queue-timeout positive"},
		{spoolLimit < readWindow || *writeStall <= 0, "--spool-limit must be at least --read-window and --write-stall-timeout positive"},
	} {
		if c.bad {
			return usageError{c.msg}
		}
	}
	tracing := telemetry.FromEnv(os.Getenv)
	tracer, stopTracing, err := telemetry.Setup(ctx, tracing, build.Version, log)
	if err != nil {
		return usageError{err.Error()}
	}
	defer func() { // the run context is cancelled by now: the last spans get a moment of their own
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			log.Warn("tracing: the last spans were not exported", "error", err.Error())
		}
	}()
	mode, err := contract.ParseMode(*validation)
	if err != nil {
		return usageError{err.Error()}
	}
	lists := listing.Options{Window: int(readWindow), CacheBytes: int64(bodyCache), MaxReads: *maxReads, MaxReadsPerTenant: *maxReadsPerTenant,
		QueueTimeout: *queueTimeout, SpoolDir: *spoolDir, SpoolBytes: int64(spoolLimit), WriteStall: *writeStall}
	if bodyCache == 0 {
		lists.CacheBytes = -1 // none
	}
	c, err := contract.Load()
	if err != nil {
		return err
	}
	data := &fs.data
	st, err := data.openFor(ctx, env, mayCreate)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("data", "data_dir", absPath(data.dataDir), "database", data.describeDatabase())
	data.warnOpen(log)
	creds, err := authn.load(ctx, log, data.dataDir, *addr, st)
	if err != nil {
		return err
	}
	if *loadDemo {
		pepper, err := loadPepper(data.pepperFile)
		if err != nil {
			return err
		}
		if err := demo.Load(ctx, st, c, log, importer.Options{Pepper: pepper}); err != nil {
			return err
		}
	}
	if creds.devKey != nil {
		log.Warn("development mode: this server issues and accepts its own access tokens; never use it in production")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return listenError("", "--addr", *addr, err)
	}
	defer ln.Close() // closed already once served; this covers a failure before that
	if mode != contract.Enforce {
		log.Warn("responses are not enforced against the contract", "response_validation", string(mode))
	}
	if tracing.Enabled {
		log.Info("tracing: exporting spans", "exporter", cmp.Or(tracing.Exporter, "otlp"), "endpoint", cmp.Or(redactDSN(tracing.Endpoint), "the exporter's default"),
			"set_by", cmp.Or(tracing.EndpointVariable, "default"))
	}
	m := server.NewMetrics()
	draining := make(chan struct{})
	handler, err := server.New(server.Deps{Context: ctx, Contract: c, Store: st, Logger: log, Metrics: m, Draining: draining,
		Auth: creds.authenticator, DevJWKS: creds.devJWKS, RateLimit: *rateLimit, RateBurst: *rateBurst, ClientLimit: clients,
		ResponseValidation: mode, ValidationCacheEntries: *cacheEntries, Lists: lists, TracerProvider: tracer})
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(env, *metricsAddr, m, *profiling, log)
	if err != nil {
		return err
	}
	defer stopMetrics(context.Background())
	srv := &http.Server{Handler: handler, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	server.ApplyLimits(srv)
	base := "http://" + ln.Addr().String()
	log.Info("listening", "url", base+contract.BasePath)
	fmt.Fprintf(env.stdout, "customer-api listening on %s%s\n", base, contract.BasePath)
	fmt.Fprintf(env.stdout, "  docs:     %s%s\n  contract: %s%s (or %s)\n", base, server.DocsPath, base, server.SpecYAMLPath, path.Base(server.SpecJSONPath))
	if *loadDemo {
		// A database that held other data got no demo data; a curl for it would answer 404.
		if _, err := st.OrganizationVersion(ctx, demo.TenantID, demo.RetailOrganizationID); errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(env.stdout, "the database holds other data, so the demo data was not loaded: for the demo, start with an empty --data-dir\n")
		} else if err := printDemoCurl(ctx, env, log, st, creds, base); err != nil {
			return err
		}
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Not ready from now on, so that load balancers stop sending requests; those that come are
	// still served until the listener closes.
	close(draining)
	log.Info("shutting down", "drain_delay", drainDelay.String(), "timeout", shutdownTimeout.String())
	select {
	case <-time.After(*drainDelay):
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout) // ctx is cancelled
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// demoTokenName names the API token of the printed curl; each start replaces the previous one.
const demoTokenName = "demo curl"

// printDemoCurl prints a curl for the demo tenant: with --dev one that works as printed, with a
// fresh access token and API token valid for a day; otherwise with credentials to fill in.
func printDemoCurl(ctx context.Context, env environment, log *slog.Logger, st store.Store, creds credentials, base string) error {
	url := base + contract.BasePath + "/organization/getCustomers/" + demo.RetailOrganizationID
	if creds.devKey == nil {
		fmt.Fprintf(env.stdout, "try (with an access token and an API token of %s):\n  curl -s -H \"Authorization: Bearer $ACCESS_TOKEN\" -H \"token: $API_TOKEN\" -H 'tenantId: %s' %s\n",
			demo.TenantID, demo.TenantID, url)
		return nil
	}
	const ttl = 24 * time.Hour
	bearer, err := auth.DevToken(*creds.devKey, demo.TenantID, "demo", []string{auth.DefaultScope}, ttl, time.Now())
	if err != nil {
		return err
	}
	earlier, err := st.APITokens(ctx, demo.TenantID)
	if err != nil {
		return fmt.Errorf("list demo API tokens: %w", err)
	}
	for _, t := range earlier {
		if t.Name != demoTokenName {
			continue
		}
		if err := st.DeleteAPIToken(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			// A role without DELETE on api_tokens (PostgreSQL): the old token stays; it expires.
			log.Warn("the previous demo API token stays", "token_id", t.ID, "error", err.Error())
		}
	}
	apiToken, _, err := creds.authenticator.Tokens.Issue(ctx, demo.TenantID, demoTokenName, ttl)
	if err != nil {
		return fmt.Errorf("issue demo API token: %w", err)
	}
	fmt.Fprintf(env.stdout, "try:\n  curl -s -H 'Authorization: Bearer %s' -H 'token: %s' -H 'tenantId: %s' %s\n",
		bearer, apiToken, demo.TenantID, url)
	return nil
}

// serveMetrics answers /metrics on addr (and, with profiling, Go's profiles); "" or "off" serves
// nothing. It returns the function that stops the listener.
func serveMetrics(env environment, addr string, m *server.Metrics, profiling bool, log *slog.Logger) (func(context.Context) error, error) {
	if addr == "" || addr == "off" {
		return func(context.Context) error { return nil }, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError("metrics: ", "--metrics-addr", addr, err)
	}
	if !isLoopback(ln.Addr().String()) {
		log.Warn("metrics are served on a non-loopback address without authentication; firewall it", "addr", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		log.Warn("profiles (net/http/pprof) are served on the metrics listener under /debug/pprof/: they show the program's internals; keep the listener private")
	}
	srv := &http.Server{Handler: mux, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	server.ApplyLimits(srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "error", err.Error())
		}
	}()
	url := "http://" + ln.Addr().String() + "/metrics"
	log.Info("metrics listening", "url", url)
	fmt.Fprintf(env.stdout, "customer-api metrics on %s\n", url)
	return srv.Shutdown, nil
}

// listenError says why serve could not listen on addr, the value of flagName; for an address in
// use, which flag (and make run variable) moves the listener.
func listenError(prefix, flagName, addr string, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%slisten on %s (%s): %w", prefix, addr, flagName, err)
	}
	makeVar := strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(flagName, "--"), "-", "_"))
	off := ""
	if flagName == "--metrics-addr" {
		off = fmt.Sprintf(", or %s off for no metrics listener", flagName)
	}
	return fmt.Errorf("%slisten on %s: the address is already in use (another customer-api, or another program, listens there): "+
		"pass %s with another address, e.g. %s 127.0.0.1:0 for a free port%s (make run %s=...)",
		prefix, addr, flagName, flagName, off, makeVar)
}

// authFlags configure how serve verifies credentials.
type authFlags struct {
	dev                                                             bool
	oidcIssuer, jwksURL, jwtIssuer, jwtAudience, tenantClaim, scope string
	leeway, maxLifetime                                             time.Duration
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.dev, "dev", false, "be your own token issuer, for development: keys in the data dir, JWKS at /.well-known/jwks.json; loopback addresses only")
	fs.StringVar(&a.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL; its discovery document names the JWKS and the issuer")
	fs.StringVar(&a.jwksURL, "jwks-url", "", "URL of the issuer's JSON Web Key Set (with --jwt-issuer), when there is no discovery document")
	fs.StringVar(&a.jwtIssuer, "jwt-issuer", "", "required iss of access tokens (with --jwks-url)")
	fs.StringVar(&a.jwtAudience, "jwt-audience", "", "required aud of access tokens")
	fs.StringVar(&a.tenantClaim, "tenant-claim", "tenant_id", "access token claim that holds the tenant id; must equal the tenantId header")
	fs.StringVar(&a.scope, "required-scope", auth.DefaultScope, "scope an access token needs")
	fs.DurationVar(&a.leeway, "jwt-leeway", 30*time.Second, "clock skew allowed on exp, nbf and iat (at most 60s)")
	fs.DurationVar(&a.maxLifetime, "jwt-max-lifetime", auth.DefaultMaxLifetime, "longest an access token may be valid, from iat (or now) to exp")
}

// credentials check requests; with --dev, devKey signs and devJWKS publishes the issuer's keys.
type credentials struct {
	authenticator *auth.Authenticator
	devJWKS       []byte
	devKey        *auth.SigningKey
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
		jwksURI, err := auth.Discover(ctx, a.oidcIssuer)
		if err != nil {
			return credentials{}, err
		}
		cfg.Issuer = a.oidcIssuer
		if keys, err = auth.RemoteKeys(ctx, jwksURI, auth.KeySetOptions{Logger: log}); err != nil {
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
		return credentials{}, usageError{"no access token issuer is configured: set --oidc-issuer (CUSTOMER_API_OIDC_ISSUER), " +
			"or --jwks-url with --jwt-issuer (CUSTOMER_API_JWKS_URL, CUSTOMER_API_JWT_ISSUER), and --jwt-audience " +
			"(CUSTOMER_API_JWT_AUDIENCE); or, on a developer's machine, run with --dev"}
	}
	if cfg.Audience == "" {
		return credentials{}, usageError{"--jwt-audience is required: the aud access tokens must carry for this service"}
	}
	verifier, err := auth.NewVerifier(cfg, keys)
	if err != nil {
		return credentials{}, usageError{err.Error()}
	}
	creds.authenticator = &auth.Authenticator{Verifier: verifier, Tokens: auth.NewAPITokens(tokens, nil), RequiredScope: a.scope}
	return creds, nil
}

// isLoopback reports whether addr (host:port) can only be reached from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && (host == "localhost" || ip != nil && ip.IsLoopback())
}

// devAddrError says why --dev refuses addr and which address to use instead.
func devAddrError(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		return fmt.Sprintf("--addr %q: want host:port, and --dev needs a loopback host such as 127.0.0.1:8080", addr)
	case host == "":
		return fmt.Sprintf("--addr %q has no host, so it listens on every interface; --dev needs a loopback host: use --addr 127.0.0.1:%s", addr, port)
	}
	return fmt.Sprintf("--addr %q: --dev needs a loopback host (127.0.0.1, ::1 or localhost): use --addr 127.0.0.1:%s", addr, port)
}

// devTokenCommand prints an access token from the development issuer of `serve --dev`.
func devTokenCommand(_ context.Context, env environment, args []string) error {
	fs := newCommand("dev-token", false)
	tenant := fs.String("tenant", "", "tenant the token is for (required)")
	scope := fs.String("scope", auth.DefaultScope, "space-separated scopes to grant")
	subject := fs.String("subject", "developer", "subject (sub) of the token")
	ttl := fs.Duration("ttl", time.Hour, fmt.Sprintf("how long the token is valid (at most %s: serve --dev refuses longer ones)", shortDuration(auth.DefaultMaxLifetime)))
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError{"--tenant is required: the tenant the token is for (the demo's is " + demo.TenantID + ")"}
	}
	if *ttl <= 0 {
		return usageError{fmt.Sprintf("--ttl %s: must be positive", shortDuration(*ttl))}
	}
	// serve --dev keeps the default --jwt-max-lifetime: a longer token would be refused there.
	if limit := auth.DefaultMaxLifetime; *ttl > limit {
		return usageError{fmt.Sprintf("--ttl %s: serve --dev accepts access tokens valid for at most %s (the default of its --jwt-max-lifetime); ask for %s or less",
			shortDuration(*ttl), shortDuration(limit), shortDuration(limit))}
	}
	// LoadDevKey would create a key where none is, whose tokens no running server accepts.
	if _, err := os.Stat(filepath.Join(fs.data.dataDir, auth.DevKeyFile)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no development key in %s (`serve --dev` creates it there): pass the --data-dir of the running `serve --dev`", absPath(fs.data.dataDir))
	}
	key, err := auth.LoadDevKey(fs.data.dataDir)
	if err != nil {
		return err
	}
	token, err := auth.DevToken(key, *tenant, *subject, strings.Fields(*scope), *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, token)
	return nil
}

// healthcheck exits 0 when the server at --addr answers 200: the image's HEALTHCHECK, which has
// no shell and no curl. --addr reads CUSTOMER_API_ADDR, as serve's does.
func healthcheck(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("healthcheck")
	addr := fs.String("addr", "127.0.0.1:8080", "address of the server, as serve's --addr (a host-less :8080, or 0.0.0.0, means this host's loopback)")
	path := fs.String("path", "/readyz", "/readyz (ready: the database answers) or /healthz (the process is up)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long the check may take")
	if err := parse(fs, args[1:], env); err != nil {
		if errors.Is(err, errHelp) {
			return err
		}
		return errors.New(err.Error()) // exit 1, never 2: container engines reserve 2
	}
	if *path != "/readyz" && *path != "/healthz" {
		return fmt.Errorf("--path %q: want /readyz or /healthz", *path)
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", *timeout)
	}
	url, err := healthURL(*addr, *path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "customer-api healthcheck")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(env.stdout, "healthy: GET %s answered %s\n", url, resp.Status)
	return nil
}

// healthURL is the URL of path on the server listening on addr; every interface means loopback.
func healthURL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: want host:port, as serve's --addr", addr)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}
