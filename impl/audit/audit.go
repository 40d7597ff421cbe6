// Package audit carries what one request did, for its audit log line: who (tenant, subject),
// what (organization) and how much (customers returned). Layers fill it in as they learn it;
// the access log writes it once the answer is sent. It never holds credentials or personal data.
package audit

import "context"

// Record is the audit facts of one request.
type Record struct {
	Tenant       string
	Subject      string
	Organization string
	Customers    int
	// AuthFailure names the check that refused a credential (an auth.Reason), for the log line
	// and the metric; empty when none was refused.
	AuthFailure string
}

type recordKey struct{}

// NewContext returns ctx carrying a fresh record, and the record.
func NewContext(ctx context.Context) (context.Context, *Record) {
	r := &Record{}
	return context.WithValue(ctx, recordKey{}, r), r
}

// FromContext returns the request's record; outside an audited request it returns a record
// that nobody reads, so callers need not check.
func FromContext(ctx context.Context) *Record {
	if r, ok := ctx.Value(recordKey{}).(*Record); ok {
		return r
	}
	return &Record{}
}
