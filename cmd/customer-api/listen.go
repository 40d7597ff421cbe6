package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"syscall"
)

// listenError says why serve could not listen on addr, the value of flagName: for an address in
// use, which flag moves the listener and how (its Makefile variable for `make run` too).
func listenError(prefix, flagName, addr string, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%slisten on %s (%s): %w", prefix, addr, flagName, err)
	}
	makeVar := strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(flagName, "--"), "-", "_"))
	off := ""
	if flagName == "--metrics-addr" {
		off = fmt.Sprintf(", or %s off for no metrics listener", flagName)
	}
	return fmt.Errorf("%slisten on %s: the address is already in use (another customer-api, or another program, listens there): "+
		"pass %s with another address, e.g. %s 127.0.0.1:0 for a free port%s (make run %s=...)",
		prefix, addr, flagName, flagName, off, makeVar)
}

// registerProfiles adds Go's profiles (net/http/pprof) under /debug/pprof/ to the metrics
// listener's mux: only with --pprof, never on the API's listener.
func registerProfiles(mux *http.ServeMux, log *slog.Logger) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	log.Warn("profiles (net/http/pprof) are served on the metrics listener under /debug/pprof/: they show the program's internals; keep the listener private")
}
