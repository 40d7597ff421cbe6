package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/store"
)

// customersCommand erases customers: `customers delete --tenant T ID...`.
func customersCommand(ctx context.Context, env environment, args []string) error {
	const use = "usage: customer-api customers delete --tenant ID CUSTOMER-ID..."
	if len(args) == 0 || args[0] != "delete" {
		return usageError{use}
	}
	fs := newFlagSet("customers delete", env)
	var data dataFlags
	data.register(fs)
	tenant := fs.String("tenant", "", "tenant whose customers are deleted (required)")
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{use}
	}
	if err := checkIDs(*tenant, fs.Args()); err != nil {
		return err
	}
	log := data.logger(env)
	st, err := data.openFor(ctx, env, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	del, err := st.DeleteCustomers(ctx, *tenant, fs.Args())
	if err != nil && !errors.Is(err, store.ErrNotErased) {
		return err
	}
	log.Info("audit", "action", "customers delete", "tenant", *tenant,
		"requested", len(fs.Args()), "deleted", len(del.Deleted), "unknown", len(del.Unknown))
	fmt.Fprintf(env.stdout, "deleted %d customers of tenant %s, with their secrets and memberships: %s\n",
		len(del.Deleted), *tenant, listOrNone(del.Deleted))
	if err != nil {
		return err
	}
	if len(del.Unknown) > 0 {
		return fmt.Errorf("tenant %s has no customer %s; the others were deleted", *tenant, strings.Join(del.Unknown, ", "))
	}
	return nil
}

// organizationsCommand erases an organization: `organizations delete --tenant T ID`.
func organizationsCommand(ctx context.Context, env environment, args []string) error {
	const use = "usage: customer-api organizations delete --tenant ID ORGANIZATION-ID"
	if len(args) == 0 || args[0] != "delete" {
		return usageError{use}
	}
	fs := newFlagSet("organizations delete", env)
	var data dataFlags
	data.register(fs)
	tenant := fs.String("tenant", "", "tenant whose organization is deleted (required)")
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{use}
	}
	if err := checkIDs(*tenant, fs.Args()); err != nil {
		return err
	}
	log := data.logger(env)
	st, err := data.openFor(ctx, env, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	org := fs.Arg(0)
	del, err := st.DeleteOrganization(ctx, *tenant, org)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("tenant %s has no organization %s; nothing was deleted", *tenant, org)
	}
	if err != nil && !errors.Is(err, store.ErrNotErased) {
		return err
	}
	log.Info("audit", "action", "organizations delete", "tenant", *tenant, "organization", org,
		"deleted", len(del.Deleted), "kept", len(del.Kept))
	fmt.Fprintf(env.stdout, "deleted organization %s of tenant %s\n", org, *tenant)
	fmt.Fprintf(env.stdout, "deleted %d customers (in no other organization): %s\n", len(del.Deleted), listOrNone(del.Deleted))
	fmt.Fprintf(env.stdout, "kept %d customers (in another organization): %s\n", len(del.Kept), listOrNone(del.Kept))
	return err
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
