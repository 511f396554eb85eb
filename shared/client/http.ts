/**
 * A plain HTTP exchange that never throws on a status: the replay tool and
 * tests need to see 4xx answers (and non-JSON bodies) as they are.
 */

export interface HttpResult {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body parsed as JSON, or the text when it is not JSON, or undefined when empty. */
  readonly body: unknown;
  readonly text: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is; set the content type in `headers`. */
  readonly body?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export async function sendHttp(request: HttpRequest): Promise<HttpResult> {
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers ? { ...request.headers } : undefined,
    body: request.body,
    signal: AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS),
  });
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  return { status: res.status, headers, body: parseBody(text), text };
}

/** A response body as JSON when it is JSON, else the text itself. */
export function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Why a service refused, in words, from its answer's text: the OperationOutcome's (or OAuth error's) text, else the start of the body. */
export function refusalReason(text: string): string {
  return outcomeText(parseBody(text)) ?? (text.slice(0, 200) || 'no reason given');
}

/** The first issue's text of an OperationOutcome body, for error messages. */
export function outcomeText(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { resourceType?: unknown; issue?: Array<{ diagnostics?: string; details?: { text?: string } }>; error_description?: unknown };
  if (b.resourceType === 'OperationOutcome') {
    const issue = b.issue?.[0];
    return issue?.details?.text ?? issue?.diagnostics;
  }
  // OAuth-style error bodies, in case a token endpoint answers that way.
  return typeof b.error_description === 'string' ? b.error_description : undefined;
}
