import type { AnyNodeDefinition } from "../define-node.ts";
import { answerNode } from "./answer.ts";
import { codeNode } from "./code.ts";
import { endNode } from "./end.ts";
import { httpRequestNode } from "./http-request.ts";
import { ifElseNode } from "./if-else.ts";
import { iterationNode } from "./iteration.ts";
import { startNode } from "./start.ts";
import { templateNode } from "./template.ts";
import { variableAggregatorNode } from "./variable-aggregator.ts";

/** The node types every workflow can use; modules add theirs next to these in `createRegistry`. */
export const builtinNodes: readonly AnyNodeDefinition[] = Object.freeze([
  startNode,
  endNode,
  answerNode,
  ifElseNode,
  templateNode,
  codeNode,
  httpRequestNode,
  variableAggregatorNode,
  iterationNode,
]);

export { answerNode, codeNode, endNode, httpRequestNode, ifElseNode, iterationNode, startNode, templateNode, variableAggregatorNode };
export type { HttpPolicy } from "./http-client.ts";
export type { HostResolver, ResolvedAddress } from "../../net/public-address.ts";
export { isNonPublicAddress } from "../../net/public-address.ts";
