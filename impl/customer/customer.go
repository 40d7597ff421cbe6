// Package customer is the one seam between gen.Customer and the store's record: write-only
// credentials are split off on the way in and cannot ride along on the way out.
package customer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/store"
)

// Credentials are the plaintext write-only values of one imported customer (two-factor codes
// are one-time values, never kept).
type Credentials struct {
	Password      *string
	PIN           *string
	SecretAnswers []*string // one per SecretQuestion entry, nil where there is no answer
}

// Split separates c into its public document and its plaintext credentials; c is not modified.
func Split(c gen.Customer) (document []byte, creds Credentials, err error) {
	if p := c.Person; p != nil {
		creds.Password, creds.PIN = p.Password, p.PinCode
		if p.SecretQuestion != nil {
			for _, q := range *p.SecretQuestion {
				creds.SecretAnswers = append(creds.SecretAnswers, q.Answer)
			}
		}
	}
	// The document is sent as stored: "PEP&SANCTION" stays unescaped.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(StripWriteOnly(c)); err != nil {
		return nil, Credentials{}, fmt.Errorf("encode customer document: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), creds, nil
}

// StripWriteOnly returns a copy of c without the contract's writeOnly fields; c is unchanged.
func StripWriteOnly(c gen.Customer) gen.Customer {
	if c.Person != nil {
		p := *c.Person
		p.Password, p.PinCode = nil, nil
		if p.SecretQuestion != nil {
			qs := make([]gen.SecretQuestion, len(*p.SecretQuestion))
			for i, q := range *p.SecretQuestion {
				q.Answer = nil
				qs[i] = q
			}
			p.SecretQuestion = &qs
		}
		c.Person = &p
	}
	if c.Twofa != nil {
		t := *c.Twofa
		t.TargetCode, t.InputCode = nil, nil
		c.Twofa = &t
	}
	return c
}

// HashCredentialsWith returns the secrets to store for creds: a stored hash that matches is kept
// (a second import changes nothing), and so is a given hash. h's pepper goes into the PIN and the
// answers, the low-entropy secrets; passwords are hashed without it.
func HashCredentialsWith(h secrets.Hasher, creds Credentials, stored store.Secrets) store.Secrets {
	out := store.Secrets{
		PasswordHash: prepare(secrets.Hasher{}, creds.Password, stored.PasswordHash),
		PINHash:      prepare(h, creds.PIN, stored.PINHash),
	}
	for i, answer := range creds.SecretAnswers {
		old := ""
		if i < len(stored.SecretAnswerHashes) {
			old = stored.SecretAnswerHashes[i]
		}
		out.SecretAnswerHashes = append(out.SecretAnswerHashes, prepare(h, answer, old))
	}
	return out
}

// HasAny reports whether creds hold at least one value.
func (c Credentials) HasAny() bool {
	return c.Password != nil || c.PIN != nil || slices.ContainsFunc(c.SecretAnswers, func(a *string) bool { return a != nil })
}

func prepare(h secrets.Hasher, plain *string, stored string) string {
	switch {
	case plain == nil:
		return ""
	case *plain == stored, stored != "" && h.Matches(stored, *plain):
		return stored
	}
	return h.Prepare(*plain)
}
