package auth

import (
	"errors"
	"fmt"
)

// Reason names the check that refused a credential. It is for operators (the access log line
// and the customer_api_auth_failures_total metric), never for clients, who get one 401 for
// every failed credential. A reason never holds any part of a credential.
type Reason string

// The closed set of reasons.
const (
	ReasonExpired             Reason = "expired"                // access token past exp (and the leeway)
	ReasonNotYetValid         Reason = "not_yet_valid"          // nbf or iat after now (and the leeway)
	ReasonBadSignature        Reason = "bad_signature"          // signature, or an algorithm not accepted
	ReasonUnknownKey          Reason = "unknown_key"            // kid not in the issuer's key set, even after a refetch
	ReasonWrongIssuer         Reason = "wrong_issuer"           // iss
	ReasonWrongAudience       Reason = "wrong_audience"         // aud
	ReasonMalformed           Reason = "malformed"              // missing, unparsable or outside the token profile (typ, crit, duplicate keys, lifetime, no tenant)
	ReasonAPITokenUnknown     Reason = "api_token_unknown"      // no such API token, a wrong secret, or not an API token at all
	ReasonAPITokenRevoked     Reason = "api_token_revoked"      // the API token was revoked
	ReasonAPITokenExpired     Reason = "api_token_expired"      // the API token expired
	ReasonAPITokenOtherTenant Reason = "api_token_other_tenant" // a valid API token of another tenant than tenantId
	ReasonTenantMismatch      Reason = "tenant_mismatch"        // the access token's tenant is not tenantId (403)
	ReasonMissingScope        Reason = "missing_scope"          // the access token lacks the required scope (403)
)

// Reasons lists every reason, so that metrics can show each from the start.
var Reasons = []Reason{
	ReasonExpired, ReasonNotYetValid, ReasonBadSignature, ReasonUnknownKey, ReasonWrongIssuer,
	ReasonWrongAudience, ReasonMalformed, ReasonAPITokenUnknown, ReasonAPITokenRevoked,
	ReasonAPITokenExpired, ReasonAPITokenOtherTenant, ReasonTenantMismatch, ReasonMissingScope,
}

// Failure is a refused credential and the reason it was refused.
type Failure struct {
	Reason Reason
	Err    error
}

func (f *Failure) Error() string { return fmt.Sprintf("%s (%s)", f.Err, f.Reason) }

func (f *Failure) Unwrap() error { return f.Err }

// fail wraps err, a refusal, with its reason.
func fail(reason Reason, err error) error { return &Failure{Reason: reason, Err: err} }

// ReasonOf returns the reason of the refused credential in err's chain.
func ReasonOf(err error) (Reason, bool) {
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason, true
	}
	return "", false
}
