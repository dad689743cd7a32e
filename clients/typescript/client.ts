// A small hand-written client for the casetrack API, typed by the types that openapi-typescript
// generates from the app's OpenAPI document into ./generated/casetrack.ts (not committed: the
// test tests/test_typescript_client.py generates it and type-checks this file against it, so a
// field renamed or removed in the API breaks the check here).
import type { components, paths } from "./generated/casetrack";

type Schemas = components["schemas"];

// Types taken from the operations themselves, so they follow what each path answers. A list answers a
// page of whole items, or with `fields=` a page of items with only those fields (`Sparse...`): this client
// never sends `fields`, so its pages are the whole-item ones.
export type CasePage = Schemas["Page_CaseRead_"];
export type AnyCasePage = paths["/api/v1/cases"]["get"]["responses"]["200"]["content"]["application/json"];
export type ListCasesQuery = NonNullable<paths["/api/v1/cases"]["get"]["parameters"]["query"]>;
// The timeline's JSON is the timeline, or with `format=timelinejs` a TimelineJS document: this client never
// sends `format`, so it gets the timeline.
export type Timeline = Schemas["Timeline"];
export type AnyTimelineJson =
  paths["/api/v1/cases/{case_id}/timeline"]["get"]["responses"]["200"]["content"]["application/json"];
export type HearingCreate =
  paths["/api/v1/cases/{case_id}/hearings"]["post"]["requestBody"]["content"]["application/json"];
export type HearingRead =
  paths["/api/v1/cases/{case_id}/hearings"]["post"]["responses"]["201"]["content"]["application/json"];
export type OutcomePage = Schemas["Page_OutcomeRead_"];
export type ListOutcomesQuery = NonNullable<paths["/api/v1/outcomes"]["get"]["parameters"]["query"]>;
export type Problem =
  paths["/api/v1/cases/{case_id}/hearings"]["post"]["responses"]["422"]["content"]["application/problem+json"];

export type CaseStatus = Schemas["CaseStatus"];
export type OutcomeKind = Schemas["OutcomeKind"];
export type TimelineItem = Schemas["TimelineItem"];

export interface Client {
  /** Where the API is served, without the /api/v1 prefix, e.g. "http://127.0.0.1:8000". */
  baseUrl: string;
  fetch?: typeof fetch;
}

/** An answer other than 2xx, with its RFC 9457 problem document. */
export class ProblemError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = "ProblemError";
    this.status = problem.status;
    this.problem = problem;
  }

  /** The message for one offending field of an invalid body (422), if the problem names it. */
  fieldMessage(field: string): string | undefined {
    return this.problem.errors?.find((error) => error.field === field)?.message;
  }
}

const PROBLEM_JSON = "application/problem+json";

/** Reads the problem document of an error response; a body that is not one becomes a Problem too. */
export async function readProblem(response: Response): Promise<Problem> {
  const contentType = response.headers.get("content-type") ?? "";
  const text = await response.text();
  if (contentType.startsWith(PROBLEM_JSON)) {
    const body: unknown = JSON.parse(text);
    if (isProblem(body)) {
      return body;
    }
  }
  return {
    type: "about:blank",
    title: response.statusText || "Error",
    status: response.status,
    detail: text.slice(0, 500) || `HTTP ${response.status} without a problem document`,
  };
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const record = value as Record<string, unknown>;
  return (
    typeof record.type === "string" &&
    typeof record.title === "string" &&
    typeof record.status === "number" &&
    typeof record.detail === "string"
  );
}

type QueryValue = string | number | boolean | readonly string[] | null | undefined;

function url(client: Client, path: string, query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) {
      continue;
    }
    // Filters that take several values take them comma-separated (?status=trial,appeal).
    params.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const search = params.toString();
  return `${client.baseUrl.replace(/\/+$/, "")}${path}${search ? `?${search}` : ""}`;
}

async function request<T>(client: Client, method: string, target: string, body?: unknown): Promise<T> {
  const doFetch = client.fetch ?? fetch;
  const init: RequestInit = { method, headers: { accept: `application/json, ${PROBLEM_JSON}` } };
  if (body !== undefined) {
    init.headers = { ...init.headers, "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const response = await doFetch(target, init);
  if (!response.ok) {
    throw new ProblemError(await readProblem(response));
  }
  return (await response.json()) as T;
}

const segment = encodeURIComponent;

/** GET /api/v1/cases: one page of cases; pass the page's `next` as `cursor` for the next one. */
export function listCases(
  client: Client,
  query: Pick<ListCasesQuery, "country" | "limit" | "cursor"> & { status?: CaseStatus | readonly CaseStatus[] } = {},
): Promise<CasePage> {
  return request<CasePage>(client, "GET", url(client, "/api/v1/cases", query));
}

/** Every case, following the cursors page by page. */
export async function* allCases(
  client: Client,
  query: Omit<Parameters<typeof listCases>[1], "cursor"> = {},
): AsyncGenerator<CasePage["items"][number]> {
  let cursor: string | undefined = undefined;
  do {
    const page: CasePage = await listCases(client, { ...query, cursor });
    yield* page.items;
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
}

/** The titles of a page of cases, asking for only the fields needed (`fields=`): each item of such a page may
 * lack any field the request did not name, and the types say so. */
export async function caseTitles(client: Client, query: Pick<ListCasesQuery, "country"> = {}): Promise<string[]> {
  const target = url(client, "/api/v1/cases", { ...query, fields: "id,title" });
  const page = await request<AnyCasePage>(client, "GET", target);
  return page.items.map((item) => item.title ?? "(untitled)");
}

/** GET /api/v1/cases/{case_id}/timeline: the case told in date order. */
export function getCaseTimeline(client: Client, caseId: string): Promise<Timeline> {
  return request<Timeline>(client, "GET", url(client, `/api/v1/cases/${segment(caseId)}/timeline`));
}

/** One line per timeline item, e.g. "2015-12-08  hearing/trial  Trial opens". */
export function describeTimeline(timeline: Timeline): string[] {
  return timeline.items.map((item: TimelineItem) => {
    const phase = item.phase ? ` (${item.phase})` : "";
    return `${item.date}  ${item.type}/${item.kind}${phase}  ${item.title}`;
  });
}

/** POST /api/v1/cases/{case_id}/hearings: records a hearing and returns it as stored. */
export function createHearing(client: Client, caseId: string, body: HearingCreate): Promise<HearingRead> {
  return request<HearingRead>(client, "POST", url(client, `/api/v1/cases/${segment(caseId)}/hearings`), body);
}

/** GET /api/v1/outcomes filtered by kind (one or several). */
export function listOutcomes(
  client: Client,
  kind: OutcomeKind | readonly OutcomeKind[],
  query: Pick<ListOutcomesQuery, "case_id" | "limit" | "cursor"> = {},
): Promise<OutcomePage> {
  return request<OutcomePage>(client, "GET", url(client, "/api/v1/outcomes", { ...query, kind }));
}

// An example of use, type-checked like the rest.
export async function example(client: Client): Promise<void> {
  const page = await listCases(client, { country: "KZ", status: ["trial", "appeal"], limit: 10 });
  for (const found of page.items) {
    try {
      const hearing = await createHearing(client, found.id, { kind: "trial", date: "2015-12-08?", public: false });
      console.log(hearing.id, hearing.kind, hearing.date_earliest, hearing.date_latest);
    } catch (error) {
      if (error instanceof ProblemError && error.status === 422) {
        console.log("invalid date:", error.fieldMessage("date"));
      } else {
        throw error;
      }
    }
    console.log(describeTimeline(await getCaseTimeline(client, found.id)).join("\n"));
  }
  const denied = await listOutcomes(client, ["parole_denied", "appeal_rejected"]);
  console.log(denied.items.map((outcome) => `${outcome.date} ${outcome.kind} ${outcome.case_id}`));
}
