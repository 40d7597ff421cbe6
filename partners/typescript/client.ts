// A partner's client for the customer API, typed only from the published contract: the types in
// ./generated come from openapi.yaml through openapi-typescript, and this file must compile with
// `tsc --strict`. Nothing here knows the service's Go code. If a change to openapi.yaml makes
// this stop compiling, partners' generated clients would break the same way.
import type { components, operations, paths } from './generated/customer-api';

type GetCustomers = operations['getOrganizationCustomers'];
type Path = keyof paths;

export type Customer = components['schemas']['Customer'];
export type CustomerList = GetCustomers['responses'][200]['content']['application/json'];
export type Problem = components['schemas']['Problem'];

/** The credentials every request carries: an OAuth 2.0 access token and the tenant's API token. */
export interface Credentials {
  bearer: string;
  token: GetCustomers['parameters']['header']['token'];
  tenantId: GetCustomers['parameters']['header']['tenantId'];
}

/** The version of a list the client holds: the ETag of the 200 that brought it. */
export type ETag = NonNullable<GetCustomers['parameters']['header']['If-None-Match']>;

/**
 * What a call returns: the customers with their ETag, "not modified" when the list named by
 * ifNoneMatch is still current, or the problem details of a documented error.
 */
export type Result =
  | { ok: true; status: 200; customers: CustomerList; etag: ETag | null; requestId: string | null }
  | { ok: true; status: 304; etag: ETag | null; requestId: string | null }
  | { ok: false; status: number; problem: Problem; requestId: string | null };

const customersPath: Path = '/organization/getCustomers/{organizationId}';

/** getOrganizationCustomers calls GET /organization/getCustomers/{organizationId}. */
export async function getOrganizationCustomers(
  baseUrl: string,
  credentials: Credentials,
  path: GetCustomers['parameters']['path'],
  init: { signal?: AbortSignal; ifNoneMatch?: ETag } = {},
): Promise<Result> {
  const url = baseUrl.replace(/\/+$/, '') +
    customersPath.replace('{organizationId}', encodeURIComponent(path.organizationId));
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Authorization: `Bearer ${credentials.bearer}`,
    token: credentials.token,
    tenantId: credentials.tenantId,
  };
  if (init.ifNoneMatch) {
    headers['If-None-Match'] = init.ifNoneMatch;
  }
  const response = await fetch(url, { method: 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) });
  const requestId = response.headers.get('X-Request-Id');
  const etag = response.headers.get('ETag');
  if (response.status === 304) {
    return { ok: true, status: 304, etag, requestId };
  }
  const body: unknown = await response.json();
  if (response.status === 200) {
    return { ok: true, status: 200, customers: body as CustomerList, etag, requestId };
  }
  return { ok: false, status: response.status, problem: body as Problem, requestId };
}

/** summarize shows what a partner typically reads of a customer, with the contract's own types. */
export function summarize(customer: Customer): string {
  const status: components['schemas']['CustomerStatus'] | 'unknown' = customer.customerStatus ?? 'unknown';
  const email = customer.person?.email ?? '-';
  const firstAddress = customer.person?.addresses?.[0]?.address;
  const where = firstAddress ? `${firstAddress.zipCode ?? ''} ${firstAddress.city ?? ''}`.trim() : '-';
  return `${customer.id ?? '?'} ${customer.customerName ?? ''} [${customer.customerType ?? '?'}, ${status}] ${email} ${where}`;
}

/** describe turns a problem into one line, the way a partner logs it. */
export function describe(problem: Problem): string {
  const params = (problem.invalidParams ?? []).map((p) => `${p.in} ${p.name}: ${p.reason}`);
  return `${problem.status} ${problem.title}: ${problem.detail ?? ''}${params.length ? ` (${params.join('; ')})` : ''}`;
}

// Compile-time checks that the published types are as strict as the contract. Every
// expect-error directive below must meet an error, or tsc fails: a loosened contract shows up.

// @ts-expect-error customerStatus is an enum, spelled as Cyrexa publishes it
const misspelled: Customer = { customerStatus: 'under_verification' };
// @ts-expect-error every operation needs the tenant and the API token
const missingHeader: Credentials = { bearer: 'x', token: 'y' };
// @ts-expect-error the organization id is required
const noOrganization: GetCustomers['parameters']['path'] = {};
// @ts-expect-error a customer has no property the contract does not declare
const undeclared: Customer = { id: 'cus-1', nickname: 'x' };
// @ts-expect-error a problem always has a numeric status
const noStatus: Problem = { type: 'about:blank', title: 'x' };
const exactSpelling: Customer = { id: 'cus-1', customerStatus: 'under_verificaiton', customerType: 'Person' };
// @ts-expect-error a 304 carries no customers
const notModified: Result = { ok: true, status: 304, etag: null, requestId: null, customers: [] };
export const compileTimeChecks = [misspelled, missingHeader, noOrganization, undeclared, noStatus, exactSpelling, notModified];
