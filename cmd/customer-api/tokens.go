package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/store"
)

// tokensCommand issues, lists and revokes API tokens (the `token` header).
func tokensCommand(ctx context.Context, env environment, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: customer-api tokens issue|list|revoke [flags]"}
	}
	fs := newFlagSet("tokens "+args[0], env)
	var data dataFlags
	data.register(fs)
	tenant := fs.String("tenant", "", "tenant of the tokens")
	name := fs.String("name", "", "issue: a name that says what the token is for")
	expires := fs.Duration("expires", 720*time.Hour, "issue: how long the token is valid (0: until revoked)")
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
			return usageError{"--expires must be 0 or positive"}
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
		// One line per token, id first, and no header: scripts read it with cut or awk.
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		now := time.Now()
		for _, t := range tokens {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, orDash(t.Name), t.CreatedAt.Format(time.RFC3339),
				formatExpiry(t.ExpiresAt), tokenState(t, now))
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return usageError{"usage: customer-api tokens revoke TOKEN-ID|TOKEN"}
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
				return fmt.Errorf("no API token %q", id)
			}
			return err
		}
		fmt.Fprintf(env.stdout, "revoked %s\n", id)
		return nil
	}
	return usageError{fmt.Sprintf("unknown tokens command %q: want issue, list or revoke", args[0])}
}

func tokenState(t store.APIToken, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked"
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "active"
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
	fs := newFlagSet("dev-token", env)
	dataDir := fs.String("data-dir", "./var", "data directory of `serve --dev`, which holds the development key")
	tenant := fs.String("tenant", "", "tenant the token is for (required)")
	scope := fs.String("scope", auth.DefaultScope, "space-separated scopes to grant")
	subject := fs.String("subject", "developer", "subject (sub) of the token")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError{"--tenant is required"}
	}
	if *ttl <= 0 {
		return usageError{"--ttl must be positive"}
	}
	// LoadDevKey would create a key where none is, whose tokens no running server accepts.
	if _, err := os.Stat(filepath.Join(*dataDir, auth.DevKeyFile)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no development key in %s (`serve --dev` creates it there): pass the --data-dir of the running `serve --dev`", absPath(*dataDir))
	}
	key, err := auth.LoadDevKey(*dataDir)
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
