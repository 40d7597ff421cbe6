package demo_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/store/sqlite"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	pepper, err := secrets.NewPepper(bytes.Repeat([]byte{'p'}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := apitest.MustSQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := demo.Load(t.Context(), st, c, log, importer.Options{Pepper: pepper}); err != nil {
		t.Fatalf("Load: %v", err)
	}

	t.Run("every organization holds its customers", func(t *testing.T) {
		for _, org := range apitest.DemoDataset() {
			_, got, err := storetest.Collect(t.Context(), st, demo.TenantID, org.ID)
			if err != nil {
				t.Fatalf("read %s: %v", org.ID, err)
			}
			if len(got) != len(org.Customers) {
				t.Fatalf("%s holds %d customers, want %d", org.ID, len(got), len(org.Customers))
			}
			for i, sc := range got {
				if sc.ID != *org.Customers[i].Id {
					t.Errorf("%s: customer %d is %s, want %s", org.ID, i, sc.ID, *org.Customers[i].Id)
				}
			}
		}
	})

	t.Run("the hashes are stored as generated, a pepper notwithstanding", func(t *testing.T) {
		for _, cus := range apitest.DemoDataset()[0].Customers {
			got, err := st.CustomerSecrets(t.Context(), demo.TenantID, *cus.Id)
			if err != nil {
				t.Fatalf("secrets of %s: %v", *cus.Id, err)
			}
			p := cus.Person
			if got.PasswordHash != *p.Password || got.PINHash != *p.PinCode ||
				len(got.SecretAnswerHashes) != len(*p.SecretQuestion) {
				t.Errorf("%s: stored secrets %+v differ from dataset.json", *cus.Id, got)
				continue
			}
			for i, q := range *p.SecretQuestion {
				if got.SecretAnswerHashes[i] != *q.Answer {
					t.Errorf("%s: stored answer %d %q, want %q", *cus.Id, i, got.SecretAnswerHashes[i], *q.Answer)
				}
			}
		}
	})

	t.Run("a store that holds other data is left as it is", func(t *testing.T) {
		other, _ := apitest.MustSQLite(t)
		if _, err := importer.Import(t.Context(), other, c, "tenant-other", "org-other", strings.NewReader(`[{"customer":{"id":"cus-1"}}]`), importer.Options{}); err != nil {
			t.Fatal(err)
		}
		if err := demo.Load(t.Context(), other, c, log, importer.Options{}); err != nil {
			t.Fatalf("Load: %v", err)
		}
		if _, err := other.OrganizationVersion(t.Context(), demo.TenantID, demo.RetailOrganizationID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the demo organization in a store that held data: %v, want ErrNotFound", err)
		}
	})
}

// BenchmarkLoad measures Load into a fresh, migrated SQLite database, whose creation is not
// counted:
//
//	go test -run '^$' -bench BenchmarkLoad ./impl/demo
func BenchmarkLoad(b *testing.B) {
	c, err := contract.Load()
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st, err := sqlite.Open(filepath.Join(dir, fmt.Sprintf("customers-%d.db", i)))
		if err == nil {
			_, err = st.MigrateUp(b.Context())
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := demo.Load(b.Context(), st, c, log, importer.Options{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}
