import { xmlAttr } from './xml.js';

/** Replication settings for Tomcat's `SimpleTcpCluster` + `DeltaManager` with static membership. */
export interface TomcatClusterOptions {
  /**
   * Synchronous replication with acknowledgement (`channelSendOptions="6"`, default true): the
   * response leaves only after the peer applied the delta. false = Tomcat's async default (8),
   * where a read on the other node right after a write can be stale.
   */
  sync?: boolean;
  /** Add `JvmRouteBinderValve` (rewrites the route suffix after a failover; default true). */
  binderValve?: boolean;
  /** Channel heartbeat in ms (default 1000; shortens the re-join gap after a crash). */
  heartbeatMs?: number;
  /** The Tribes receiver port of this node (default: a free port). */
  receiverPort?: number;
  /**
   * Receiver ports (on 127.0.0.1) of every member, this node included, identical on all nodes.
   * `startTomcats` fills this in; for a single `startTomcat` it defaults to just this node.
   */
  memberPorts?: number[];
}

/** Everything server.xml needs. */
export interface ServerXmlInput {
  /** The Engine's jvmRoute. */
  route: string;
  /** HTTP connector port. */
  httpPort: number;
  /** AJP connector port. */
  ajpPort: number;
  /** The AJP secret (XML-escaped on output). */
  ajpSecret: string;
  /** A regex for AJP request attributes Tomcat accepts, or undefined for Tomcat's default. */
  allowedRequestAttributesPattern: string | undefined;
  /** Cluster settings, or undefined for a standalone instance. */
  cluster:
    (Required<Omit<TomcatClusterOptions, 'memberPorts'>> & { memberPorts: number[] }) | undefined;
}

/**
 * A 16-byte Tribes member id derived from the receiver port, written `{b0,…,b15}`, so every node
 * computes the same static member list without coordination.
 */
export function memberUniqueId(port: number): string {
  const bytes = [
    0xc0,
    0x40,
    port >> 8,
    port & 0xff,
    ...Array<number>(10).fill(0),
    port >> 8,
    port & 0xff,
  ];
  return `{${bytes.join(',')}}`;
}

function clusterXml(c: NonNullable<ServerXmlInput['cluster']>): string {
  const members = c.memberPorts
    .map(
      (p) =>
        `            <Member className="org.apache.catalina.tribes.membership.StaticMember" host="127.0.0.1" port="${p}" uniqueId="${memberUniqueId(p)}"/>`,
    )
    .join('\n');
  return `
      <Cluster className="org.apache.catalina.ha.tcp.SimpleTcpCluster" channelSendOptions="${c.sync ? 6 : 8}" channelStartOptions="15">
        <Manager className="org.apache.catalina.ha.session.DeltaManager" expireSessionsOnShutdown="false"
                 notifyListenersOnReplication="true" stateTransferTimeout="60"/>
        <Channel className="org.apache.catalina.tribes.group.GroupChannel" heartbeatSleeptime="${c.heartbeatMs}">
          <Membership className="org.apache.catalina.tribes.membership.StaticMembershipService"
                      connectTimeout="500" expirationTime="5000" rpcTimeout="3000">
${members}
          </Membership>
          <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver" address="127.0.0.1"
                    port="${c.receiverPort}" autoBind="1" selectorTimeout="100" maxThreads="6"/>
          <Sender className="org.apache.catalina.tribes.transport.ReplicationTransmitter">
            <Transport className="org.apache.catalina.tribes.transport.nio.PooledParallelSender"/>
          </Sender>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpFailureDetector"/>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.MessageDispatchInterceptor"/>
        </Channel>
        <Valve className="org.apache.catalina.ha.tcp.ReplicationValve"
               filter=".*\\.gif|.*\\.js|.*\\.jpeg|.*\\.jpg|.*\\.png|.*\\.htm|.*\\.html|.*\\.css|.*\\.txt"/>${
                 c.binderValve
                   ? '\n        <Valve className="org.apache.catalina.ha.session.JvmRouteBinderValve"/>'
                   : ''
               }
        <ClusterListener className="org.apache.catalina.ha.session.ClusterSessionListener"/>
      </Cluster>`;
}

/**
 * server.xml for one instance: no shutdown port (it is stopped by signal), HTTP and AJP
 * connectors on 127.0.0.1 with the AJP secret required, `jvmRoute` = route, and optionally the
 * cluster of tomcat-cluster.md §4.1.
 */
export function serverXml(i: ServerXmlInput): string {
  const allowed =
    i.allowedRequestAttributesPattern === undefined
      ? ''
      : ` allowedRequestAttributesPattern="${xmlAttr(i.allowedRequestAttributesPattern)}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by @cohort/peers -->
<Server port="-1" address="127.0.0.1" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener"/>
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener"/>
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="${i.httpPort}" protocol="HTTP/1.1" connectionTimeout="20000"/>
    <Connector address="127.0.0.1" port="${i.ajpPort}" protocol="AJP/1.3" secretRequired="true" secret="${xmlAttr(i.ajpSecret)}"${allowed}/>
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="${xmlAttr(i.route)}">${i.cluster ? clusterXml(i.cluster) : ''}
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
`;
}

/** context.xml: JarScanner off (startup 2.5 s → 0.5 s), no Manager (the cluster's wins). */
export const CONTEXT_XML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- written by @cohort/peers -->
<Context>
  <JarScanner scanClassPath="false" scanManifest="false"/>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
</Context>
`;

/** logging.properties: everything to the console (captured in logs/catalina.out), one line each. */
export const LOGGING_PROPERTIES = `# written by @cohort/peers
handlers = java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
.level = INFO
java.util.logging.ConsoleHandler.level = ALL
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
`;
