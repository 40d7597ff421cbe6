package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
)

// newFlagSet returns a flag set for a command whose flags also read CUSTOMER_API_<FLAG>.
func newFlagSet(name string, env environment) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// parse parses args; a flag not given on the command line takes its environment variable.
func parse(fs *flag.FlagSet, args []string, env environment) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{"help requested"}
		}
		return usageError{err.Error()}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v := env.getenv(name); v != "" {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = usageError{fmt.Sprintf("%s: %v", name, setErr)}
			}
		}
	})
	return err
}

// envName is the environment variable of a flag: --data-dir is CUSTOMER_API_DATA_DIR.
func envName(flagName string) string {
	return "CUSTOMER_API_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// dataFlags are the flags of every command that touches data.
type dataFlags struct {
	dataDir  string
	database string
	logLevel string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "./var", "directory for the default SQLite database (customers.db)")
	fs.StringVar(&d.database, "database", "", "SQLite file path (default <data-dir>/customers.db)")
	fs.StringVar(&d.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// openStore opens the configured database; callers migrate it.
func (d *dataFlags) openStore() (store.Store, error) {
	path := d.database
	if path == "" {
		path = filepath.Join(d.dataDir, "customers.db")
	}
	if strings.Contains(path, "://") {
		return nil, usageError{fmt.Sprintf("--database %q: only SQLite file paths are supported", redactDSN(path))}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := sqlite.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return st, nil
}

// redactDSN hides a password in a database URL before it is shown.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "***@" + rest[at+1:]
	}
	return scheme + "://" + rest
}

func (d *dataFlags) logger(env environment) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(d.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: %v", d.logLevel, err)}
	}
	return slog.New(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: level})), nil
}
