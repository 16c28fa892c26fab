/** drizzle-kit entry of the per-tenant set (drizzle/pg-tenant): one tenant's tables, in its schema or database. */
export { tenantDocuments, tenantDocumentTags, tenantStats } from "./tables.ts";
