package listing

import (
	"cmp"
	"iter"
	"mime"
	"strconv"
	"strings"
)

// ETag is the strong entity tag of an organization version's list, in the given encoding: each
// representation has its own (RFC 9110, 8.8.3).
func ETag(version string, gzip bool) string {
	if gzip {
		return `"` + version + `-gzip"`
	}
	return `"` + version + `"`
}

// NoneMatch reports whether an If-None-Match value names the version in either representation,
// or is "*": the client's copy is current. The comparison is weak (RFC 9110): W/ is ignored.
func NoneMatch(ifNoneMatch, version string) bool {
	for tag := range strings.SplitSeq(ifNoneMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		tag = strings.TrimPrefix(tag, "W/")
		if tag == ETag(version, false) || tag == ETag(version, true) {
			return true
		}
	}
	return false
}

// AcceptsGzip reports whether Accept-Encoding values accept gzip: named (or x-gzip, or "*")
// with a quality above 0, and not refused by name.
func AcceptsGzip(acceptEncoding []string) bool {
	accepted, refusedByName := false, false
	for coding, ok := range Accepted(acceptEncoding) {
		if coding == "gzip" || coding == "x-gzip" || coding == "*" {
			accepted = accepted || ok
			refusedByName = refusedByName || !ok && coding != "*"
		}
	}
	return accepted && !refusedByName
}

// Accepted yields each element of a negotiation header's values (Accept, Accept-Encoding), in
// lower case, with whether its quality is above 0 (a malformed q refuses); a malformed element
// is left out.
func Accepted(values []string) iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		for _, header := range values {
			for part := range strings.SplitSeq(header, ",") {
				name, params, err := mime.ParseMediaType(strings.TrimSpace(part))
				if err != nil {
					continue
				}
				q, qErr := strconv.ParseFloat(cmp.Or(params["q"], "1"), 64)
				if !yield(name, qErr == nil && q > 0) {
					return
				}
			}
		}
	}
}
