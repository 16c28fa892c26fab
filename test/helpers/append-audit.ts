/** Child process for the audit chain test: appends `count` entries to the control plane in `dir`, as `actor`. */
import { AuditLog } from "../../src/audit/audit-log.ts";
import { openControl } from "../../src/store/control/db.ts";

const [dir, actor, count] = process.argv.slice(2) as [string, string, string];
const control = await openControl(dir, { synchronous: "NORMAL", busyTimeoutMs: 10_000 });
const audit = new AuditLog({ control, clock: Date.now });
// Half one by one (each its own transaction), half in small batches, all in flight together.
const n = Number(count);
await Promise.all([
  ...Array.from({ length: n / 2 }, (_, i) => audit.append({ actor, action: "test.append", target: String(i) })),
  ...Array.from({ length: n / 10 }, (_, i) => audit.appendMany(Array.from({ length: 5 }, (_, j) => ({ actor, action: "test.batch", target: `${i}.${j}` })))),
]);
control.client.close();
