// Package gen holds the code oapi-codegen generates from ../openapi.yaml: models, the Echo strict
// server and a client. Nothing here is edited by hand; run `make generate`. The service embeds
// openapi.yaml itself, byte for byte (see ../openapi.go), so gen holds no copy of the spec.
package gen

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config types.cfg.yaml ../openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config server.cfg.yaml ../openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config client.cfg.yaml ../openapi.yaml
