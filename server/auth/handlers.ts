import type { AuthHandlers } from "../../generated/handlers.ts";
import { actorOf, userOf, type RequestContext } from "../http/context.ts";
import type { AuthService } from "./service.ts";

/** The `Auth` interface of the spec: accounts and sessions. */
export function createAuthHandlers(auth: AuthService): AuthHandlers<RequestContext> {
  return {
    async register({ body }, ctx) {
      return { status: 201, data: await auth.register(body, actorOf(ctx)) };
    },

    async login({ body }, ctx) {
      return { status: 200, data: await auth.login(body, actorOf(ctx)) };
    },

    async refreshSession({ body }) {
      return { status: 200, data: await auth.refresh(body.refreshToken) };
    },

    async logout({ body }, ctx) {
      const sessionsEnded = await auth.logout(userOf(ctx), body.allSessions ?? false, actorOf(ctx));
      return { status: 200, data: { sessionsEnded } };
    },

    async getMe(_input, ctx) {
      return { status: 200, data: await auth.me(userOf(ctx).userId) };
    },

    async requestPasswordReset({ body }, ctx) {
      await auth.requestPasswordReset(body.email, actorOf(ctx));
      return { status: 200, data: { accepted: true } };
    },

    async confirmPasswordReset({ body }, ctx) {
      return { status: 200, data: await auth.confirmPasswordReset(body.token, body.newPassword, actorOf(ctx)) };
    },
  };
}
