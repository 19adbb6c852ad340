import type { UsageMeter } from "./meter.ts";

/** What an LLM call reports having used. */
export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * Meters one LLM call that answers one message. Before the model is called, the tokens it may use
 * (`maxTokens`: the prompt and the completion limit) and one message are checked against the quotas
 * without being recorded, so a request that cannot fit fails with 429 before any cost is incurred.
 * After the call, its actual tokens and the message are recorded — even past the limit, since they
 * were spent (concurrent calls can overshoot by what they use together; the next check then fails).
 * `idempotencyKey` names the call: a retried recording counts once.
 *
 * @example
 * const answer = await meterLlmCall({ organizationId, workspaceId, idempotencyKey: `msg:${messageId}`, maxTokens: 4096 },
 *   async () => { const r = await model.chat(prompt); return { result: r.text, usage: r.usage }; });
 */
export function createLlmMetering(meter: UsageMeter) {
  return async function meterLlmCall<R>(
    call: { organizationId: string; workspaceId?: string | null; idempotencyKey: string; maxTokens: number },
    run: () => Promise<{ result: R; usage: LlmUsage }>,
  ): Promise<R> {
    await meter.assertFits(call.organizationId, { token: call.maxTokens, message: 1 });
    const { result, usage } = await run();
    const tokens = usage.promptTokens + usage.completionTokens;
    const workspaceId = call.workspaceId ?? null;
    await meter.record(
      call.organizationId,
      [
        ...(tokens > 0
          ? [
              {
                idempotencyKey: `${call.idempotencyKey}:tokens`,
                resourceType: "token" as const,
                quantity: tokens,
                workspaceId,
                metadata: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens },
              },
            ]
          : []),
        { idempotencyKey: `${call.idempotencyKey}:message`, resourceType: "message" as const, quantity: 1, workspaceId },
      ],
      { enforce: false },
    );
    return result;
  };
}

export type MeterLlmCall = ReturnType<typeof createLlmMetering>;
