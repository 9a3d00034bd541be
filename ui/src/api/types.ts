// Names for the generated types the screens use.

import type { components } from "./schema";

type S = components["schemas"];

export type Me = S["MeOut"];
export type User = S["User"];
export type SchemaOut = S["SchemaOut"];
export type SchemaIn = S["SchemaIn"];
export type JobIn = S["JobIn"];
export type JobOut = S["JobOut"];
export type Pagination = S["Pagination"];
export type FetchSettings = S["FetchSettings"];
export type WebhookIn = S["WebhookIn"];
export type RunOut = S["RunOut"];
export type Counters = S["RunCounters"];
export type PageOut = S["PageOut"];
export type LogRow = S["LogRow"];
export type ResultOut = S["ResultOut"];
export type ExportOut = S["ExportOut"];
export type ExportIn = S["ExportIn"];
export type Plugin = S["Plugin"];
export type UsageOut = S["UsageOut"];
export type RunUsageOut = S["RunUsageOut"];
export type EstimateOut = S["EstimateOut"];
export type PreviewIn = S["PreviewIn"];
export type PreviewOut = S["PreviewOut"];
export type PreviewPage = PreviewOut["pages"][number];
export type SelectorIn = S["SelectorIn"];
export type SelectorOut = S["SelectorOut"];
export type UserIn = S["UserIn"];
export type Role = S["Role"];
export type ValidationMode = S["ValidationMode"];
