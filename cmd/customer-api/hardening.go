package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/ratelimit"
	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/server"
)

// DefaultMetricsAddr is where serve answers /metrics unless --metrics-addr says otherwise:
// loopback, on a port of its own, never the API's listener.
const DefaultMetricsAddr = "127.0.0.1:9464"

// limitFlags configure the limits on failed authentication attempts (see ratelimit.Failures).
type limitFlags struct {
	cfg ratelimit.ClientConfig
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&l.cfg.PerClient, "client-rate-limit", 100, "failed authentication attempts per second per client address (an IPv4 address or an IPv6 /64); past it, the address is refused before its credentials are checked (0: unlimited)")
	fs.IntVar(&l.cfg.PerClientBurst, "client-rate-burst", 200, "failed attempts a client address may make at once above its rate")
	fs.Float64Var(&l.cfg.Global, "global-rate-limit", 1000, "failed authentication attempts per second of all clients together; past it, addresses with failures on record are refused before their credentials are checked, others never (0: unlimited)")
	fs.IntVar(&l.cfg.GlobalBurst, "global-rate-burst", 2000, "failed attempts all clients may make at once above the global rate")
	fs.BoolVar(&l.cfg.TrustForwardedFor, "trust-forwarded-for", false, "take the client address from the last X-Forwarded-For entry when it is an IP address, else the peer (only behind a proxy that sets it and is the only way in)")
}

func (l *limitFlags) check() error {
	if l.cfg.PerClient < 0 || l.cfg.Global < 0 || l.cfg.PerClientBurst < 1 || l.cfg.GlobalBurst < 1 {
		return usageError{"--client-rate-limit and --global-rate-limit must be 0 or more, their bursts at least 1"}
	}
	return nil
}

// serveMetrics answers /metrics on addr, apart from the API (and, with profiling, Go's profiles);
// "" or "off" serves nothing. It returns the function that stops the listener.
func serveMetrics(addr string, m *metrics.Metrics, profiling bool, log *slog.Logger, stdout io.Writer) (func(context.Context) error, error) {
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
		registerProfiles(mux, log)
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
	fmt.Fprintf(stdout, "customer-api metrics on %s\n", url)
	return srv.Shutdown, nil
}

// warnOpenDataDir warns when the data directory, or the SQLite database in it, can be read by
// other users: it holds personal data, credential hashes and the development key.
func warnOpenDataDir(log *slog.Logger, dataDir, database string) {
	paths := []string{dataDir}
	if database == "" {
		paths = append(paths, filepath.Join(dataDir, "customers.db"))
	} else if !isPostgresURL(database) {
		paths = append(paths, database)
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		if mode := info.Mode().Perm(); mode&0o077 != 0 {
			log.Warn("readable by other users than the service's: restrict it (chmod go-rwx)",
				"path", p, "mode", fmt.Sprintf("%04o", mode))
		}
	}
}

// pepperEnv holds the pepper itself, for deployments that inject secrets as environment
// variables. It has no flag: a command line shows in process listings.
const pepperEnv = "CUSTOMER_API_PEPPER"

// loadPepper returns the pepper of --pepper-file or CUSTOMER_API_PEPPER (nil when neither is
// set). Surrounding whitespace is trimmed; at least secrets.MinPepperLen bytes must remain.
func loadPepper(file string) (*secrets.Pepper, error) {
	key := []byte(os.Getenv(pepperEnv))
	if file != "" {
		if len(key) > 0 {
			return nil, usageError{"set --pepper-file or " + pepperEnv + ", not both"}
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read pepper: %w", err)
		}
		key = raw
	}
	key = bytes.TrimSpace(key)
	if len(key) == 0 {
		return nil, nil
	}
	p, err := secrets.NewPepper(key)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return p, nil
}
