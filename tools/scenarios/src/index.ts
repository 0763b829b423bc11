/**
 * @cohort/scenarios: seed-document experiments reproduced with cohort in place, side by side
 * with the real peers. Issue 14 scenario 5, the Tomcat 5 + Pen session replication study:
 * {@link runReplicationStudy}.
 *
 * @packageDocumentation
 */
export { ScenarioError, type ScenarioErrorCode } from './errors.js';
export * from './replication-study/workload.js';
export { parseSsOutput, listConnections, type TcpConnection } from './replication-study/ss.js';
export { WireMeter, type WireBytes } from './replication-study/wire.js';
export {
  runReplicationStudy,
  withClusterOverhead,
  type StudyConfig,
  type StudyOptions,
  type StudyResult,
  type StudyRow,
  type StudySystem,
  type Replication,
} from './replication-study/study.js';
export { markdownTable, runDescription, writeJson } from './replication-study/report.js';
export {
  runClient,
  parseStudyAnswer,
  type ClientResult,
  type StudyAnswer,
} from './replication-study/client.js';
export {
  startStudyApp,
  timedBackend,
  type StudyApp,
  type AppStats,
  type AckStats,
} from './replication-study/cohort-app.js';
export {
  startSessionNodes,
  sessionNodeCli,
  type SessionNodeCluster,
  type SessionNodeProcess,
} from './replication-study/session-nodes.js';
export {
  STUDY_JSP,
  CONTROL_JSP,
  parseControlAnswer,
  tomcatControl,
  type ControlAnswer,
} from './replication-study/tomcat-pages.js';
