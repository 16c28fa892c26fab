/** `mcp-mt admin`: a live terminal UI over the running server's admin API (ink). */
import { Box, Text, useApp, useInput } from "ink";
import { useCallback, useEffect, useState } from "react";
import type { AdminClient } from "../client.ts";
import { loadDetail, loadOverview, type LiveTenant, type Status, type TenantDetail } from "./data.ts";
import { Dashboard, Detail, Help, sortKeys, sortTenants, TenantsTable, type SortKey } from "./screens.tsx";

type Screen = "dashboard" | "tenants" | "detail";
type Prompt = { label: string; value: string; submit(value: string): Promise<string | void> };
type Confirm = { message: string; run(): Promise<string | void> };

export function AdminApp({ client, refreshMs = 1000 }: { client: AdminClient; refreshMs?: number }) {
  const { exit } = useApp();
  const [screen, setScreen] = useState<Screen>("dashboard");
  const [status, setStatus] = useState<Status | null>(null);
  const [tenants, setTenants] = useState<LiveTenant[]>([]);
  const [detail, setDetail] = useState<TenantDetail | null>(null);
  const [selected, setSelected] = useState(0);
  const [selectedKey, setSelectedKey] = useState(0);
  const [sort, setSort] = useState<SortKey>("id");
  const [filter, setFilter] = useState("");
  const [help, setHelp] = useState(false);
  const [prompt, setPrompt] = useState<Prompt | null>(null);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const shown = sortTenants(tenants, sort, filter);
  const current = shown[Math.min(selected, shown.length - 1)];

  const refresh = useCallback(async () => {
    try {
      const overview = await loadOverview(client);
      setStatus(overview.status);
      setTenants(overview.tenants);
      if (screen === "detail" && detail) setDetail(await loadDetail(client, detail.id));
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [client, screen, detail]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), refreshMs);
    return () => clearInterval(timer);
  }, [refresh, refreshMs]);

  const act = async (work: () => Promise<string | void>) => {
    try {
      const message = await work();
      if (message) setNotice(message);
      await refresh();
    } catch (e) {
      setNotice(`Failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  useInput((input, key) => {
    if (notice) return setNotice(null);
    if (prompt) {
      if (key.escape) return setPrompt(null);
      if (key.return) {
        const { submit, value } = prompt;
        setPrompt(null);
        return void act(() => submit(value.trim()));
      }
      if (key.backspace || key.delete) return setPrompt({ ...prompt, value: prompt.value.slice(0, -1) });
      if (input && !key.ctrl && !key.meta) setPrompt({ ...prompt, value: prompt.value + input });
      return;
    }
    if (confirm) {
      const pending = confirm;
      setConfirm(null);
      if (input === "y") void act(() => pending.run());
      return;
    }
    if (help) return setHelp(false);
    if (input === "q") return exit();
    if (input === "?") return setHelp(true);
    if (input === "1" || input === "d") return setScreen("dashboard");
    if (input === "2" || input === "t") return setScreen("tenants");
    if (key.escape && screen === "detail") return setScreen("tenants");
    if (key.upArrow) return screen === "detail" ? setSelectedKey((k) => Math.max(0, k - 1)) : setSelected((s) => Math.max(0, s - 1));
    if (key.downArrow) return screen === "detail" ? setSelectedKey((k) => Math.min((detail?.api_keys.length ?? 1) - 1, k + 1)) : setSelected((s) => Math.min(shown.length - 1, s + 1));
    if (input === "s") return setSort((s) => sortKeys[(sortKeys.indexOf(s) + 1) % sortKeys.length]!);
    if (input === "/") return setPrompt({ label: "Filter tenants", value: filter, submit: async (v) => void setFilter(v) });
    if (input === "b") return setConfirm({ message: "Run a backup of every tenant now?", run: async () => `Backup written to ${(await client.call<{ dir: string }>("POST", "/v1/backups", {})).dir}` });
    if (input === "a") {
      return setPrompt({
        label: "New tenant id",
        value: "",
        submit: async (id) => {
          const created = await client.call<{ tenant: { id: string; plan: string }; key: { api_key: string } }>("POST", "/v1/tenants", { id });
          return `Created ${created.tenant.id} (plan ${created.tenant.plan}). API key, shown once:\n${created.key.api_key}`;
        },
      });
    }
    if (key.return && current && screen !== "detail") {
      setSelectedKey(0);
      return void act(async () => {
        setDetail(await loadDetail(client, current.id));
        setScreen("detail");
      });
    }
    const target = screen === "detail" ? detail : current;
    if (!target) return;
    if (input === "S") {
      const suspend = target.status === "active";
      return setConfirm({
        message: `${suspend ? "Suspend" : "Resume"} tenant ${target.id}? (y/n)`,
        run: async () => {
          await client.call("POST", `/v1/tenants/${target.id}/${suspend ? "suspend" : "resume"}`);
          return `Tenant ${target.id} ${suspend ? "suspended" : "resumed"}.`;
        },
      });
    }
    if (input === "p") {
      return setPrompt({ label: `New plan for ${target.id} (free, pro, enterprise, …)`, value: "", submit: async (plan) => void (await client.call("POST", `/v1/tenants/${target.id}/plan`, { plan })) });
    }
    if (input === "k") {
      return setConfirm({
        message: `Create a new API key for ${target.id}? (y/n)`,
        run: async () => `New key for ${target.id}, shown once:\n${(await client.call<{ api_key: string }>("POST", `/v1/tenants/${target.id}/keys`, { label: "tui" })).api_key}`,
      });
    }
    if (screen === "detail" && detail && input === "o") {
      const apps = (detail.oauth_grants ?? []).slice(0, 3);
      if (apps.length === 0) return setNotice(`${detail.id} has no connected apps.`);
      return setPrompt({
        label: `Revoke which connected app (1-${apps.length})`,
        value: "",
        submit: async (n) => {
          const grant = apps[Number(n) - 1];
          if (!grant) return `No connected app number ${JSON.stringify(n)}.`;
          await client.call("POST", `/v1/grants/${grant.id}/revoke`);
          return `Revoked ${grant.client_name} (${grant.id}); its tokens are refused within a second.`;
        },
      });
    }
    const keyRow = screen === "detail" ? detail?.api_keys[selectedKey] : undefined;
    if (keyRow && input === "x") {
      return setConfirm({ message: `Revoke key ${keyRow.id} now? (y/n)`, run: async () => void (await client.call("POST", `/v1/keys/${keyRow.id}/revoke`)) });
    }
    if (keyRow && input === "r") {
      return setConfirm({
        message: `Rotate key ${keyRow.id} (old one valid 24h)? (y/n)`,
        run: async () => `Replacement key, shown once:\n${(await client.call<{ created: { api_key: string } }>("POST", `/v1/keys/${keyRow.id}/rotate`, { grace_ms: 86_400_000 })).created.api_key}`,
      });
    }
  });

  return (
    <Box flexDirection="column" width={80}>
      <Text>
        <Text bold color="cyan">mcp-mt admin</Text>
        {"  "}
        {(["dashboard", "tenants", "detail"] as Screen[]).map((s) => (
          <Text key={s} inverse={s === screen}>{` ${s} `}</Text>
        ))}
        <Text dimColor>  ? help  q quit</Text>
      </Text>
      {error ? <Text color="red">{`admin API: ${error}`}</Text> : null}
      <Box marginTop={1} flexDirection="column">
        {help ? (
          <Help />
        ) : !status ? (
          <Text>connecting…</Text>
        ) : screen === "dashboard" ? (
          <Dashboard status={status} tenants={tenants} />
        ) : screen === "tenants" ? (
          <TenantsTable tenants={shown} selected={Math.min(selected, Math.max(0, shown.length - 1))} sort={sort} filter={filter} />
        ) : detail ? (
          <Detail tenant={detail} selectedKey={selectedKey} />
        ) : null}
      </Box>
      {prompt ? <Text color="cyan">{`${prompt.label}: ${prompt.value}▌`}</Text> : null}
      {confirm ? <Text color="yellow">{confirm.message}</Text> : null}
      {notice ? (
        <Box borderStyle="round" flexDirection="column" paddingX={1}>
          <Text>{notice}</Text>
          <Text dimColor>press any key</Text>
        </Box>
      ) : null}
    </Box>
  );
}
