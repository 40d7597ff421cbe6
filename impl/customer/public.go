package customer

import (
	"bytes"
)

// writeOnlyNames are the contract's writeOnly property names, lower case.
var writeOnlyNames = [][]byte{[]byte("password"), []byte("pincode"), []byte("answer"), []byte("targetcode"), []byte("inputcode")}

// PublicDocument returns a stored document as it may be sent: the bytes as stored when they
// cannot hold a write-only field, and otherwise the document decoded, stripped and encoded again.
//
// The import path never stores a write-only field, so the stored bytes are nearly always sent as
// they are, which spares decoding and encoding every customer on every read. The check is
// conservative: any string spelled like a write-only name, in any case (Go's decoder matches names
// without regard to case), or any backslash (an escape could spell a name, or hide a quote from
// the scan) sends the document down the slow path.
func PublicDocument(document []byte) ([]byte, error) {
	if !mayHoldWriteOnly(document) {
		return document, nil
	}
	decoded, err := Decode(document)
	if err != nil {
		return nil, err
	}
	return encode(decoded)
}

// mayHoldWriteOnly reports whether a JSON document has an escape or a string that equals a
// write-only property name, ignoring case. Without escapes, every quote opens or closes a string,
// so one pass that pairs them sees every string.
func mayHoldWriteOnly(document []byte) bool {
	start := -1 // index after the opening quote of the string being read, or -1 outside strings
	for i, b := range document {
		switch {
		case b == '\\':
			return true
		case b != '"':
		case start < 0:
			start = i + 1
		default:
			if isWriteOnlyName(document[start:i]) {
				return true
			}
			start = -1
		}
	}
	return start >= 0 // an unterminated string: let the decoder say what is wrong
}

func isWriteOnlyName(s []byte) bool {
	switch len(s) {
	case len("answer"), len("pinCode"), len("password"), len("inputCode"), len("targetCode"):
	default:
		return false
	}
	for _, name := range writeOnlyNames {
		if bytes.EqualFold(s, name) {
			return true
		}
	}
	return false
}
