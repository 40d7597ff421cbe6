// Package customerapi embeds the contract, openapi.yaml, byte for byte as committed. The service
// validates against these bytes and will publish them; gen.GetSpec holds oapi-codegen's
// re-serialised copy, which normalises names (operationId GetOrganizationCustomers).
package customerapi

import _ "embed"

// OpenAPIYAML is openapi.yaml as committed.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
