package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

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
	warnOpenDataDir(slog.New(slog.NewJSONHandler(&logs, nil)), dir, "")
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), `"mode":"0755"`) {
		t.Errorf("no warning for a data directory of mode 0755: %s", logs.String())
	}
	logs.Reset()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	warnOpenDataDir(slog.New(slog.NewJSONHandler(&logs, nil)), dir, "")
	if logs.Len() != 0 {
		t.Errorf("a warning for a data directory of mode 0700: %s", logs.String())
	}
}
