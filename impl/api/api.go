// Package api implements the generated strict server interface: it reads from the store and
// answers with the contract's types. Errors are returned, not rendered: package problem renders
// every error at the edge.
package api

import (
	"context"
	"fmt"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/store"
)

// Server answers the API's operations from a store.
type Server struct {
	store store.Store
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New returns a Server reading from st.
func New(st store.Store) *Server {
	return &Server{store: st}
}

// GetOrganizationCustomers returns the customers of the tenant's organization, ordered by id.
func (s *Server) GetOrganizationCustomers(ctx context.Context, req gen.GetOrganizationCustomersRequestObject) (gen.GetOrganizationCustomersResponseObject, error) {
	// The tenant header is trusted only as far as the identity layer in front has checked it.
	tenantID := req.Params.TenantId
	stored, err := s.store.OrganizationCustomers(ctx, tenantID, req.OrganizationId)
	if err != nil {
		return nil, fmt.Errorf("customers of organization %q: %w", req.OrganizationId, err)
	}
	list := make(gen.CustomerList, len(stored))
	for i, sc := range stored {
		c, err := customer.Decode(sc.Document)
		if err != nil {
			return nil, fmt.Errorf("customer %q: %w", sc.ID, err)
		}
		list[i] = gen.CustomerEntry{Customer: &c}
	}
	return gen.GetOrganizationCustomers200JSONResponse{Body: list}, nil
}
