/** `litefs mount`: the daemon — the FUSE mount of replicated SQLite databases. */
import { createLogger, defineFlags } from "@sqlrep/runtime";
import { defineCommand } from "../command.js";
import { loadLitefsConfig } from "../config/load.js";
import { runDaemon } from "../daemon.js";

/** `litefs mount [-config PATH] [-no-expand-env] [-skip-unmount] [-debug] [-- cmd args]`. */
export const mountCommand = defineCommand({
  name: "mount",
  summary: "mounts the file system and replicates its databases",
  description:
    "Mounts fuse.dir, whose SQLite databases replicate to the other nodes of the cluster, and runs the node: the lease, the HTTP API, then the exec command once the node is primary or caught up. The config is -config PATH, else ./litefs.yml, $HOME/litefs.yml, /etc/litefs.yml.",
  synopsis: ["[arguments] [-- CMD ARGS...]"],
  flags: defineFlags({
    config: { type: "string", usage: "path to the config file", placeholder: "PATH" },
    "no-expand-env": { type: "boolean", usage: "do not expand environment variables in the config file" },
    "skip-unmount": { type: "boolean", usage: "do not clear a stale mount at fuse.dir on startup" },
    "fuse.debug": { type: "boolean", usage: "log every refused FUSE operation" },
    debug: { type: "boolean", usage: "debug logging" },
    tracing: { type: "boolean", usage: "accepted for LiteFS compatibility (trace lines go to the debug log)" },
  }),
  examples: ["# run the app once this node is ready", "$ litefs mount -config /etc/litefs.yml -- node server.js"],
  async run({ flags, positionals }, io) {
    const { file, config } = loadLitefsConfig({ path: flags.config, expandEnv: !flags["no-expand-env"], env: io.env, cwd: io.cwd });
    const logger = createLogger({
      stream: io.stdout,
      level: flags.debug || config.log.debug ? "debug" : "info",
      format: config.log.format,
      timestamp: config.log.timestamp,
    });
    logger.info("config file read", { path: file });
    return runDaemon(
      config,
      { execOverride: positionals.length > 0 ? positionals : undefined, skipUnmount: flags["skip-unmount"], fuseDebug: flags["fuse.debug"] || config.fuse.debug, logger },
      io,
    );
  },
});
