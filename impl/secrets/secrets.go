// Package secrets hashes and verifies customer credentials (passwords, PINs, answers to secret
// questions).
//
// New hashes are argon2id with the OWASP parameters (m=19 MiB, t=2, p=1, 16-byte salt, 32-byte
// key) in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<base64 salt>$<base64 key>
//
// Hashes made elsewhere are accepted as given when they are argon2id or argon2i PHC strings or
// bcrypt hashes ($2a$, $2b$, $2y$). Whatever its origin, a hash is only accepted when its cost
// parameters stay within limits that keep one verification cheap enough for a request path
// (argon2: m <= 256 MiB, t <= 16, p <= 16; bcrypt: cost <= 16); a hash beyond them is treated as
// malformed.
package secrets

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters of new hashes (OWASP Password Storage Cheat Sheet, argon2id, first option).
const (
	// MemoryKiB is the argon2id memory cost of new hashes in KiB (19 MiB).
	MemoryKiB = 19 * 1024
	// Iterations is the argon2id time cost of new hashes.
	Iterations = 2
	// Parallelism is the argon2id degree of parallelism of new hashes.
	Parallelism = 1
	// SaltLen is the length in bytes of the random salt of new hashes.
	SaltLen = 16
	// KeyLen is the length in bytes of the derived key of new hashes.
	KeyLen = 32
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

// ErrEmpty is returned by Hash for an empty plaintext: an empty secret means "no secret" and is
// stored as "", never hashed.
var ErrEmpty = errors.New("empty secret")

// b64 is the PHC encoding: standard alphabet, no padding, canonical trailing bits only.
var b64 = base64.RawStdEncoding.Strict()

// Hash returns the argon2id PHC string of plain, with a fresh random salt and no pepper.
func Hash(plain string) (string, error) { return Hasher{}.Hash(plain) }

func newSalt() ([]byte, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("hash secret: read salt: %w", err)
	}
	return salt, nil
}

// IsHash reports whether s is a hash this package can verify: an argon2id or argon2i PHC string
// or a bcrypt hash, well formed and within the cost limits.
func IsHash(s string) bool {
	if _, err := parseArgon2(s); err == nil {
		return true
	}
	return isBcrypt(s)
}

// Matches reports whether plain is the secret hashed in hash, comparing in constant time. It
// supports argon2id and argon2i PHC strings and bcrypt hashes, and returns false for anything
// malformed or beyond the cost limits, and for a peppered hash (see Hasher).
func Matches(hash, plain string) bool {
	if p, err := parseArgon2(hash); err == nil {
		if p.keyID != "" {
			return false
		}
		key := p.derive([]byte(plain))
		return subtle.ConstantTimeCompare(key, p.key) == 1
	}
	if isBcrypt(hash) {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
	}
	return false
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

func (p argon2Hash) derive(plain []byte) []byte {
	if p.variant == "argon2i" {
		return argon2.Key(plain, p.salt, p.iterations, p.memory, p.parallelism, uint32(len(p.key)))
	}
	return argon2.IDKey(plain, p.salt, p.iterations, p.memory, p.parallelism, uint32(len(p.key)))
}

// parseArgon2 parses $argon2id$v=19$m=M,t=T,p=P[,keyid=K]$salt$key (or argon2i). Only version 19
// exists in golang.org/x/crypto/argon2; keyid names a Pepper, and the data parameter is not
// supported.
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
		var err error
		if p.keyID, err = parseKeyID(params[3]); err != nil {
			return p, err
		}
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

// isBcrypt reports whether s has the shape of a bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost
// within limits, then 53 characters of bcrypt's base64 alphabet (22 of salt, 31 of hash).
func isBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return false
	}
	switch s[2] {
	case 'a', 'b', 'y':
	default:
		return false
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return false
	}
	if cost := int(s[4]-'0')*10 + int(s[5]-'0'); cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false
	}
	for i := 7; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
