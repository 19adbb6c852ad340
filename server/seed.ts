import type { Logger } from "pino";
import { createServices, type AppDeps } from "./app.ts";
import { newId } from "./ids.ts";

/** The demo account the start command creates on an empty database. */
export const DEMO = {
  email: "demo@example.com",
  password: "demo-password",
  name: "Demo User",
  organization: "Demo Organization",
  workspace: "Default",
} as const;

/**
 * On a database with no users, creates the demo user, their organization (with its root team) and
 * a workspace, through the same services the API uses, and says how to sign in. Does nothing
 * otherwise, so restarts keep what people changed.
 */
export async function seedDemoData(deps: AppDeps, logger: Logger): Promise<boolean> {
  const anyUser = await deps.db.selectFrom("users").select("id").limit(1).executeTakeFirst();
  if (anyUser) return false;
  const services = createServices({ now: () => new Date(), publicUrl: "http://localhost:3000", ...deps });
  const actor = { userId: null, ip: null, userAgent: "seed", requestId: `seed-${newId()}` };
  const session = await services.auth.register({ email: DEMO.email, password: DEMO.password, name: DEMO.name, locale: "en-US" }, actor);
  const userActor = { ...actor, userId: session.user.id };
  const organization = await services.tenancy.organizations.createOrganization(session.user.id, DEMO.organization, userActor);
  const scope = {
    userId: session.user.id,
    organizationId: organization.id,
    teamId: organization.rootTeamId,
    workspaceId: null,
    rootRole: "owner" as const,
    role: "owner" as const,
  };
  const workspace = await services.tenancy.workspaces.create(scope, DEMO.workspace, userActor);
  logger.info(
    { email: DEMO.email, organizationId: organization.id, workspaceId: workspace.id },
    `demo data created: sign in with POST /api/v1/auth/login {"email":"${DEMO.email}","password":"${DEMO.password}"}`,
  );
  return true;
}
