import { defineConfig } from "drizzle-kit";
export default defineConfig({ dialect: "postgresql", schema: "./src/store/postgres/tables-row.ts", out: "./drizzle/pg-row" });
