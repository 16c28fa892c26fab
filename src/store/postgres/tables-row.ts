/** drizzle-kit entry of the row-level set (drizzle/pg-row): the shared tables in `public`. */
export { rowDocuments, rowDocumentTags, rowTenantStats } from "./tables.ts";
