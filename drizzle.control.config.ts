import { defineConfig } from "drizzle-kit";
export default defineConfig({ dialect: "sqlite", schema: "./src/store/control/schema.ts", out: "./drizzle/control" });
