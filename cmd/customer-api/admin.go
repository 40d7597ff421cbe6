package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
)

// tokenJSON is one token of `tokens list --json`; times are RFC 3339, absent when not set.
type tokenJSON struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	CreatedAt string              `json:"createdAt"`
	ExpiresAt string              `json:"expiresAt,omitempty"`
	RevokedAt string              `json:"revokedAt,omitempty"`
	State     store.APITokenState `json:"state"`
}

// migrate brings the database schema up to date, saying which versions it applied.
func migrate(ctx context.Context, env environment, args []string) error {
	fs := newCommand("migrate", false)
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"usage: customer-api migrate [flags] (it takes no arguments)"}
	}
	if err := fs.data.checkExists(env, mayCreate); err != nil {
		return err
	}
	st, err := fs.data.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.MigrateUp(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintf(env.stdout, "the database schema at %s is up to date: no migration to apply\n", fs.data.describeDatabase())
		return nil
	}
	versions := make([]string, len(applied))
	for i, v := range applied {
		versions[i] = strconv.FormatInt(v, 10)
	}
	which := "version "
	if len(applied) > 1 {
		which = "versions "
	}
	fmt.Fprintf(env.stdout, "applied %s to the database at %s: %s\n", plural(len(applied), "migration"),
		fs.data.describeDatabase(), which+strings.Join(versions, ", "))
	return nil
}

// importFile loads a JSON array of customers into an organization: `import --tenant T --organization O FILE|-`.
func importFile(ctx context.Context, env environment, args []string) error {
	fs := newCommand("import", true)
	tenant := fs.String("tenant", "", "tenant that owns the customers (required)")
	organization := fs.String("organization", "", "organization the customers join (required; created if missing)")
	replace := fs.Bool("replace", false, "make the organization's members exactly the file's customers: the others leave it, and those then in no organization are deleted")
	dryRun := fs.Bool("dry-run", false, "validate the whole file and report what the import would do, writing nothing")
	fs.eraseWaitFlag()
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	if *tenant == "" || *organization == "" || fs.NArg() != 1 {
		return usageError{"usage: customer-api import --tenant ID --organization ID [--replace] [--dry-run] FILE (FILE - reads stdin)"}
	}
	log := fs.logger(env)
	c, err := contract.Load()
	if err != nil {
		return err
	}
	for _, id := range []struct{ flag, value string }{{"--tenant", *tenant}, {"--organization", *organization}} {
		if !c.ValidIdentifier(id.value) {
			return usageError{fmt.Sprintf("%s: must be 1 to 128 letters, digits, '.', '_', ':' or '-'", id.flag)}
		}
	}
	in, what := env.stdin, "stdin"
	var size int64
	var read func() int64 // bytes read so far: the file's offset; asked only where size is known
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err // names the file already
		}
		defer f.Close()
		in, what = f, "the file "+name
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
			read = func() int64 {
				n, _ := f.Seek(0, io.SeekCurrent)
				return n
			}
		}
	}
	pepper, err := loadPepper(fs.data.pepperFile)
	if err != nil {
		return err
	}
	st, err := openForImport(ctx, env, &fs.data, *dryRun)
	if err != nil {
		return err
	}
	defer st.Close()
	// An import allocates much and keeps little: measured, a third less time with a larger heap.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	prog := newProgress(env.stderr, log, size, read)
	sum, err := importer.Import(ctx, st, c, *tenant, *organization, in, importer.Options{Pepper: pepper,
		Store: store.ImportOptions{Replace: *replace, DryRun: *dryRun}, Progress: prog.update})
	prog.finish()
	switch {
	case errors.Is(err, importer.ErrEmpty):
		return fmt.Errorf(`import: %s is empty: want a JSON array of {"customer": {...}} records ([] imports none); nothing was written`, what)
	case err != nil && !errors.Is(err, store.ErrNotErased): // ErrNotErased: the import committed
		return fmt.Errorf("import %s: nothing was written: %w", fs.Arg(0), err)
	}
	log.Info("audit", "action", "import", "tenant", *tenant, "organization", *organization,
		"replace", *replace, "dry_run", *dryRun, "created", sum.Created, "updated", sum.Updated,
		"unchanged", sum.Unchanged, "left", sum.Left, "deleted", sum.Deleted)
	verb := "imported into"
	if *dryRun {
		verb = "dry run, nothing written; would import into"
	}
	fmt.Fprintf(env.stdout, "%s %s/%s: %d created, %d updated, %d unchanged", verb, *tenant, *organization, sum.Created, sum.Updated, sum.Unchanged)
	if *replace {
		fmt.Fprintf(env.stdout, "; %d left the organization (%d deleted: in no other organization; %d kept: in another)",
			sum.Left, sum.Deleted, sum.Left-sum.Deleted)
	}
	fmt.Fprintln(env.stdout)
	return notErased(err)
}

// openForImport opens the database of an import. A dry run where no SQLite database exists yet
// runs against a new one in a temporary directory, so every customer counts as created.
func openForImport(ctx context.Context, env environment, data *dataFlags, dryRun bool) (store.Store, error) {
	if _, err := os.Stat(data.sqlitePath()); !dryRun || isPostgresURL(data.database) || !errors.Is(err, os.ErrNotExist) {
		return data.openFor(ctx, env, mayCreate)
	}
	dir, err := os.MkdirTemp("", "customer-api-dry-run-")
	if err != nil {
		return nil, err
	}
	tmp := *data
	tmp.database = filepath.Join(dir, "customers.db")
	st, err := tmp.openFor(ctx, environment{stderr: io.Discard}, mayCreate) // a scratch database: no notice
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return removeOnClose{st, dir}, nil
}

// removeOnClose is a store whose directory is removed when it is closed.
type removeOnClose struct {
	store.Store
	dir string
}

func (r removeOnClose) Close() error { return errors.Join(r.Store.Close(), os.RemoveAll(r.dir)) }

// Progress is redrawn this often on a terminal, and logged this often otherwise.
const (
	terminalProgressEvery = 250 * time.Millisecond
	logProgressEvery      = 5 * time.Second
)

// progress reports how far an import is: a line redrawn in place on a terminal, else log lines.
type progress struct {
	w           io.Writer // the terminal, or nil: log instead
	log         *slog.Logger
	total       int64        // bytes of the input, 0 when unknown
	read        func() int64 // bytes read so far
	now         func() time.Time
	every       time.Duration
	start, last time.Time
	records     int
	reported    bool
}

func newProgress(stderr io.Writer, log *slog.Logger, total int64, read func() int64) *progress {
	p := &progress{log: log, total: total, read: read, now: time.Now, every: logProgressEvery}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.w, p.every = f, terminalProgressEvery
	}
	p.start = p.now()
	p.last = p.start
	return p
}

// update records that records are done, and reports when the interval has passed.
func (p *progress) update(records int) {
	p.records = records
	if now := p.now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.report(now)
	}
}

// finish completes the terminal line.
func (p *progress) finish() {
	if p.w != nil && p.reported {
		p.report(p.now())
		fmt.Fprintln(p.w)
	}
}

func (p *progress) report(now time.Time) {
	p.reported = true
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.records) / elapsed.Seconds()
	}
	// The fraction of the input read and the time left at the rate so far, when the size is known.
	fraction, left := -1.0, time.Duration(0)
	if p.total > 0 {
		fraction = 0
		if read := min(p.read(), p.total); read > 0 {
			fraction = float64(read) / float64(p.total)
			left = time.Duration(float64(elapsed) * (1 - fraction) / fraction)
		}
	}
	if p.w == nil {
		attrs := []any{"records", p.records, "per_second", int(rate), "elapsed", elapsed.Round(time.Second).String()}
		if fraction >= 0 {
			attrs = append(attrs, "percent", int(fraction*100), "left", left.Round(time.Second).String())
		}
		p.log.Info("import progress", attrs...)
		return
	}
	line := fmt.Sprintf("\r%s, %.0f/s", plural(p.records, "record"), rate)
	if fraction >= 0 {
		line += fmt.Sprintf(", %d%%, about %s left", int(fraction*100), left.Round(time.Second))
	}
	fmt.Fprintf(p.w, "%s\033[K", line)
}

// tokensIssue issues an API token (the `token` header) and prints it: `tokens issue --tenant T`.
func tokensIssue(ctx context.Context, env environment, args []string) error {
	fs := newCommand("tokens issue", false)
	name := fs.String("name", "", "a name that says what the token is for")
	expires := fs.Duration("expires", 720*time.Hour, "how long the token is valid (0: until revoked)")
	tenant := fs.String("tenant", "", "tenant of the tokens (required)")
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	if err := checkIDs(*tenant, nil); err != nil {
		return err
	}
	if *expires < 0 {
		return usageError{fmt.Sprintf("--expires %s: must be 0 (until revoked) or positive", *expires)}
	}
	st, err := fs.data.openFor(ctx, env, mustHoldData)
	if err != nil {
		return err
	}
	defer st.Close()
	token, _, err := auth.NewAPITokens(st, nil).Issue(ctx, *tenant, *name, *expires)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, token)
	// Issued all the same: the tenant's data may be imported next.
	if _, err := st.Organizations(ctx, *tenant); errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(env.stderr, "customer-api: warning: the database at %s holds no data of tenant %q: "+
			"every request with this token answers 404 until customers are imported for it; check --tenant and --data-dir (or --database)\n",
			fs.data.describeDatabase(), *tenant)
	}
	return nil
}

// tokensList prints a tenant's API tokens: `tokens list --tenant T [--json]`.
func tokensList(ctx context.Context, env environment, args []string) error {
	fs := newCommand("tokens list", false)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	tenant := fs.String("tenant", "", "tenant of the tokens (required)")
	st, err := openList(ctx, env, fs, args, mustHoldData)
	if err != nil {
		return err
	}
	defer st.Close()
	tokens, err := st.APITokens(ctx, *tenant)
	if err != nil {
		return err
	}
	now := time.Now()
	err = printList(env, *asJSON, tokens, "ID\tNAME\tCREATED\tEXPIRES\tSTATE", func(t store.APIToken) (tokenJSON, []any) {
		expires := formatTime(t.ExpiresAt)
		return tokenJSON{t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), expires, formatTime(t.RevokedAt), t.State(now)},
			[]any{t.ID, cmp.Or(t.Name, "-"), t.CreatedAt.Format(time.RFC3339), cmp.Or(expires, "never"), t.State(now)}
	})
	if err == nil && !*asJSON && len(tokens) == 0 {
		fmt.Fprintf(env.stderr, "no API tokens for tenant %q in this database (issue one with `customer-api tokens issue --tenant %s`)\n", *tenant, *tenant)
	}
	return err
}

// tokensRevoke revokes an API token by its id or the token itself: `tokens revoke TOKEN-ID|TOKEN`.
func tokensRevoke(ctx context.Context, env environment, args []string) error {
	fs := newCommand("tokens revoke", false)
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	id, ok := auth.APITokenID(fs.Arg(0))
	switch {
	case fs.NArg() != 1:
		return usageError{"usage: customer-api tokens revoke TOKEN-ID|TOKEN (the id is the first column of `tokens list`)"}
	case !ok: // quote nothing of the argument: it may be a mistyped token, secret included
		return usageError{"tokens revoke: want a token id (32 hex digits, as `tokens list` shows) or the whole token"}
	}
	st, err := fs.data.openFor(ctx, env, mustHoldData)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeAPIToken(ctx, id, time.Now()); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no API token %q in this database: check the id with `tokens list` and --data-dir or --database", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "revoked %s\n", id)
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// tenantsList prints the tenants with their counts: `tenants list [--json]`.
func tenantsList(ctx context.Context, env environment, args []string) error {
	fs := newCommand("tenants list", false)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	st, err := openList(ctx, env, fs, args, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return err
	}
	err = printList(env, *asJSON, tenants, "TENANT\tORGANIZATIONS\tCUSTOMERS\tAPI TOKENS", func(t store.TenantSummary) (store.TenantSummary, []any) {
		return t, []any{t.ID, t.Organizations, t.Customers, t.APITokens}
	})
	if err == nil && !*asJSON && len(tenants) == 0 {
		fmt.Fprintf(env.stderr, "no tenants in the database at %s (import customers with `customer-api import`)\n", fs.data.describeDatabase())
	}
	return err
}

// organizationsList prints a tenant's organizations with their numbers of customers.
func organizationsList(ctx context.Context, env environment, args []string) error {
	fs := newCommand("organizations list", false)
	tenant := fs.String("tenant", "", "tenant whose organizations are listed (required)")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	st, err := openList(ctx, env, fs, args, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	orgs, err := st.Organizations(ctx, *tenant)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("the database at %s holds no data of tenant %s (see `customer-api tenants list`)", fs.data.describeDatabase(), *tenant)
	} else if err != nil {
		return err
	}
	return printList(env, *asJSON, orgs, "ORGANIZATION\tCUSTOMERS", func(o store.OrganizationSummary) (store.OrganizationSummary, []any) {
		return o, []any{o.ID, o.Customers}
	})
}

// openList parses the arguments of a list command, checks its --tenant if it has one and opens
// the existing database, as need says.
func openList(ctx context.Context, env environment, fs *commonFlags, args []string, need existing) (store.Store, error) {
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, usageError{"usage: customer-api " + about(fs.Name()).synopsis}
	}
	if f := fs.Lookup("tenant"); f != nil {
		if err := checkIDs(f.Value.String(), nil); err != nil {
			return nil, err
		}
	}
	return fs.data.openFor(ctx, env, need)
}

// customersDelete erases customers: `customers delete --tenant T ID...`.
func customersDelete(ctx context.Context, env environment, args []string) error {
	return erase(ctx, env, args, "customers delete", "tenant whose customers are deleted (required)", func(n int) bool { return n > 0 }, func(e erasure) error {
		del, err := e.st.DeleteCustomers(ctx, e.tenant, e.ids)
		if err != nil && !errors.Is(err, store.ErrNotErased) {
			return err
		}
		e.log.Info("audit", "action", "customers delete", "tenant", e.tenant,
			"requested", len(e.ids), "deleted", len(del.Deleted), "unknown", len(del.Unknown))
		fmt.Fprintf(env.stdout, "deleted %s of tenant %s, with their secrets and memberships: %s\n",
			plural(len(del.Deleted), "customer"), e.tenant, listOrNone(del.Deleted))
		if err == nil && len(del.Unknown) > 0 {
			return fmt.Errorf("tenant %s has no customer %s; the others were deleted", e.tenant, strings.Join(del.Unknown, ", "))
		}
		return notErased(err)
	})
}

// organizationsDelete erases an organization: `organizations delete --tenant T ID`.
func organizationsDelete(ctx context.Context, env environment, args []string) error {
	return erase(ctx, env, args, "organizations delete", "tenant whose organization is deleted (required)", func(n int) bool { return n == 1 }, func(e erasure) error {
		org := e.ids[0]
		del, err := e.st.DeleteOrganization(ctx, e.tenant, org)
		switch {
		case errors.Is(err, store.ErrNotFound):
			notFound := fmt.Errorf("tenant %s has no organization %s; nothing was deleted", e.tenant, org)
			if errors.Is(err, store.ErrNotErased) { // of an earlier deletion
				return notErased(fmt.Errorf("%w, and %w", notFound, err))
			}
			return notFound
		case err != nil && !errors.Is(err, store.ErrNotErased):
			return err
		}
		e.log.Info("audit", "action", "organizations delete", "tenant", e.tenant, "organization", org,
			"deleted", len(del.Deleted), "kept", len(del.Kept))
		fmt.Fprintf(env.stdout, "deleted organization %s of tenant %s\n", org, e.tenant)
		fmt.Fprintf(env.stdout, "deleted %s (in no other organization): %s\n", plural(len(del.Deleted), "customer"), listOrNone(del.Deleted))
		fmt.Fprintf(env.stdout, "kept %s (in another organization): %s\n", plural(len(del.Kept), "customer"), listOrNone(del.Kept))
		return notErased(err)
	})
}

// tenantsDelete erases a tenant: `tenants delete TENANT-ID`.
func tenantsDelete(ctx context.Context, env environment, args []string) error {
	return erase(ctx, env, args, "tenants delete", "", func(n int) bool { return n == 1 }, func(e erasure) error {
		del, err := e.st.DeleteTenant(ctx, e.tenant)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("the database at %s holds nothing of tenant %s (see `customer-api tenants list`); nothing was deleted", e.describe, e.tenant)
		case err != nil && !errors.Is(err, store.ErrNotErased):
			return err
		}
		e.log.Info("audit", "action", "tenants delete", "tenant", e.tenant,
			"organizations", del.Organizations, "customers", del.Customers, "api_tokens", del.APITokens)
		fmt.Fprintf(env.stdout, "deleted tenant %s: %s, %s (with their secrets and memberships) and %s\n", e.tenant,
			plural(del.Organizations, "organization"), plural(del.Customers, "customer"), plural(del.APITokens, "API token"))
		return notErased(err)
	})
}

// eraseWaitFlag registers --erase-wait, a flag of the commands that delete customers; openFor
// applies it.
func (c *commonFlags) eraseWaitFlag() {
	c.data.eraseWait = c.Duration("erase-wait", sqlite.EraseWait, "SQLite: how long a deletion waits for readers of older snapshots to let it erase the deleted data from the database's files, before it says where the data still is (0: no wait)")
}

// notErased adds what to do to the error of a deletion that is done but whose erasure from the
// disk readers held up (store.ErrNotErased); nil stays nil.
func notErased(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w\nThe deletion itself is done. To finish the erasure, run this command again once those readers "+
		"have finished (it does, even when nothing is left to delete), or with a longer --erase-wait. Readers of the "+
		"service end by themselves; one that holds the log longer is another program with the database open (a backup, "+
		"a sqlite3 shell); SQLite also finishes the erasure when the last program closes the database", err)
}

// erasure is a `NOUN delete` command ready to run: its tenant, its ids and an open database.
type erasure struct {
	tenant, describe string
	ids              []string
	log              *slog.Logger
	st               store.Store
}

// erase parses `NOUN delete [--tenant T] ID...` (a tenant's is its one id; countOK says how many
// ids), checks the ids, opens the existing database and runs del on it.
func erase(ctx context.Context, env environment, args []string, name, tenantHelp string, countOK func(int) bool, del func(erasure) error) error {
	fs := newCommand(name, false)
	tenant := new(string)
	if tenantHelp != "" {
		tenant = fs.String("tenant", "", tenantHelp)
	}
	fs.eraseWaitFlag()
	if err := parse(fs.FlagSet, args[1:], env); err != nil {
		return err
	}
	if !countOK(fs.NArg()) {
		return usageError{"usage: customer-api " + about(fs.Name()).synopsis}
	}
	ids := fs.Args()
	if tenantHelp == "" {
		*tenant, ids = ids[0], nil
	}
	if err := checkIDs(*tenant, ids); err != nil {
		return err
	}
	st, err := fs.data.openFor(ctx, env, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	return del(erasure{tenant: *tenant, describe: fs.data.describeDatabase(), ids: fs.Args(), log: fs.logger(env), st: st})
}

// checkIDs refuses a missing or malformed tenant id and malformed ids.
func checkIDs(tenant string, ids []string) error {
	c, err := contract.Load()
	if err != nil {
		return err
	}
	if tenant == "" || !c.ValidIdentifier(tenant) {
		return usageError{"--tenant: a tenant id is required (1 to 128 letters, digits, '.', '_', ':' or '-')"}
	}
	for _, id := range ids {
		if !c.ValidIdentifier(id) {
			return usageError{fmt.Sprintf("%q is not an id: 1 to 128 letters, digits, '.', '_', ':' or '-'", id)}
		}
	}
	return nil
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
