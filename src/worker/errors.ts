/**
 * The one error type of the HTTP side: thrown anywhere in a route, rendered by
 * `app.onError` as `{"error": "<code>", "message": "<sentence>"}` with its status.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }
}
