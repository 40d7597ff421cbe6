// Package api implements the generated strict server interface: it reads from the store and
// answers in the contract's terms. Errors are returned, not rendered: package problem renders
// every error at the edge.
package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/audit"
	"github.com/cyrexa/customer-api/impl/auth"
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
	// The tenant comes from the verified identity, never from the request alone.
	identity, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errors.New("no verified identity: the authentication middleware is missing")
	}
	record := audit.FromContext(ctx)
	record.Organization = req.OrganizationId
	stored, err := s.store.OrganizationCustomers(ctx, identity.TenantID, req.OrganizationId)
	if err != nil {
		return nil, fmt.Errorf("customers of organization %q: %w", req.OrganizationId, err)
	}
	documents := make([][]byte, len(stored))
	for i, sc := range stored {
		if documents[i], err = customer.PublicDocument(sc.Document); err != nil {
			return nil, fmt.Errorf("customer %q: %w", sc.ID, err)
		}
	}
	record.Customers = len(documents)
	return customerList(documents), nil
}

// customerList is the 200 answer, a gen.CustomerList written from the customers' public JSON
// documents as they are: decoding every stored document only to encode it again would be most
// of the cost of a read. The response validator checks the result against the contract.
type customerList [][]byte

// VisitGetOrganizationCustomersResponse writes the list as gen.GetOrganizationCustomers200JSONResponse would.
func (l customerList) VisitGetOrganizationCustomersResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteByte('[')
	for i, d := range l {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(`{"customer":`)
		bw.Write(d)
		bw.WriteByte('}')
	}
	bw.WriteString("]\n")
	return bw.Flush() // the first error of any write above
}
