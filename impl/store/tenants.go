package store

// TenantSummary is one tenant of a listing, with how much it holds.
type TenantSummary struct {
	ID            string
	Organizations int
	Customers     int
	// APITokens counts the tenant's API tokens in every state (active, expired, revoked).
	APITokens int
}

// OrganizationSummary is one organization of a listing, with its number of customers.
type OrganizationSummary struct {
	ID        string
	Customers int
}

// TenantDeletion counts what DeleteTenant deleted.
type TenantDeletion struct {
	Organizations int
	Customers     int
	APITokens     int
}
