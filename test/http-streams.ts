/**
 * Readers of the two HTTP streams, as a client reads them, for tests and tools that look at the
 * bytes themselves (the `id:` of an SSE event, which graphql-sse's client does not expose; the
 * parts of a multipart response, for which there is no client in Node here).
 *
 * The multipart reader reads a part once the delimiter after it has come, as Apollo Client does,
 * so a test sees a result only when a real client would.
 */

/** One item of an event stream: an event (its own `id:`, if it had one) or a comment. */
export type StreamItem =
  | { kind: 'event'; event: string; data: string; id: string | undefined }
  | { kind: 'comment'; text: string };

/** The text of a response body, chunk by chunk. */
async function* text(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  for await (const chunk of body) yield decoder.decode(chunk, { stream: true });
}

/**
 * The events and comments of a `text/event-stream` body, as the HTML standard reads them: lines
 * end with CRLF, LF or CR; a blank line dispatches the event; `event` defaults to `message`.
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<StreamItem> {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of text(body)) {
    buffer += chunk;
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      // A lone CR at the end may be the first half of a CRLF: wait for more.
      if (end === -1 || (buffer[end] === '\r' && end === buffer.length - 1)) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (data.length > 0 || event !== '') {
          yield { kind: 'event', event: event || 'message', data: data.join('\n'), id };
        }
        event = '';
        data = [];
        id = undefined;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon === 0) {
        yield { kind: 'comment', text: line.slice(1).trimStart() };
        continue;
      }
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
}

/**
 * The JSON bodies of the parts of a `multipart/mixed` body with `boundary`, each once the
 * delimiter after it has come; ends at the closing delimiter or the end of the body.
 */
export async function* readMultipartParts(
  body: AsyncIterable<Uint8Array>,
  boundary = 'graphql',
): AsyncGenerator<unknown> {
  const delimiter = `\r\n--${boundary}`;
  let buffer = '';
  let seenFirst = false;
  for await (const chunk of text(body)) {
    buffer += chunk;
    for (;;) {
      // `--` right after a delimiter closes the body.
      if (seenFirst && buffer.startsWith('--')) return;
      const at = buffer.indexOf(delimiter);
      if (at === -1) break;
      const part = buffer.slice(0, at);
      buffer = buffer.slice(at + delimiter.length);
      // What comes before the first delimiter is the preamble.
      if (seenFirst) {
        const bodyAt = part.indexOf('\r\n\r\n');
        if (bodyAt === -1) throw new Error(`A part without headers: ${JSON.stringify(part)}`);
        yield JSON.parse(part.slice(bodyAt + 4)) as unknown;
      }
      seenFirst = true;
    }
  }
}
