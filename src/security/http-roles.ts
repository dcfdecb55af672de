/** What an HTTP user may do: viewer reads, operator also creates and expires silences, admin does everything. */
export const HTTP_ROLES = ['viewer', 'operator', 'admin'] as const;
export type HttpRole = (typeof HTTP_ROLES)[number];

/** Whether `role` includes everything `needed` may do; the roles are ordered, each a superset of the one before. */
export function roleAllows(role: HttpRole, needed: HttpRole): boolean {
  return HTTP_ROLES.indexOf(role) >= HTTP_ROLES.indexOf(needed);
}
