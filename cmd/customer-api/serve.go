package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/buildinfo"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/server"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

func serve(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("serve")
	var data dataFlags
	data.register(fs)
	data.registerPepper(fs)
	var logs logFlags
	logs.register(fs)
	var authn authFlags
	authn.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	loadDemo := fs.Bool("demo", false, "load demo data when the database is empty")
	shutdownTimeout := fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
	drainDelay := fs.Duration("drain-delay", 2*time.Second, "on SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes")
	validation := fs.String("response-validation", string(contract.Enforce), "what happens to a response that breaks the contract: enforce (replace it with a 500), log (send it, log and count it) or off")
	rateLimit := fs.Float64("rate-limit", 50, "requests per second per tenant, counting only requests whose access token and API token both verified for it (0: unlimited)")
	rateBurst := fs.Int("rate-burst", 100, "such requests a tenant may make at once above its rate")
	var limits limitFlags
	limits.register(fs)
	metricsAddr := fs.String("metrics-addr", DefaultMetricsAddr, `address of the /metrics listener, apart from the API ("" or "off": none)`)
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
	if err := parse(fs, args, env); err != nil {
		return err
	}
	log := logs.logger(env)
	build := buildinfo.Read()
	log.Info("customer-api starting", "version", build.Version, "revision", build.Revision,
		"modified", build.Modified, "go_version", build.GoVersion)
	if err := authn.check(); err != nil {
		return err
	}
	tracing := telemetry.FromEnv(os.Getenv)
	tracer, stopTracing, err := telemetry.Setup(ctx, tracing, build.Version, log)
	if err != nil {
		return usageError{err.Error()}
	}
	defer func() {
		// The run context is cancelled by now; the last spans get a moment of their own.
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
	if *drainDelay < 0 || *shutdownTimeout <= 0 {
		return usageError{"--drain-delay must be 0 or more and --shutdown-timeout positive"}
	}
	if *rateLimit < 0 || *rateBurst < 1 {
		return usageError{"--rate-limit must be 0 or more and --rate-burst at least 1"}
	}
	if err := limits.check(); err != nil {
		return err
	}
	if *cacheEntries < 0 {
		return usageError{"--validation-cache-entries must be 0 or more"}
	}
	if readWindow < 64<<10 {
		return usageError{"--read-window must be at least 64KiB"}
	}
	if *profiling && (*metricsAddr == "" || *metricsAddr == "off") {
		return usageError{"--pprof serves the profiles on the metrics listener: give --metrics-addr an address"}
	}
	if *maxReads < 1 || *maxReadsPerTenant < 0 || *queueTimeout <= 0 {
		return usageError{"--max-store-reads must be at least 1, --max-store-reads-per-tenant 0 or more and --read-queue-timeout positive"}
	}
	if spoolLimit < byteSize(readWindow) || *writeStall <= 0 {
		return usageError{"--spool-limit must be at least --read-window and --write-stall-timeout positive"}
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
	st, err := data.openFor(ctx, env, mayCreate)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("data", "data_dir", absPath(data.dataDir), "database", data.describeDatabase())
	warnOpenDataDir(log, data.dataDir, data.database)
	creds, err := authn.load(ctx, log, data.dataDir, *addr, st)
	if err != nil {
		return err
	}
	if *loadDemo {
		pepper, err := loadPepper(data.pepperFile)
		if err != nil {
			return err
		}
		if err := demo.Load(ctx, st, c, log, importer.WithPepper(pepper)); err != nil {
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
	m := metrics.New()
	draining := make(chan struct{})
	handler, err := server.New(server.Deps{Context: ctx, Contract: c, Store: st, Logger: log, Metrics: m, Draining: draining,
		Auth: creds.authenticator, DevJWKS: creds.devJWKS, RateLimit: *rateLimit, RateBurst: *rateBurst, ClientLimit: limits.cfg,
		ResponseValidation: mode, ValidationCacheEntries: *cacheEntries, Lists: lists, TracerProvider: tracer})
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(*metricsAddr, m, *profiling, log, env.stdout)
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
		} else if err := printDemoCurl(ctx, env, log, st, creds.authenticator, creds.devKey, base); err != nil {
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
	// Not ready from now on, so that load balancers stop sending requests, which are still
	// served until the listener closes.
	close(draining)
	log.Info("shutting down", "drain_delay", drainDelay.String(), "timeout", shutdownTimeout.String())
	drained := time.NewTimer(*drainDelay)
	select {
	case <-drained.C:
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	// The run context is already cancelled; in-flight requests get a fresh deadline.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
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

// printDemoCurl prints a curl command for the demo tenant. With --dev it carries a fresh access
// token and API token (valid for a day) and works as printed; otherwise the credentials are for
// the caller to fill in. The API token replaces the one an earlier start printed, so that
// restarts do not pile tokens up.
func printDemoCurl(ctx context.Context, env environment, log *slog.Logger, st store.Store, authenticator *auth.Authenticator, devKey *auth.SigningKey, base string) error {
	url := base + contract.BasePath + "/organization/getCustomers/" + demo.RetailOrganizationID
	if devKey == nil {
		fmt.Fprintf(env.stdout, "try (with an access token and an API token of %s):\n  curl -s -H \"Authorization: Bearer $ACCESS_TOKEN\" -H \"token: $API_TOKEN\" -H 'tenantId: %s' %s\n",
			demo.TenantID, demo.TenantID, url)
		return nil
	}
	const ttl = 24 * time.Hour
	bearer, err := auth.DevToken(*devKey, demo.TenantID, "demo", []string{auth.DefaultScope}, ttl, time.Now())
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
	apiToken, _, err := authenticator.Tokens.Issue(ctx, demo.TenantID, demoTokenName, ttl)
	if err != nil {
		return fmt.Errorf("issue demo API token: %w", err)
	}
	fmt.Fprintf(env.stdout, "try:\n  curl -s -H 'Authorization: Bearer %s' -H 'token: %s' -H 'tenantId: %s' %s\n",
		bearer, apiToken, demo.TenantID, url)
	return nil
}
