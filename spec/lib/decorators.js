// Decorators of our own spec library. Each one only records data that the OpenAPI emitter already
// understands (operation ids, `x-` extensions), so the compiled document stays plain OpenAPI 3.1.
import { setExtension, setOperationId } from "@typespec/openapi";

/** Gives every operation of an interface its own name as operationId (`listPlans`, not `Plans_listPlans`). */
function plainOperationIds(context, target) {
  for (const op of target.operations.values()) {
    setOperationId(context.program, op, op.name);
  }
}

/** Marks an operation as metered by `metric`: the server checks and records that metric before the handler runs. */
function metered(context, target, metric) {
  setExtension(context.program, target, "x-metered", metric);
}

/** Names the scope an organization API key needs for an operation: the server checks it before anything else runs. */
function apiKeyScope(context, target, scope) {
  setExtension(context.program, target, "x-api-key-scope", scope);
}

/** Implementations of the `extern dec` declarations in main.tsp, by namespace. */
export const $decorators = {
  "Platform.Lib": { plainOperationIds, metered, apiKeyScope },
};
