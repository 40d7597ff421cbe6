// Package customer is the one seam between the contract's Customer (package gen) and the store's
// record (package store). It is where write-only credentials are split off a customer on the way
// in and can never ride along on the way out.
package customer

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/store"
)

// Credentials are the plaintext write-only values of one imported customer. Two-factor codes are
// one-time values and are not kept at all, so they have no place here.
type Credentials struct {
	Password      *string
	PIN           *string
	SecretAnswers []*string // one per SecretQuestion entry, nil where there is no answer
}

// Split separates a customer into its public document (every writeOnly field removed) and its
// plaintext credentials. c is not modified.
func Split(c gen.Customer) (document []byte, creds Credentials, err error) {
	public := StripWriteOnly(c)
	if p := c.Person; p != nil {
		creds.Password, creds.PIN = p.Password, p.PinCode
		if p.SecretQuestion != nil {
			for _, q := range *p.SecretQuestion {
				creds.SecretAnswers = append(creds.SecretAnswers, q.Answer)
			}
		}
	}
	document, err = encode(public)
	if err != nil {
		return nil, Credentials{}, err
	}
	return document, creds, nil
}

// encode writes a customer as its stored document, which the read path sends as it is. HTML
// characters stay unescaped, so that a value such as "PEP&SANCTION" is stored as sent.
func encode(c gen.Customer) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode customer document: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// StripWriteOnly returns a copy of c without any writeOnly field of the contract. The nested
// values it changes are copied, so c itself is left as it was.
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

// HashCredentialsWith returns the secrets to store for creds, hashed with h. Where the stored
// hash already matches the plaintext it is kept, so importing the same file twice changes
// nothing; values that already are password hashes are kept as given. h's pepper (if any) is
// mixed into the PIN and the secret answers: the low-entropy secrets a dump of the database would
// otherwise give away to a few thousand guesses. Passwords are hashed without it.
func HashCredentialsWith(h secrets.Hasher, creds Credentials, stored store.Secrets) (store.Secrets, error) {
	var out store.Secrets
	var err error
	if out.PasswordHash, err = prepare(secrets.Hasher{}, creds.Password, stored.PasswordHash); err != nil {
		return store.Secrets{}, fmt.Errorf("hash password: %w", err)
	}
	if out.PINHash, err = prepare(h, creds.PIN, stored.PINHash); err != nil {
		return store.Secrets{}, fmt.Errorf("hash PIN: %w", err)
	}
	if len(creds.SecretAnswers) > 0 {
		out.SecretAnswerHashes = make([]string, len(creds.SecretAnswers))
		for i, answer := range creds.SecretAnswers {
			old := ""
			if i < len(stored.SecretAnswerHashes) {
				old = stored.SecretAnswerHashes[i]
			}
			if out.SecretAnswerHashes[i], err = prepare(h, answer, old); err != nil {
				return store.Secrets{}, fmt.Errorf("hash secret answer %d: %w", i, err)
			}
		}
	}
	return out, nil
}

// HasAny reports whether creds hold at least one value.
func (c Credentials) HasAny() bool {
	if c.Password != nil || c.PIN != nil {
		return true
	}
	for _, a := range c.SecretAnswers {
		if a != nil {
			return true
		}
	}
	return false
}

func prepare(h secrets.Hasher, plain *string, stored string) (string, error) {
	switch {
	case plain == nil:
		return "", nil
	case *plain == stored, stored != "" && h.Matches(stored, *plain):
		return stored, nil
	}
	return h.Prepare(*plain)
}
