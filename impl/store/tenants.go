package store

// TenantSummary is one tenant of a listing, with how much it holds; its JSON is that of
// `customer-api tenants list --json`.
type TenantSummary struct {
	ID            string `json:"id"`
	Organizations int    `json:"organizations"`
	Customers     int    `json:"customers"`
	// APITokens counts the tenant's API tokens in every state (active, expired, revoked).
	APITokens int `json:"apiTokens"`
}

// OrganizationSummary is one organization of a listing, with its number of customers; its JSON
// is that of `customer-api organizations list --json`.
type OrganizationSummary struct {
	ID        string `json:"id"`
	Customers int    `json:"customers"`
}

// TenantDeletion counts what DeleteTenant deleted.
type TenantDeletion struct {
	Organizations int
	Customers     int
	APITokens     int
}
