package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// Environment variables of the measurements in docs/performance.md. They are heavy, so they run
// only when asked for.
const (
	// envGenFile names a file that TestWriteCustomersFile fills with envCount customers.
	envGenFile = "CUSTOMER_API_GEN_FILE"
	// envBenchImport enables BenchmarkImport.
	envBenchImport = "CUSTOMER_API_BENCH_IMPORT"
	// envCount is how many customers both generate (default 100 000).
	envCount = "CUSTOMER_API_GEN_COUNT"
)

// WriteCustomers writes n customers as the import format, a JSON array of {"customer": {...}},
// one record at a time. Every field of the contract is filled except the write-only credentials
// (hashing those is deliberately slow and measured elsewhere): customer i is demo customer
// i mod 36 under the id cus-<i>.
func WriteCustomers(w io.Writer, n int) error {
	var templates []gen.Customer
	for _, org := range apitest.DemoDataset() {
		for _, c := range org.Customers {
			templates = append(templates, customer.StripWriteOnly(c))
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	if _, err := bw.WriteString("["); err != nil {
		return err
	}
	for i := range n {
		if i > 0 {
			if _, err := bw.WriteString(","); err != nil {
				return err
			}
		}
		c := templates[i%len(templates)]
		c.Id = new(fmt.Sprintf("cus-%07d", i))
		if err := enc.Encode(gen.CustomerEntry{Customer: &c}); err != nil {
			return fmt.Errorf("encode customer %d: %w", i, err)
		}
	}
	if _, err := bw.WriteString("]\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// genCount returns envCount, or 100 000.
func genCount(tb testing.TB) int {
	tb.Helper()
	s := os.Getenv(envCount)
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a count", envCount, s)
	}
	return n
}

// TestWriteCustomersFile generates the import file of the measurements:
//
//	CUSTOMER_API_GEN_FILE=/tmp/customers-100k.json go test -run TestWriteCustomersFile ./cmd/customer-api
func TestWriteCustomersFile(t *testing.T) {
	path := os.Getenv(envGenFile)
	if path == "" {
		t.Skipf("set %s=FILE (and %s=N, default 100000) to generate an import file", envGenFile, envCount)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n := genCount(t)
	if err := WriteCustomers(f, n); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	t.Logf("wrote %d customers, %d bytes, to %s", n, info.Size(), path)
}

func TestWriteCustomersIsAValidImport(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "customers.json")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCustomers(f, 40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := runEnv(t, nil, "", "import", "--data-dir", t.TempDir(), "--tenant", "t1", "--organization", "o1", file)
	if err != nil || !strings.Contains(out, "40 created") {
		t.Fatalf("import: %q, %v", out, err)
	}
}

// BenchmarkImport imports a generated file of CUSTOMER_API_GEN_COUNT customers through the
// whole import command (streamed JSON, contract validation, store) into a new SQLite database
// and, when CUSTOMER_API_TEST_POSTGRES is set, a new PostgreSQL database, per iteration; and
// through the import path alone into a store that discards (db=none), for its share:
//
//	CUSTOMER_API_BENCH_IMPORT=1 go test -run '^$' -bench BenchmarkImport -benchtime 1x ./cmd/customer-api
func BenchmarkImport(b *testing.B) {
	if os.Getenv(envBenchImport) == "" {
		b.Skipf("set %s=1 to run (it imports %s customers, default 100000, per iteration)", envBenchImport, envCount)
	}
	n := genCount(b)
	file := filepath.Join(b.TempDir(), "customers.json")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := WriteCustomers(f, n); err != nil {
		b.Fatal(err)
	}
	f.Close()

	// The import path alone: streaming, validation and hashing, into a store that discards.
	b.Run("db=none", func(b *testing.B) {
		c, err := contract.Load()
		if err != nil {
			b.Fatal(err)
		}
		var total time.Duration
		for b.Loop() {
			in, err := os.Open(file)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			sum, err := importer.Import(b.Context(), discard{}, c, "t1", "o1", in, importer.Options{})
			total += time.Since(start)
			in.Close()
			if err != nil || sum.Created != n {
				b.Fatalf("import: %+v, %v", sum, err)
			}
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/import")
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/customer")
	})
	for _, db := range []struct {
		name     string
		database func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "customers.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.New(b).URL }},
	} {
		b.Run("db="+db.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				database := db.database(b)
				if _, err := benchRun("migrate", "--database", database); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				out, err := benchRun("import", "--database", database, "--tenant", "t1", "--organization", "o1", file)
				total += time.Since(start)
				if err != nil || !strings.Contains(out, fmt.Sprintf("%d created", n)) {
					b.Fatalf("import: %q, %v", out, err)
				}
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/import")
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/customer")
		})
	}
}

// discard is a store whose import only counts what the sequence yields.
type discard struct{ store.Store }

func (discard) ImportCustomers(_ context.Context, _, _ string, customers iter.Seq2[store.Customer, error], _ store.ImportOptions) (store.ImportSummary, error) {
	var sum store.ImportSummary
	for _, err := range customers {
		if err != nil {
			return store.ImportSummary{}, err
		}
		sum.Created++
	}
	return sum, nil
}

func benchRun(args ...string) (string, error) {
	var out strings.Builder
	err := run(context.Background(), args, strings.NewReader(""), &out, io.Discard)
	return out.String(), err
}
