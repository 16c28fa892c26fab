import { describe, expect, test } from "bun:test";
import { AppError, errorTable, rpcErrorCodes, wireError, type ErrorCode } from "../src/errors.ts";
import { deniedError } from "../src/limits/gate.ts";

describe("the one error table", () => {
  // [code, HTTP status, JSON-RPC code, Retry-After]
  const rows: [ErrorCode, number, number, string | undefined][] = [
    ["invalid_input", 400, -32602, undefined],
    ["invalid_tenant_id", 400, -32602, undefined],
    ["not_found", 404, -32002, undefined],
    ["conflict", 409, -32009, undefined],
    ["already_exists", 409, -32009, undefined],
    ["unauthorized", 401, -32001, undefined],
    ["forbidden", 403, -32003, undefined],
    ["tenant_suspended", 403, -32003, undefined],
    ["payload_too_large", 413, -32000, undefined],
    ["rate_limited", 429, -32010, undefined],
    ["quota_exceeded", 429, -32010, undefined],
    ["timeout", 504, -32004, undefined],
    ["unavailable", 503, -32005, "1"],
    ["storage_full", 507, -32006, undefined],
    ["storage_damaged", 503, -32007, undefined],
    ["internal", 500, -32603, undefined],
    ["config_invalid", 500, -32603, undefined],
  ];
  test.each(rows)("%s → HTTP %d, JSON-RPC %d", (code, status, rpc, retryAfter) => {
    const wire = wireError(new AppError(code, "what happened"));
    expect(wire.status).toBe(status);
    expect(wire.error).toEqual({ code: rpc, message: "what happened" });
    expect(wire.headers["retry-after"]).toBe(retryAfter);
  });

  test("every code is in the table, and no code falls in the ranges JSON-RPC or MCP 2026-07-28 reserve for themselves", () => {
    expect(rows.map((r) => r[0]).sort()).toEqual(Object.keys(errorTable).sort() as ErrorCode[]);
    const specCodes = new Set<number>([rpcErrorCodes.parseError, rpcErrorCodes.invalidRequest, rpcErrorCodes.invalidParams, rpcErrorCodes.internalError]);
    for (const { rpc } of Object.values(errorTable)) {
      expect(rpc >= -32099 && rpc <= -32020).toBe(false);
      if (rpc < -32099) expect(specCodes.has(rpc)).toBe(true);
    }
  });

  test("anything that is not an AppError is a 500 whose message never leaves the process", () => {
    const wire = wireError(new Error("SQLITE_CORRUPT at /srv/data/tenants/acme.db"), "req-1");
    expect(wire).toEqual({ status: 500, headers: {}, error: { code: -32603, message: "Internal error (request req-1)" } });
  });

  test("details are sent, except a suspended tenant's plan (kept for charging the refusal)", () => {
    expect(wireError(new AppError("invalid_input", "bad", { details: { field: "title" } })).error.data).toEqual({ field: "title" });
    expect(wireError(new AppError("tenant_suspended", "suspended", { details: { tenant: { id: "a" } } })).error.data).toBeUndefined();
  });

  test("admission refusals become AppErrors keeping their code, headers and data", () => {
    const rate = deniedError({ ok: false, status: 429, code: -32010, message: "Rate limit exceeded", data: { budget: "rate_limit_per_minute" }, headers: { "retry-after": "7" } });
    expect([rate.code, rate.status, rate.rpcCode, rate.headers["retry-after"]]).toEqual(["rate_limited", 429, -32010, "7"]);
    const quota = deniedError({ ok: false, status: 429, code: -31999, message: "quota", data: { quota: "monthly_tool_calls" }, headers: {} });
    expect([quota.code, quota.rpcCode]).toEqual(["quota_exceeded", -31999]);
    const limiter = deniedError({ ok: false, status: 503, code: -32010, message: "Rate limiter unavailable", data: {}, headers: { "retry-after": "1" } });
    expect([limiter.code, limiter.status, limiter.rpcCode]).toEqual(["unavailable", 503, -32005]);
  });
});
