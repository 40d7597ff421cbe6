package auth_test

import (
	"testing"

	"github.com/cyrexa/customer-api/impl/auth"
)

func TestAPITokenID(t *testing.T) {
	t.Parallel()
	const id = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, arg, want string
		ok              bool
	}{
		{"a bare id is itself", id, id, true},
		{"an id with the cat_ prefix loses the prefix", "cat_" + id, id, true},
		{"a whole token gives its id and drops the secret", "cat_" + id + ".c2VjcmV0", id, true},
		{"an id without prefix but with a secret gives the id", id + ".c2VjcmV0", id, true},
		{"an upper-case id is lowered", "0123456789ABCDEF0123456789ABCDEF", id, true},
		{"surrounding white space is ignored", "  cat_" + id + "\n", id, true},
		{"an empty argument holds no id", "", "", false},
		{"the prefix alone holds no id", "cat_", "", false},
		{"a short id is refused", id[:31], "", false},
		{"a long id is refused", id + "0", "", false},
		{"an id with a non-hex digit is refused", "g" + id[1:], "", false},
		{"another prefix is refused", "tok_" + id, "", false},
		{"a malformed token is refused", "cat_x.secret", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := auth.APITokenID(tc.arg)
			if got != tc.want || ok != tc.ok {
				t.Errorf("APITokenID(%q) = %q, %v; want %q, %v", tc.arg, got, ok, tc.want, tc.ok)
			}
		})
	}
}
