//go:build tools

// Package tools pins the version of the code generator, oapi-codegen, in go.mod. oasdiff, the
// breaking-change gate (`make check-breaking`), is pinned in its own module, tools/oasdiff, so
// that this go.mod lists only what the service runs and what builds it.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
