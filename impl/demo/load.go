package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/store"
)

// Load imports the demo dataset into st through the same importer as `customer-api import`, so
// every record is validated against the contract on the way in. A store that already holds data
// is left as it is.
//
// The secrets are already hashes, which the importer keeps as given, so Load hashes nothing. A
// pepper among opts (importer.WithPepper) therefore leaves them as generated, unpeppered: they are
// made-up values published in this repository, and a hash made without a pepper keeps verifying
// under one.
func Load(ctx context.Context, st store.Store, v importer.Validator, log *slog.Logger, opts ...importer.Option) error {
	empty, err := st.Empty(ctx)
	if err != nil {
		return fmt.Errorf("check for existing data: %w", err)
	}
	if !empty {
		log.Info("database holds data; demo data not loaded")
		return nil
	}
	// Each organization's customers are already the import format: handed on as they are.
	var orgs []struct {
		ID        string          `json:"id"`
		Customers json.RawMessage `json:"customers"`
	}
	if err := json.Unmarshal(dataset, &orgs); err != nil {
		return fmt.Errorf("decode demo data: %w", err)
	}
	for _, org := range orgs {
		sum, err := importer.Import(ctx, st, v, TenantID, org.ID, bytes.NewReader(org.Customers), opts...)
		if err != nil {
			return fmt.Errorf("load demo organization %s: %w", org.ID, err)
		}
		log.Info("demo data loaded", "tenant", TenantID, "organization", org.ID, "created", sum.Created)
	}
	return nil
}
