// `@sqlrep/ltx/node`: Node-only helpers over the file system, for the bin and for
// packages that apply LTX to database files (a LiteFS-style store, restores).
export { FilePageStore } from "./bin/file-page-store.js";
export { fileReadAt } from "./bin/file-range.js";
