import { checkNode, handlesOf, type CheckedNode } from "./compile-node.ts";
import { prepareConfigResolver, type ConfigResolver } from "./config-resolver.ts";
import { createAncestry, reachableFrom, topologicalOrder } from "./graph-order.ts";
import type { NodeRegistry } from "./registry.ts";
import { TARGET_HANDLE, type WorkflowConnection, type WorkflowGraph } from "./types.ts";
import { collectReferences, START_ALIAS, SYSTEM_ROOT } from "./variable-reference.ts";
import { invalidGraph } from "./validation-messages.ts";

/** An edge as the executor walks it. */
export interface CompiledEdge {
  readonly target: number;
  readonly handle: string;
}

/** A checked node with its edges and its prepared config resolver. */
export interface CompiledNode extends CheckedNode {
  readonly index: number;
  /** What `ctx.node` shows, built once. */
  readonly info: Readonly<{ id: string; type: string; title: string }>;
  readonly resolveConfig: ConfigResolver;
  readonly outgoing: readonly CompiledEdge[];
  readonly inDegree: number;
  /** The compiled sub-graph of a container node (iteration). */
  readonly subgraph: CompiledGraph | null;
}

/** A validated, ordered, immutable graph; compile once, run many times. */
export interface CompiledGraph {
  readonly nodes: readonly CompiledNode[];
  /** Node indexes in topological order. */
  readonly order: readonly number[];
  readonly entry: number;
  /** `"start"` when the entry node's outputs are also readable as `{{#start.…#}}`. */
  readonly entryAlias: string | null;
}

/** What an enclosing graph lets a sub-graph's references see. */
interface OuterScope {
  containerId: string;
  isVisible(root: string): boolean;
}

/**
 * Validates a workflow graph against the registry and orders it. Throws one `GraphValidationError`
 * (see its codes) for the first problem found; the result is reusable across runs.
 *
 * @example
 * const compiled = compileWorkflow(version.graph, registry);
 * const result = await executeWorkflow(compiled, { inputs: { query: "hi" }, observer });
 */
export function compileWorkflow(graph: WorkflowGraph, registry: NodeRegistry): CompiledGraph {
  return compileGraph(graph, registry, new Set(), null);
}

function compileGraph(graph: WorkflowGraph, registry: NodeRegistry, seenIds: Set<string>, outer: OuterScope | null): CompiledGraph {
  const checked = (graph.nodes ?? []).map((node) => checkNode(node, registry, seenIds));
  const indexOf = new Map(checked.map((node, index) => [node.id, index]));
  const entry = findEntry(checked);
  const { outgoing, incoming } = linkConnections(graph.connections ?? [], checked, indexOf);

  const targets = outgoing.map((edges) => edges.map((edge) => edge.target));
  const { order, cycleNode } = topologicalOrder(targets, incoming);
  if (cycleNode !== null) throw invalidGraph.cycle(checked[cycleNode]?.id ?? "");
  const reached = reachableFrom(entry, targets);
  const unreached = reached.indexOf(false);
  if (unreached >= 0) throw invalidGraph.unreachable(checked[unreached]?.id ?? "");

  const isUpstream = createAncestry(incoming);
  const entryAlias = outer === null && !indexOf.has(START_ALIAS) ? START_ALIAS : null;
  const visibleFrom = (index: number, root: string): boolean => {
    if (root === SYSTEM_ROOT || (root === START_ALIAS && entryAlias)) return true;
    const source = indexOf.get(root);
    if (source !== undefined) return isUpstream(source, index);
    return outer?.isVisible(root) ?? false;
  };

  const nodes = checked.map((node, index): CompiledNode => {
    const container = node.definition.subgraph;
    const innerKeys = new Set(container ? [container.graphKey, ...(container.innerKeys ?? [])] : []);
    for (const [key, value] of Object.entries(node.config)) {
      if (innerKeys.has(key)) continue;
      for (const { selector, reference } of collectReferences(value)) {
        if (!visibleFrom(index, selector[0] as string)) throw invalidGraph.variableNotUpstream(node.id, reference);
      }
    }
    let subgraph: CompiledGraph | null = null;
    if (container) {
      const scope: OuterScope = { containerId: node.id, isVisible: (root) => root === node.id || visibleFrom(index, root) };
      subgraph = compileGraph(node.config[container.graphKey] as WorkflowGraph, registry, seenIds, scope);
      checkInnerReferences(node, container.innerKeys ?? [], subgraph, scope);
    }
    const rawKeys = new Set([...(node.definition.rawConfigKeys ?? []), ...innerKeys]);
    return Object.freeze({
      ...node,
      index,
      info: Object.freeze({ id: node.id, type: node.type, title: node.title }),
      resolveConfig: prepareConfigResolver(node.config as Record<string, unknown>, rawKeys),
      outgoing: Object.freeze(outgoing[index] ?? []),
      inDegree: incoming[index]?.length ?? 0,
      subgraph,
    });
  });
  return Object.freeze({ nodes: Object.freeze(nodes), order: Object.freeze(order), entry, entryAlias });
}

function findEntry(nodes: CheckedNode[]): number {
  const entries = nodes.flatMap((node, index) => (node.definition.entry ? [index] : []));
  const [first, second] = entries;
  if (first === undefined) throw invalidGraph.missingStartNode();
  if (second !== undefined) throw invalidGraph.multipleStartNodes(nodes[second]?.id ?? "");
  return first;
}

function linkConnections(connections: WorkflowConnection[], nodes: CheckedNode[], indexOf: Map<string, number>) {
  const outgoing: CompiledEdge[][] = nodes.map(() => []);
  const incoming: number[][] = nodes.map(() => []);
  for (const connection of connections) {
    const source = indexOf.get(connection.sourceNodeId);
    const target = indexOf.get(connection.targetNodeId);
    const blame = source !== undefined ? connection.sourceNodeId : connection.targetNodeId;
    if (source === undefined || target === undefined) {
      const missing = source === undefined ? connection.sourceNodeId : connection.targetNodeId;
      throw invalidGraph.danglingConnection(blame ?? "", connection.id, {
        en: `node "${missing}" does not exist`,
        zh: `节点 “${missing}” 不存在`,
      });
    }
    const handles = handlesOf(nodes[source] as CheckedNode);
    if (!handles.includes(connection.sourceHandle)) {
      throw invalidGraph.danglingConnection(connection.sourceNodeId, connection.id, {
        en: `node "${connection.sourceNodeId}" has no outgoing handle "${connection.sourceHandle}" (it has ${handles.join(", ")})`,
        zh: `节点 “${connection.sourceNodeId}” 没有名为 “${connection.sourceHandle}” 的输出端口（可用：${handles.join("、")}）`,
      });
    }
    if (connection.targetHandle !== TARGET_HANDLE) {
      throw invalidGraph.danglingConnection(connection.targetNodeId, connection.id, {
        en: `node "${connection.targetNodeId}" has no incoming handle "${connection.targetHandle}"`,
        zh: `节点 “${connection.targetNodeId}” 没有名为 “${connection.targetHandle}” 的输入端口`,
      });
    }
    outgoing[source]?.push({ target, handle: connection.sourceHandle });
    incoming[target]?.push(source);
  }
  return { outgoing, incoming };
}

/** References in a container's inner keys are read after its sub-graph ran: any inner node may be named. */
function checkInnerReferences(node: CheckedNode, innerKeys: readonly string[], subgraph: CompiledGraph, scope: OuterScope) {
  const innerIds = new Set(subgraph.nodes.map((inner) => inner.id));
  for (const key of innerKeys) {
    for (const { selector, reference } of collectReferences(node.config[key])) {
      const root = selector[0] as string;
      if (!innerIds.has(root) && !scope.isVisible(root)) throw invalidGraph.variableNotUpstream(node.id, reference);
    }
  }
}
