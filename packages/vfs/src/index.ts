// The public surface of @sqlrep/vfs. Nothing else is public.

export { Engine, type EngineOptions, type EngineStatus, type WriteModeOptions } from "./engine.js";
export { Session, LOCK, viewStateOf, type PragmaResult, type ViewState } from "./session.js";
export { Timeline, type TimelineOptions } from "./timeline.js";
export { hex, type RemoteState, type RemoteStep, type Version } from "./version.js";
export { LeaseWriteGuard } from "./lease-guard.js";
export { Writer, noWriteGuard, type UploadResult, type WriteGuard, type WriterOptions } from "./writer.js";
export { WriteBuffer, type BufferedCommit, type BufferState, type UploadIntent } from "./write-buffer.js";
export { Hydrator, type HydrationOptions } from "./hydration.js";
export { LtxFileTable, WHOLE_FILE_MAX, fileLabel, type LtxFile } from "./file-table.js";
export { PageFetcher, NO_READ_AHEAD, type PageFetcherOptions, type ReadAhead } from "./page-fetcher.js";
export { PageCache, pageKey } from "./page-cache.js";
export { VersionIndex, DATA, MISSING, ZERO, type Slot } from "./version-index.js";
export { DB_HEADER_SIZE, patchHeader, presentPageOne } from "./page-one.js";
export { formatTime, parseTimeValue } from "./time-value.js";
export { openReplicaClient, closeReplicaClient, DEFAULT_BACKENDS, type ReplicaSourceOptions } from "./replica-source.js";
export { VfsError, isVfsError, sqliteCodeOf, SQLITE, type VfsErrorCode, type VfsErrorOptions } from "./errors.js";
export { silentLogger, type Logger } from "./logger.js";
