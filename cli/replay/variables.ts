/**
 * `${…}` substitution in scenario steps.
 *
 *   ${name}            a variable (scenario `variables`, or one saved by an earlier step)
 *   ${name.path}       a path into a saved object, in the path language of `paths.ts`
 *   ${$run}            an id unique to this run (for identifiers that must not clash across replays)
 *   ${$uuid}           a fresh UUID at each use
 *   ${$now}            the current instant (ISO 8601)
 *   ${$today}, ${$today+30d}, ${$today-1d}   a date (YYYY-MM-DD), optionally shifted by days
 *   $${                a literal `${`
 *
 * A string that is exactly one `${…}` becomes the variable's value with its
 * type (an object, a number); inside longer text values are stringified.
 */
import { randomUUID } from 'node:crypto';
import { evaluatePath } from './paths.js';

export type Variables = Record<string, unknown>;

export interface Builtins {
  readonly runId: string;
  readonly now: () => Date;
  readonly uuid: () => string;
}

export function defaultBuiltins(runId: string): Builtins {
  return { runId, now: () => new Date(), uuid: randomUUID };
}

export class UnknownVariableError extends Error {
  constructor(readonly expression: string) {
    super(`unknown variable \${${expression}}`);
    this.name = 'UnknownVariableError';
  }
}

const WHOLE = /^\$\{([^{}]+)\}$/;
const ANY = /\$?\$\{([^{}]+)\}/g;
const TODAY = /^\$today(?:([+-])(\d{1,5})d)?$/;

export function resolveExpression(expression: string, vars: Variables, builtins: Builtins): unknown {
  const expr = expression.trim();
  if (expr.startsWith('$')) {
    if (expr === '$run') return builtins.runId;
    if (expr === '$uuid') return builtins.uuid();
    if (expr === '$now') return builtins.now().toISOString();
    const today = TODAY.exec(expr);
    if (today) {
      const d = builtins.now();
      const shift = today[1] ? Number(today[2]) * (today[1] === '-' ? -1 : 1) : 0;
      const shifted = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + shift));
      return shifted.toISOString().slice(0, 10);
    }
    throw new UnknownVariableError(expr);
  }
  const dot = expr.search(/[.[]/);
  const name = dot < 0 ? expr : expr.slice(0, dot);
  if (!Object.prototype.hasOwnProperty.call(vars, name)) throw new UnknownVariableError(expr);
  if (dot < 0) return vars[name];
  const rest = expr[dot] === '.' ? expr.slice(dot + 1) : expr.slice(dot);
  const found = evaluatePath(vars[name], rest);
  if (!found.found) throw new UnknownVariableError(expr);
  return found.value;
}

/** Substitutes variables everywhere in a JSON value (strings, keys untouched). Returns a new value. */
export function substitute<T>(value: T, vars: Variables, builtins: Builtins): T {
  return subst(value, vars, builtins) as T;
}

function subst(value: unknown, vars: Variables, builtins: Builtins): unknown {
  if (typeof value === 'string') return substituteString(value, vars, builtins);
  if (Array.isArray(value)) return value.map((v) => subst(v, vars, builtins));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subst(v, vars, builtins)]));
  }
  return value;
}

function substituteString(text: string, vars: Variables, builtins: Builtins): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return structuredClone(resolveExpression(whole[1]!, vars, builtins));
  return text.replace(ANY, (match: string, expr: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    const v = resolveExpression(expr, vars, builtins);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}
