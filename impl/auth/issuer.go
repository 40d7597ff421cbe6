package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// The issuer and audience of the development issuer's tokens.
const (
	DevIssuer   = "customer-api-dev"
	DevAudience = "customer-api"
)

// DevKeyFile is the development issuer's key, kept in the data directory.
const DevKeyFile = "dev-issuer-ed25519.pem"

// LoadDevKey returns the development issuer's Ed25519 key from dataDir, created on first use: for
// `serve --dev` and `dev-token` only.
func LoadDevKey(dataDir string) (SigningKey, error) {
	path := filepath.Join(dataDir, DevKeyFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createDevKey(path)
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("read development key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return SigningKey{}, fmt.Errorf("development key %s is not PEM", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return SigningKey{}, fmt.Errorf("development key %s: %w", path, err)
	}
	private, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return SigningKey{}, fmt.Errorf("development key %s is not Ed25519", path)
	}
	return devSigningKey(private), nil
}

func createDevKey(path string) (SigningKey, error) {
	_, private, _ := ed25519.GenerateKey(rand.Reader) // crypto/rand never fails
	der, _ := x509.MarshalPKCS8PrivateKey(private)    // an Ed25519 key always encodes
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return SigningKey{}, fmt.Errorf("create data directory: %w", err)
	}
	// O_EXCL: of two processes starting at once, one creates the key and the other reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadDevKey(filepath.Dir(path))
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("write development key: %w", err)
	}
	err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := errors.Join(err, f.Close()); err != nil {
		return SigningKey{}, fmt.Errorf("write development key: %w", err)
	}
	return devSigningKey(private), nil
}

// devSigningKey names the key by a digest of its public half, so a new key gets a new kid.
func devSigningKey(private ed25519.PrivateKey) SigningKey {
	sum := sha256.Sum256(private.Public().(ed25519.PublicKey))
	return SigningKey{ID: "dev-" + base64.RawURLEncoding.EncodeToString(sum[:12]), Algorithm: "EdDSA", Private: private}
}

// DevToken issues an access token from the development issuer.
func DevToken(key SigningKey, tenantID, subject string, scopes []string, ttl time.Duration, now time.Time) (string, error) {
	claims := jwt.MapClaims{
		"iss":       DevIssuer,
		"aud":       DevAudience,
		"sub":       subject,
		"tenant_id": tenantID,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
	}
	if len(scopes) > 0 {
		claims["scope"] = strings.Join(scopes, " ")
	}
	return Sign(key, claims)
}

// SigningKey is a private key with the id and algorithm it signs under.
type SigningKey struct {
	ID        string
	Algorithm string // RS256, ES256 or EdDSA
	Private   crypto.Signer
}

// PublicJWKS returns the JSON Web Key Set that publishes the public halves of keys.
func PublicJWKS(keys ...SigningKey) (json.RawMessage, error) {
	set, err := memorySet(keys)
	if err != nil {
		return nil, err
	}
	return set.JSONPublic(context.Background())
}

// LocalKeys returns a key function over the public halves of keys (the service as its issuer).
func LocalKeys(keys ...SigningKey) (jwt.Keyfunc, error) {
	set, err := memorySet(keys)
	if err != nil {
		return nil, err
	}
	kf, _ := keyfunc.New(keyfunc.Options{Storage: set}) // fails only without a storage
	return kf.Keyfunc, nil
}

func memorySet(keys []SigningKey) (*jwkset.MemoryJWKSet, error) {
	set := jwkset.NewMemoryStorage()
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.Private.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.ID, ALG: jwkset.ALG(k.Algorithm), USE: jwkset.UseSig},
		})
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
		_ = set.KeyWrite(context.Background(), jwk) // a memory set: cannot fail
	}
	return set, nil
}

// Sign issues a JWT with claims, signed with key.
func Sign(key SigningKey, claims jwt.MapClaims) (string, error) {
	method := jwt.GetSigningMethod(key.Algorithm)
	if method == nil {
		return "", fmt.Errorf("unknown signing algorithm %q", key.Algorithm)
	}
	token := jwt.NewWithClaims(method, claims)
	token.Header["kid"] = key.ID
	signed, err := token.SignedString(key.Private)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}
