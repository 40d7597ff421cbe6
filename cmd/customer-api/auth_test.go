package main

import (
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/auth"
)

// mustHoldTenant imports nothing into an organization of the tenant, so that the database of dir
// exists and holds the tenant, as the tokens commands require.
func mustHoldTenant(t *testing.T, dir, tenant string) {
	t.Helper()
	if _, _, err := runCmd(t, "[]", "import", "--data-dir", dir, "--tenant", tenant, "--organization", "o-1", "-"); err != nil {
		t.Fatal(err)
	}
}

func TestTokensIssueListRevoke(t *testing.T) {
	dir := t.TempDir()
	mustHoldTenant(t, dir, "tenant-a")
	token, _, err := runCmd(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "tenant-a", "--name", "billing", "--expires", "1h")
	if err != nil {
		t.Fatal(err)
	}
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, "cat_") || strings.Count(token, "\n") != 0 {
		t.Fatalf("issue printed %q, want the token alone", token)
	}
	id := strings.TrimPrefix(token[:strings.Index(token, ".")], "cat_")

	list, _, err := runCmd(t, "", "tokens", "list", "--data-dir", dir, "--tenant", "tenant-a")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], id) || !strings.Contains(lines[1], "billing") || !strings.HasSuffix(lines[1], "active") {
		t.Fatalf("list printed:\n%s", list)
	}
	if strings.Contains(list, token[strings.Index(token, ".")+1:]) {
		t.Fatal("list shows the secret")
	}

	if out, _, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, id); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	list, _, _ = runCmd(t, "", "tokens", "list", "--data-dir", dir, "--tenant", "tenant-a")
	if !strings.Contains(list, "revoked") {
		t.Errorf("after revoke, list printed:\n%s", list)
	}
	if _, _, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, "0123"); err == nil {
		t.Error("revoking an unknown token succeeded")
	}
	if _, _, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, strings.Repeat("0", 32)); err == nil {
		t.Error("revoking an unknown token succeeded")
	}
	if other, _, _ := runCmd(t, "", "tokens", "list", "--data-dir", dir, "--tenant", "tenant-b"); strings.Contains(other, id) {
		t.Error("another tenant's list shows the token")
	}
}

func TestTokensRevokeTakesTheWholeTokenAndNeverShowsItsSecret(t *testing.T) {
	dir := t.TempDir()
	mustHoldTenant(t, dir, "tenant-a")
	issue := func() string {
		token, _, err := runCmd(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "tenant-a")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(token)
	}
	secretOf := func(token string) string { return token[strings.Index(token, ".")+1:] }

	t.Run("the whole token revokes it", func(t *testing.T) {
		token := issue()
		out, errOut, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, token)
		if err != nil || !strings.Contains(out, "revoked") {
			t.Fatalf("revoke: %q %q, %v", out, errOut, err)
		}
		if strings.Contains(out+errOut, secretOf(token)) {
			t.Fatal("revoke printed the secret")
		}
		list, _, _ := runCmd(t, "", "tokens", "list", "--data-dir", dir, "--tenant", "tenant-a")
		if id, _, _ := strings.Cut(strings.TrimPrefix(token, "cat_"), "."); !strings.Contains(list, id) || !strings.Contains(list, "revoked") {
			t.Errorf("after revoke, list printed:\n%s", list)
		}
	})
	t.Run("an id with the prefix revokes it", func(t *testing.T) {
		token := issue()
		id, _, _ := strings.Cut(token, ".")
		if out, _, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, id); err != nil || !strings.Contains(out, "revoked") {
			t.Fatalf("revoke: %q, %v", out, err)
		}
	})
	t.Run("nothing after the dot is printed when the token is wrong", func(t *testing.T) {
		for _, arg := range []string{"cat_0123.s3cr3t-part-of-a-token", "cat_" + strings.Repeat("f", 32) + ".s3cr3t-part-of-a-token", "s3cr3t-part-of-a-token"} {
			out, errOut, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, arg)
			if err == nil {
				t.Errorf("revoke %d-character argument succeeded", len(arg))
			}
			if strings.Contains(out+errOut+err.Error(), "s3cr3t") {
				t.Errorf("revoke printed the secret: %q %q %v", out, errOut, err)
			}
		}
	})
}

func TestDevTokenPrintsAJWT(t *testing.T) {
	dir := t.TempDir()
	if _, err := auth.LoadDevKey(dir); err != nil { // as `serve --dev` does
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "", "dev-token", "--data-dir", dir, "--tenant", "tenant-a", "--ttl", "5m")
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(strings.TrimSpace(out), "."); len(parts) != 3 {
		t.Fatalf("dev-token printed %q, want a JWT alone", out)
	}
	again, _, _ := runCmd(t, "", "dev-token", "--data-dir", dir, "--tenant", "tenant-a")
	if strings.Split(out, ".")[0] != strings.Split(again, ".")[0] {
		t.Error("the development key changed between two runs")
	}
}

func TestServeRefusesToRunWithoutAnIssuer(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--addr", "127.0.0.1:0"}, "--oidc-issuer"},
		{[]string{"serve", "--dev", "--addr", "0.0.0.0:0"}, "loopback"},
		{[]string{"serve", "--jwks-url", "http://127.0.0.1:1/jwks.json", "--jwt-audience", "a", "--addr", "127.0.0.1:0"}, "--jwt-issuer"},
		{[]string{"serve", "--dev", "--oidc-issuer", "https://issuer.test", "--addr", "127.0.0.1:0"}, "--dev is its own issuer"},
	}
	for _, tc := range tests {
		args := append(tc.args, "--data-dir", t.TempDir())
		_, _, err := runCmd(t, "", args...)
		if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want a usage error about %s", tc.args, err, tc.want)
		}
	}
}
