/**
 * The replica backends this CLI serves. Adding one is its package and one line here:
 * its URL schemes, config keys and client come with it (the client loads on first use).
 */
import { fileBackend, type ReplicaBackend } from "@sqlrep/replica";
import { absBackend } from "@sqlrep/replica-abs/backend";
import { gsBackend } from "@sqlrep/replica-gs/backend";
import { s3Backend } from "@sqlrep/replica-s3/backend";
import { webdavBackend } from "@sqlrep/replica-webdav/backend";

export const BACKENDS: readonly ReplicaBackend[] = [fileBackend, s3Backend, absBackend, gsBackend, webdavBackend];
