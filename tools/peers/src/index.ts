export { PeerError, type PeerErrorCode } from './errors.js';
export { freePort, freePorts, isPortOpen, waitPortClosed, LOOPBACK } from './ports.js';
export {
  httpRequest,
  httpGet,
  answersHttp,
  type HttpRequestOptions,
  type HttpResult,
} from './http.js';
export { runRoot, repoRoot } from './paths.js';
export type { PeerHandle } from './peer-process.js';
export { stopAll, killLeftovers, runningCount, type KillLeftoversOptions } from './registry.js';
export {
  startTomcat,
  startTomcats,
  waitForClusterMembers,
  BIG_ALPHABET,
  DEFAULT_WEBAPP_DIR,
  CATALINA_HOME,
  TOMCAT_TEST_JAVA_OPTS,
  TOMCAT_BENCH_JAVA_OPTS,
  type TomcatOptions,
  type TomcatsOptions,
  type TomcatHandle,
  type TomcatClusterOptions,
} from './tomcat.js';
export {
  startHttpd,
  ajpBackends,
  type AjpBackend,
  type HttpdOptions,
  type HttpdHandle,
} from './httpd.js';
export { PeerScope, withPeer } from './scope.js';
export { PEER_PACKAGES, installedVersion, missingPackages, type PeerPackage } from './packages.js';
export { requirePeers, decidePeers, isCi, INSTALL_HINT, type PeerRequirement } from './require.js';
export { httpBackends, type HttpBackend } from './backends.js';
export { startHaproxy, type HaproxyOptions, type HaproxyHandle } from './haproxy.js';
export { startNginx, type NginxOptions, type NginxHandle } from './nginx.js';
export { startPen, type PenOptions, type PenHandle } from './pen.js';
export { startRedis, redisPing, type RedisOptions, type RedisHandle } from './redis.js';
export {
  startRedisCluster,
  redisClusterInfo,
  REDIS_CLI_BIN,
  type RedisClusterOptions,
  type RedisClusterHandle,
} from './redis-cluster.js';
export {
  startMemcached,
  memcachedVersion,
  type MemcachedOptions,
  type MemcachedHandle,
} from './memcached.js';
export { tcpExchange } from './tcp.js';
export { runWrk, parseWrkOutput, type WrkOptions, type WrkResult, type WrkLatency } from './wrk.js';
