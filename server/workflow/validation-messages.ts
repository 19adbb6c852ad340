import { GraphValidationError, type GraphValidationDetails, type LocalizedMessage } from "./errors.ts";

/** Builders for each validation failure, so the two languages are written side by side. */
export const invalidGraph = {
  duplicateNodeId: (nodeId: string) =>
    fail("DUPLICATE_NODE_ID", nodeId, {
      "en-US": `Node id "${nodeId}" is used more than once.`,
      "zh-CN": `节点 ID “${nodeId}” 被重复使用。`,
    }),

  unknownNodeType: (nodeId: string, type: string, version: number, known: number[]) =>
    fail("UNKNOWN_NODE_TYPE", nodeId, {
      "en-US":
        known.length > 0
          ? `Node "${nodeId}" uses version ${version} of "${type}", which has versions ${known.join(", ")}.`
          : `Node "${nodeId}" has the unknown type "${type}".`,
      "zh-CN":
        known.length > 0
          ? `节点 “${nodeId}” 使用了 “${type}” 的版本 ${version}，可用版本为 ${known.join("、")}。`
          : `节点 “${nodeId}” 的类型 “${type}” 不存在。`,
    }),

  invalidConfig: (nodeId: string, problems: { field: string; message: string }[]) => {
    const list = problems.map((problem) => `${problem.field || "/"} ${problem.message}`).join("; ");
    return fail(
      "INVALID_NODE_CONFIG",
      nodeId,
      {
        "en-US": `Node "${nodeId}" has an invalid config: ${list}.`,
        "zh-CN": `节点 “${nodeId}” 的配置无效：${list}。`,
      },
      { fields: problems.map((problem) => problem.field) },
    );
  },

  danglingConnection: (nodeId: string, connectionId: string | undefined, reason: { en: string; zh: string }) =>
    fail(
      "DANGLING_CONNECTION",
      nodeId,
      {
        "en-US": `Connection ${connectionId ? `"${connectionId}" ` : ""}is dangling: ${reason.en}.`,
        "zh-CN": `连接${connectionId ? ` “${connectionId}” ` : ""}无效：${reason.zh}。`,
      },
      connectionId ? { connectionId } : {},
    ),

  cycle: (nodeId: string) =>
    fail("GRAPH_CYCLE", nodeId, {
      "en-US": `Node "${nodeId}" is part of a cycle; use an iteration node to repeat steps.`,
      "zh-CN": `节点 “${nodeId}” 处于环路中；如需重复执行请使用迭代节点。`,
    }),

  unreachable: (nodeId: string) =>
    fail("UNREACHABLE_NODE", nodeId, {
      "en-US": `Node "${nodeId}" cannot be reached from the start node.`,
      "zh-CN": `节点 “${nodeId}” 无法从开始节点到达。`,
    }),

  variableNotUpstream: (nodeId: string, reference: string) =>
    fail(
      "VARIABLE_NOT_UPSTREAM",
      nodeId,
      {
        "en-US": `Node "${nodeId}" refers to ${reference}, which is not produced by a node upstream of it.`,
        "zh-CN": `节点 “${nodeId}” 引用了 ${reference}，但它不是由上游节点产生的。`,
      },
      { reference },
    ),

  missingStartNode: () =>
    fail("MISSING_START_NODE", null, {
      "en-US": "The graph has no start node.",
      "zh-CN": "图中缺少开始节点。",
    }),

  multipleStartNodes: (nodeId: string) =>
    fail("MULTIPLE_START_NODES", nodeId, {
      "en-US": `Node "${nodeId}" is a second start node; a graph has exactly one.`,
      "zh-CN": `节点 “${nodeId}” 是第二个开始节点；一个图只能有一个开始节点。`,
    }),
};

function fail(
  code: GraphValidationError["code"],
  nodeId: string | null,
  messages: LocalizedMessage,
  details?: GraphValidationDetails,
): GraphValidationError {
  return new GraphValidationError(code, nodeId, messages, details);
}
