/**
 * `infoshare start` — placeholder until the real command lands (it starts
 * Redis, every service and the demo fixtures through services/hub.ts).
 */
export async function startCommand(_args: string[]): Promise<number> {
  throw new Error('`infoshare start` is not yet wired');
}
