/**
 * Queries and mutations over HTTP (`POST /graphql` with the session cookie), typed by the
 * generated document. A GraphQL error becomes a thrown {@link GraphQLRequestError} carrying
 * `extensions.code`; an expired access token is refreshed once and the request retried, so the
 * caller never sees it.
 */
import type { TypedDocumentString } from '../gql/graphql';
import type { SessionStore } from './session';

/** One error of a GraphQL response, as the gateway formats it. */
export interface ResponseError {
  message: string;
  code: string | undefined;
  reason: string | undefined;
}

/** A request the gateway answered with errors (or could not answer); `code` is the first's. */
export class GraphQLRequestError extends Error {
  override readonly name = 'GraphQLRequestError';
  readonly code: string | undefined;
  constructor(readonly errors: readonly ResponseError[]) {
    super(errors.map((e) => e.message).join('; ') || 'The request failed');
    this.code = errors[0]?.code;
  }
}

/** Runs `document` with `variables` (`{}` for none); resolves to its typed `data`. */
export type Request = <TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
) => Promise<TResult>;

/** The errors of a GraphQL response body (none when it has none). */
export function responseErrors(body: unknown): ResponseError[] {
  const errors =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>).errors
      : undefined;
  if (!Array.isArray(errors)) return [];
  return errors.map((error: unknown) => {
    const { message, extensions } =
      typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
    const ext =
      typeof extensions === 'object' && extensions !== null
        ? (extensions as Record<string, unknown>)
        : {};
    return {
      message: typeof message === 'string' ? message : 'Unknown error',
      code: typeof ext.code === 'string' ? ext.code : undefined,
      reason: typeof ext.reason === 'string' ? ext.reason : undefined,
    };
  });
}

/** The gateway's answer to an expired access token: refresh, then try again. */
export function isExpiredToken(error: ResponseError): boolean {
  return (
    error.code === 'UNAUTHENTICATED' &&
    (error.reason === 'expired' || error.message.includes('POST /auth/refresh'))
  );
}

export interface RequestOptions {
  session: SessionStore;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default '/graphql' */
  url?: string;
}

/** `request(document, variables)` for the app, bound to its session. */
export function createRequest(options: RequestOptions): Request {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const url = options.url ?? '/graphql';

  async function send(query: string, variables: unknown): Promise<unknown> {
    const response = await doFetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (typeof body !== 'object' || body === null) {
      throw new GraphQLRequestError([
        {
          message: `The gateway answered HTTP ${response.status}`,
          code: undefined,
          reason: undefined,
        },
      ]);
    }
    return body;
  }

  return async function request<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    const query = document.toString();
    let refreshed = false;
    for (;;) {
      const body = await send(query, variables);
      const errors = responseErrors(body);
      const first = errors[0];
      if (first) {
        if (!refreshed && isExpiredToken(first)) {
          refreshed = true;
          if ((await options.session.refresh()) === 'refreshed') continue;
        }
        if (first.code === 'UNAUTHENTICATED' && first.reason === 'no_session') {
          options.session.markSignedOut();
        }
        throw new GraphQLRequestError(errors);
      }
      const data = (body as { data?: unknown }).data;
      if (typeof data !== 'object' || data === null) {
        throw new GraphQLRequestError([
          { message: 'The gateway answered without data', code: undefined, reason: undefined },
        ]);
      }
      // The shape is the document's: the gateway validated and executed this very operation.
      return data as TResult;
    }
  };
}
