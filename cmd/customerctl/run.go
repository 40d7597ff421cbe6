package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/peterbourgon/ff/v3"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/buildinfo"
)

// Exit statuses: scripts tell their mistakes from credentials' and from the service being down.
const (
	exitOK          = 0
	exitUsage       = 2 // the command line cannot be acted on
	exitClientError = 3 // the service refused the request: 4xx other than 401 and 403
	exitAuthError   = 4 // 401 or 403: credentials missing, invalid, expired or not for this tenant
	exitServerError = 5 // the service failed: 5xx
	exitNetwork     = 6 // no answer (connection, DNS, timeout), or an answer that is not HTTP the contract describes
	exitNotModified = 7 // 304: the organization is as the --etag-file says; nothing was printed
)

// defaultURL is where `make run` serves the API; a --url without a path gets basePath.
const (
	defaultURL = "http://127.0.0.1:8080" + basePath
	basePath   = "/customer/1.0.0"
)

const usage = `usage: customerctl <command> [flags]

commands:
  customers  list the customers of an organization
  version    print the version and VCS revision of this binary (also --version)

Run 'customerctl customers -h' for its flags.

exit status: 0 ok, 2 usage, 3 request refused (4xx), 4 authentication or authorization (401, 403),
5 server error (5xx), 6 no answer or not an answer of the API, 7 not modified (--etag-file)`

// run is the whole program, its streams passed in so tests run it in-process; ff reads the
// environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "customers":
		return customers(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		if len(args) > 1 && (args[1] == "-h" || args[1] == "--help") {
			fmt.Fprintln(stdout, "usage: customerctl version\n\nprint the version and VCS revision of this binary (also --version)")
			return exitOK
		}
		build := buildinfo.Read()
		fmt.Fprintln(stdout, "customerctl", build)
		if !build.Stamped() {
			fmt.Fprintln(stderr, "customerctl: a binary built by go run or go test carries no VCS stamp: its revision is unknown; 'make build' stamps it")
		}
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "customerctl: unknown command %q\n%s\n", args[0], usage)
	return exitUsage
}

// options are the flags of `customerctl customers`.
type options struct {
	url, tenant, bearer, token, organization, output, etagFile string
	timeout                                                    time.Duration
}

func customers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseCustomers(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "customerctl: "+format+"\n", a...)
		return code
	}
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	client, err := gen.NewClient(opts.url, gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+opts.bearer)
		req.Header.Set("Accept", "application/json, application/problem+json")
		req.Header.Set("User-Agent", "customerctl")
		return nil
	}))
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	params := &gen.GetOrganizationCustomersParams{Token: opts.token, TenantId: opts.tenant}
	if opts.etagFile != "" {
		known, err := os.ReadFile(opts.etagFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(exitUsage, "%v", err)
		}
		if tag := strings.TrimSpace(string(known)); tag != "" {
			params.IfNoneMatch = &tag
		}
	}
	raw, err := client.GetOrganizationCustomers(ctx, opts.organization, params)
	if err != nil {
		return fail(exitNetwork, "no answer from %s: %v", opts.url, redact(err, opts))
	}
	status, contentType := raw.StatusCode, raw.Header.Get("Content-Type")
	resp, err := gen.ParseGetOrganizationCustomersResponse(raw)
	switch {
	case err != nil:
		return fail(statusExit(status), "unreadable %d answer (%s): %v", status, clean(contentType), err)
	case status == http.StatusNotModified:
		return fail(exitNotModified, "not modified since %s", clean(raw.Header.Get("ETag")))
	case status != http.StatusOK || resp.JSON200 == nil:
		reportProblem(stderr, status, contentType, resp.Body)
		return statusExit(status)
	}
	if err := write(stdout, opts.output, resp.Body, *resp.JSON200); err != nil {
		return fail(exitNetwork, "write output: %v", err)
	}
	if tag := raw.Header.Get("ETag"); opts.etagFile != "" && tag != "" {
		if err := os.WriteFile(opts.etagFile, []byte(tag+"\n"), 0o600); err != nil {
			return fail(exitUsage, "write --etag-file: %v", err)
		}
	}
	return exitOK
}

// parseCustomers reads the flags with ff: the command line, then CUSTOMER_API_<FLAG>. -h prints
// the flags to stdout and returns flag.ErrHelp.
func parseCustomers(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("customers", flag.ContinueOnError)
	fs.SetOutput(io.Discard)                        // errors are printed once, by the caller
	short := fs.String("o", "", "same as --output") // a flag of its own, so that -o wins over CUSTOMER_API_OUTPUT
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long the request may take")
	for _, f := range []struct {
		value               *string
		name, value0, usage string
	}{
		{&o.url, "url", defaultURL, "base URL of the API (env CUSTOMER_API_URL)"},
		{&o.tenant, "tenant", "", "tenant id, sent as tenantId (env CUSTOMER_API_TENANT)"},
		{&o.bearer, "bearer", "", "OAuth 2.0 access token (env CUSTOMER_API_BEARER; prefer the environment: flags show in ps)"},
		{&o.token, "token", "", "the tenant's API token, sent as token (env CUSTOMER_API_TOKEN; prefer the environment)"},
		{&o.organization, "organization", "", "organization id (required)"},
		{&o.output, "output", "json", "output: json (the response, indented) or table (id, name, type, status, email)"},
		{&o.etagFile, "etag-file", "", "file keeping the list's ETag: sent as If-None-Match when present, written after a 200; exit 7 and no output when nothing changed"},
	} {
		fs.StringVar(f.value, f.name, f.value0, f.usage)
	}
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix("CUSTOMER_API"))
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, "usage: customerctl customers --organization ID [flags]\n\nflags (each also CUSTOMER_API_<FLAG>, upper case, dashes as underscores):")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return o, err
	case err != nil:
		return o, fmt.Errorf("%s (run 'customerctl customers -h' for its flags)", strings.TrimPrefix(err.Error(), "error parsing commandline arguments: "))
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.output = cmp.Or(*short, o.output)
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("--url %q is not an http(s) URL", o.url)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = basePath
	}
	o.url = strings.TrimSuffix(u.String(), "/")
	var missing []string
	for _, r := range []struct{ value, name string }{
		{o.organization, "--organization"},
		{o.tenant, "--tenant (or CUSTOMER_API_TENANT)"},
		{o.bearer, "--bearer (or CUSTOMER_API_BEARER)"},
		{o.token, "--token (or CUSTOMER_API_TOKEN)"},
	} {
		if r.value == "" {
			missing = append(missing, r.name)
		}
	}
	switch {
	case len(missing) > 0:
		return o, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	case o.output != "json" && o.output != "table":
		return o, fmt.Errorf("-o %q: want json or table", o.output)
	case o.timeout <= 0:
		return o, errors.New("--timeout must be positive")
	}
	return o, nil
}

// statusExit maps an HTTP status to the exit status; a status that says nothing is exitNetwork's.
func statusExit(status int) int {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return exitAuthError
	case status >= 400 && status < 500:
		return exitClientError
	case status >= 500 && status < 600:
		return exitServerError
	}
	return exitNetwork
}

// write prints the customers: the response itself, indented, or a table.
func write(w io.Writer, format string, body []byte, list gen.CustomerList) error {
	if format == "json" {
		var out bytes.Buffer
		if err := json.Indent(&out, bytes.TrimSpace(body), "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err := w.Write(out.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tSTATUS\tEMAIL")
	for _, e := range list {
		c := e.Customer
		if c == nil {
			continue
		}
		var email *string
		if c.Person != nil {
			email = c.Person.Email
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(c.Id), cell(c.CustomerName), cell((*string)(c.CustomerType)),
			cell((*string)(c.CustomerStatus)), cell(email))
	}
	return tw.Flush()
}

// cell is one table cell: "-" for a missing value; clean, so data cannot move the cursor.
func cell(s *string) string {
	if s == nil {
		return "-"
	}
	return clean(cmp.Or(*s, "-"))
}

// clean replaces control characters (terminal escapes, tabs, newlines) with a space.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
}

// reportProblem prints an error answer for a person: problem details when the body is one,
// otherwise the status and what came back.
func reportProblem(w io.Writer, status int, contentType string, body []byte) {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	var p gen.Problem
	if mediaType != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Title == "" {
		fmt.Fprintf(w, "customerctl: the service answered %d %s (%s, %d bytes)\n", status, http.StatusText(status), clean(cmp.Or(contentType, "-")), len(body))
		return
	}
	detail := ""
	if p.Detail != nil && *p.Detail != "" {
		detail = ": " + clean(*p.Detail)
	}
	fmt.Fprintf(w, "customerctl: %d %s%s\n", status, clean(p.Title), detail)
	if p.InvalidParams != nil {
		for _, ip := range *p.InvalidParams {
			fmt.Fprintf(w, "  %s %s: %s\n", clean(string(ip.In)), clean(cmp.Or(ip.Name, "(whole)")), clean(ip.Reason))
		}
	}
	fmt.Fprintf(w, "  type:       %s\n", clean(p.Type))
	if p.RequestId != nil {
		fmt.Fprintf(w, "  request id: %s (quote it when reporting the problem)\n", clean(*p.RequestId))
	}
}

// redact keeps credentials out of an error message (net/url errors quote the URL, which never
// holds them, but a proxy error might echo a header).
func redact(err error, o options) string {
	msg := err.Error()
	for _, secret := range []string{o.bearer, o.token} {
		if len(secret) >= 4 {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return clean(msg)
}
