package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// errDuplicateKey: decoders disagree on which of two equal keys wins, so a signer's and a
// verifier's view of one token could differ.
var errDuplicateKey = errors.New("a JSON object of the token names a key twice")

// noDuplicateKeys checks a compact JWS's header and claims for repeated keys at any depth;
// segments that do not decode are left to the JWT parser.
func noDuplicateKeys(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	for _, segment := range parts[:2] {
		raw, err := base64.RawURLEncoding.DecodeString(segment)
		if err != nil {
			return nil
		}
		if err := checkDuplicateKeys(raw); err != nil {
			return err
		}
	}
	return nil
}

func checkDuplicateKeys(doc []byte) error {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]struct{}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // not JSON: the JWT parser refuses it as malformed
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.expectKey = true // this container is the value; a key comes after it
				}
				stack = append(stack, &frame{object: t == '{', expectKey: t == '{', keys: map[string]struct{}{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.expectKey {
				if _, seen := top.keys[t]; seen {
					return errDuplicateKey
				}
				top.keys[t] = struct{}{}
				top.expectKey = false
				continue
			}
		}
		if top != nil && top.object {
			top.expectKey = true
		}
	}
}

// acceptedType reports whether typ is at+jwt (RFC 9068) or JWT, in any case, with or without
// "application/" (RFC 7515, 4.1.9).
func acceptedType(typ any) bool {
	s, ok := typ.(string)
	if !ok {
		return false
	}
	s = strings.TrimPrefix(strings.ToLower(s), "application/")
	return s == "at+jwt" || s == "jwt"
}

// classify names the check of golang-jwt that refused a token.
func classify(err error) Reason {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ReasonMalformed
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return ReasonUnknownKey
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ReasonWrongIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonWrongAudience
	}
	return ReasonMalformed
}
