import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { TestApp } from "./harness.ts";

/** A signed-up user with a live session. */
export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  headers: { authorization: string };
}

/** A unique email for a test. */
export const uniqueEmail = (prefix = "user") => `${prefix}-${randomUUID()}@example.com`;

/** Registers a new account through the API. */
export async function signUp(api: TestApp, options: { email?: string; name?: string; password?: string } = {}): Promise<TestUser> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? "correct horse battery";
  const res = await api.call("register", { body: { email, password, name: options.name ?? "Test User" } });
  expect(res.status).toBe(201);
  const data = (res.body as { data: { accessToken: string; refreshToken: string; user: { id: string } } }).data;
  return {
    id: data.user.id,
    email,
    password,
    accessToken: data.accessToken,
    refreshToken: data.refreshToken,
    headers: { authorization: `Bearer ${data.accessToken}` },
  };
}

/** An organization created through the API, with its root team and one workspace. */
export interface TestTenant {
  owner: TestUser;
  organizationId: string;
  rootTeamId: string;
  workspaceId: string;
}

export async function createTenant(api: TestApp, owner?: TestUser): Promise<TestTenant> {
  const user = owner ?? (await signUp(api, { name: "Owner" }));
  const org = await api.call("createOrganization", { body: { name: `Org ${randomUUID().slice(0, 8)}` }, headers: user.headers });
  expect(org.status).toBe(201);
  const { id: organizationId, rootTeamId } = (org.body as { data: { id: string; rootTeamId: string } }).data;
  const ws = await api.call("createWorkspace", { path: { teamId: rootTeamId }, body: { name: "Main" }, headers: user.headers });
  expect(ws.status).toBe(201);
  return { owner: user, organizationId, rootTeamId, workspaceId: (ws.body as { data: { id: string } }).data.id };
}

/** Invites `email` to `teamId` with `role` and returns the mailed token. */
export async function inviteAndGetToken(api: TestApp, inviter: TestUser, teamId: string, email: string, role: string): Promise<string> {
  const res = await api.call("createInvitation", { path: { teamId }, body: { email, role }, headers: inviter.headers });
  expect(res.status).toBe(201);
  const mail = api
    .outbox()
    .filter((m) => m.to === email && m.kind === "invitation")
    .at(-1);
  const token = /Invitation token: (\S+)/.exec(mail?.text ?? "")?.[1];
  if (!token) throw new Error(`no invitation mail for ${email}`);
  return token;
}

/** Adds a new user to `teamId` with `role` through an invitation. */
export async function addMember(api: TestApp, inviter: TestUser, teamId: string, role: string): Promise<TestUser> {
  const user = await signUp(api);
  const token = await inviteAndGetToken(api, inviter, teamId, user.email, role);
  const res = await api.call("acceptInvitation", { body: { token }, headers: user.headers });
  expect(res.status).toBe(200);
  return user;
}

/** The `data` of an envelope. */
export const dataOf = <T = Record<string, unknown>>(res: { body: unknown }) => (res.body as { data: T }).data;

/** Fresh auth headers for `user` (after the test clock moved past its access token's life). */
export async function relogin(api: TestApp, user: TestUser): Promise<{ authorization: string }> {
  const res = await api.call("login", { body: { email: user.email, password: user.password } });
  expect(res.status).toBe(200);
  return { authorization: `Bearer ${(res.body as { data: { accessToken: string } }).data.accessToken}` };
}
