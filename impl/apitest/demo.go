package apitest

import (
	"encoding/json"
	"fmt"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/demo"
)

// DemoOrganization is a demo organization of demo.TenantID with its customers, ordered by
// customer id.
type DemoOrganization struct {
	ID        string
	Customers []gen.Customer
}

// DemoDataset returns the demo organizations, decoded afresh at every call so callers may modify
// them.
func DemoDataset() []DemoOrganization {
	var orgs []struct {
		ID        string           `json:"id"`
		Customers gen.CustomerList `json:"customers"`
	}
	if err := json.Unmarshal(demo.Dataset, &orgs); err != nil {
		panic(fmt.Sprintf("demo: decode the embedded dataset.json: %v", err))
	}
	out := make([]DemoOrganization, len(orgs))
	for i, o := range orgs {
		out[i].ID = o.ID
		for _, e := range o.Customers {
			out[i].Customers = append(out[i].Customers, *e.Customer)
		}
	}
	return out
}
