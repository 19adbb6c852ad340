import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { expect, inject } from "vitest";
import type { OperationId } from "../generated/handler-types.ts";
import type { operations } from "../generated/api-types.ts";
import { routes } from "../generated/routes.ts";
import { createApp, type AppDeps } from "../server/app.ts";
import { createOutboxMailer, type Mail } from "../server/auth/mailer.ts";
import { fromPGlite, openPGlite, openPostgres, type DatabaseHandle } from "../server/db/database.ts";
import { loadContract } from "../server/http/openapi-document.ts";
import { createResponseValidator } from "../server/http/response-validation.ts";

/** The signing key of test apps. */
export const TEST_AUTH_SECRET = "test-secret-test-secret-test-secret-0123456789";

/** A clock tests move: starts at the real time, then only moves when told. */
export function createClock(start = new Date()) {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(ms: number) {
      current += ms;
    },
    set(date: Date) {
      current = date.getTime();
    },
  };
}

/** A response as tests see it: status, headers and the parsed JSON body. */
export interface TestResponse<B = unknown> {
  status: number;
  headers: Headers;
  body: B;
}

type ResponseBody<K extends OperationId> = {
  [S in keyof operations[K]["responses"]]: operations[K]["responses"][S] extends { content: { "application/json": infer B } } ? B : never;
}[keyof operations[K]["responses"]];

/** Loose input for calls by operationId: tests also send what the contract forbids. */
export interface CallInput {
  path?: Record<string, string>;
  query?: Record<string, string | number | boolean>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The real database for one test file: PGlite loaded from the run's migrated template, or the native server. */
export async function openTestDatabase(): Promise<DatabaseHandle> {
  const target = inject("testDatabase");
  if (target.kind === "postgres") return openPostgres(target.url, 10);
  return fromPGlite(await openPGlite({ loadDataDir: new Blob([readFileSync(target.template)]) }));
}

/** Whether this test project runs on PGlite (which has pgvector) rather than the native server. */
export const onPGlite = () => inject("testDatabase").kind === "pglite";

const validateResponse = createResponseValidator(loadContract().document, routes);

/**
 * Calls into `app` through `app.request()`, by operationId or by method and path, and checks every
 * response against the contract for its operation and status; a violation fails the calling test.
 */
export function contractClient(app: { request: (url: string, init: RequestInit) => Response | Promise<Response> }) {
  async function fetchChecked(method: string, url: string, init: { body?: string; headers?: Record<string, string> } = {}) {
    const res = await app.request(url, { method, ...init });
    const text = await res.text();
    const isJson = res.headers.get("content-type")?.includes("application/json") ?? false;
    const body: unknown = isJson && text ? JSON.parse(text) : text;
    const pathname = new URL(url, "http://test").pathname;
    // Operations live under /api and /v1; the documentation routes are not operations.
    const checked = /^\/(api|v1)\//.test(pathname) || res.status >= 400;
    const violation = checked ? validateResponse(method, pathname, res.status, body) : null;
    if (violation) {
      throw new Error(
        `response breaks the contract (${method} ${pathname} → ${res.status}):\n  ${violation.problems.join("\n  ")}\n${text}`,
      );
    }
    return { status: res.status, headers: res.headers, body };
  }

  return {
    /** Calls an operation by its operationId; the body type is the union of the operation's documented responses. */
    async call<K extends OperationId>(operationId: K, input: CallInput = {}): Promise<TestResponse<ResponseBody<K>>> {
      const route = routes.find((r) => r.operationId === operationId);
      if (!route) throw new Error(`no operation ${operationId}`);
      const path = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(input.path?.[name] ?? ""));
      const query = new URLSearchParams(Object.entries(input.query ?? {}).map(([k, v]) => [k, String(v)]));
      const url = query.size ? `${path}?${query}` : path;
      const body = input.body === undefined ? undefined : typeof input.body === "string" ? input.body : JSON.stringify(input.body);
      const headers = { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...input.headers };
      return (await fetchChecked(route.method.toUpperCase(), url, { ...(body !== undefined ? { body } : {}), headers })) as TestResponse<
        ResponseBody<K>
      >;
    },

    /** Any method and path, checked against the contract the same way. */
    raw: (method: string, url: string, init?: { body?: string; headers?: Record<string, string> }) => fetchChecked(method, url, init),
  };
}

/**
 * The real app over a real database, called through `app.request()`. Every response is checked
 * against the contract for its operation and status; a violation fails the test that made the call.
 * `options.webhooks` lets webhooks point at 127.0.0.1, where tests run their endpoints.
 */
export async function createTestApp(options: Pick<AppDeps, "webhooks"> = {}) {
  const database = await openTestDatabase();
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: "info" }, sink);
  const outboxDir = mkdtempSync(join(tmpdir(), "outbox-"));
  const clock = createClock();
  const app = createApp({
    db: database.db,
    logger,
    authSecret: TEST_AUTH_SECRET,
    mailer: createOutboxMailer(outboxDir, logger),
    now: clock.now,
    notifications: database,
    ...options,
  });
  const client = contractClient(app);

  return {
    app,
    db: database.db,
    database,
    logLines,
    clock,

    /** Mail the app sent, oldest first. */
    outbox: (): Mail[] =>
      readdirSync(outboxDir)
        .sort()
        .map((f) => JSON.parse(readFileSync(join(outboxDir, f), "utf8")) as Mail),

    /**
     * A second server over the same database and clock, as another instance behind a load balancer:
     * its own caches and registry of running runs, silent logs. Called with `app.request()`.
     * `notifications: false` leaves it deaf to the database's notifications; `lookupClock` is the
     * clock of the grants it keeps from request lookups (default: real time).
     */
    anotherServer(options: { notifications?: boolean; lookupClock?: () => number } = {}) {
      const silent = pino({ level: "silent" });
      return createApp({
        db: database.db,
        logger: silent,
        authSecret: TEST_AUTH_SECRET,
        mailer: createOutboxMailer(mkdtempSync(join(tmpdir(), "outbox-")), silent),
        now: clock.now,
        ...(options.notifications === false ? {} : { notifications: database }),
        ...(options.lookupClock ? { lookupClock: options.lookupClock } : {}),
      });
    },

    ...client,

    close: () => database.close(),
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** Matches any request id the server generated. */
export const anyRequestId = expect.stringMatching(/^[0-9a-f-]{36}$/);
