import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available) console.warn(`skipping the /docs browser check: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.runIf(available)("the API reference page", () => {
  let api: TestApp;
  let server: ServerType;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    api = await createTestApp();
    server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await api?.close();
  });

  it("renders the plan operations from the served document, with no network beyond the server", async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(base)) foreign.push(request.url());
    });
    await page.goto(`${base}/docs`);
    await page.getByText("listPlans", { exact: true }).waitFor({ timeout: 20_000 });
    const text = await page.locator("#reference").innerText();
    expect(text).toContain("LLM Platform API");
    expect(text).toContain("/api/v1/billing/plans/{planId}");
    expect(text).toContain("getPlan");
    expect(foreign).toEqual([]);
  });
});
