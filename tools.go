//go:build tools

// Package tools pins the versions of the code generators and of oasdiff, the breaking-change
// gate (`make check-breaking`), in go.mod.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "github.com/oasdiff/oasdiff"
)
