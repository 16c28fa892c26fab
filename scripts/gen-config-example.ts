/** Codegen: writes config.example.toml from the config schema (a test checks they match). */
import { join } from "node:path";
import { renderExample } from "../src/config/example.ts";

await Bun.write(join(import.meta.dir, "..", "config.example.toml"), renderExample());
