// Package secrets hashes and verifies customers' secrets: new hashes are argon2id PHC strings
// with the OWASP parameters; argon2id, argon2i and bcrypt hashes made elsewhere are accepted
// within cost limits that keep one verification cheap enough for a request path.
package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters of new hashes (OWASP Password Storage Cheat Sheet, argon2id, first option): memory
// in KiB, time cost, parallelism, and salt and key lengths in bytes.
const (
	memoryKiB   = 19 * 1024
	iterations  = 2
	parallelism = 1
	saltLen     = 16
	keyLen      = 32
)

// Limits on hashes accepted from elsewhere: beyond them one verification would cost too much.
const (
	maxMemoryKiB   = 256 * 1024
	maxIterations  = 16
	maxParallelism = 16
	minSaltLen     = 8
	maxSaltLen     = 64
	minKeyLen      = 16
	maxKeyLen      = 64
	maxBcryptCost  = 16
)

// errEmpty is returned by Hash for an empty plaintext: an empty secret is stored as "".
var errEmpty = errors.New("empty secret")

// b64 is the PHC encoding: no padding, canonical trailing bits only.
var b64 = base64.RawStdEncoding.Strict()

// isHash reports whether s is a well-formed hash this package can verify, within the limits.
func isHash(s string) bool {
	if _, err := parseArgon2(s); err == nil {
		return true
	}
	return isBcrypt(s)
}

// argon2Hash is a parsed argon2 PHC string.
type argon2Hash struct {
	variant     string // "argon2id" or "argon2i"
	memory      uint32
	iterations  uint32
	parallelism uint8
	keyID       string // the pepper's id, for a peppered hash
	salt, key   []byte
}

// parseArgon2 parses $argon2id$v=19$m=M,t=T,p=P[,keyid=K]$salt$key (or argon2i).
func parseArgon2(s string) (argon2Hash, error) {
	var p argon2Hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, errors.New("not a PHC string with 5 fields")
	}
	p.variant = parts[1]
	if p.variant != "argon2id" && p.variant != "argon2i" {
		return p, fmt.Errorf("unsupported algorithm %q", p.variant)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("unsupported version %q", parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 && len(params) != 4 {
		return p, fmt.Errorf("want parameters m,t,p[,keyid], got %q", parts[3])
	}
	if len(params) == 4 {
		v, ok := strings.CutPrefix(params[3], "keyid=")
		if raw, err := b64.DecodeString(v); !ok || err != nil || len(raw) == 0 || len(raw) > 8 {
			return p, errors.New("keyid: want 1 to 8 bytes of base64")
		}
		p.keyID = v
	}
	m, err := param(params[0], "m", 1, maxMemoryKiB)
	if err != nil {
		return p, err
	}
	t, err := param(params[1], "t", 1, maxIterations)
	if err != nil {
		return p, err
	}
	par, err := param(params[2], "p", 1, maxParallelism)
	if err != nil {
		return p, err
	}
	if m < 8*par {
		return p, fmt.Errorf("memory %d below 8*parallelism", m)
	}
	p.memory, p.iterations, p.parallelism = uint32(m), uint32(t), uint8(par)
	if p.salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, fmt.Errorf("decode salt: %w", err)
	}
	if len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return p, fmt.Errorf("salt of %d bytes", len(p.salt))
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil {
		return p, fmt.Errorf("decode key: %w", err)
	}
	if len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return p, fmt.Errorf("key of %d bytes", len(p.key))
	}
	return p, nil
}

// param parses "name=value" with lo <= value <= hi.
func param(kv, name string, lo, hi uint64) (uint64, error) {
	v, ok := strings.CutPrefix(kv, name+"=")
	if !ok {
		return 0, fmt.Errorf("want parameter %s, got %q", name, kv)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("parameter %s=%d outside %d..%d", name, n, lo, hi)
	}
	return n, nil
}

// isBcrypt reports whether s is $2a$, $2b$ or $2y$, a cost within limits, then 53 characters of
// bcrypt's base64 alphabet.
func isBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return false
	}
	if !strings.ContainsRune("aby", rune(s[2])) || s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return false
	}
	if cost := int(s[4]-'0')*10 + int(s[5]-'0'); cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false
	}
	return strings.Trim(s[7:], "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == ""
}

// minPepperLen is the shortest pepper accepted, in bytes.
const minPepperLen = 32

// Pepper is a key kept outside the database and mixed into low-entropy secrets (PINs, answers)
// as HMAC-SHA256(key, value) before hashing, so a dump alone does not give them away to a few
// thousand guesses. Peppered hashes name it in the PHC keyid parameter.
type Pepper struct {
	key []byte
	id  string
}

// NewPepper returns the pepper of key, which must be at least minPepperLen bytes.
func NewPepper(key []byte) (*Pepper, error) {
	if len(key) < minPepperLen {
		return nil, fmt.Errorf("pepper of %d bytes: want at least %d", len(key), minPepperLen)
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
		return "", errEmpty
	}
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	password, keyID := []byte(plain), ""
	if h.Pepper != nil {
		password, keyID = h.Pepper.mix(plain), ",keyid="+h.Pepper.id
	}
	key := argon2.IDKey(password, salt, iterations, memoryKiB, parallelism, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d%s$%s$%s",
		argon2.Version, memoryKiB, iterations, parallelism, keyID,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Prepare returns the value to store for a secret given on import: value itself when it is
// already a hash (isHash), "" when it is empty (no secret), and its hash otherwise (Hash).
func (h Hasher) Prepare(value string) string {
	if value == "" || isHash(value) {
		return value
	}
	hash, _ := h.Hash(value) // value is not empty: Hash cannot fail
	return hash
}

// Matches reports whether plain is the secret hashed in hash: an unpeppered hash without the
// pepper, a peppered one only with the same pepper.
func (h Hasher) Matches(hash, plain string) bool {
	p, err := parseArgon2(hash)
	if err != nil {
		return isBcrypt(hash) && bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
	}
	password := []byte(plain)
	if p.keyID != "" {
		if h.Pepper == nil || subtle.ConstantTimeCompare([]byte(p.keyID), []byte(h.Pepper.id)) != 1 {
			return false
		}
		password = h.Pepper.mix(plain)
	}
	derive := argon2.IDKey
	if p.variant == "argon2i" {
		derive = argon2.Key
	}
	key := derive(password, p.salt, p.iterations, p.memory, p.parallelism, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}
