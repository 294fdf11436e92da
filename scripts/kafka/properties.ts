/**
 * The files the local broker is configured by, written into its data dir on every start:
 * `server.properties` (one KRaft node, alone or in a static quorum) and `log4j2.properties`.
 */
import { HOST } from './ports';

/**
 * Written at the top of server.properties; `--fresh` only deletes directories carrying it. It
 * names local-kafka.ts, where it was first written: data dirs made since carry these very words.
 */
export const SERVER_PROPERTIES_HEADER = '# Written by scripts/kafka/local-kafka.ts';

/** What a node needs to know of its cluster. */
export interface ClusterNode {
  /** `node.id`, 1-based. */
  id: number;
  /** Every node's controller port, by node id (index 0 is node 1): the static voter set. */
  controllerPorts: number[];
  /** Shared by every node: storage formatted for another cluster id is refused by Kafka. */
  clusterId: string;
}

/**
 * server.properties of a combined broker and controller listening on 127.0.0.1: alone (its own
 * quorum, bootstrapped from `controllerPort`) when `node` is undefined, else one voter of the
 * static quorum `node.controllerPorts`.
 */
export function serverProperties(
  port: number,
  controllerPort: number,
  logDir: string,
  node: ClusterNode | undefined,
): string {
  // A cluster's internal topics are replicated like the platform's (3 copies, 2 in sync) once it
  // has three nodes; one copy on fewer.
  const size = node?.controllerPorts.length ?? 1;
  const replicas = Math.min(size, 3);
  const minIsr = replicas >= 3 ? 2 : 1;
  const quorum =
    node === undefined
      ? `controller.quorum.bootstrap.servers=${HOST}:${controllerPort}`
      : `controller.quorum.voters=${node.controllerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',')}`;
  return `${SERVER_PROPERTIES_HEADER} on every start; edits are overwritten.
process.roles=broker,controller
node.id=${node?.id ?? 1}
${quorum}
listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}
num.partitions=3
# One partition means one group coordinator to load: faster start, and the readiness probe
# then proves the coordinator every consumer group will use is loaded.
offsets.topic.num.partitions=1
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${minIsr}
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${minIsr}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
`;
}

/**
 * log4j2.properties: everything to `${kafka.logs.dir}/server.log`, chatty config and network
 * loggers at WARN. Console off: stdout/stderr go to the same file anyway, and JVM crash output
 * stays visible there.
 */
export const LOG4J2_PROPERTIES = `${SERVER_PROPERTIES_HEADER}
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafkaconfig.name = org.apache.kafka.common.config
logger.kafkaconfig.level = WARN
logger.clientconfig.name = org.apache.kafka.clients
logger.clientconfig.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.network.name = kafka.network
logger.network.level = WARN
`;
