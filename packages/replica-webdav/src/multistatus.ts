/**
 * PROPFIND and PROPPATCH bodies, and the parser of the `207 Multi-Status` answers: which
 * resources a collection holds, their sizes, modification times, and the LTX timestamp
 * sqlrep keeps as a dead property.
 */
import { XMLParser } from "fast-xml-parser";
import { formatRFC3339Nano, parseRFC3339 } from "@sqlrep/replica";

/** The dead property holding the LTX timestamp (RFC 3339, as Litestream writes it in metadata elsewhere). */
export const TIMESTAMP_PROPERTY = { namespace: "https://sqlrep.dev/ns/", name: "ltx-timestamp" } as const;

/** What a PROPFIND asks for. */
export const PROPFIND_BODY =
  `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:S="${TIMESTAMP_PROPERTY.namespace}">` +
  `<D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><S:${TIMESTAMP_PROPERTY.name}/></D:prop></D:propfind>`;

/** A PROPPATCH that sets the timestamp property. */
export function proppatchBody(timestamp: Date): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:S="${TIMESTAMP_PROPERTY.namespace}">` +
    `<D:set><D:prop><S:${TIMESTAMP_PROPERTY.name}>${formatRFC3339Nano(timestamp)}</S:${TIMESTAMP_PROPERTY.name}></D:prop></D:set></D:propertyupdate>`
  );
}

/** One resource of a multistatus answer. */
export interface DavResource {
  /** The decoded URL path (`/base/db/ltx/0/…`), without a trailing `/`. */
  path: string;
  collection: boolean;
  size: number;
  lastModified: Date;
  /** The timestamp property, when the server keeps it. */
  timestamp: Date | undefined;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === "response" || name === "propstat",
});

interface Propstat {
  status?: string;
  prop?: Record<string, unknown>;
}

/**
 * The resources of a PROPFIND answer. Properties count only from a propstat whose status
 * is 200 (servers list the unknown ones under 404). Element names are matched without
 * their namespace: some servers (webdav-server) rewrite the namespace of dead properties.
 */
export function parseMultistatus(xml: string): DavResource[] {
  const doc = parser.parse(xml) as { multistatus?: { response?: { href?: string; propstat?: Propstat[] }[] } };
  const out: DavResource[] = [];
  for (const response of doc.multistatus?.response ?? []) {
    if (typeof response.href !== "string") continue;
    const props: Record<string, unknown> = {};
    for (const stat of response.propstat ?? []) {
      if (/\s200\s/.test(` ${stat.status ?? ""} `) && typeof stat.prop === "object" && stat.prop !== null) Object.assign(props, stat.prop);
    }
    const type = props.resourcetype;
    const stamp = props[TIMESTAMP_PROPERTY.name];
    out.push({
      path: hrefPath(response.href),
      collection: typeof type === "object" && type !== null && "collection" in type,
      size: Number(props.getcontentlength ?? 0) || 0,
      lastModified: new Date(typeof props.getlastmodified === "string" ? props.getlastmodified : 0),
      timestamp: typeof stamp === "string" ? parseRFC3339(stamp) : undefined,
    });
  }
  return out;
}

/** The decoded path of an href (absolute URL or absolute path), without a trailing `/`. */
function hrefPath(href: string): string {
  const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(href) ? new URL(href).pathname : href.split("?")[0]!;
  return path
    .split("/")
    .map((segment) => decodeURIComponent(segment))
    .join("/")
    .replace(/\/+$/, "");
}

/** True when a PROPPATCH answer says every property was set (a 207 whose propstats are all 200). */
export function proppatchSucceeded(xml: string): boolean {
  const doc = parser.parse(xml) as { multistatus?: { response?: { propstat?: Propstat[] }[] } };
  const stats = (doc.multistatus?.response ?? []).flatMap((r) => r.propstat ?? []);
  return stats.length > 0 && stats.every((s) => /\s200\s/.test(` ${s.status ?? ""} `));
}
