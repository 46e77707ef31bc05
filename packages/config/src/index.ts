// The public surface of @sqlrep/config. Nothing else is public.
export { ConfigError, isConfigError, type ConfigErrorCode, type ConfigErrorOptions, type ConfigLocation } from "./errors.js";
export { expandEnv, type Env, type UnsetVariable } from "./env.js";
export { formatDuration, parseDuration } from "./duration.js";
export { parseByteSize } from "./size.js";
export { parseYaml, type YamlSource } from "./yaml.js";
export {
  boolean,
  byShape,
  byteSize,
  camelCase,
  Cursor,
  duration,
  errorAt,
  fileMode,
  integer,
  list,
  locate,
  object,
  oneOf,
  Schema,
  string,
  unsupported,
  UnsupportedKey,
  type CamelCase,
  type DurationOptions,
  type Infer,
  type ListOptions,
  type ObjectOutput,
  type RangeOptions,
  type Shape,
  type StringOptions,
} from "./schema.js";
export { loadConfigFile, parseConfig, type ConfigWarning, type ParseConfigOptions } from "./load.js";
