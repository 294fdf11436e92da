/** GraphQL over HTTP, as the benches send their seed and check requests. */

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string }[];
}

/**
 * POSTs an operation to `url` with `headers` (who the caller is) and resolves with its `data`;
 * throws on an answer that is not JSON, has `errors` or no `data`, naming `label` and quoting it.
 */
export async function postGraphQL<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
  label = url,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLBody<T>;
  try {
    body = JSON.parse(text) as GraphQLBody<T>;
  } catch {
    throw new Error(`${label}: HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
  if (body.errors !== undefined || body.data === undefined || body.data === null) {
    throw new Error(`${label}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  }
  return body.data;
}
