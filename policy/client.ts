/**
 * The TypeScript client of the policy worker: axios with timeouts, retries on connection errors only
 * (a 4xx is the caller's fault and is never retried; a 5xx is surfaced for Temporal to retry), zod
 * validation of every request before it is sent and of every response, and the bearer token.
 *
 * The token is read from the process environment (`MULTIGYM_POLICY_TOKEN`, or the file named by
 * `MULTIGYM_POLICY_TOKEN_FILE`) of whoever makes the client — the orchestrator's worker process —
 * never from a run config: configs travel through Temporal payloads and histories, secrets must not.
 */
import { readFileSync } from 'node:fs';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import type { z } from 'zod';
import type { PolicySampler } from '../environments/api.js';
import {
  CheckpointRequest,
  CheckpointResponse,
  ErrorResponse,
  GenerateRequest,
  GenerateResponse,
  InfoResponse,
  LoadRequest,
  ReferenceKlRequest,
  ReferenceKlResponse,
  ResetRequest,
  ResetResponse,
  SftStepRequest,
  SftStepResponse,
  TokenizeRequest,
  TokenizeResponse,
  TrainStepRequest,
  TrainStepResponse,
} from './protocol.js';

/** Thrown for every failed call. `retryable` is false for 4xx answers (bad input). */
export class PolicyWorkerError extends Error {
  readonly type = 'PolicyWorkerError';
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came (connection error, timeout). */
    readonly status: number | undefined,
    /** Stable error type from the worker's error body (`validation`, `context_too_long`, …). */
    readonly errorType: string,
    readonly retryable: boolean,
    readonly field?: string,
    /** `policy_mismatch` only: the run and policy version the worker holds. */
    readonly worker?: { run_id: string | null; policy_version: number },
    /** No answer at all (`connection`, `timeout`): the worker's base URL and the socket error code. */
    readonly unreachable?: { url: string; code: string },
  ) {
    super(message);
  }
}

export interface PolicyClientOptions {
  /** Base URL of the worker, e.g. `http://127.0.0.1:8765`. */
  url: string;
  /** Per-request timeout, ms. Default 600 000 (a train step on CPU can take minutes). */
  timeoutMs?: number;
  /** Attempts on connection errors (refused, reset, DNS) before giving up. Default 3. */
  connectRetries?: number;
  /** First back-off between connection retries, ms; doubles each time. Default 200. */
  backoffMs?: number;
  /**
   * Bearer token of the worker. Default: `policyTokenFromEnv()` (`MULTIGYM_POLICY_TOKEN`, or the file
   * named by `MULTIGYM_POLICY_TOKEN_FILE`); none when neither is set.
   */
  token?: string;
}

/**
 * The policy worker's bearer token from this process's environment: `MULTIGYM_POLICY_TOKEN`, else
 * the trimmed content of the file named by `MULTIGYM_POLICY_TOKEN_FILE`, else undefined.
 * Throws when the named file cannot be read.
 */
export function policyTokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MULTIGYM_POLICY_TOKEN) return env.MULTIGYM_POLICY_TOKEN;
  const file = env.MULTIGYM_POLICY_TOKEN_FILE;
  if (!file) return undefined;
  const token = readFileSync(file, 'utf8').trim();
  if (!token) throw new Error(`MULTIGYM_POLICY_TOKEN_FILE: ${file} is empty`);
  return token;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** HTTP client of the policy worker protocol (`/v1`). Implements `PolicySampler`. */
export class PolicyClient implements PolicySampler {
  private readonly http: AxiosInstance;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(readonly options: PolicyClientOptions) {
    const token = options.token ?? policyTokenFromEnv();
    this.http = axios.create({
      baseURL: options.url,
      timeout: options.timeoutMs ?? 600_000,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    this.retries = options.connectRetries ?? 3;
    this.backoffMs = options.backoffMs ?? 200;
  }

  /** `GET /health`: true when the worker answers 200. Never throws. */
  async health(): Promise<boolean> {
    try {
      const res = await this.http.get('/health', { timeout: 2000 });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** `GET /v1/info`: model, policy version, run id, last applied key, checkpoint root. */
  info(): Promise<z.infer<typeof InfoResponse>> {
    return this.call('get', '/v1/info', undefined, InfoResponse);
  }
  /**
   * `POST /v1/generate`. Besides the response's shape, checks one result per prompt and `n` samples
   * per result (a `protocol` error otherwise).
   */
  async generate(req: GenerateRequest): Promise<GenerateResponse> {
    const sent = validRequest('/v1/generate', GenerateRequest, req);
    const res = await this.call('post', '/v1/generate', sent, GenerateResponse);
    const prompts = (sent.prompts ?? sent.messages ?? sent.prompt_token_ids ?? []).length;
    const bad =
      res.results.length !== prompts
        ? `${res.results.length} results for ${prompts} prompts`
        : res.results.findIndex((r) => r.samples.length !== sent.n);
    if (typeof bad === 'string' || bad >= 0) {
      const why =
        typeof bad === 'string'
          ? bad
          : `results.${bad} has ${res.results[bad]!.samples.length} samples, n is ${sent.n}`;
      throw new PolicyWorkerError(`policy worker /v1/generate answered ${why}`, 200, 'protocol', false);
    }
    return res;
  }
  /** `POST /v1/train_step`; a `non_finite` error (422) means the step changed nothing. */
  trainStep(req: TrainStepRequest): Promise<TrainStepResponse> {
    return this.post('/v1/train_step', TrainStepRequest, req, TrainStepResponse);
  }
  /** `POST /v1/reference_kl`: Σ_t KL(π_θ ‖ π_ref) per sample, for a KL penalty in the reward. */
  referenceKl(req: ReferenceKlRequest): Promise<ReferenceKlResponse> {
    return this.post('/v1/reference_kl', ReferenceKlRequest, req, ReferenceKlResponse);
  }
  sftStep(req: SftStepRequest): Promise<SftStepResponse> {
    return this.post('/v1/sft_step', SftStepRequest, req, SftStepResponse);
  }
  tokenize(req: TokenizeRequest): Promise<TokenizeResponse> {
    return this.post('/v1/tokenize', TokenizeRequest, req, TokenizeResponse);
  }
  /** `POST /v1/checkpoint`: `path` relative to the worker's checkpoint root, or absolute inside it. */
  checkpoint(req: CheckpointRequest): Promise<CheckpointResponse> {
    return this.post('/v1/checkpoint', CheckpointRequest, req, CheckpointResponse);
  }
  /** `POST /v1/load`: everything or nothing (a failed load leaves the worker as it was); `run_id`
   * claims the loaded weights for a run. */
  load(req: LoadRequest): Promise<CheckpointResponse> {
    return this.post('/v1/load', LoadRequest, req, CheckpointResponse);
  }
  /** `POST /v1/reset`: the worker's base model again, at policy version 0, claimed for `run_id`. */
  reset(req: ResetRequest): Promise<ResetResponse> {
    return this.post('/v1/reset', ResetRequest, req, ResetResponse);
  }

  /** Validates `req` by `request`, sends it to `path`, validates the answer by `response`. */
  private async post<S extends z.ZodType>(
    path: string,
    request: z.ZodType,
    req: unknown,
    response: S,
  ): Promise<z.output<S>> {
    return this.call('post', path, validRequest(path, request, req), response);
  }

  private async call<S extends z.ZodType>(
    method: 'get' | 'post',
    path: string,
    body: unknown,
    schema: S,
  ): Promise<z.output<S>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.http.request({ method, url: path, data: body });
        const parsed = schema.safeParse(res.data);
        if (!parsed.success) {
          throw new PolicyWorkerError(
            `policy worker ${path} answered an unexpected shape: ${parsed.error.message}`,
            res.status,
            'protocol',
            false,
          );
        }
        return parsed.data;
      } catch (err) {
        if (err instanceof PolicyWorkerError) throw err;
        if (!isAxiosError(err)) throw err;
        if (err.response) {
          const status = err.response.status;
          const body = ErrorResponse.safeParse(err.response.data);
          const info = body.success ? body.data.error : { type: 'http', message: String(err.message) };
          throw new PolicyWorkerError(
            `policy worker ${path} answered ${status}: ${info.message}`,
            status,
            info.type,
            status >= 500,
            'field' in info ? info.field : undefined,
            'worker' in info ? info.worker : undefined,
          );
        }
        const connection = err.code !== undefined && CONNECTION_CODES.has(err.code);
        if (connection && attempt < this.retries) {
          await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt));
          continue;
        }
        const code = err.code ?? err.message;
        throw new PolicyWorkerError(
          `policy worker ${this.options.url}${path} unreachable: ${code}`,
          undefined,
          connection ? 'connection' : 'timeout',
          true,
          undefined,
          undefined,
          { url: this.options.url, code },
        );
      }
    }
  }
}

/**
 * `req` parsed by its protocol schema (defaults applied); a non-retryable `validation` error naming
 * the first offending field otherwise, before anything is sent.
 */
function validRequest<S extends z.ZodType>(path: string, schema: S, req: unknown): z.output<S> {
  const parsed = schema.safeParse(req);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  throw new PolicyWorkerError(
    `policy worker ${path}: invalid request: ${field || 'body'}: ${issue.message}`,
    undefined,
    'validation',
    false,
    field,
  );
}
