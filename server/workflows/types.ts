import type { components } from "../../generated/api-types.ts";

type S = components["schemas"];

/** The API's shapes of this domain, as the spec declares them. */
export type ApiGraph = S["Workflow.WorkflowGraph"];
export type ApiNode = S["Workflow.WorkflowNode"];
export type ApiConnection = S["Workflow.WorkflowConnection"];
export type WorkflowSummary = S["Workflow.WorkflowSummary"];
export type Workflow = S["Workflow.Workflow"];
export type WorkflowVersionSummary = S["Workflow.WorkflowVersionSummary"];
export type WorkflowVersion = S["Workflow.WorkflowVersion"];
export type WorkflowSettings = S["Workflow.WorkflowSettings"];
export type WorkflowRunSummary = S["Workflow.WorkflowRunSummary"];
export type WorkflowRun = S["Workflow.WorkflowRun"];
export type NodeExecution = S["Workflow.NodeExecution"];
export type RunStatus = S["Workflow.RunStatus"];
export type ResponseMode = S["Workflow.ResponseMode"];
export type WorkflowStreamEvent = S["Workflow.WorkflowStreamEvent"];

/** The draft is stored as version 0 of the graph rows; published versions count from 1. */
export const DRAFT_VERSION = 0;
