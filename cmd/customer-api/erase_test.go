package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// customers returns an import file of {"customer": ...} records with the given ids.
func customers(ids ...string) string {
	recs := make([]string, len(ids))
	for i, id := range ids {
		recs[i] = `{"customer":{"id":"` + id + `","customerName":"Name of ` + id + `"}}`
	}
	return "[" + strings.Join(recs, ",") + "]"
}

// mustRun runs the program and fails the test if it fails.
func mustRun(t *testing.T, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, err := runCmd(t, stdin, args...)
	if err != nil {
		t.Fatalf("%v: %v\nstderr: %s", args, err, errOut)
	}
	return out, errOut
}

// auditLine returns the audit log line in stderr, decoded, or fails the test.
func auditLine(t *testing.T, stderr string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit" {
			return m
		}
	}
	t.Fatalf("no audit line in %q", stderr)
	return nil
}

// members reads the ids of an organization's customers straight from the database of dir.
func members(t *testing.T, dir, tenant, org string) []string {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "customers.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, cs, err := storetest.Collect(t.Context(), st, tenant, org)
	if err != nil {
		t.Fatalf("read %s/%s: %v", tenant, org, err)
	}
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestCustomersDelete(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, customers("c-1", "c-2", "c-3"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")

	out, errOut := mustRun(t, "", "customers", "delete", "--data-dir", dir, "--tenant", "t1", "c-3", "c-1")
	if want := "deleted 2 customers of tenant t1, with their secrets and memberships: c-1, c-3\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	a := auditLine(t, errOut)
	if a["action"] != "customers delete" || a["tenant"] != "t1" || a["deleted"] != 2.0 || a["unknown"] != 0.0 {
		t.Errorf("audit line = %v", a)
	}
	if strings.Contains(errOut, "Name of") {
		t.Errorf("stderr holds personal data: %s", errOut)
	}
	if got := members(t, dir, "t1", "o1"); !equal(got, "c-2") {
		t.Errorf("members after deletion = %q", got)
	}

	t.Run("unknown ids are reported and fail the command", func(t *testing.T) {
		out, _, err := runCmd(t, "", "customers", "delete", "--data-dir", dir, "--tenant", "t1", "c-2", "c-404")
		if err == nil || !strings.Contains(err.Error(), "no customer c-404") {
			t.Errorf("err = %v, want it to name c-404", err)
		}
		if !strings.Contains(out, "deleted 1 customer of") {
			t.Errorf("stdout = %q", out)
		}
	})
	t.Run("a missing database is not created", func(t *testing.T) {
		empty := t.TempDir()
		_, _, err := runCmd(t, "", "customers", "delete", "--data-dir", empty, "--tenant", "t1", "c-1")
		if err == nil || !strings.Contains(err.Error(), "--data-dir") {
			t.Errorf("err = %v, want a hint to pass --data-dir", err)
		}
		wantEmptyDir(t, empty)
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{"customers"}, {"customers", "delete", "--data-dir", dir, "--tenant", "t1"}, {"customers", "delete", "--data-dir", dir, "c-1"}} {
			if _, _, err := runCmd(t, "", args...); exitCode(err) != 2 {
				t.Errorf("%v: err = %v, want a usage error", args, err)
			}
		}
	})
}

func TestOrganizationsDelete(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, customers("c-1", "c-2", "c-3"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	mustRun(t, customers("c-2"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o2", "-")

	out, errOut := mustRun(t, "", "organizations", "delete", "--data-dir", dir, "--tenant", "t1", "o1")
	want := "deleted organization o1 of tenant t1\n" +
		"deleted 2 customers (in no other organization): c-1, c-3\n" +
		"kept 1 customer (in another organization): c-2\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	a := auditLine(t, errOut)
	if a["action"] != "organizations delete" || a["organization"] != "o1" || a["deleted"] != 2.0 || a["kept"] != 1.0 {
		t.Errorf("audit line = %v", a)
	}
	if got := members(t, dir, "t1", "o2"); !equal(got, "c-2") {
		t.Errorf("members of o2 = %q", got)
	}
	if _, _, err := runCmd(t, "", "organizations", "delete", "--data-dir", dir, "--tenant", "t1", "o1"); err == nil || !strings.Contains(err.Error(), "no organization o1") {
		t.Errorf("deleting it again: err = %v", err)
	}
}

func TestImportReplace(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, customers("c-1", "c-2", "c-3"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	mustRun(t, customers("c-2"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o2", "-")

	out, errOut := mustRun(t, customers("c-3", "c-4"), "import", "--replace", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	want := "imported into t1/o1: 1 created, 0 updated, 1 unchanged; 2 left the organization (1 deleted: in no other organization; 1 kept: in another)\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if a := auditLine(t, errOut); a["replace"] != true || a["left"] != 2.0 || a["deleted"] != 1.0 {
		t.Errorf("audit line = %v", a)
	}
	if got := members(t, dir, "t1", "o1"); !equal(got, "c-3", "c-4") {
		t.Errorf("members of o1 = %q", got)
	}
	out, _ = mustRun(t, "[]", "import", "--replace", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	if !strings.Contains(out, "2 left the organization (2 deleted") {
		t.Errorf("replacing with [] printed %q", out)
	}
	if got := members(t, dir, "t1", "o1"); len(got) != 0 {
		t.Errorf("[] left members %q", got)
	}
}

// TestErasureHeldUpByAReader runs each command that deletes customers while another program
// keeps a read of an older snapshot open, with a short --erase-wait: the command deletes, exits 1,
// says which files may still hold the deleted data and what to do; run again once the reader has
// gone, it finishes the erasure.
func TestErasureHeldUpByAReader(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		args        []string
	}{
		{"customers delete", "", []string{"customers", "delete", "--tenant", "t1", "c-1"}},
		{"organizations delete", "", []string{"organizations", "delete", "--tenant", "t1", "o1"}},
		{"import --replace", "[]", []string{"import", "--replace", "--tenant", "t1", "--organization", "o1", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "customers.db")
			mustRun(t, customers("c-1", "c-2"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
			mustRun(t, "", "customers", "delete", "--data-dir", dir, "--tenant", "t1", "c-2") // moves c-1 into customers.db
			holding := func() []string {
				var names []string
				for _, name := range []string{"customers.db", "customers.db-wal", "customers.db-shm"} {
					if b, _ := os.ReadFile(filepath.Join(dir, name)); bytes.Contains(b, []byte("Name of c-1")) {
						names = append(names, name)
					}
				}
				return names
			}
			if got := holding(); !equal(got, "customers.db") {
				t.Fatalf("before the deletion, c-1 is in %q", got)
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			reader, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := reader.QueryRow("SELECT count(*) FROM customers").Scan(&n); err != nil {
				t.Fatal(err)
			}

			last := len(tc.args) - 1 // the argument, after the flags
			args := slices.Concat(tc.args[:last], []string{"--data-dir", dir, "--erase-wait", "200ms"}, tc.args[last:])
			out, _, err := runCmd(t, tc.stdin, args...)
			if !errors.Is(err, store.ErrNotErased) || exitCode(err) != 1 {
				t.Fatalf("%s under a reader: err = %v, want ErrNotErased and exit status 1", tc.name, err)
			}
			if !strings.Contains(out, "deleted") {
				t.Errorf("stdout does not say what was deleted: %q", out)
			}
			for _, want := range []string{path + " (", path + "-wal (", "run this command again once those readers have finished"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			if got := holding(); len(got) == 0 {
				t.Error("the command says the data may still be on disk, but no file holds it")
			}

			if err := reader.Rollback(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := runCmd(t, tc.stdin, args...); errors.Is(err, store.ErrNotErased) {
				t.Fatalf("%s again once the reader has gone: %v", tc.name, err)
			}
			if got := holding(); len(got) != 0 {
				t.Errorf("after running %s again, the deleted data is still in %q", tc.name, got)
			}
		})
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, customers("c-1", "c-2"), "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	before := dirDigest(t, dir)

	out, errOut := mustRun(t, customers("c-2", "c-3"), "import", "--dry-run", "--replace", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
	want := "dry run, nothing written; would import into t1/o1: 1 created, 0 updated, 1 unchanged; 1 left the organization (1 deleted: in no other organization; 0 kept: in another)\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if a := auditLine(t, errOut); a["dry_run"] != true {
		t.Errorf("audit line = %v", a)
	}
	mustRun(t, customers("c-9"), "import", "--dry-run", "--data-dir", dir, "--tenant", "t1", "--organization", "o-new", "-")
	if after := dirDigest(t, dir); !maps.Equal(before, after) {
		t.Errorf("a dry run changed the database's files:\nbefore %v\nafter  %v", before, after)
	}
	if got := members(t, dir, "t1", "o1"); !equal(got, "c-1", "c-2") {
		t.Errorf("members after the dry run = %q", got)
	}

	t.Run("a bad record is found without writing", func(t *testing.T) {
		_, _, err := runCmd(t, `[{"customer":{"id":"c-1"}},{"id":"c-2"}]`, "import", "--dry-run", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
		if err == nil || !strings.Contains(err.Error(), "record 1 (counting from 0)") || !strings.Contains(err.Error(), `{"customer": {...}}`) {
			t.Errorf("err = %v, want record 1 counted from 0 and the wrapper hint", err)
		}
	})
	t.Run("without a database, it creates none", func(t *testing.T) {
		empty := t.TempDir()
		out, errOut := mustRun(t, customers("c-1"), "import", "--dry-run", "--data-dir", empty, "--tenant", "t1", "--organization", "o1", "-")
		if !strings.Contains(out, "would import into t1/o1: 1 created") || strings.Contains(errOut, "creating") {
			t.Errorf("stdout %q, stderr %q", out, errOut)
		}
		wantEmptyDir(t, empty)
	})
}

func TestNoSilentNewDatabase(t *testing.T) {
	t.Run("import says where it creates a database", func(t *testing.T) {
		dir := t.TempDir()
		_, errOut := mustRun(t, "[]", "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
		if want := "creating a new SQLite database at " + filepath.Join(dir, "customers.db"); !strings.Contains(errOut, want) {
			t.Errorf("stderr = %q, want it to say %q", errOut, want)
		}
		_, errOut = mustRun(t, "[]", "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-")
		if strings.Contains(errOut, "creating") {
			t.Errorf("the second import says it creates a database: %q", errOut)
		}
	})
	t.Run("tokens and dev-token refuse a directory without data", func(t *testing.T) {
		for _, c := range []struct{ cmd, rest []string }{
			{[]string{"tokens", "issue"}, []string{"--tenant", "t1"}},
			{[]string{"tokens", "list"}, []string{"--tenant", "t1"}},
			{[]string{"tokens", "revoke"}, []string{strings.Repeat("0", 32)}},
			{[]string{"dev-token"}, []string{"--tenant", "t1"}},
		} {
			dir := t.TempDir()
			args := slices.Concat(c.cmd, []string{"--data-dir", dir}, c.rest)
			_, _, err := runCmd(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), "--data-dir") || !strings.Contains(err.Error(), dir) {
				t.Errorf("%v: err = %v, want the directory and a hint to pass --data-dir", args, err)
			}
			wantEmptyDir(t, dir)
		}
	})
	t.Run("tokens refuse a database without tenants", func(t *testing.T) {
		dir := t.TempDir()
		mustRun(t, "", "migrate", "--data-dir", dir)
		_, _, err := runCmd(t, "", "tokens", "issue", "--tenant", "t1", "--data-dir", dir)
		if err == nil || !strings.Contains(err.Error(), "holds no tenant") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestServeLogsItsData(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dev", "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", dir},
			nil, io.Discard, errW)
		errW.Close()
	}()
	db := regexp.QuoteMeta(filepath.Join(dir, "customers.db"))
	waitForLine(t, errR, regexp.MustCompile(`"msg":"data","data_dir":"`+regexp.QuoteMeta(dir)+`","database":"`+db+`"`), 60*time.Second)
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestRedactedDatabaseInLogs(t *testing.T) {
	d := dataFlags{database: "postgres://app:s3cret@db.example:5432/customers"}
	if got := d.describeDatabase(); strings.Contains(got, "s3cret") || !strings.Contains(got, "db.example:5432/customers") {
		t.Errorf("describeDatabase = %q", got)
	}
}

func TestProgressLogsEveryFewSecondsWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	read := int64(0)
	p := newProgress(&buf, log, 1000, func() int64 { return read })
	clock := p.start
	p.now = func() time.Time { return clock }
	for i := 1; i <= 100; i++ {
		clock = clock.Add(100 * time.Millisecond) // 10 s in all
		read = int64(i * 5)                       // half of the file
		p.update(i)
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines in 10 s, want 2 (one every %s):\n%s", len(lines), logProgressEvery, buf.String())
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil {
		t.Fatal(err)
	}
	if last["msg"] != "import progress" || last["records"] != 100.0 || last["per_second"] != 10.0 || last["percent"] != 50.0 || last["left"] != "10s" {
		t.Errorf("last progress line = %v", last)
	}
}

func TestProgressOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, total: 0, read: func() int64 { return 0 }, every: terminalProgressEvery}
	clock := time.Unix(0, 0)
	p.now = func() time.Time { return clock }
	p.start, p.last = clock, clock
	clock = clock.Add(time.Second)
	p.update(50)
	p.finish()
	if got := buf.String(); !strings.HasPrefix(got, "\r50 records, 50/s") || !strings.HasSuffix(got, "\n") || strings.Contains(got, "left") {
		t.Errorf("terminal output = %q", got)
	}
}

// dirDigest returns the SHA-256 of every file of dir, by name.
func dirDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][32]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = sha256.Sum256(b)
	}
	return m
}

func wantEmptyDir(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%s holds %d files, want none", dir, len(entries))
	}
}

func equal(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}
