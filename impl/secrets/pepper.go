package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MinPepperLen is the shortest pepper accepted, in bytes.
const MinPepperLen = 32

// Pepper is a server-side key mixed into low-entropy secrets (PINs, answers to secret
// questions) before they are hashed: the password given to argon2id is HMAC-SHA256(key, value).
// A four-digit PIN hashed alone falls to 10 000 guesses against a database dump; with a pepper
// kept outside the database, the dump alone is not enough.
//
// Peppered hashes carry the pepper's id as the PHC keyid parameter
// ($argon2id$v=19$m=...,t=...,p=...,keyid=<id>$salt$key), so they are told apart from hashes
// made without a pepper, which keep verifying, and a hash made under another pepper fails
// rather than being compared with the wrong key.
type Pepper struct {
	key []byte
	id  string
}

// NewPepper returns the pepper of key, which must be at least MinPepperLen bytes.
func NewPepper(key []byte) (*Pepper, error) {
	if len(key) < MinPepperLen {
		return nil, fmt.Errorf("pepper of %d bytes: want at least %d", len(key), MinPepperLen)
	}
	// The id names the key without revealing it: a short digest under a label of its own.
	sum := sha256.Sum256(append([]byte("customer-api pepper id\x00"), key...))
	return &Pepper{key: append([]byte(nil), key...), id: b64.EncodeToString(sum[:6])}, nil
}

func (p *Pepper) mix(plain string) []byte {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(plain))
	return mac.Sum(nil)
}

// Hasher hashes and verifies secrets, with a pepper or without (the zero Hasher).
type Hasher struct {
	Pepper *Pepper
}

// Hash returns the argon2id PHC string of plain, with a fresh random salt, peppered (and naming
// its pepper) when the hasher has one.
func (h Hasher) Hash(plain string) (string, error) {
	if plain == "" {
		return "", ErrEmpty
	}
	salt, err := newSalt()
	if err != nil {
		return "", err
	}
	password, keyID := []byte(plain), ""
	if h.Pepper != nil {
		password, keyID = h.Pepper.mix(plain), ",keyid="+h.Pepper.id
	}
	key := argon2.IDKey(password, salt, Iterations, MemoryKiB, Parallelism, KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d%s$%s$%s",
		argon2.Version, MemoryKiB, Iterations, Parallelism, keyID,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Prepare returns the value to store for a secret given on import: value itself when it is
// already a hash (IsHash), "" when it is empty (no secret), and its hash otherwise (Hash).
func (h Hasher) Prepare(value string) (string, error) {
	switch {
	case value == "":
		return "", nil
	case IsHash(value):
		return value, nil
	}
	out, err := h.Hash(value)
	if err != nil {
		return "", fmt.Errorf("prepare secret: %w", err)
	}
	return out, nil
}

// Matches reports whether plain is the secret hashed in hash. A hash made without a pepper is
// verified without one; a peppered hash only with the same pepper.
func (h Hasher) Matches(hash, plain string) bool {
	p, err := parseArgon2(hash)
	if err != nil || p.keyID == "" {
		return Matches(hash, plain)
	}
	if h.Pepper == nil || subtle.ConstantTimeCompare([]byte(p.keyID), []byte(h.Pepper.id)) != 1 {
		return false
	}
	key := p.derive(h.Pepper.mix(plain))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// parseKeyID parses the optional fourth parameter "keyid=<base64>" of an argon2 PHC string.
func parseKeyID(kv string) (string, error) {
	v, ok := strings.CutPrefix(kv, "keyid=")
	if !ok {
		return "", fmt.Errorf("want parameter keyid, got %q", kv)
	}
	raw, err := b64.DecodeString(v)
	if err != nil || len(raw) == 0 || len(raw) > 8 {
		return "", errors.New("keyid: want 1 to 8 bytes of base64")
	}
	return v, nil
}
