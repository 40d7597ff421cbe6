// Package api implements the generated strict server interface: it reads from the store and
// answers in the contract's terms. Errors are returned, not rendered: package problem renders
// every error at the edge.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/audit"
	"github.com/cyrexa/customer-api/impl/auth"
	"github.com/cyrexa/customer-api/impl/listing"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/store"
)

// Versions is what the handler reads from the store itself: the rest of a read is the lister's.
type Versions interface {
	OrganizationVersion(ctx context.Context, tenantID, organizationID string) (string, error)
}

// Server answers the API's operations.
type Server struct {
	versions Versions
	lists    *listing.Lister
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New returns a Server that finds versions in v and writes lists with l.
func New(v Versions, l *listing.Lister) *Server {
	return &Server{versions: v, lists: l}
}

// vary is sent with every list and every 304: the body depends on Accept-Encoding.
var vary = "Accept-Encoding"

// GetOrganizationCustomers answers with the customers of the tenant's organization, ordered by
// id; or with 304 when If-None-Match names the organization's current version, without reading
// a customer.
func (s *Server) GetOrganizationCustomers(ctx context.Context, req gen.GetOrganizationCustomersRequestObject) (gen.GetOrganizationCustomersResponseObject, error) {
	// The tenant comes from the verified identity, never from the request alone.
	identity, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errors.New("no verified identity: the authentication middleware is missing")
	}
	audit.FromContext(ctx).Organization = req.OrganizationId
	version, err := s.versions.OrganizationVersion(ctx, identity.TenantID, req.OrganizationId)
	if err != nil {
		return nil, answer(req.OrganizationId, err)
	}
	gzip := listing.GzipFrom(ctx)
	if req.Params.IfNoneMatch != nil && listing.NoneMatch(*req.Params.IfNoneMatch, version) {
		etag := listing.ETag(version, gzip)
		return gen.GetOrganizationCustomers304Response{Headers: gen.GetOrganizationCustomers304ResponseHeaders{
			ETag: &etag, Vary: &vary,
		}}, nil
	}
	return customerList{ctx: ctx, lists: s.lists, req: listing.Request{
		TenantID: identity.TenantID, OrganizationID: req.OrganizationId, Version: version, Gzip: gzip,
	}}, nil
}

// customerList is the 200 answer: the lister writes it from the store (or its cache of bodies)
// when the generated handler visits it, so the body is never held whole unless it is small.
type customerList struct {
	ctx   context.Context
	lists *listing.Lister
	req   listing.Request
}

// VisitGetOrganizationCustomersResponse writes the list as gen.GetOrganizationCustomers200JSONResponse would.
func (l customerList) VisitGetOrganizationCustomersResponse(w http.ResponseWriter) error {
	n, err := l.lists.Write(l.ctx, w, l.req)
	audit.FromContext(l.ctx).Customers = n
	if errors.Is(err, listing.ErrCutShort) {
		return nil // the client went away or stalled mid-answer: the access line says so
	}
	if err != nil {
		return answer(l.req.OrganizationID, err) // gone since its version was read: 404 too
	}
	return nil
}

// answer turns a failure to read an organization into what the client is told: 404 problem
// details for an organization the tenant does not have, whether or not another tenant has one
// of that id; anything else is the error handler's to classify.
func answer(organizationID string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &problem.Error{Kind: problem.NotFound, Detail: "No organization with this id exists for the tenant.", Cause: err}
	}
	return fmt.Errorf("customers of organization %q: %w", organizationID, err)
}

// NegotiateEncoding is the strict middleware that tells the handler, through its context,
// whether the client accepts gzip: the generated request object carries no Accept-Encoding.
func NegotiateEncoding(f gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
	return func(c echo.Context, request any) (any, error) {
		if listing.AcceptsGzip(c.Request().Header.Values("Accept-Encoding")) {
			c.SetRequest(c.Request().WithContext(listing.WithGzip(c.Request().Context())))
		}
		return f(c, request)
	}
}
