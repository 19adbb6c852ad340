import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { getAbsoluteFSPath } from "swagger-ui-dist";
import type { AppEnv } from "./context.ts";
import type { CompiledContract } from "./openapi-document.ts";

const ASSETS = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
} as const;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#reference",
      deepLinking: true,
      displayOperationId: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    });
  </script>
</body>
</html>`;

/**
 * Serves the compiled contract: `/openapi.yaml` as generated, `/openapi.json` as its JSON form, and
 * `/docs`, an interactive reference (Swagger UI) whose assets come from the installed package, so
 * the page works with no network.
 */
export function mountDocs(app: Hono<AppEnv>, contract: CompiledContract): void {
  const json = JSON.stringify(contract.document);
  const assetDir = getAbsoluteFSPath();
  const assets = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(join(assetDir, name)) }]));

  app.get("/openapi.yaml", (c) => c.body(contract.yaml, 200, { "content-type": "application/yaml; charset=utf-8" }));
  app.get("/openapi.json", (c) => c.body(json, 200, { "content-type": "application/json; charset=utf-8" }));
  app.get("/docs", (c) => c.html(PAGE));
  app.get("/docs/assets/:name", (c) => {
    const asset = assets.get(c.req.param("name"));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "public, max-age=3600" });
  });
}
