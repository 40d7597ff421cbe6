package main

import (
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
	"sync/atomic"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/store"
)

// openMigrated opens the configured database and brings its schema up to date.
func (d *dataFlags) openMigrated(ctx context.Context) (store.Store, error) {
	st, err := d.openStore()
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return st, nil
}

func migrate(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("migrate")
	var data dataFlags
	data.register(fs)
	new(logFlags).register(fs) // every command takes --log-level; this one logs nothing
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"usage: customer-api migrate [flags] (it takes no arguments)"}
	}
	if err := data.checkExists(env, mayCreate); err != nil {
		return err
	}
	st, err := data.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.MigrateUp(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintf(env.stdout, "the database schema at %s is up to date: no migration to apply\n", data.describeDatabase())
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
		data.describeDatabase(), which+strings.Join(versions, ", "))
	return nil
}

func importFile(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("import")
	var data dataFlags
	data.register(fs)
	data.registerPepper(fs)
	var logs logFlags
	logs.register(fs)
	tenant := fs.String("tenant", "", "tenant that owns the customers (required)")
	organization := fs.String("organization", "", "organization the customers join (required; created if missing)")
	replace := fs.Bool("replace", false, "make the organization's members exactly the file's customers: the others leave it, and those then in no organization are deleted")
	dryRun := fs.Bool("dry-run", false, "validate the whole file and report what the import would do, writing nothing")
	eraseWait := eraseWaitFlag(fs)
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if *tenant == "" || *organization == "" || fs.NArg() != 1 {
		return usageError{"usage: customer-api import --tenant ID --organization ID [--replace] [--dry-run] FILE (FILE - reads stdin)"}
	}
	if err := checkEraseWait(*eraseWait); err != nil {
		return err
	}
	log := logs.logger(env)
	c, err := contract.Load()
	if err != nil {
		return err
	}
	for _, id := range []struct{ flag, value string }{{"--tenant", *tenant}, {"--organization", *organization}} {
		if !c.ValidIdentifier(id.value) {
			return usageError{fmt.Sprintf("%s: must be 1 to 128 letters, digits, '.', '_', ':' or '-'", id.flag)}
		}
	}
	in := &countingReader{r: env.stdin}
	var size int64
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err // names the file already
		}
		defer f.Close()
		in.r = f
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	pepper, err := loadPepper(data.pepperFile)
	if err != nil {
		return err
	}
	st, err := openForImport(ctx, env, &data, *dryRun)
	if err != nil {
		return err
	}
	defer st.Close()
	setEraseWait(st, *eraseWait)
	// An import allocates much and keeps little (it streams), so the collector may let the heap
	// grow further between cycles: measured, a third less time for the same records.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	prog := newProgress(env.stderr, log, size, in.n.Load)
	sum, err := importer.Import(ctx, st, c, *tenant, *organization, in,
		importer.WithPepper(pepper),
		importer.WithStoreOptions(store.ImportOptions{Replace: *replace, DryRun: *dryRun}),
		importer.WithProgress(prog.update))
	prog.finish()
	if err != nil {
		if errors.Is(err, store.ErrNotErased) { // written: the import committed
			auditImport(log, *tenant, *organization, sum, *replace, *dryRun)
			printImport(env, *tenant, *organization, sum, *replace, *dryRun)
			return notErased(err)
		}
		if errors.Is(err, importer.ErrEmpty) {
			what := "the file " + fs.Arg(0)
			if fs.Arg(0) == "-" {
				what = "stdin"
			}
			return fmt.Errorf(`import: %s is empty: want a JSON array of {"customer": {...}} records ([] imports none); nothing was written`, what)
		}
		return fmt.Errorf("import %s: nothing was written: %w", fs.Arg(0), err)
	}
	auditImport(log, *tenant, *organization, sum, *replace, *dryRun)
	printImport(env, *tenant, *organization, sum, *replace, *dryRun)
	return nil
}

// openForImport opens the database of an import. A dry run writes nothing, so where no SQLite
// database exists yet it runs against a new one in a temporary directory, removed afterwards:
// every customer counts as created, as it would.
func openForImport(ctx context.Context, env environment, data *dataFlags, dryRun bool) (store.Store, error) {
	if !dryRun || isPostgresURL(data.database) {
		return data.openFor(ctx, env, mayCreate)
	}
	if _, err := os.Stat(data.sqlitePath()); !errors.Is(err, os.ErrNotExist) {
		return data.openFor(ctx, env, mustExist)
	}
	dir, err := os.MkdirTemp("", "customer-api-dry-run-")
	if err != nil {
		return nil, err
	}
	tmp := *data
	tmp.database = filepath.Join(dir, "customers.db")
	st, err := tmp.openMigrated(ctx)
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

func (r removeOnClose) Close() error {
	err := r.Store.Close()
	return errors.Join(err, os.RemoveAll(r.dir))
}

// printImport says what an import did, or would do.
func printImport(env environment, tenant, organization string, sum store.ImportSummary, replace, dryRun bool) {
	verb := "imported into"
	if dryRun {
		verb = "dry run, nothing written; would import into"
	}
	fmt.Fprintf(env.stdout, "%s %s/%s: %d created, %d updated, %d unchanged", verb, tenant, organization, sum.Created, sum.Updated, sum.Unchanged)
	if replace {
		fmt.Fprintf(env.stdout, "; %d left the organization (%d deleted: in no other organization; %d kept: in another)",
			sum.Left, sum.Deleted, sum.Left-sum.Deleted)
	}
	fmt.Fprintln(env.stdout)
}

// auditImport writes the audit line of an import: counts only, never a customer's data.
func auditImport(log *slog.Logger, tenant, organization string, sum store.ImportSummary, replace, dryRun bool) {
	log.Info("audit", "action", "import", "tenant", tenant, "organization", organization,
		"replace", replace, "dry_run", dryRun, "created", sum.Created, "updated", sum.Updated,
		"unchanged", sum.Unchanged, "left", sum.Left, "deleted", sum.Deleted)
}

// countingReader counts the bytes read through it, for the import's progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
