// Command customer-api serves the customer API and administers its data.
//
//	customer-api serve   [--addr 127.0.0.1:8080] [--data-dir ./var] [--database DSN] [--dev] [--demo]
//	customer-api migrate [--data-dir ./var] [--database DSN]
//	customer-api import  --tenant ID --organization ID [--replace] [--dry-run] [--data-dir ./var] [--database DSN] FILE|-
//	customer-api customers delete --tenant ID CUSTOMER-ID...
//	customer-api organizations delete --tenant ID ORGANIZATION-ID
//	customer-api tokens  issue --tenant ID [--name NAME] [--expires 720h] | list --tenant ID | revoke TOKEN-ID
//	customer-api dev-token --tenant ID [--scope customers:read] [--ttl 1h] [--data-dir ./var]
//	customer-api version
//
// Every flag can also be set as CUSTOMER_API_<FLAG> (upper case, dashes as underscores).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cyrexa/customer-api/impl/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customer-api:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks a command line the program cannot act on; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

const usage = `usage: customer-api <command> [flags]

commands:
  serve    serve the API (with --demo: load demo data into an empty database)
  migrate  bring the database schema to the newest version
  import   load customers from a JSON array in the API's response format (--replace, --dry-run)
  customers delete      erase customers of a tenant, with their secrets and memberships
  organizations delete  erase an organization, and its customers that no other organization holds
  tokens   issue, list or revoke API tokens (the token header): tokens issue|list|revoke
  dev-token  print an access token from the development issuer of 'serve --dev'
  version  print the version and VCS revision of this binary (also --version)

Run 'customer-api <command> -h' for its flags.`

// run is the whole program, with its environment passed in, so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{"no command given"}
	}
	env := environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if err := command(ctx, env, args); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

// command runs the command args[0].
func command(ctx context.Context, env environment, args []string) error {
	switch args[0] {
	case "serve":
		return serve(ctx, env, args[1:])
	case "migrate":
		return migrate(ctx, env, args[1:])
	case "import":
		return importFile(ctx, env, args[1:])
	case "customers":
		return customersCommand(ctx, env, args[1:])
	case "organizations":
		return organizationsCommand(ctx, env, args[1:])
	case "tokens":
		return tokensCommand(ctx, env, args[1:])
	case "dev-token":
		return devTokenCommand(env, args[1:])
	case "version", "--version":
		fmt.Fprintln(env.stdout, "customer-api", buildinfo.Read())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(env.stdout, usage)
		return nil
	}
	fmt.Fprintln(env.stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q: see the commands above", args[0])}
}

// environment is what a command may touch of the outside world.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}
