// Package demo holds the demo data, dataset.json (one tenant, two organizations, every field of
// the contract filled with made-up values; edited by hand, one customer a line), and loads it.
// Its secrets are already hashes: to change one, write its plaintext and run `go test
// ./impl/demo`, whose failure names the hash to write instead.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/store"
)

// The demo tenant and its organizations: retail sells mostly to persons, wholesale to businesses.
const (
	TenantID                = "tenant-demo"
	RetailOrganizationID    = "org-retail"
	WholesaleOrganizationID = "org-wholesale"
)

// Dataset is dataset.json: each organization's id and customers, as the importer takes them.
//
//go:embed dataset.json
var Dataset []byte

// Load imports the demo data into an empty st through the importer; a store that holds data is
// left as it is. Its hashes are kept as given, unpeppered, whatever opts say.
func Load(ctx context.Context, st store.Store, c *contract.Contract, log *slog.Logger, opts importer.Options) error {
	empty, err := st.Empty(ctx)
	if err != nil {
		return fmt.Errorf("check for existing data: %w", err)
	}
	if !empty {
		log.Info("database holds data; demo data not loaded")
		return nil
	}
	var orgs []struct {
		ID        string          `json:"id"`
		Customers json.RawMessage `json:"customers"`
	}
	if err := json.Unmarshal(Dataset, &orgs); err != nil {
		return fmt.Errorf("decode demo data: %w", err)
	}
	for _, org := range orgs {
		sum, err := importer.Import(ctx, st, c, TenantID, org.ID, bytes.NewReader(org.Customers), opts)
		if err != nil {
			return fmt.Errorf("load demo organization %s: %w", org.ID, err)
		}
		log.Info("demo data loaded", "tenant", TenantID, "organization", org.ID, "created", sum.Created)
	}
	return nil
}
