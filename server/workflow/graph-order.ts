/** Node indexes adjacent to each node, by index. */
export type Adjacency = readonly (readonly number[])[];

/** Kahn's order; when a cycle stops it, one node that lies on the cycle. */
export function topologicalOrder(outgoing: Adjacency, incoming: Adjacency): { order: number[]; cycleNode: number | null } {
  const remaining = incoming.map((sources) => sources.length);
  const order: number[] = [];
  for (let i = 0; i < remaining.length; i++) if (remaining[i] === 0) order.push(i);
  for (let head = 0; head < order.length; head++) {
    for (const target of outgoing[order[head] as number] ?? []) {
      remaining[target] = (remaining[target] as number) - 1;
      if (remaining[target] === 0) order.push(target);
    }
  }
  if (order.length === remaining.length) return { order, cycleNode: null };
  return { order, cycleNode: nodeOnCycle(remaining, incoming) };
}

/**
 * Every node Kahn left behind has a predecessor also left behind, so walking predecessors must
 * revisit a node, and the first one revisited lies on a cycle (not merely downstream of one).
 */
function nodeOnCycle(remaining: number[], incoming: Adjacency): number {
  const seen = new Set<number>();
  let node = remaining.findIndex((count) => count > 0);
  while (!seen.has(node)) {
    seen.add(node);
    node = (incoming[node] ?? []).find((source) => (remaining[source] as number) > 0) as number;
  }
  return node;
}

/** Which nodes can be reached from `entry`. */
export function reachableFrom(entry: number, outgoing: Adjacency): boolean[] {
  const reached = new Array<boolean>(outgoing.length).fill(false);
  const stack = [entry];
  reached[entry] = true;
  while (stack.length > 0) {
    for (const target of outgoing[stack.pop() as number] ?? []) {
      if (!reached[target]) {
        reached[target] = true;
        stack.push(target);
      }
    }
  }
  return reached;
}

/** Answers "is `a` upstream of `b`", walking predecessors once per asked node and remembering. */
export function createAncestry(incoming: Adjacency): (ancestor: number, node: number) => boolean {
  const memo = new Map<number, Set<number>>();
  const ancestorsOf = (node: number): Set<number> => {
    let found = memo.get(node);
    if (found) return found;
    found = new Set<number>();
    const stack = [...(incoming[node] ?? [])];
    while (stack.length > 0) {
      const source = stack.pop() as number;
      if (found.has(source)) continue;
      found.add(source);
      stack.push(...(incoming[source] ?? []));
    }
    memo.set(node, found);
    return found;
  };
  return (ancestor, node) => ancestorsOf(node).has(ancestor);
}
