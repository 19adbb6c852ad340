import { defineConfig } from "vitest/config";

/**
 * Every suite runs on PGlite (in-process Postgres with pgvector). With `TEST_DATABASE_URL` set, the
 * suites that use a database run a second time against that native Postgres server (where
 * concurrency is real).
 */
// `*.native.test.ts` files race real concurrent sessions: they run only against the native server.
const projects: { extends: true; test: { name: string; include?: string[]; exclude?: string[] } }[] = [
  { extends: true, test: { name: "pglite", exclude: ["**/*.native.test.ts", "**/node_modules/**"] } },
];
if (process.env.TEST_DATABASE_URL) {
  // Suites that touch no database (the workflow engine, the browser check of /docs) run once, on the first project.
  projects.push({ extends: true, test: { name: "postgres", exclude: ["test/workflow/**", "test/browser/**", "**/node_modules/**"] } });
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/totals-reporter.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: more workers only make PGlite (which runs on the worker's thread) wait.
    maxWorkers: 2,
    projects,
  },
});
