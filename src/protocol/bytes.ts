/**
 * Reading a body without trusting its size: the bytes of a stream, counted as they arrive and
 * given up on (the stream cancelled) as soon as they pass a cap, so no peer can make us buffer
 * more than we allow. Used for signed request bodies and for backends' answers to hooks.
 */

/** The stream's bytes, or null (the stream cancelled) once they pass `max`. */
export async function readCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}
