// @sqlrep/page-file: the one page writer (restores, legacy restores, `ltx apply`, and the
// cluster's apply to come). Nothing else is public.
export { PageFile, type PageFileOptions, type Replacing } from "./page-file.js";
export { FilePageStore } from "./file-page-store.js";
export { replaceFile, syncDirectory } from "./replace.js";
export { PageFileError, isPageFileError, type PageFileErrorCode, type PageFileErrorOptions } from "./errors.js";
