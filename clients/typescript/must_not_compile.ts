// This file MUST NOT type-check. tests/test_typescript_client.py runs tsc on it and expects
// exactly the errors marked `expect-error TSnnnn 'name'` on the lines below, and no others:
// proof that the generated types are enforced (they would let anything through were they `any`).
import type { HearingCreate, HearingRead, Timeline } from "./client";

export function courtroomOf(hearing: HearingRead): string {
  return hearing.courtroom; // expect-error TS2339 'courtroom'
}

export const unknownField: HearingCreate = { kind: "trial", date: "2015-12-08", courtroom: "3" }; // expect-error TS2353 'courtroom'

export const unknownKind: HearingCreate = { kind: "tribunal", date: "2015-12-08" }; // expect-error TS2322 'tribunal'

export function firstTitle(timeline: Timeline): string {
  return timeline.entries[0].title; // expect-error TS2339 'entries'
}
