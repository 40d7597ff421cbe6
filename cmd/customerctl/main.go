// Command customerctl is a client of the customer API, built on the client generated from
// openapi.yaml: what a partner's integration does, from a shell.
//
//	customerctl customers --organization ID [--url URL] [--tenant ID] [--bearer TOKEN] [--token TOKEN] [-o json|table]
//
// --url, --tenant, --bearer and --token default to CUSTOMER_API_URL, CUSTOMER_API_TENANT,
// CUSTOMER_API_BEARER and CUSTOMER_API_TOKEN; a flag on the command line wins. The exit status
// tells what went wrong (see the exit* constants).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
