import { defineConfig } from "drizzle-kit";
export default defineConfig({ dialect: "sqlite", schema: "./src/store/tenant/schema.ts", out: "./drizzle/tenant" });
