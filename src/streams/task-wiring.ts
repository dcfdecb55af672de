import type { Forward, Processor, ProcessorContext, SourceNode, TopologyNode } from './topology.js';

/*
 * Runtime wiring: turns the topology's nodes into the processors of one task. A node's processor feeds its
 * children through the Forward it is given, so a record goes through a task's processors as plain calls.
 */

/** The processors of one task: each node instantiated once, even when reached twice (branch then merge). */
interface TaskGraph {
  readonly context: ProcessorContext;
  readonly instances: Map<TopologyNode, Processor>;
}

/** Instantiates the children's subtrees for a task and returns the function that feeds them a record. */
export function fanOut(children: TopologyNode[], context: ProcessorContext, graph?: TaskGraph): Forward {
  const task = graph ?? taskGraphs.get(context);
  if (!task) throw new Error('fanOut outside of a task graph');
  const processors = children.map((child) => {
    let processor = task.instances.get(child);
    if (!processor) {
      processor = child.instantiate(context, fanOut(child.children, context, task));
      task.instances.set(child, processor);
    }
    return processor;
  });
  if (processors.length === 1) {
    const only = processors[0]!;
    return (record) => only.process(record);
  }
  return (record) => {
    for (const processor of processors) processor.process(record);
  };
}

const taskGraphs = new WeakMap<ProcessorContext, TaskGraph>();

/** Instantiates a source's whole subtree for one task: the entry point and every processor (to advance). */
export function instantiateTask(
  source: SourceNode,
  context: ProcessorContext,
): { entry: Forward; processors: Processor[] } {
  const graph: TaskGraph = { context, instances: new Map() };
  taskGraphs.set(context, graph);
  const entry = fanOut(source.children, context, graph);
  return { entry, processors: [...graph.instances.values()] };
}
