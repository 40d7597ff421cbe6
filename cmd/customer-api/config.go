package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/peterbourgon/ff/v3"

	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// errHelp says that help was asked for (-h, --help) and printed; the program exits 0.
var errHelp = errors.New("help printed")

// newFlagSet returns the flag set of a command; parse reads it and prints what it has to say.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// commonFlags are the flags of every command that touches data.
type commonFlags struct {
	*flag.FlagSet
	data     dataFlags
	logLevel slog.Level
}

// newCommand returns the flag set of a data command with the common flags registered; with
// pepper, also --pepper-file (the commands that hash secrets).
func newCommand(name string, pepper bool) *commonFlags {
	c := &commonFlags{FlagSet: newFlagSet(name)}
	c.StringVar(&c.data.dataDir, "data-dir", "./var", "directory for the default SQLite database (customers.db)")
	c.StringVar(&c.data.database, "database", "", "SQLite file path, or a postgres:// or postgresql:// URL (default <data-dir>/customers.db)")
	c.IntVar(&c.data.dbMaxConns, "db-max-conns", 0, fmt.Sprintf("PostgreSQL: most connections of the pool of reads, imports and deletions, at least %d (0: the URL's pool_max_conns, else the larger of 4 and the number of CPUs); the lookups of tokens and versions have %d more of their own", postgres.MinConns, postgres.LookupConns))
	c.DurationVar(&c.data.dbConnectTimeout, "db-connect-timeout", postgres.DefaultConnectTimeout, "PostgreSQL: how long establishing one connection may take")
	c.DurationVar(&c.data.dbStatementTimeout, "db-statement-timeout", 0, "PostgreSQL: the server cancels a statement that runs longer (0: the server's statement_timeout)")
	c.Var(levelValue{&c.logLevel}, "log-level", "log `level`: debug, info, warn or error; logs are JSON lines on stderr")
	if pepper {
		c.StringVar(&c.data.pepperFile, "pepper-file", "", "file holding the pepper mixed into PINs and secret answers before hashing (or set "+pepperEnv+"); keep it out of the database and its backups")
	}
	return c
}

// parse reads the command line, then CUSTOMER_API_<FLAG> for each flag it left out. Flags come
// before the arguments; -h prints the command's help to stdout and returns errHelp.
func parse(fs *flag.FlagSet, args []string, env environment) error {
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix("CUSTOMER_API"))
	switch {
	case errors.Is(err, flag.ErrHelp):
		c := about(fs.Name())
		fmt.Fprintf(env.stdout, "usage: customer-api %s\n\n%s.\n\n", c.synopsis, strings.ToUpper(c.summary[:1])+c.summary[1:])
		fmt.Fprintln(env.stdout, "flags (each also CUSTOMER_API_<FLAG>, upper case, dashes as underscores):")
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
		return errHelp
	case err != nil:
		return usageError{fmt.Sprintf("%s (run 'customer-api %s -h' for its flags)", explain(fs, err), fs.Name())}
	}
	if !slices.Contains(args, "--") {
		for _, arg := range fs.Args() {
			if name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "="); name != arg && fs.Lookup(name) != nil {
				return usageError{fmt.Sprintf("%s after the arguments: flags come first (usage: customer-api %s)", arg, about(fs.Name()).synopsis)}
			}
		}
	}
	return nil
}

// explain says what kind of value a flag wants where the flag package says only "parse error".
func explain(fs *flag.FlagSet, err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
	msg = strings.TrimPrefix(msg, "error parsing environment variables: ")
	if m := badValue.FindStringSubmatch(msg); m != nil {
		kind, _ := flag.UnquoteUsage(fs.Lookup(m[1] + m[2]))
		msg = strings.TrimSuffix(msg, "parse error") + cmp.Or(wanted[kind], "parse error")
	}
	return msg
}

var badValue = regexp.MustCompile(`(?:flag -([a-z0-9-]+)|flag "([a-z0-9-]+)" from environment variable "\w+"): parse error$`)

var wanted = map[string]string{"": "want true or false", "duration": "want a duration such as 30s, 5m or 1h",
	"int": "want a whole number", "uint": "want a whole number", "float": "want a number"}

// dataFlags name the database and the pepper.
type dataFlags struct {
	dataDir, database, pepperFile string
	dbMaxConns                    int
	dbConnectTimeout              time.Duration
	dbStatementTimeout            time.Duration
	eraseWait                     *time.Duration // --erase-wait, nil where the command has none
}

// sqlitePath is the SQLite database file the flags name.
func (d *dataFlags) sqlitePath() string {
	return cmp.Or(d.database, filepath.Join(d.dataDir, "customers.db"))
}

// describeDatabase names the database for messages and logs, a password redacted.
func (d *dataFlags) describeDatabase() string {
	if isPostgresURL(d.database) {
		return redactDSN(d.database)
	}
	return absPath(d.sqlitePath())
}

func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// existing says what a command needs of the database before it opens it.
type existing int

const (
	mayCreate    existing = iota // a missing SQLite file is created, with a notice on stderr
	mustExist                    // a missing SQLite file is an error
	mustHoldData                 // as mustExist, and it holds at least one tenant
)

const wrongDatabaseHint = "pass --data-dir (or --database) of the server's data, or run this command from the directory that holds its ./var"

// openFor opens the configured database, as need says, migrates it and applies --erase-wait.
func (d *dataFlags) openFor(ctx context.Context, env environment, need existing) (store.Store, error) {
	if d.eraseWait != nil && *d.eraseWait < 0 {
		return nil, usageError{fmt.Sprintf("--erase-wait %s: must be 0 or positive", *d.eraseWait)}
	}
	if err := d.checkExists(env, need); err != nil {
		return nil, err
	}
	st, err := d.openStore()
	if err != nil {
		return nil, err
	}
	if _, err := st.MigrateUp(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// SQLite's deletions wait for readers of older snapshots.
	if w, ok := st.(interface{ SetEraseWait(time.Duration) }); ok && d.eraseWait != nil {
		w.SetEraseWait(*d.eraseWait)
	}
	if need == mustHoldData {
		empty, err := st.Empty(ctx)
		if err == nil && empty {
			err = fmt.Errorf("the database at %s holds no tenant (import customers first): %s", d.describeDatabase(), wrongDatabaseHint)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// checkExists refuses a missing SQLite database unless need is mayCreate, and then says so.
func (d *dataFlags) checkExists(env environment, need existing) error {
	if path := d.sqlitePath(); !strings.Contains(path, "://") { // nor a PostgreSQL URL
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if need != mayCreate {
				return fmt.Errorf("no database at %s: %s", absPath(path), wrongDatabaseHint)
			}
			fmt.Fprintf(env.stderr, "customer-api: creating a new SQLite database at %s\n", absPath(path))
		}
	}
	return nil
}

// openStore opens the configured database; callers migrate it.
func (d *dataFlags) openStore() (st store.Store, err error) {
	path := d.sqlitePath()
	switch {
	case isPostgresURL(d.database):
		var opts postgres.Options
		if opts, err = d.postgresOptions(); err != nil {
			return nil, err
		}
		st, err = postgres.Open(context.Background(), d.database, opts)
	case strings.Contains(path, "://"):
		return nil, usageError{fmt.Sprintf("--database %q: want a SQLite file path or a postgres:// URL", redactDSN(path))}
	default:
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		st, err = sqlite.Open(path)
	}
	if err != nil { // redactDSN leaves a file path as it is
		return nil, fmt.Errorf("open database %s: %w", redactDSN(path), err)
	}
	return st, nil
}

func isPostgresURL(database string) bool {
	scheme, _, ok := strings.Cut(database, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// postgresOptions are the pool flags, checked.
func (d *dataFlags) postgresOptions() (postgres.Options, error) {
	switch {
	case d.dbMaxConns != 0 && d.dbMaxConns < postgres.MinConns || d.dbMaxConns > math.MaxInt32:
		return postgres.Options{}, usageError{fmt.Sprintf("--db-max-conns %d: must be at least %d (or 0 for the default)", d.dbMaxConns, postgres.MinConns)}
	case d.dbConnectTimeout <= 0:
		return postgres.Options{}, usageError{fmt.Sprintf("--db-connect-timeout %s: must be positive", d.dbConnectTimeout)}
	case d.dbStatementTimeout < 0:
		return postgres.Options{}, usageError{fmt.Sprintf("--db-statement-timeout %s: must be 0 or positive", d.dbStatementTimeout)}
	}
	return postgres.Options{MaxConns: int32(d.dbMaxConns), ConnectTimeout: d.dbConnectTimeout, StatementTimeout: d.dbStatementTimeout}, nil
}

// redactDSN hides a URL's password (the user name stays: it says which role connects) and each
// query parameter whose name looks like a credential.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
			rest = user + ":***" + rest[at:]
		}
	}
	if hasQuery {
		params := strings.Split(query, "&")
		for i, p := range params {
			key, _, _ := strings.Cut(p, "=")
			if k, err := url.QueryUnescape(key); err != nil || credentialParam(k) {
				params[i] = key + "=***"
			}
		}
		rest += "?" + strings.Join(params, "&")
	}
	return scheme + "://" + rest
}

// credentialParam reports whether a query parameter of this name may carry a credential: libpq's
// passwords, and the tokens, keys and signatures that collectors take in a URL.
func credentialParam(name string) bool {
	name = strings.ToLower(name)
	return slices.ContainsFunc([]string{"pass", "pwd", "secret", "token", "key", "auth", "sig"},
		func(w string) bool { return strings.Contains(name, w) })
}

// warnOpen warns when the data directory or its SQLite file can be read by other users.
func (d *dataFlags) warnOpen(log *slog.Logger) {
	paths := []string{d.dataDir}
	if !isPostgresURL(d.database) {
		paths = append(paths, d.sqlitePath())
	}
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.Mode().Perm()&0o077 != 0 {
			log.Warn("readable by other users than the service's: restrict it (chmod go-rwx)",
				"path", p, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
		}
	}
}

// pepperEnv holds the pepper itself; it has no flag, as a command line shows in process lists.
const pepperEnv = "CUSTOMER_API_PEPPER"

// loadPepper returns the pepper of --pepper-file or CUSTOMER_API_PEPPER, trimmed; nil for none.
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
	if key = bytes.TrimSpace(key); len(key) == 0 {
		return nil, nil
	}
	p, err := secrets.NewPepper(key)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return p, nil
}

// logger returns the JSON logger of --log-level on stderr, with the trace of a traced request.
func (c *commonFlags) logger(env environment) *slog.Logger {
	return slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: c.logLevel})))
}

// levelValue is the flag of a slog level; its zero value prints as "", not info, so -h shows the default.
type levelValue struct{ level *slog.Level }

func (v levelValue) String() string {
	if v.level == nil {
		return ""
	}
	return strings.ToLower(v.level.String())
}

func (v levelValue) Set(s string) error {
	if err := v.level.UnmarshalText([]byte(s)); err != nil {
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

// byteSize is a flag of a number of bytes, written as 8MiB, 64MB or 1048576.
type byteSize int64

// String writes 8MiB for a whole number of a unit, else as humanize rounds it (1.5MiB).
func (b *byteSize) String() string {
	for i, unit := range []string{"TiB", "GiB", "MiB", "KiB"} {
		if size := int64(1) << (40 - 10*i); int64(*b) >= size && int64(*b)%size == 0 {
			return fmt.Sprintf("%d%s", int64(*b)/size, unit)
		}
	}
	return strings.ReplaceAll(humanize.IBytes(uint64(*b)), " ", "")
}

func (b *byteSize) Set(s string) error {
	n, err := humanize.ParseBytes(s)
	if err != nil || n > 1<<40 {
		return fmt.Errorf("%q is not a size such as 8MiB", s)
	}
	*b = byteSize(n)
	return nil
}
