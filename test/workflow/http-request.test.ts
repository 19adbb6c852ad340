import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpPolicy } from "../../server/workflow/index.ts";
import { edge, graph, node, resultOf, run, start } from "./support.ts";

const allowLoopback: HttpPolicy = { allowPrivateNetwork: true };

let server: Server;
let base: string;
/** Whether the client closed the connection before the endless body was finished. */
let endlessClosedEarly: Promise<boolean>;

function handle(request: IncomingMessage, response: ServerResponse) {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname === "/slow") {
    setTimeout(() => response.end("slow done"), 200);
  } else if (url.pathname === "/echo") {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      response.setHeader("x-seen", "yes");
      response.end(
        JSON.stringify({
          method: request.method,
          query: Object.fromEntries(url.searchParams),
          type: request.headers["content-type"] ?? null,
          auth: request.headers["authorization"] ?? null,
          body,
        }),
      );
    });
  } else if (url.pathname === "/endless") {
    endlessClosedEarly = new Promise((resolve) => response.on("close", () => resolve(!response.writableFinished)));
    const timer = setInterval(() => response.write("x".repeat(16_384)), 1);
    response.on("close", () => clearInterval(timer));
  } else if (url.pathname === "/hang") {
    // Never answers.
  } else if (url.pathname === "/redirect") {
    response.writeHead(302, { location: "/echo?from=redirect" }).end();
  } else {
    response.writeHead(404).end("missing");
  }
}

beforeAll(async () => {
  server = createServer(handle);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
});

const request = (id: string, config: Record<string, unknown>) => node(id, "http-request", config);

describe("http-request node", () => {
  it("sends the templated request and outputs status, headers and body", async () => {
    const workflow = graph(
      [
        start([
          { name: "q", type: "text-input" },
          { name: "payload", type: "object" },
        ]),
        request("call", {
          method: "POST",
          url: `${base}/echo`,
          params: [{ name: "q", value: "{{#start.q#}}" }],
          headers: [{ name: "Authorization", value: "Bearer secret-{{#start.q#}}" }],
          body: { type: "json", data: "{{#start.payload#}}" },
        }),
      ],
      [edge("start", "call")],
    );
    const result = await run(workflow, { inputs: { q: "cats", payload: { n: 1 } }, services: { http: allowLoopback } });
    const call = resultOf(result, "call");
    expect({
      status: result.status,
      statusCode: call.outputs["status_code"],
      seen: (call.outputs["headers"] as Record<string, string>)["x-seen"],
    }).toEqual({
      status: "succeeded",
      statusCode: 200,
      seen: "yes",
    });
    expect(JSON.parse(call.outputs["body"] as string)).toEqual({
      method: "POST",
      query: { q: "cats" },
      type: "application/json",
      auth: "Bearer secret-cats",
      body: '{"n":1}',
    });
    expect(call.inputs).toEqual({
      method: "POST",
      url: `${base}/echo?q=cats`,
      headers: { authorization: "[redacted]", "content-type": "application/json" },
      body: '{"n":1}',
    });
  });

  it("runs two branches at once: their recorded times overlap", async () => {
    const workflow = graph(
      [start(), request("left", { url: `${base}/slow` }), request("right", { url: `${base}/slow` })],
      [edge("start", "left"), edge("start", "right")],
    );
    const result = await run(workflow, { services: { http: allowLoopback } });
    const left = resultOf(result, "left");
    const right = resultOf(result, "right");
    expect([result.status, left.outputs["body"], right.outputs["body"]]).toEqual(["succeeded", "slow done", "slow done"]);
    expect(left.elapsedMs).toBeGreaterThanOrEqual(195);
    expect(right.elapsedMs).toBeGreaterThanOrEqual(195);
    expect(left.startedAt).toBeLessThan(right.finishedAt);
    expect(right.startedAt).toBeLessThan(left.finishedAt);
    expect(result.elapsedMs).toBeLessThan(390);
  });

  it("refuses loopback, and names that resolve to it, without the policy", async () => {
    const workflow = graph([start(), request("call", { url: `${base}/echo` })], [edge("start", "call")]);
    const result = await run(workflow);
    expect({ status: result.status, error: resultOf(result, "call").error }).toEqual({
      status: "failed",
      error: { type: "PRIVATE_NETWORK_REFUSED", message: "127.0.0.1 is not a public address" },
    });

    const byName = await run(graph([start(), request("call", { url: base.replace("127.0.0.1", "localhost") })], [edge("start", "call")]));
    expect(resultOf(byName, "call").error?.type).toBe("PRIVATE_NETWORK_REFUSED");

    const ipv6 = await run(graph([start(), request("call", { url: "http://[::ffff:127.0.0.1]:1/" })], [edge("start", "call")]));
    expect(resultOf(ipv6, "call").error?.type).toBe("PRIVATE_NETWORK_REFUSED");
  });

  it("checks every address a name resolves to, so one private answer among public ones is refused", async () => {
    const rebinding: HttpPolicy = {
      resolveHost: async () => [
        { address: "93.184.215.14", family: 4 },
        { address: "10.0.0.7", family: 4 },
      ],
    };
    const result = await run(graph([start(), request("call", { url: "http://rebind.example/" })], [edge("start", "call")]), {
      services: { http: rebinding },
    });
    expect(resultOf(result, "call").error).toEqual({
      type: "PRIVATE_NETWORK_REFUSED",
      message: "rebind.example resolves to 10.0.0.7, which is not a public address",
    });
  });

  it("stops reading past the response cap", async () => {
    const workflow = graph([start(), request("call", { url: `${base}/endless`, maxResponseBytes: 100_000 })], [edge("start", "call")]);
    const result = await run(workflow, { services: { http: allowLoopback } });
    expect({ status: result.status, error: resultOf(result, "call").error }).toEqual({
      status: "failed",
      error: { type: "RESPONSE_TOO_LARGE", message: "the response is larger than 100000 bytes" },
    });
    expect(await endlessClosedEarly).toBe(true);

    const policyCap = await run(graph([start(), request("call", { url: `${base}/slow` })], [edge("start", "call")]), {
      services: { http: { ...allowLoopback, maxResponseBytes: 4 } },
    });
    expect(resultOf(policyCap, "call").error?.type).toBe("RESPONSE_TOO_LARGE");
  });

  it("times out, and follows redirects", async () => {
    const hang = await run(graph([start(), request("call", { url: `${base}/hang`, timeoutMs: 100 })], [edge("start", "call")]), {
      services: { http: allowLoopback },
    });
    expect(resultOf(hang, "call").error).toEqual({ type: "TIMEOUT", message: "the request timed out after 100 ms" });

    const redirected = await run(graph([start(), request("call", { url: `${base}/redirect` })], [edge("start", "call")]), {
      services: { http: allowLoopback },
    });
    expect(JSON.parse(resultOf(redirected, "call").outputs["body"] as string)).toMatchObject({
      method: "GET",
      query: { from: "redirect" },
    });
  });
});
