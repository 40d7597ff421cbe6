// Package customerapi embeds the contract: openapi.yaml byte for byte as committed, and
// openapi.json, the same document as JSON, generated from it by `make generate`. The service
// validates against these bytes and publishes them. gen/ embeds no copy of the spec (its configs
// leave out embedded-spec), so these bytes are the only one in the binary.
package customerapi

import _ "embed"

//go:generate go run ./scripts/openapijson openapi.yaml openapi.json

// OpenAPIYAML is openapi.yaml as committed.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// OpenAPIJSON is openapi.json as committed: openapi.yaml as JSON, keys in the YAML's order.
// TestOpenAPIJSON and `make check-generated` fail when it is stale.
//
//go:embed openapi.json
var OpenAPIJSON []byte
