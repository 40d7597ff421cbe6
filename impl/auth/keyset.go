package auth

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

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
	kf, err := keyfunc.New(keyfunc.Options{Storage: set})
	if err != nil {
		return nil, fmt.Errorf("local key set: %w", err)
	}
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
		if err := set.KeyWrite(context.Background(), jwk); err != nil {
			return nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
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
