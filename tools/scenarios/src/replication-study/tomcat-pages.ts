import { ScenarioError } from '../errors.js';

/**
 * `study.jsp`: the Tomcat side of the study page. Same contract as the cohort application:
 * `?size=small|large&mode=delta|full&seq=N` writes the session (100 × 1 KB or 1 × 100 KB
 * Strings; a new session or `full` writes every attribute, `delta` one in turn, each value
 * starting with `seq:index:` so every write changes it) and answers
 * `ok node=<jvmRoute> new=<bool> wrote=<n>`.
 */
export const STUDY_JSP = `<%@ page contentType="text/plain; charset=UTF-8" pageEncoding="UTF-8" session="true" trimDirectiveWhitespaces="true" %><%
boolean large = "large".equals(request.getParameter("size"));
boolean full = "full".equals(request.getParameter("mode"));
int seq = Integer.parseInt(request.getParameter("seq"));
int count = large ? 1 : 100;
int bytes = large ? 102400 : 1024;
boolean fresh = session.getAttribute("a0") == null;
int wrote = 0;
for (int i = 0; i < count; i++) {
  if (!fresh && !full && i != seq % count) continue;
  StringBuilder sb = new StringBuilder(bytes);
  sb.append(seq).append(':').append(i).append(':');
  while (sb.length() < bytes) sb.append('x');
  session.setAttribute("a" + i, sb.toString());
  wrote++;
}
out.print("ok node=" + System.getProperty("cohort.node") + " new=" + fresh + " wrote=" + wrote + "\\n");
%>`;

/**
 * `control.jsp`: reads and changes the cluster at run time through Tomcat's own MBeans (the
 * platform MBean server of the JVM it runs in):
 * - `sendOptions=6|8`: SimpleTcpCluster `channelSendOptions` (6 = use_ack + sync, 8 = async);
 * - `filter=<regex>` (or `none`): ReplicationValve `filter` — `.*` marks every request as
 *   one that cannot change a session, so nothing is replicated (the no-replication baseline);
 * - `reset=1`: turns the valve's statistics on and resets them;
 * and answers the valve's statistics as JSON (`totalRequestTime`, `totalSendTime` in ms).
 */
export const CONTROL_JSP = `<%@ page contentType="application/json; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" import="javax.management.*,java.lang.management.ManagementFactory" %><%
MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();
ObjectName valve = null;
for (ObjectName n : mbs.queryNames(new ObjectName("Catalina:type=Valve,*"), null)) {
  String name = n.getKeyProperty("name");
  if (name != null && name.contains("ReplicationValve")) valve = n;
}
ObjectName cluster = null;
for (ObjectName n : mbs.queryNames(new ObjectName("Catalina:type=Cluster,*"), null)) {
  if (n.getKeyProperty("component") == null) cluster = n; // not its Member entries
}
String so = request.getParameter("sendOptions");
if (so != null && cluster != null) mbs.setAttribute(cluster, new Attribute("channelSendOptions", so));
String filter = request.getParameter("filter");
if (filter != null && valve != null) mbs.setAttribute(valve, new Attribute("filter", "none".equals(filter) ? "" : filter));
if ("1".equals(request.getParameter("reset")) && valve != null) {
  mbs.setAttribute(valve, new Attribute("doProcessingStats", Boolean.TRUE));
  mbs.invoke(valve, "resetStatistics", null, null);
}
StringBuilder j = new StringBuilder("{");
j.append("\\"valve\\":").append(valve != null).append(",\\"cluster\\":").append(cluster != null);
if (cluster != null) j.append(",\\"channelSendOptions\\":").append(Integer.parseInt(String.valueOf(mbs.getAttribute(cluster, "channelSendOptions"))));
if (valve != null) {
  Object f = mbs.getAttribute(valve, "filter");
  j.append(",\\"filterAll\\":").append(f != null && ".*".equals(String.valueOf(f)));
  for (String a : new String[] {"nrOfRequests", "totalRequestTime", "totalSendTime", "nrOfSendRequests", "nrOfFilterRequests"}) {
    j.append(",\\"").append(a).append("\\":").append(mbs.getAttribute(valve, a));
  }
}
out.print(j.append("}\\n"));
%>`;

/** What control.jsp answers. */
export interface ControlAnswer {
  /** Whether a ReplicationValve MBean was found. */
  readonly valve: boolean;
  /** Whether a SimpleTcpCluster MBean was found. */
  readonly cluster: boolean;
  /** The cluster's current send options (6 sync + ack, 8 async). */
  readonly channelSendOptions?: number;
  /** Whether the valve's filter is `.*` (nothing replicated). */
  readonly filterAll?: boolean;
  /** Requests the valve counted since the last reset (the reset request included). */
  readonly nrOfRequests?: number;
  /** Sum of the valve's request times (the rest of the pipeline + the replication send), ms. */
  readonly totalRequestTime?: number;
  /** Sum of the valve's replication send times (Tomcat's "cluster overhead"), ms. */
  readonly totalSendTime?: number;
  /** Requests that sent a replication message. */
  readonly nrOfSendRequests?: number;
  /** Requests the filter skipped. */
  readonly nrOfFilterRequests?: number;
}

/** Parses control.jsp's JSON; anything else is `BAD_CONTROL_RESPONSE`. */
export function parseControlAnswer(body: string): ControlAnswer {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new ScenarioError(
      'BAD_CONTROL_RESPONSE',
      `not JSON: ${JSON.stringify(body.slice(0, 80))}`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ScenarioError('BAD_CONTROL_RESPONSE', 'not a JSON object');
  }
  const o = v as Record<string, unknown>;
  if (typeof o.valve !== 'boolean' || typeof o.cluster !== 'boolean') {
    throw new ScenarioError('BAD_CONTROL_RESPONSE', 'valve and cluster must be booleans');
  }
  const out: Record<string, unknown> = { valve: o.valve, cluster: o.cluster };
  for (const k of [
    'channelSendOptions',
    'nrOfRequests',
    'totalRequestTime',
    'totalSendTime',
    'nrOfSendRequests',
    'nrOfFilterRequests',
  ]) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k]) || o[k] < 0) {
      throw new ScenarioError('BAD_CONTROL_RESPONSE', `${k} must be a number >= 0`);
    }
    out[k] = o[k];
  }
  if (o.filterAll !== undefined) {
    if (typeof o.filterAll !== 'boolean') {
      throw new ScenarioError('BAD_CONTROL_RESPONSE', 'filterAll must be a boolean');
    }
    out.filterAll = o.filterAll;
  }
  return out as unknown as ControlAnswer;
}

/** Calls control.jsp of one Tomcat (directly, not through the balancer). */
export async function tomcatControl(
  baseUrl: string,
  params: Record<string, string> = {},
): Promise<ControlAnswer> {
  const q = new URLSearchParams(params).toString();
  const r = await fetch(`${baseUrl}/control.jsp${q ? `?${q}` : ''}`);
  const body = await r.text();
  if (r.status !== 200) {
    throw new ScenarioError('BAD_CONTROL_RESPONSE', `status ${r.status}: ${body.slice(0, 200)}`);
  }
  return parseControlAnswer(body);
}
