// Package api implements the generated strict server interface: it reads from the store and
// answers in the contract's terms. Its errors are domain errors; package problem renders them.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/store"
)

// Server answers the API's operations.
type Server struct {
	versions store.Store // for versions only: the rest of a read is the lister's
	lists    *listing.Lister
	counted  func(ctx context.Context, customers int)
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New returns a Server that finds versions in v and writes lists with l, and tells counted how
// many customers each list answered (for the access log).
func New(v store.Store, l *listing.Lister, counted func(ctx context.Context, customers int)) *Server {
	return &Server{versions: v, lists: l, counted: counted}
}

// vary is sent with every list and every 304: the body depends on Accept-Encoding.
var vary = "Accept-Encoding"

// GetOrganizationCustomers answers with the customers of the tenant's organization, ordered by
// id, or 304 when If-None-Match names its current version (without reading a customer).
func (s *Server) GetOrganizationCustomers(ctx context.Context, req gen.GetOrganizationCustomersRequestObject) (gen.GetOrganizationCustomersResponseObject, error) {
	// The tenant comes from the verified identity, never from the request alone.
	identity, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errors.New("no verified identity: the authentication middleware is missing")
	}
	version, err := s.versions.OrganizationVersion(ctx, identity.TenantID, req.OrganizationId)
	if err != nil {
		return nil, fmt.Errorf("customers of organization %q: %w", req.OrganizationId, err)
	}
	gzip, _ := ctx.Value(gzipKey{}).(bool)
	if req.Params.IfNoneMatch != nil && listing.NoneMatch(*req.Params.IfNoneMatch, version) {
		etag := listing.ETag(version, gzip)
		return gen.GetOrganizationCustomers304Response{Headers: gen.GetOrganizationCustomers304ResponseHeaders{
			ETag: &etag, Vary: &vary,
		}}, nil
	}
	return customerList{ctx: ctx, s: s, req: listing.Request{
		TenantID: identity.TenantID, OrganizationID: req.OrganizationId, Version: version, Gzip: gzip,
	}}, nil
}

// customerList is the 200 answer, written by the lister when the generated handler visits it.
type customerList struct {
	ctx context.Context
	s   *Server
	req listing.Request
}

// VisitGetOrganizationCustomersResponse writes the list as gen.GetOrganizationCustomers200JSONResponse would.
func (l customerList) VisitGetOrganizationCustomersResponse(w http.ResponseWriter) error {
	n, err := l.s.lists.Write(l.ctx, w, l.req)
	l.s.counted(l.ctx, n)
	if err == nil || errors.Is(err, listing.ErrCutShort) {
		return nil // cut short: the client went away or stalled, and the access line says so
	}
	// store.ErrNotFound: gone since its version was read.
	return fmt.Errorf("customers of organization %q: %w", l.req.OrganizationID, err)
}

// gzipKey marks, with true, the context of a request whose client accepts gzip.
type gzipKey struct{}

// NegotiateEncoding tells the handler, through its context, whether the client accepts gzip:
// the generated request object carries no Accept-Encoding.
func NegotiateEncoding(f gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
	return func(c echo.Context, request any) (any, error) {
		if listing.AcceptsGzip(c.Request().Header.Values("Accept-Encoding")) {
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), gzipKey{}, true)))
		}
		return f(c, request)
	}
}
