import { defineConfig } from "drizzle-kit";
export default defineConfig({ dialect: "postgresql", schema: "./src/store/control/schema.pg.ts", out: "./drizzle/pg-control" });
