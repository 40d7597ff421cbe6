package secrets_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/secrets"
)

// keyID finds the keyid parameter of a PHC string.
var keyID = regexp.MustCompile(`,keyid=([A-Za-z0-9+/]+)\$`)

func mustPepper(t *testing.T, b byte) *secrets.Pepper {
	t.Helper()
	p, err := secrets.NewPepper(bytes.Repeat([]byte{b}, secrets.MinPepperLen))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPepper(t *testing.T) {
	pepper, other := mustPepper(t, 'a'), mustPepper(t, 'b')
	peppered := secrets.Hasher{Pepper: pepper}
	h, err := peppered.Hash("1234")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a peppered hash names its pepper in the PHC string", func(t *testing.T) {
		again, _ := peppered.Hash("5678")
		byOther, _ := (secrets.Hasher{Pepper: other}).Hash("1234")
		id := keyID.FindStringSubmatch(h)
		if id == nil || !secrets.IsHash(h) || !strings.Contains(again, id[0]) || strings.Contains(byOther, id[0]) {
			t.Errorf("hash %q: want a keyid that the same pepper repeats (%q) and another does not (%q)", h, again, byOther)
		}
	})
	t.Run("it verifies with the same pepper only", func(t *testing.T) {
		if !peppered.Matches(h, "1234") || peppered.Matches(h, "1235") {
			t.Error("the same pepper does not verify exactly the right PIN")
		}
		if unpeppered.Matches(h, "1234") || (secrets.Hasher{}).Matches(h, "1234") {
			t.Error("verified without the pepper")
		}
		if (secrets.Hasher{Pepper: other}).Matches(h, "1234") {
			t.Error("verified with another pepper")
		}
	})
	t.Run("hashes made without a pepper keep verifying", func(t *testing.T) {
		plain, err := unpeppered.Hash("1234")
		if err != nil {
			t.Fatal(err)
		}
		if !peppered.Matches(plain, "1234") || peppered.Matches(plain, "0000") {
			t.Error("an unpeppered hash does not verify under a hasher with a pepper")
		}
	})
	t.Run("a peppered hash given on import is kept as given", func(t *testing.T) {
		if got := (secrets.Hasher{}).Prepare(h); got != h {
			t.Errorf("Prepare = %q", got)
		}
	})
	t.Run("a short pepper is refused", func(t *testing.T) {
		if _, err := secrets.NewPepper([]byte("short")); err == nil {
			t.Error("a 5-byte pepper was accepted")
		}
	})
	t.Run("a malformed keyid is not a hash", func(t *testing.T) {
		bad := keyID.ReplaceAllString(h, ",keyid=!!$$")
		if secrets.IsHash(bad) || peppered.Matches(bad, "1234") {
			t.Error("a hash with a malformed keyid was accepted")
		}
	})
}
