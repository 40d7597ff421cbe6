// Command customerctl is a client of the customer API, built on the client generated from
// openapi.yaml: what a partner's integration does, from a shell.
//
//	customerctl customers --organization ID [--url URL] [--tenant ID] [--bearer TOKEN] [--token TOKEN] [-o json|table]
//
// Every flag can be set as CUSTOMER_API_<FLAG> (CUSTOMER_API_URL, _TENANT, _BEARER, _TOKEN); a
// flag on the command line wins. The exit status tells what went wrong (the exit* constants).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
