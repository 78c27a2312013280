/**
 * An HTTP proxy in front of the policy worker that can hold one answer back: the request matching
 * `hold` is forwarded (the worker does the work) but its answer is kept from the caller until the
 * test releases it. Lets a test kill the orchestrator at the exact moment a `train_step` has been
 * trained by the worker and not yet acknowledged, the window where a retry could train twice.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';

/** A request the proxy held: what was asked and what the worker answered. */
export interface HeldRequest {
  path: string;
  body: unknown;
  status: number;
  answer: unknown;
}

/** A running proxy. */
export interface HoldingProxy {
  /** Base URL to give the orchestrator instead of the worker's. */
  url: string;
  /**
   * Holds back the answer of the first request for which `match(path, body)` is true; resolves once
   * the worker has answered it (the caller still waits).
   */
  hold(match: (path: string, body: unknown) => boolean): Promise<HeldRequest>;
  /** Closes the proxy and every connection it holds. */
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const parse = (b: Buffer): unknown => {
  try {
    return JSON.parse(b.toString());
  } catch {
    return undefined;
  }
};

/** Starts a proxy on a free port forwarding to `upstream` (e.g. `http://127.0.0.1:8765`). */
export async function startHoldingProxy(upstream: string): Promise<HoldingProxy> {
  const target = new URL(upstream);
  let pending:
    | { match: (path: string, body: unknown) => boolean; done: (h: HeldRequest) => void }
    | undefined;
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const path = req.url ?? '/';
      const json = parse(body);
      const held = pending?.match(path, json) ? pending : undefined;
      if (held) pending = undefined;
      const up = request({
        host: target.hostname,
        port: target.port,
        method: req.method,
        path,
        headers: { ...req.headers, host: target.host },
      });
      up.on('response', async (answer) => {
        const data = await readBody(answer);
        if (held) {
          held.done({ path, body: json, status: answer.statusCode ?? 0, answer: parse(data) });
          return; // never answered: the caller waits until it dies or the proxy closes
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(data);
      });
      up.on('error', () => res.destroy());
      up.end(body);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (match) =>
      new Promise((done) => {
        pending = { match, done };
      }),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
