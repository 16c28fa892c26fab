/** Compile entry: runs the CLI, nothing else. */
import { runCli } from "./cli/run.ts";

// Databases, the pepper and backups hold tenants' data: nobody but the service user may read them.
process.umask(0o077);
process.exitCode = await runCli(process.argv.slice(2));
