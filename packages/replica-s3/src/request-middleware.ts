/**
 * What Litestream's S3 client changes in requests, as SDK middleware: `UNSIGNED-PAYLOAD`
 * when payload signing is off, `Content-MD5` on DeleteObjects, a provider's extra
 * headers (Tigris' consistent reads). All run at the build step, before signing, so the
 * headers they set are signed.
 */
import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";

/** The request as the build step sees it (the SDK's HttpRequest). */
interface BuildRequest {
  headers: Record<string, string>;
  body?: unknown;
}

/** What the middleware does, from resolved settings. */
export interface RequestChanges {
  signPayload: boolean;
  requireContentMd5: boolean;
  headers: Readonly<Record<string, string>>;
}

/** Adds the middleware `changes` asks for to a client's stack. */
export function addRequestMiddleware(client: S3Client, changes: RequestChanges): void {
  const headers = Object.entries(changes.headers);
  if (changes.signPayload && !changes.requireContentMd5 && headers.length === 0) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as Partial<BuildRequest> | undefined;
      if (request?.headers !== undefined) {
        for (const [name, value] of headers) request.headers[name] = value;
        // The signer takes a payload hash already in this header as it is.
        if (!changes.signPayload) request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
        if (changes.requireContentMd5 && context.commandName === "DeleteObjectsCommand" && !hasHeader(request.headers, "content-md5")) {
          const body = bodyBytes(request.body);
          if (body !== undefined) request.headers["content-md5"] = createHash("md5").update(body).digest("base64");
        }
      }
      return next(args);
    },
    { step: "build", name: "sqlrepRequestChanges", override: true },
  );
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** DeleteObjects bodies are serialized XML: a string or bytes. */
function bodyBytes(body: unknown): Uint8Array | undefined {
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return body;
  return undefined;
}
