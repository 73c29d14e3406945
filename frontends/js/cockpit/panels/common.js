// Shared by panels: the cockpit query and the live documents of what exists today.
export const COCKPIT = `query Cockpit($unitId: ID!) { cockpit(unitId: $unitId) {
  communities estates households people
  below { unit { id name level } communities estates households people } } }`;

export const ORG_CHANGES = `subscription OrgChanges($unitId: ID!) {
  orgChanges(unitId: $unitId) { kind subjectType at } }`;

export const POST_CHANGES = `subscription PostChanges($unitId: ID!) {
  postChanges(unitId: $unitId) { kind postId at post { title community { name } } } }`;

export function orgLive(ctx) {
  return [{ query: ORG_CHANGES, variables: { unitId: ctx.unit.id } }];
}

export const TEXT = { color: "#e6f0ff" };
export const MUTED = { color: "#8fb0d6" };
