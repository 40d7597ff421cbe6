package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
)

// customersCommand erases customers: `customers delete --tenant T ID...`.
func customersCommand(ctx context.Context, env environment, args []string) error {
	e, err := startErasure(ctx, env, args, "customers", "usage: customer-api customers delete --tenant ID CUSTOMER-ID...",
		"tenant whose customers are deleted (required)", func(n int) bool { return n > 0 })
	if err != nil {
		return err
	}
	defer e.st.Close()
	del, err := e.st.DeleteCustomers(ctx, e.tenant, e.ids)
	if err != nil && !errors.Is(err, store.ErrNotErased) {
		return err
	}
	e.log.Info("audit", "action", "customers delete", "tenant", e.tenant,
		"requested", len(e.ids), "deleted", len(del.Deleted), "unknown", len(del.Unknown))
	fmt.Fprintf(env.stdout, "deleted %s of tenant %s, with their secrets and memberships: %s\n",
		plural(len(del.Deleted), "customer"), e.tenant, listOrNone(del.Deleted))
	if err != nil {
		return notErased(err)
	}
	if len(del.Unknown) > 0 {
		return fmt.Errorf("tenant %s has no customer %s; the others were deleted", e.tenant, strings.Join(del.Unknown, ", "))
	}
	return nil
}

// organizationsCommand erases an organization: `organizations delete --tenant T ID`.
func organizationsCommand(ctx context.Context, env environment, args []string) error {
	e, err := startErasure(ctx, env, args, "organizations", "usage: customer-api organizations delete --tenant ID ORGANIZATION-ID",
		"tenant whose organization is deleted (required)", func(n int) bool { return n == 1 })
	if err != nil {
		return err
	}
	defer e.st.Close()
	org := e.ids[0]
	del, err := e.st.DeleteOrganization(ctx, e.tenant, org)
	if errors.Is(err, store.ErrNotFound) {
		notFound := fmt.Errorf("tenant %s has no organization %s; nothing was deleted", e.tenant, org)
		if errors.Is(err, store.ErrNotErased) { // of an earlier deletion
			return notErased(fmt.Errorf("%w, and %w", notFound, err))
		}
		return notFound
	}
	if err != nil && !errors.Is(err, store.ErrNotErased) {
		return err
	}
	e.log.Info("audit", "action", "organizations delete", "tenant", e.tenant, "organization", org,
		"deleted", len(del.Deleted), "kept", len(del.Kept))
	fmt.Fprintf(env.stdout, "deleted organization %s of tenant %s\n", org, e.tenant)
	fmt.Fprintf(env.stdout, "deleted %s (in no other organization): %s\n", plural(len(del.Deleted), "customer"), listOrNone(del.Deleted))
	fmt.Fprintf(env.stdout, "kept %s (in another organization): %s\n", plural(len(del.Kept), "customer"), listOrNone(del.Kept))
	if err != nil {
		return notErased(err)
	}
	return nil
}

// eraseWaitFlag registers --erase-wait, a flag of the commands that delete customers.
func eraseWaitFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("erase-wait", sqlite.EraseWait, "SQLite: how long a deletion waits for readers of older snapshots to let it erase the deleted data from the database's files, before it says where the data still is (0: no wait)")
}

// checkEraseWait refuses a negative --erase-wait.
func checkEraseWait(wait time.Duration) error {
	if wait < 0 {
		return usageError{fmt.Sprintf("--erase-wait %s: must be 0 or positive", wait)}
	}
	return nil
}

// setEraseWait applies --erase-wait to a store whose deletions wait for readers (SQLite's).
func setEraseWait(st store.Store, wait time.Duration) {
	if w, ok := st.(interface{ SetEraseWait(time.Duration) }); ok {
		w.SetEraseWait(wait)
	}
}

// notErased adds what to do to the error of a deletion that is done but whose erasure from the
// disk readers held up (store.ErrNotErased), which says where the deleted data may still be.
func notErased(err error) error {
	return fmt.Errorf("%w\nThe deletion itself is done. To finish the erasure, run this command again once those readers "+
		"have finished (it does, even when nothing is left to delete), or with a longer --erase-wait. Readers of the "+
		"service end by themselves; one that holds the log longer is another program with the database open (a backup, "+
		"a sqlite3 shell); SQLite also finishes the erasure when the last program closes the database", err)
}

// erasure is a `NOUN delete` command ready to run: its tenant, its ids and an open database.
type erasure struct {
	tenant string
	ids    []string
	log    *slog.Logger
	st     store.Store
}

// startErasure parses `NOUN delete --tenant T ID...` (countOK says how many ids it takes), checks
// the ids and opens the existing database; the caller closes it.
func startErasure(ctx context.Context, env environment, args []string, noun, use, tenantHelp string, countOK func(int) bool) (*erasure, error) {
	if len(args) == 0 || args[0] != "delete" {
		return nil, usageError{use}
	}
	fs := newFlagSet(noun + " delete")
	var data dataFlags
	data.register(fs)
	var logs logFlags
	logs.register(fs)
	tenant := fs.String("tenant", "", tenantHelp)
	wait := eraseWaitFlag(fs)
	if err := parse(fs, args[1:], env); err != nil {
		return nil, err
	}
	if !countOK(fs.NArg()) {
		return nil, usageError{use}
	}
	if err := checkIDs(*tenant, fs.Args()); err != nil {
		return nil, err
	}
	if err := checkEraseWait(*wait); err != nil {
		return nil, err
	}
	log := logs.logger(env)
	st, err := data.openFor(ctx, env, mustExist)
	if err != nil {
		return nil, err
	}
	setEraseWait(st, *wait)
	return &erasure{tenant: *tenant, ids: fs.Args(), log: log, st: st}, nil
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
