package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/cyrexa/customer-api/impl/store"
)

// tenantJSON is one tenant of `tenants list --json`.
type tenantJSON struct {
	ID            string `json:"id"`
	Organizations int    `json:"organizations"`
	Customers     int    `json:"customers"`
	APITokens     int    `json:"apiTokens"`
}

// organizationJSON is one organization of `organizations list --json`.
type organizationJSON struct {
	ID        string `json:"id"`
	Customers int    `json:"customers"`
}

// tenantsList prints the tenants with their counts: `tenants list [--json]`.
func tenantsList(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("tenants list")
	var data dataFlags
	data.register(fs)
	new(logFlags).register(fs) // every command takes --log-level; this one logs nothing
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"usage: customer-api " + about("tenants list").synopsis}
	}
	st, err := data.openFor(ctx, env, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return err
	}
	err = printList(env, *asJSON, tenants, func(t store.TenantSummary) tenantJSON { return tenantJSON(t) },
		"TENANT\tORGANIZATIONS\tCUSTOMERS\tAPI TOKENS", func(t store.TenantSummary) string {
			return fmt.Sprintf("%s\t%d\t%d\t%d", t.ID, t.Organizations, t.Customers, t.APITokens)
		})
	if err != nil || *asJSON {
		return err
	}
	if len(tenants) == 0 {
		fmt.Fprintf(env.stderr, "no tenants in the database at %s (import customers with `customer-api import`)\n", data.describeDatabase())
	}
	return nil
}

// tenantsDelete erases a tenant: `tenants delete TENANT-ID`.
func tenantsDelete(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("tenants delete")
	var data dataFlags
	data.register(fs)
	var logs logFlags
	logs.register(fs)
	wait := eraseWaitFlag(fs)
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: customer-api " + about("tenants delete").synopsis}
	}
	if err := checkEraseWait(*wait); err != nil {
		return err
	}
	tenant := fs.Arg(0)
	if err := checkIDs(tenant, nil); err != nil {
		return err
	}
	log := logs.logger(env)
	st, err := data.openFor(ctx, env, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	setEraseWait(st, *wait)
	del, err := st.DeleteTenant(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("the database at %s holds nothing of tenant %s (see `customer-api tenants list`); nothing was deleted", data.describeDatabase(), tenant)
	}
	if err != nil && !errors.Is(err, store.ErrNotErased) {
		return err
	}
	log.Info("audit", "action", "tenants delete", "tenant", tenant,
		"organizations", del.Organizations, "customers", del.Customers, "api_tokens", del.APITokens)
	fmt.Fprintf(env.stdout, "deleted tenant %s: %s, %s (with their secrets and memberships) and %s\n", tenant,
		plural(del.Organizations, "organization"), plural(del.Customers, "customer"), plural(del.APITokens, "API token"))
	if err != nil {
		return notErased(err)
	}
	return nil
}

// organizationsList prints a tenant's organizations with their numbers of customers:
// `organizations list --tenant T [--json]`.
func organizationsList(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("organizations list")
	var data dataFlags
	data.register(fs)
	new(logFlags).register(fs) // every command takes --log-level; this one logs nothing
	tenant := fs.String("tenant", "", "tenant whose organizations are listed (required)")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"usage: customer-api " + about("organizations list").synopsis}
	}
	if err := checkIDs(*tenant, nil); err != nil {
		return err
	}
	st, err := data.openFor(ctx, env, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	orgs, err := st.Organizations(ctx, *tenant)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("the database at %s holds no data of tenant %s (see `customer-api tenants list`)", data.describeDatabase(), *tenant)
	}
	if err != nil {
		return err
	}
	return printList(env, *asJSON, orgs, func(o store.OrganizationSummary) organizationJSON { return organizationJSON(o) },
		"ORGANIZATION\tCUSTOMERS", func(o store.OrganizationSummary) string { return fmt.Sprintf("%s\t%d", o.ID, o.Customers) })
}

// printList writes items to stdout: as an indented JSON array of their asJSON forms, or as a
// table: header, then row of each item (both with tabs between the cells).
func printList[T, J any](env environment, asJSON bool, items []T, toJSON func(T) J, header string, row func(T) string) error {
	if asJSON {
		out := make([]J, 0, len(items))
		for _, item := range items {
			out = append(out, toJSON(item))
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, item := range items {
		fmt.Fprintln(w, row(item))
	}
	return w.Flush()
}
