package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/store"
)

// tokensCommand issues, lists and revokes API tokens (the `token` header): args[0] is issue,
// list or revoke.
func tokensCommand(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("tokens " + args[0])
	var data dataFlags
	data.register(fs)
	new(logFlags).register(fs) // every command takes --log-level; this one logs nothing
	var tenant, name *string
	var expires *time.Duration
	var asJSON *bool
	if args[0] != "revoke" {
		tenant = fs.String("tenant", "", "tenant of the tokens (required)")
	}
	switch args[0] {
	case "issue":
		name = fs.String("name", "", "a name that says what the token is for")
		expires = fs.Duration("expires", 720*time.Hour, "how long the token is valid (0: until revoked)")
	case "list":
		asJSON = fs.Bool("json", false, "print a JSON array instead of a table")
	}
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	needTenant := func() error {
		c, err := contract.Load()
		if err != nil {
			return err
		}
		if *tenant == "" || !c.ValidIdentifier(*tenant) {
			return usageError{"--tenant: a tenant id is required (1 to 128 letters, digits, '.', '_', ':' or '-')"}
		}
		return nil
	}

	switch args[0] {
	case "issue":
		if err := needTenant(); err != nil {
			return err
		}
		if *expires < 0 {
			return usageError{fmt.Sprintf("--expires %s: must be 0 (until revoked) or positive", *expires)}
		}
		st, err := data.openFor(ctx, env, mustHoldData)
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
				data.describeDatabase(), *tenant)
		}
		return nil
	case "list":
		if err := needTenant(); err != nil {
			return err
		}
		st, err := data.openFor(ctx, env, mustHoldData)
		if err != nil {
			return err
		}
		defer st.Close()
		tokens, err := st.APITokens(ctx, *tenant)
		if err != nil {
			return err
		}
		return listTokens(env, *tenant, tokens, *asJSON, time.Now())
	}
	// revoke
	if fs.NArg() != 1 {
		return usageError{"usage: customer-api tokens revoke TOKEN-ID|TOKEN (the id is the first column of `tokens list`)"}
	}
	id, ok := auth.APITokenID(fs.Arg(0))
	if !ok {
		// Quote nothing of the argument: it may be a mistyped token, secret included.
		return usageError{"tokens revoke: want a token id (32 hex digits, as `tokens list` shows) or the whole token"}
	}
	st, err := data.openFor(ctx, env, mustHoldData)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeAPIToken(ctx, id, time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no API token %q in this database: check the id with `tokens list` and --data-dir or --database", id)
		}
		return err
	}
	fmt.Fprintf(env.stdout, "revoked %s\n", id)
	return nil
}

// tokenJSON is one token of `tokens list --json`; times are RFC 3339, absent when not set.
type tokenJSON struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	CreatedAt string              `json:"createdAt"`
	ExpiresAt string              `json:"expiresAt,omitempty"`
	RevokedAt string              `json:"revokedAt,omitempty"`
	State     store.APITokenState `json:"state"`
}

// listTokens prints the tokens as a table with a header, or as a JSON array. A tenant without
// tokens gets a line on stderr that says so (the table stays empty but for its header).
func listTokens(env environment, tenant string, tokens []store.APIToken, asJSON bool, now time.Time) error {
	toJSON := func(t store.APIToken) tokenJSON {
		return tokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.Format(time.RFC3339),
			ExpiresAt: formatTime(t.ExpiresAt), RevokedAt: formatTime(t.RevokedAt), State: t.State(now)}
	}
	row := func(t store.APIToken) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", t.ID, orDash(t.Name), t.CreatedAt.Format(time.RFC3339), formatExpiry(t.ExpiresAt), t.State(now))
	}
	if err := printList(env, asJSON, tokens, toJSON, "ID\tNAME\tCREATED\tEXPIRES\tSTATE", row); err != nil || asJSON {
		return err
	}
	if len(tokens) == 0 {
		fmt.Fprintf(env.stderr, "no API tokens for tenant %q in this database (issue one with `customer-api tokens issue --tenant %s`)\n", tenant, tenant)
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// devTokenCommand prints an access token from the development issuer of `serve --dev`.
func devTokenCommand(env environment, args []string) error {
	fs := newFlagSet("dev-token")
	// The data flags of every command; the development key is in --data-dir.
	var data dataFlags
	data.register(fs)
	new(logFlags).register(fs) // every command takes --log-level; this one logs nothing
	tenant := fs.String("tenant", "", "tenant the token is for (required)")
	scope := fs.String("scope", auth.DefaultScope, "space-separated scopes to grant")
	subject := fs.String("subject", "developer", "subject (sub) of the token")
	ttl := fs.Duration("ttl", time.Hour, fmt.Sprintf("how long the token is valid (at most %s: serve --dev refuses longer ones)", shortDuration(auth.DefaultMaxLifetime)))
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError{"--tenant is required: the tenant the token is for (the demo's is " + demo.TenantID + ")"}
	}
	if *ttl <= 0 {
		return usageError{fmt.Sprintf("--ttl %s: must be positive", shortDuration(*ttl))}
	}
	// serve --dev keeps the verifier's default --jwt-max-lifetime: a longer token would be
	// printed here and refused there.
	if limit := auth.DefaultMaxLifetime; *ttl > limit {
		return usageError{fmt.Sprintf("--ttl %s: serve --dev accepts access tokens valid for at most %s (the default of its --jwt-max-lifetime); ask for %s or less",
			shortDuration(*ttl), shortDuration(limit), shortDuration(limit))}
	}
	// LoadDevKey would create a key where none is, whose tokens no running server accepts.
	if _, err := os.Stat(filepath.Join(data.dataDir, auth.DevKeyFile)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no development key in %s (`serve --dev` creates it there): pass the --data-dir of the running `serve --dev`", absPath(data.dataDir))
	}
	key, err := auth.LoadDevKey(data.dataDir)
	if err != nil {
		return err
	}
	token, err := auth.DevToken(key, *tenant, *subject, strings.Fields(*scope), *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, token)
	return nil
}
