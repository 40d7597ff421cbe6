package main

import (
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

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// errHelp says that help was asked for (-h, --help) and printed; the program exits 0.
var errHelp = errors.New("help printed")

// newFlagSet returns the flag set of a command; parse reads it.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse prints help to stdout, and errors once, through main
	return fs
}

// parse parses args with ff: the command line, then CUSTOMER_API_<FLAG> (upper case, dashes as
// underscores) for each flag the command line left out. As with the flag package, the flags come
// before the arguments: the first argument ends them, and so does "--". -h or --help prints the
// command's flags to stdout and returns errHelp.
func parse(fs *flag.FlagSet, args []string, env environment) error {
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix("CUSTOMER_API"))
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(fs, env.stdout)
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

// printHelp writes the command's synopsis, what it does and its flags to w.
func printHelp(fs *flag.FlagSet, w io.Writer) {
	c := about(fs.Name())
	fmt.Fprintf(w, "usage: customer-api %s\n\n%s.\n\n", c.synopsis, strings.ToUpper(c.summary[:1])+c.summary[1:])
	fmt.Fprintln(w, "flags (each also CUSTOMER_API_<FLAG>, upper case, dashes as underscores):")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// explain says what kind of value a flag wants where the flag package says only "parse error",
// and drops ff's "error parsing ...: " before the flag package's message.
func explain(fs *flag.FlagSet, err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
	msg = strings.TrimPrefix(msg, "error parsing environment variables: ")
	if m := badValue.FindStringSubmatch(msg); m != nil {
		kind, _ := flag.UnquoteUsage(fs.Lookup(m[1] + m[2]))
		msg = strings.TrimSuffix(msg, "parse error") + cmp.Or(wanted[kind], "parse error")
	}
	return msg
}

// badValue matches the messages of ff and the flag package for a value that does not parse.
var badValue = regexp.MustCompile(`(?:flag -([a-z0-9-]+)|flag "([a-z0-9-]+)" from environment variable "\w+"): parse error$`)

// wanted says what a value of each of the flag package's types looks like.
var wanted = map[string]string{"": "want true or false", "duration": "want a duration such as 30s, 5m or 1h",
	"int": "want a whole number", "uint": "want a whole number", "float": "want a number"}

// dataFlags are the flags of every command that touches data.
type dataFlags struct {
	dataDir  string
	database string
	// pepperFile holds the pepper of PINs and secret answers (see secrets.Pepper); only the
	// commands that hash secrets register it (registerPepper).
	pepperFile string
	// PostgreSQL only.
	dbMaxConns         int
	dbConnectTimeout   time.Duration
	dbStatementTimeout time.Duration
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "./var", "directory for the default SQLite database (customers.db)")
	fs.StringVar(&d.database, "database", "", "SQLite file path, or a postgres:// or postgresql:// URL (default <data-dir>/customers.db)")
	fs.IntVar(&d.dbMaxConns, "db-max-conns", 0, fmt.Sprintf("PostgreSQL: most connections of the pool of reads, imports and deletions, at least %d (0: the URL's pool_max_conns, else the larger of 4 and the number of CPUs); the lookups of tokens and versions have %d more of their own", postgres.MinConns, postgres.LookupConns))
	fs.DurationVar(&d.dbConnectTimeout, "db-connect-timeout", postgres.DefaultConnectTimeout, "PostgreSQL: how long establishing one connection may take")
	fs.DurationVar(&d.dbStatementTimeout, "db-statement-timeout", 0, "PostgreSQL: the server cancels a statement that runs longer (0: the server's statement_timeout)")
}

// registerPepper adds --pepper-file, for the commands that hash customers' secrets.
func (d *dataFlags) registerPepper(fs *flag.FlagSet) {
	fs.StringVar(&d.pepperFile, "pepper-file", "", "file holding the pepper mixed into PINs and secret answers before hashing (or set "+pepperEnv+"); keep it out of the database and its backups")
}

// sqlitePath is the SQLite database file the flags name (not for a PostgreSQL URL).
func (d *dataFlags) sqlitePath() string {
	if d.database != "" {
		return d.database
	}
	return filepath.Join(d.dataDir, "customers.db")
}

// describeDatabase says which database the flags name, for messages and logs: the absolute path
// of a SQLite file, or a PostgreSQL URL with its password redacted.
func (d *dataFlags) describeDatabase() string {
	if isPostgresURL(d.database) {
		return redactDSN(d.database)
	}
	return absPath(d.sqlitePath())
}

// absPath returns path made absolute, or path itself if that fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// existing says what a command needs of the database before it opens it.
type existing int

const (
	// mayCreate: a new SQLite database is created where none is, with a notice on stderr.
	mayCreate existing = iota
	// mustExist: the database must exist; a missing SQLite file is an error, never created.
	mustExist
	// mustHoldData: as mustExist, and it must hold at least one tenant.
	mustHoldData
)

// wrongDatabaseHint ends the errors about a missing or empty database.
const wrongDatabaseHint = "pass --data-dir (or --database) of the server's data, or run this command from the directory that holds its ./var"

// openFor opens the configured database and migrates it, as need says. A SQLite file that does
// not exist is created (saying so on stderr, with its absolute path) only when need is mayCreate.
func (d *dataFlags) openFor(ctx context.Context, env environment, need existing) (store.Store, error) {
	if err := d.checkExists(env, need); err != nil {
		return nil, err
	}
	st, err := d.openMigrated(ctx)
	if err != nil {
		return nil, err
	}
	if need == mustHoldData {
		empty, err := st.Empty(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if empty {
			st.Close()
			return nil, fmt.Errorf("the database at %s holds no tenant (import customers first): %s", d.describeDatabase(), wrongDatabaseHint)
		}
	}
	return st, nil
}

// checkExists refuses a SQLite database that does not exist unless need is mayCreate; then it
// says on stderr that one is created, with its absolute path.
func (d *dataFlags) checkExists(env environment, need existing) error {
	if path := d.sqlitePath(); !isPostgresURL(d.database) && !strings.Contains(path, "://") {
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
func (d *dataFlags) openStore() (store.Store, error) {
	if isPostgresURL(d.database) {
		return d.openPostgres()
	}
	path := d.sqlitePath()
	if strings.Contains(path, "://") {
		return nil, usageError{fmt.Sprintf("--database %q: want a SQLite file path or a postgres:// URL", redactDSN(path))}
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

// isPostgresURL reports whether --database names a PostgreSQL server.
func isPostgresURL(database string) bool {
	scheme, _, ok := strings.Cut(database, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// openPostgres opens the PostgreSQL store of --database with the pool flags.
func (d *dataFlags) openPostgres() (store.Store, error) {
	switch {
	case d.dbMaxConns != 0 && d.dbMaxConns < postgres.MinConns || d.dbMaxConns > math.MaxInt32:
		return nil, usageError{fmt.Sprintf("--db-max-conns %d: must be at least %d (or 0 for the default)", d.dbMaxConns, postgres.MinConns)}
	case d.dbConnectTimeout <= 0:
		return nil, usageError{fmt.Sprintf("--db-connect-timeout %s: must be positive", d.dbConnectTimeout)}
	case d.dbStatementTimeout < 0:
		return nil, usageError{fmt.Sprintf("--db-statement-timeout %s: must be 0 or positive", d.dbStatementTimeout)}
	}
	opts := postgres.Options{
		MaxConns:         int32(d.dbMaxConns),
		ConnectTimeout:   d.dbConnectTimeout,
		StatementTimeout: d.dbStatementTimeout,
	}
	// Open waits for one connection at most; each attempt is bounded by the connect timeout.
	st, err := postgres.Open(context.Background(), d.database, opts)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactDSN(d.database), err)
	}
	return st, nil
}

// redactDSN hides the credentials of a URL before it is shown (the database's, and the OTLP
// endpoint's): the password of the userinfo (the user name stays: it tells operators which role
// connects, and is no secret) and each query parameter whose name looks like a credential
// (credentialParam).
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

// credentialWords are parts of the names of query parameters that carry credentials: libpq's
// password and sslpassword, and the tokens, keys, secrets and signatures that collectors and the
// proxies in front of them take in a URL.
var credentialWords = []string{"pass", "pwd", "secret", "token", "key", "auth", "sig"}

// credentialParam reports whether a query parameter of this name may carry a credential.
func credentialParam(name string) bool {
	name = strings.ToLower(name)
	return slices.ContainsFunc(credentialWords, func(w string) bool { return strings.Contains(name, w) })
}

// logFlags are the logging flags. Every command accepts them; those that log (serve, import and
// the deletes) build their logger from them.
type logFlags struct {
	level slog.Level
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.Var(levelValue{&l.level}, "log-level", "log `level`: debug, info, warn or error; logs are JSON lines on stderr")
}

// logger returns the JSON logger of --log-level on stderr.
func (l *logFlags) logger(env environment) *slog.Logger {
	h := slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: l.level})
	return slog.New(telemetry.NewLogHandler(h)) // trace_id and span_id of a traced request
}

// levelValue is the flag of a slog level, checked when it is given. Its zero value (no level)
// prints as "", so that -h shows the default, info.
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

// String writes the size as the flag takes it: 8MiB for a whole number of a unit, else as
// humanize rounds it (1.5MiB), without its space.
func (b *byteSize) String() string {
	for _, unit := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n := int64(*b); n >= unit.size && n%unit.size == 0 {
			return fmt.Sprintf("%d%s", n/unit.size, unit.name)
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
