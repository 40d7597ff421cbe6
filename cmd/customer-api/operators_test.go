package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is a serve started in-process by startServe.
type served struct {
	lines  []string // stdout up to the line startServe waited for
	base   string   // http://host:port of the API listener
	err    error    // what serve returned, once it ended
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop ends serve as SIGTERM would and returns what it returned.
func (s *served) stop() error {
	s.once.Do(func() {
		s.cancel()
		s.err = <-s.done
	})
	return s.err
}

// startServe runs `serve args...` in-process until it prints a line matching until, and stops
// it (gracefully, checked) when the test ends. With until nil it waits for the program's end:
// for a serve that fails at start.
func startServe(t *testing.T, until *regexp.Regexp, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	s := &served{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), nil, outW, io.Discard)
		outW.Close()
		s.done <- err
	}()
	listening := regexp.MustCompile(`^customer-api listening on (http://[^/]+)/`)
	scanner := bufio.NewScanner(outR)
	deadline := time.AfterFunc(time.Minute, func() { outR.CloseWithError(io.ErrUnexpectedEOF) })
	defer deadline.Stop()
	for scanner.Scan() {
		line := scanner.Text()
		s.lines = append(s.lines, line)
		if m := listening.FindStringSubmatch(line); m != nil {
			s.base = m[1]
		}
		if until != nil && until.MatchString(line) {
			go func() { _, _ = io.Copy(io.Discard, outR) }()
			t.Cleanup(func() {
				if err := s.stop(); err != nil {
					t.Errorf("serve: %v", err)
				}
			})
			return s
		}
	}
	if s.stop(); until != nil {
		t.Fatalf("serve ended (%v) before printing a line that matches %s:\n%s", s.err, until, strings.Join(s.lines, "\n"))
	}
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var (
	listeningLine = regexp.MustCompile(`^customer-api listening on `)
	contractLine  = regexp.MustCompile(`^  contract: `)
	curlLine      = regexp.MustCompile(`^  curl `)
)

func TestVersionHelpAndGroupMistakes(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := runCmd(t, "", "version", "-h")
	if err != nil || !strings.HasPrefix(stdout, "usage: customer-api version\n") || stderr != "" {
		t.Errorf("version -h: %v, stdout %q, stderr %q", err, stdout, stderr)
	}
	if _, _, err := runCmd(t, "", "version", "extra"); exitCode(err) != 2 {
		t.Errorf("version extra: %v; want a usage error", err)
	}
	_, stderr, err = runCmd(t, "", "customers")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "customers: name a command: delete") || !strings.Contains(stderr, "commands:") {
		t.Errorf("customers alone: %v, stderr %q", err, stderr)
	}
	_, _, err = runCmd(t, "", "organizations", "show")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `unknown organizations command "show": want list or delete`) {
		t.Errorf("organizations show: %v", err)
	}
}

// TestTheCommandListLinesUp: in `customer-api -h` and in each group's -h, the summaries of the
// commands start in one column.
func TestTheCommandListLinesUp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"tokens", "-h"}, {"tenants", "-h"}, {"organizations", "-h"}, {"customers", "-h"}} {
		stdout, _, err := runCmd(t, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		_, list, _ := strings.Cut(stdout, "commands:\n")
		list, _, _ = strings.Cut(list, "\n\n")
		column := -1
		for _, line := range strings.Split(list, "\n") {
			at := regexp.MustCompile(`^  \S+(?: \S+)?  +`).FindStringIndex(line)
			if at == nil {
				t.Errorf("%v: %q is not a command line", args, line)
				continue
			}
			if column >= 0 && at[1] != column {
				t.Errorf("%v: the summaries start in columns %d and %d:\n%s", args, column, at[1], list)
				break
			}
			column = at[1]
		}
	}
}

func TestTenantsAndOrganizationsList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, customers("c-1", "c-2"), "import", "--data-dir", dir, "--tenant", "t-b", "--organization", "o-1", "-")
	mustRun(t, customers("c-2", "c-3"), "import", "--data-dir", dir, "--tenant", "t-b", "--organization", "o-2", "-")
	mustRun(t, customers("c-1"), "import", "--data-dir", dir, "--tenant", "t-a", "--organization", "o-1", "-")
	mustRun(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "t-a")

	out, _ := mustRun(t, "", "tenants", "list", "--data-dir", dir)
	if want := "TENANT  ORGANIZATIONS  CUSTOMERS  API TOKENS\nt-a     1              1          1\nt-b     2              3          0\n"; out != want {
		t.Errorf("tenants list:\n%s\nwant:\n%s", out, want)
	}
	out, _ = mustRun(t, "", "tenants", "list", "--json", "--data-dir", dir)
	if strings.Join(strings.Fields(out), "") != `[{"id":"t-a","organizations":1,"customers":1,"apiTokens":1},{"id":"t-b","organizations":2,"customers":3,"apiTokens":0}]` {
		t.Errorf("tenants list --json: %s", out)
	}
	out, _ = mustRun(t, "", "organizations", "list", "--data-dir", dir, "--tenant", "t-b")
	if want := "ORGANIZATION  CUSTOMERS\no-1           2\no-2           2\n"; out != want {
		t.Errorf("organizations list:\n%s\nwant:\n%s", out, want)
	}
	out, _ = mustRun(t, "", "organizations", "list", "--json", "--data-dir", dir, "--tenant", "t-a")
	if strings.Join(strings.Fields(out), "") != `[{"id":"o-1","customers":1}]` {
		t.Errorf("organizations list --json: %s", out)
	}
	_, _, err := runCmd(t, "", "organizations", "list", "--data-dir", dir, "--tenant", "t-x")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "holds no data of tenant t-x") {
		t.Errorf("organizations list of an unknown tenant: %v", err)
	}
	_, _, err = runCmd(t, "", "tenants", "list", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Errorf("tenants list without a database: %v; want it refused, creating none", err)
	}
}

func TestTenantsDelete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, customers("c-1", "c-2"), "import", "--data-dir", dir, "--tenant", "t-1", "--organization", "o-1", "-")
	mustRun(t, customers("c-1"), "import", "--data-dir", dir, "--tenant", "t-2", "--organization", "o-1", "-")
	token, _ := mustRun(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "t-1")

	out, errOut := mustRun(t, "", "tenants", "delete", "--data-dir", dir, "t-1")
	if want := "deleted tenant t-1: 1 organization, 2 customers (with their secrets and memberships) and 1 API token\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	audit := auditLine(t, errOut)
	if audit["action"] != "tenants delete" || audit["tenant"] != "t-1" || audit["customers"] != 2.0 || audit["api_tokens"] != 1.0 {
		t.Errorf("audit line: %v", audit)
	}
	out, _ = mustRun(t, "", "tenants", "list", "--data-dir", dir)
	if strings.Contains(out, "t-1") || !strings.Contains(out, "t-2") {
		t.Errorf("tenants list after the deletion:\n%s", out)
	}
	out, _ = mustRun(t, "", "tokens", "list", "--json", "--data-dir", dir, "--tenant", "t-1")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("the deleted tenant's API tokens remain:\n%s", out)
	}
	if _, _, err := runCmd(t, "", "tokens", "revoke", "--data-dir", dir, strings.TrimSpace(token)); err == nil {
		t.Error("the deleted tenant's API token could still be revoked: it remains")
	}
	_, _, err := runCmd(t, "", "tenants", "delete", "--data-dir", dir, "t-1")
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "holds nothing of tenant t-1") {
		t.Errorf("deleting it again: %v", err)
	}
	if _, _, err := runCmd(t, "", "tenants", "delete", "--data-dir", dir); exitCode(err) != 2 {
		t.Errorf("tenants delete without a tenant: %v; want a usage error", err)
	}
}

func TestMigrateSaysWhichVersionsItApplied(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, _ := mustRun(t, "", "migrate", "--data-dir", dir)
	if !regexp.MustCompile(`^applied \d+ migrations to the database at \S+customers\.db: versions 1, 2, 3(, \d+)*\n$`).MatchString(out) {
		t.Errorf("first migrate: %q", out)
	}
	out, _ = mustRun(t, "", "migrate", "--data-dir", dir)
	if !strings.Contains(out, "is up to date: no migration to apply") {
		t.Errorf("second migrate: %q", out)
	}
}

func TestImportOfAnEmptyFileSaysSo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(file, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, "", "import", "--data-dir", dir, "--tenant", "t", "--organization", "o", file)
	if err == nil || !strings.Contains(err.Error(), "the file "+file+" is empty") || strings.Contains(err.Error(), "EOF") {
		t.Errorf("an empty file: %v", err)
	}
	_, _, err = runCmd(t, "", "import", "--data-dir", dir, "--tenant", "t", "--organization", "o", "-")
	if err == nil || !strings.Contains(err.Error(), "stdin is empty") {
		t.Errorf("an empty stdin: %v", err)
	}
}

func TestTokensIssueWarnsAboutATenantWithoutData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, "[]", "import", "--data-dir", dir, "--tenant", "t-1", "--organization", "o-1", "-")
	out, errOut := mustRun(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "t-typo")
	if !strings.HasPrefix(out, "cat_") || !strings.Contains(errOut, `holds no data of tenant "t-typo"`) {
		t.Errorf("stdout %q, stderr %q: want the token, and a warning", out, errOut)
	}
	_, errOut = mustRun(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "t-1")
	if errOut != "" {
		t.Errorf("a warning for a tenant with data: %q", errOut)
	}
}

func TestDevTokenRefusesALifetimeServeDevRefuses(t *testing.T) {
	t.Parallel()
	_, _, err := runCmd(t, "", "dev-token", "--tenant", "t", "--ttl", "48h", "--data-dir", t.TempDir())
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--ttl 48h: serve --dev accepts access tokens valid for at most 24h") {
		t.Errorf("--ttl 48h: %v", err)
	}
}

// TestServeDevDemoReplacesItsDemoToken: each start prints a new API token and deletes the one
// the start before printed, so restarts do not fill `tokens list` up.
func TestServeDevDemoReplacesItsDemoToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	token := regexp.MustCompile(`-H 'token: (\S+)'`)
	var printed []string
	for range 2 {
		s := startServe(t, curlLine, "--dev", "--demo", "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", dir)
		printed = append(printed, token.FindStringSubmatch(s.lines[len(s.lines)-1])[1])
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := mustRun(t, "", "tokens", "list", "--json", "--data-dir", dir, "--tenant", "tenant-demo")
	var tokens []tokenJSON
	if err := json.Unmarshal([]byte(out), &tokens); err != nil || len(tokens) != 1 || tokens[0].Name != demoTokenName || !strings.Contains(printed[1], tokens[0].ID) {
		t.Errorf("after two starts: %v\n%s", err, out)
	}
}

// TestServePrintsTheDocsPageAndTheContract: the URLs serve prints at start answer.
func TestServePrintsTheDocsPageAndTheContract(t *testing.T) {
	t.Parallel()
	s := startServe(t, contractLine, "--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", t.TempDir())
	docs := regexp.MustCompile(`^  docs:     (http://\S+/docs)$`).FindStringSubmatch(s.lines[len(s.lines)-2])
	contract := regexp.MustCompile(`^  contract: (http://\S+)/openapi\.yaml \(or openapi\.json\)$`).FindStringSubmatch(s.lines[len(s.lines)-1])
	if docs == nil || contract == nil {
		t.Fatalf("no docs and contract lines:\n%s", strings.Join(s.lines, "\n"))
	}
	for _, url := range []string{docs[1], contract[1] + "/openapi.yaml", contract[1] + "/openapi.json"} {
		if status, _ := get(t, url); status != http.StatusOK {
			t.Errorf("GET %s: %d", url, status)
		}
	}
}

func TestAnAddressInUseNamesItsFlag(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	for _, tc := range []struct{ args, want []string }{
		{[]string{"--addr", addr, "--metrics-addr", "off"}, []string{"listen on " + addr + ": the address is already in use", "pass --addr with another address", "make run ADDR="}},
		{[]string{"--addr", "127.0.0.1:0", "--metrics-addr", addr}, []string{"metrics: listen on " + addr + ": the address is already in use", "pass --metrics-addr", "--metrics-addr off", "make run METRICS_ADDR="}},
	} {
		s := startServe(t, nil, append(tc.args, "--dev", "--data-dir", t.TempDir())...)
		for _, want := range tc.want {
			if s.err == nil || !strings.Contains(s.err.Error(), want) {
				t.Errorf("serve %v: %v; want it to say %q", tc.args, s.err, want)
			}
		}
	}
}

// TestProfilesAreOffUnlessAskedFor: /debug/pprof/ answers on the metrics listener with --pprof
// only, and never on the API's.
func TestProfilesAreOffUnlessAskedFor(t *testing.T) {
	t.Parallel()
	metricsLine := regexp.MustCompile(`^customer-api metrics on (http://\S+)/metrics$`)
	for _, on := range []bool{false, true} {
		args := []string{"--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}
		if on {
			args = append(args, "--pprof")
		}
		s := startServe(t, listeningLine, args...)
		var metrics string
		for _, line := range s.lines {
			if m := metricsLine.FindStringSubmatch(line); m != nil {
				metrics = m[1]
			}
		}
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if status, body := get(t, metrics+"/debug/pprof/"); status != want || on && !strings.Contains(body, "goroutine") {
			t.Errorf("--pprof %v: GET /debug/pprof/ on the metrics listener: %d, want %d", on, status, want)
		}
		if status, _ := get(t, s.base+"/debug/pprof/"); status != http.StatusNotFound {
			t.Errorf("--pprof %v: GET /debug/pprof/ on the API listener: %d, want 404", on, status)
		}
	}
	_, _, err := runCmd(t, "", "serve", "--dev", "--pprof", "--metrics-addr", "off", "--data-dir", t.TempDir())
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--pprof") {
		t.Errorf("--pprof without a metrics listener: %v; want a usage error", err)
	}
}

func TestHealthcheck(t *testing.T) {
	s := startServe(t, listeningLine, "--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", t.TempDir())
	addr := strings.TrimPrefix(s.base, "http://")
	for _, path := range []string{"/readyz", "/healthz"} {
		out, _, err := runCmd(t, "", "healthcheck", "--addr", addr, "--path", path)
		if err != nil || !strings.Contains(out, "healthy: GET "+s.base+path+" answered 200 OK") {
			t.Errorf("healthcheck --path %s: %v, %q", path, err, out)
		}
	}
	// The image sets CUSTOMER_API_ADDR=:8080 for serve; healthcheck reads it too.
	_, port, _ := net.SplitHostPort(addr)
	t.Setenv("CUSTOMER_API_ADDR", ":"+port)
	if _, _, err := runCmd(t, "", "healthcheck"); err != nil {
		t.Errorf("healthcheck with CUSTOMER_API_ADDR=:%s: %v", port, err)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for _, args := range [][]string{
		{"--addr", closed.Addr().String()},
		{"--addr", addr, "--path", "/nope"},
		{"--addr", addr, "--timeout", "soon"},
	} {
		_, _, err := runCmd(t, "", append([]string{"healthcheck"}, args...)...)
		if err == nil || exitCode(err) != 1 {
			t.Errorf("healthcheck %v: %v (exit %d); want exit 1, never 2 (reserved by container engines)", args, err, exitCode(err))
		}
	}
}

func TestHealthURLReachesAnyInterfaceOnLoopback(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/readyz"},
		{"[::]:8080", "http://[::1]:8080/readyz"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080/readyz"},
		{"localhost:8080", "http://localhost:8080/readyz"},
	} {
		if got, err := healthURL(c.addr, "/readyz"); err != nil || got != c.want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", c.addr, got, err, c.want)
		}
	}
}

// runCmd runs the program in-process with args and a clean environment.
func runCmd(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestImportReportsWhatItDidAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "customers.json")
	data := `[{"customer":{"id":"cus-1","customerName":"Anna","person":{"password":"hunter2"}}},{"customer":{"id":"cus-2"}}]`
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", file}

	out, _, err := runCmd(t, "", args...)
	if err != nil || !strings.Contains(out, "2 created, 0 updated, 0 unchanged") {
		t.Fatalf("first import: %q, %v", out, err)
	}
	out, _, err = runCmd(t, "", args...)
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 2 unchanged") {
		t.Fatalf("second import: %q, %v", out, err)
	}
}

func TestImportOfABadRecordNamesItAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	data := `[{"customer":{"id":"cus-1"}},{"customer":{"id":"cus-2","customerStatus":"gone"}}]`
	_, _, err := runCmd(t, data, "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	if err == nil || !strings.Contains(err.Error(), "record 1") || !strings.Contains(err.Error(), "/customer/customerStatus") {
		t.Fatalf("err = %v; want it to name record 1 and /customer/customerStatus", err)
	}
	if strings.Contains(err.Error(), "gone") {
		t.Errorf("error quotes the rejected value: %v", err)
	}
	// Nothing written: the organization does not exist, so a later empty import creates it.
	out, _, err := runCmd(t, "[]", "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	if err != nil || !strings.Contains(out, "0 created") {
		t.Fatalf("import after failure: %q, %v", out, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"import", "--tenant", "t1"},
		{"import", "--tenant", "bad tenant", "--organization", "o1", "-"},
		{"serve", "--log-level", "loud"},
	} {
		_, _, err := runCmd(t, "", args...)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// TestServeDemoPrintsACurlThatWorks starts the real program, runs the printed curl's request and
// shuts the server down gracefully.
func TestServeDemoPrintsACurlThatWorks(t *testing.T) {
	// The demo data comes with its credentials hashed, so the curl follows in well under a
	// second, even under -race.
	s := startServe(t, curlLine, "--dev", "--demo", "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", t.TempDir())
	curl := regexp.MustCompile(`curl -s -H 'Authorization: (.+?)' -H 'token: (.+?)' -H 'tenantId: (.+?)' (\S+)`)
	m := curl.FindStringSubmatch(s.lines[len(s.lines)-1])
	if m == nil {
		t.Fatalf("no curl in %q", s.lines[len(s.lines)-1])
	}

	req, _ := http.NewRequest(http.MethodGet, m[4], nil)
	req.Header.Set("Authorization", m[1])
	req.Header.Set("token", m[2])
	req.Header.Set("tenantId", m[3])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || len(body) == 0 {
		t.Fatalf("printed curl: status %d, %d customers, %v", resp.StatusCode, len(body), err)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
}

// TestFlagsComeBeforeArguments: as with the flag package (and ff), the first argument ends the
// flags; a flag after it is refused with a message that says so, never taken as an argument.
func TestFlagsComeBeforeArguments(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runCmd(t, `[]`, "import", "-", "--tenant", "t1", "--organization", "o1", "--data-dir", dir)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--tenant after the arguments: flags come first") {
		t.Fatalf("import with flags after the file: %v; want a usage error that says where flags go", err)
	}
	wantEmptyDir(t, dir)
	_, _, err = runCmd(t, "", "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "--", "--odd-name.json")
	if err == nil || !strings.Contains(err.Error(), "open --odd-name.json") {
		t.Errorf("after --, a flag-like argument was not taken as the file: %v", err)
	}
}

// TestMetricsHaveTheirOwnListener starts serve with a metrics listener and checks that /metrics
// answers there, and not on the API's listener.
func TestMetricsHaveTheirOwnListener(t *testing.T) {
	s := startServe(t, listeningLine, "--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	m := regexp.MustCompile(`^customer-api metrics on (http://\S+)$`).FindStringSubmatch(s.lines[0])
	if m == nil {
		t.Fatalf("serve printed no metrics URL first:\n%s", strings.Join(s.lines, "\n"))
	}
	metricsURL, apiURL := m[1], s.base
	if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") {
		t.Errorf("metrics at %s, want loopback", metricsURL)
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "customer_api_auth_failures_total") {
		t.Errorf("metrics listener: %d\n%.300s", resp.StatusCode, body)
	}
	build := regexp.MustCompile(`(?m)^customer_api_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1$`)
	if !build.Match(body) {
		t.Errorf("no customer_api_build_info gauge of 1 with version, revision and goversion:\n%s", body)
	}
	resp, err = http.Get(apiURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the API listener: %d, want 404", resp.StatusCode)
	}
}

func TestServeWarnsAboutADataDirectoryOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	data := &dataFlags{dataDir: dir}
	data.warnOpen(slog.New(slog.NewJSONHandler(&logs, nil)))
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), `"mode":"0755"`) {
		t.Errorf("no warning for a data directory of mode 0755: %s", logs.String())
	}
	logs.Reset()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data.warnOpen(slog.New(slog.NewJSONHandler(&logs, nil)))
	if logs.Len() != 0 {
		t.Errorf("a warning for a data directory of mode 0700: %s", logs.String())
	}
}

func TestEnvironmentVariablesSetFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CUSTOMER_API_DATA_DIR", dir)
	var out bytes.Buffer
	err := run(context.Background(), []string{"migrate"}, nil, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "customers.db")); err != nil {
		t.Errorf("CUSTOMER_API_DATA_DIR was not used: %v", err)
	}
}
