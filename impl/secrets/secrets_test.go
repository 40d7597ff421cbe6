package secrets_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/cyrexa/customer-api/impl/secrets"
)

// unpeppered is the hasher of secrets without a pepper.
var unpeppered secrets.Hasher

// MustHash hashes plain or fails the test.
func MustHash(tb testing.TB, plain string) string {
	tb.Helper()
	h, err := unpeppered.Hash(plain)
	if err != nil {
		tb.Fatalf("Hash(%q): %v", plain, err)
	}
	return h
}

// MustBcrypt returns a bcrypt hash of plain with the given cost, rewritten to the given minor
// version ('a', 'b' or 'y'), or fails the test.
func MustBcrypt(tb testing.TB, plain string, minor byte) string {
	tb.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.MinCost)
	if err != nil {
		tb.Fatalf("bcrypt: %v", err)
	}
	h[2] = minor
	return string(h)
}

// phc formats an argon2 PHC string by hand, independently of the package.
func phc(variant string, m, t uint32, p uint8, salt, key []byte) string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, m, t, p, enc.EncodeToString(salt), enc.EncodeToString(key))
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	h := MustHash(t, "correct horse battery staple")
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(h, prefix) {
		t.Fatalf("Hash = %q, want prefix %q", h, prefix)
	}
	parts := strings.Split(strings.TrimPrefix(h, prefix), "$")
	if len(parts) != 2 {
		t.Fatalf("Hash = %q, want salt and key after the parameters", h)
	}
	for i, want := range []int{secrets.SaltLen, secrets.KeyLen} {
		b, err := base64.RawStdEncoding.DecodeString(parts[i])
		if err != nil || len(b) != want {
			t.Errorf("field %d = %q: %d bytes, err %v; want %d bytes", i, parts[i], len(b), err, want)
		}
	}
	if !secrets.IsHash(h) {
		t.Errorf("IsHash(%q) = false", h)
	}
}

func TestHashIsSaltedAndHidesThePlaintext(t *testing.T) {
	t.Parallel()
	// Plaintexts with characters outside the base64 alphabet cannot show up in a hash by chance.
	for _, plain := range []string{"correct horse battery staple", "1234 5678", "what is your pet's name?"} {
		a, b := MustHash(t, plain), MustHash(t, plain)
		if a == b {
			t.Errorf("two hashes of %q are equal: %q", plain, a)
		}
		for _, h := range []string{a, b} {
			if strings.Contains(h, plain) {
				t.Errorf("hash %q contains the plaintext %q", h, plain)
			}
		}
	}
}

func TestHashRejectsEmpty(t *testing.T) {
	t.Parallel()
	if h, err := unpeppered.Hash(""); !errors.Is(err, secrets.ErrEmpty) {
		t.Errorf(`Hash("") = %q, %v; want ErrEmpty`, h, err)
	}
}

func TestHashIsArgon2idOfItsSalt(t *testing.T) {
	t.Parallel()
	h := MustHash(t, "1234")
	salt, err := base64.RawStdEncoding.DecodeString(strings.Split(h, "$")[4]) // $argon2id$v=19$m=...,t=...,p=...$salt$key
	if err != nil || len(salt) != secrets.SaltLen {
		t.Fatalf("hash %q: salt %x, %v", h, salt, err)
	}

	t.Run("it is the hash argon2id gives for its salt", func(t *testing.T) {
		key := argon2.IDKey([]byte("1234"), salt, secrets.Iterations, secrets.MemoryKiB, secrets.Parallelism, secrets.KeyLen)
		if want := phc("argon2id", secrets.MemoryKiB, secrets.Iterations, secrets.Parallelism, salt, key); h != want {
			t.Errorf("Hash = %q, want %q", h, want)
		}
	})
	t.Run("it verifies and is kept as given on import", func(t *testing.T) {
		if !unpeppered.Matches(h, "1234") || unpeppered.Matches(h, "1235") {
			t.Error("the hash does not verify exactly its plaintext")
		}
		if got := (secrets.Hasher{}).Prepare(h); got != h {
			t.Errorf("Prepare = %q; want the hash as given", got)
		}
	})
}

func TestMatches(t *testing.T) {
	t.Parallel()
	const plain = "correct horse battery staple"
	salt := []byte("0123456789abcdef")
	tests := []struct {
		name  string
		hash  string
		plain string
		want  bool
	}{
		{"argon2id round trip", MustHash(t, plain), plain, true},
		{"argon2id wrong password", MustHash(t, plain), "correct horse battery stapler", false},
		{"argon2id empty password", MustHash(t, plain), "", false},
		{"argon2id made elsewhere", phc("argon2id", 64, 3, 2, salt, argon2.IDKey([]byte(plain), salt, 3, 64, 2, 16)), plain, true},
		{"argon2id made elsewhere, wrong password", phc("argon2id", 64, 3, 2, salt, argon2.IDKey([]byte(plain), salt, 3, 64, 2, 16)), "nope", false},
		{"argon2i made elsewhere", phc("argon2i", 64, 3, 1, salt, argon2.Key([]byte(plain), salt, 3, 64, 1, 32)), plain, true},
		{"argon2i is not argon2id", phc("argon2i", 64, 3, 1, salt, argon2.IDKey([]byte(plain), salt, 3, 64, 1, 32)), plain, false},
		{"bcrypt $2a$", MustBcrypt(t, plain, 'a'), plain, true},
		{"bcrypt $2b$", MustBcrypt(t, plain, 'b'), plain, true},
		{"bcrypt $2y$", MustBcrypt(t, plain, 'y'), plain, true},
		{"bcrypt wrong password", MustBcrypt(t, plain, 'b'), "nope", false},
		{"plaintext is not a hash", plain, plain, false},
		{"empty hash", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := unpeppered.Matches(tt.hash, tt.plain); got != tt.want {
				t.Errorf("Matches(%q, %q) = %v, want %v", tt.hash, tt.plain, got, tt.want)
			}
		})
	}
}

// malformed are strings that look more or less like hashes but are not acceptable ones.
var malformed = []string{
	"",
	"$",
	"$$$$$",
	"$argon2id",
	"$argon2id$",
	"$argon2id$v=19",
	"$argon2id$v=19$m=19456,t=2,p=1",
	"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg",
	"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$",
	"$argon2id$v=19$m=19456,t=2,p=1$$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=1$!!!$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=16$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2d$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$t=2,m=19456,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=1,k=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=0,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=0$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=256$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=-1,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=+19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=99999999999,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=4194304,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", // 4 GiB
	"$argon2id$v=19$m=19456,t=1000,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=8,t=2,p=4$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=1$MDEy$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEy",
	"x$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
	"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY$",
	"$2a$",
	"$2x$04$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q",
	"$2a$4$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7qq",
	"$2a$03$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q",
	"$2a$31$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q", // beyond the cost limit
	"$2a$04$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7",
	"$2a$04$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7qq",
	"$2a$04$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7!",
	"$2a$0a$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q",
	"$1$abc$def",
	"correct horse battery staple",
}

func TestIsHashAcceptsWellFormedHashes(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"$2a$04$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q",
		"$2b$12$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q",
		"$2y$16$abcdefghijklmnopqrstuu5Dl5vE4JbtbzH3ZyzbzJ6JqXAK/vy7q",
		"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
		"$argon2i$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZg",
	} {
		if !secrets.IsHash(h) {
			t.Errorf("IsHash(%q) = false", h)
		}
	}
}

func TestMalformedHashes(t *testing.T) {
	t.Parallel()
	for _, h := range malformed {
		t.Run(h, func(t *testing.T) {
			t.Parallel()
			if secrets.IsHash(h) {
				t.Errorf("IsHash(%q) = true", h)
			}
			for _, plain := range []string{"", "password", h} {
				if unpeppered.Matches(h, plain) {
					t.Errorf("Matches(%q, %q) = true", h, plain)
				}
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	const plain = "correct horse battery staple"
	argon := MustHash(t, plain)
	tests := []struct {
		name, value string
		keep        bool // the value must come back as given; otherwise it must be hashed
	}{
		{name: "empty means no secret", value: ""},
		{name: "argon2id kept as given", value: argon, keep: true},
		{name: "bcrypt $2a$ kept as given", value: MustBcrypt(t, plain, 'a'), keep: true},
		{name: "bcrypt $2b$ kept as given", value: MustBcrypt(t, plain, 'b'), keep: true},
		{name: "bcrypt $2y$ kept as given", value: MustBcrypt(t, plain, 'y'), keep: true},
		{name: "plaintext is hashed", value: plain},
		{name: "malformed hash is hashed as a plaintext", value: "$argon2id$v=19$m=19456,t=2,p=1$!!!$!!!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := (secrets.Hasher{}).Prepare(tt.value)
			switch {
			case tt.value == "":
				if got != "" {
					t.Errorf(`Prepare("") = %q, want ""`, got)
				}
			case tt.keep:
				if got != tt.value {
					t.Errorf("Prepare(%q) = %q, want it unchanged", tt.value, got)
				}
			default:
				if !strings.HasPrefix(got, "$argon2id$") || !unpeppered.Matches(got, tt.value) {
					t.Errorf("Prepare(%q) = %q, want an argon2id hash of it", tt.value, got)
				}
			}
		})
	}
	// A kept hash still verifies the original plaintext.
	if got := (secrets.Hasher{}).Prepare(argon); !unpeppered.Matches(got, plain) {
		t.Errorf("Prepare(hash) no longer matches the plaintext")
	}
}

func FuzzMatches(f *testing.F) {
	for _, h := range malformed {
		f.Add(h, "password")
	}
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZg", "x")
	f.Fuzz(func(t *testing.T, hash, plain string) {
		// Must not panic; a string IsHash rejects never matches.
		if !secrets.IsHash(hash) && unpeppered.Matches(hash, plain) {
			t.Errorf("Matches(%q, %q) = true for a string IsHash rejects", hash, plain)
		}
	})
}
