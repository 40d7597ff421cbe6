package server

import (
	"net/http"
	"time"
)

// MaxHeaderBytes bounds the request line and headers. Larger requests get net/http's own 431.
const MaxHeaderBytes = 64 << 10

// ApplyLimits sets the timeouts and size limits every listener of the service uses, so slow or
// oversized clients cannot hold connections or memory.
func ApplyLimits(s *http.Server) {
	s.ReadHeaderTimeout = 10 * time.Second
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 60 * time.Second
	s.IdleTimeout = 120 * time.Second
	s.MaxHeaderBytes = MaxHeaderBytes
}
