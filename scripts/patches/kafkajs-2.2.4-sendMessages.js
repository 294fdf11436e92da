// Patched by Interview Graph (scripts/patch-dependencies.js): kafkajs 2.2.4's sendMessages with
// the retry bug fixed. kafkajs remembered which *brokers* had answered and, on a retry, skipped
// every broker with an answer: a partition whose leader died and moved to a broker that had
// already answered for another partition was never sent again, and the send resolved as if it
// had succeeded, losing those messages. This version remembers which *partitions* are done, and
// assigns each message its partition once, so a retry sends exactly the partitions still missing.
const { KafkaJSMetadataNotLoaded } = require('../errors')
const { staleMetadata } = require('../protocol/error')
const groupMessagesPerPartition = require('./groupMessagesPerPartition')
const createTopicData = require('./createTopicData')
const responseSerializer = require('./responseSerializer')

const { keys } = Object

/**
 * @param {Object} options
 * @param {import("../../types").Logger} options.logger
 * @param {import("../../types").Cluster} options.cluster
 * @param {ReturnType<import("../../types").ICustomPartitioner>} options.partitioner
 * @param {import("./eosManager").EosManager} options.eosManager
 * @param {import("../retry").Retrier} options.retrier
 */
module.exports = ({ logger, cluster, partitioner, eosManager, retrier }) => {
  return async ({ acks, timeout, compression, topicMessages }) => {
    /** topic -> partition -> messages, decided once (a keyless message keeps its partition). */
    const messagesPerTopic = new Map()
    /** `${topic}/${partition}` of every partition whose messages the broker has acknowledged. */
    const done = new Set()
    /** Responses of the acknowledged partitions. */
    const responses = []

    const createProducerRequests = async () => {
      await cluster.refreshMetadataIfNecessary()

      /** nodeId -> [{ topic, partitions, messagesPerPartition }] of partitions still to send */
      const perBroker = new Map()
      for (const { topic, messages } of topicMessages) {
        const partitionMetadata = cluster.findTopicPartitionMetadata(topic)

        if (partitionMetadata.length === 0) {
          logger.debug('Producing to topic without metadata', {
            topic,
            targetTopics: Array.from(cluster.targetTopics),
          })

          throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata')
        }

        if (!messagesPerTopic.has(topic)) {
          messagesPerTopic.set(
            topic,
            groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner })
          )
        }
        const messagesPerPartition = messagesPerTopic.get(topic)
        const partitions = keys(messagesPerPartition).filter(
          partition => !done.has(`${topic}/${partition}`)
        )
        if (partitions.length === 0) continue
        const partitionsPerLeader = cluster.findLeaderForPartitions(topic, partitions)
        for (const nodeId of keys(partitionsPerLeader)) {
          if (!perBroker.has(nodeId)) perBroker.set(nodeId, [])
          perBroker.get(nodeId).push({
            topic,
            partitions: partitionsPerLeader[nodeId],
            messagesPerPartition,
          })
        }
      }

      const requests = []
      for (const [nodeId, topicDataForBroker] of perBroker) {
        const broker = await cluster.findBroker({ nodeId })
        requests.push(
          (async () => {
            const topicData = createTopicData(topicDataForBroker)

            await eosManager.acquireBrokerLock(broker)
            try {
              if (eosManager.isTransactional()) {
                await eosManager.addPartitionsToTransaction(topicData)
              }

              topicData.forEach(({ topic, partitions }) => {
                partitions.forEach(entry => {
                  entry['firstSequence'] = eosManager.getSequence(topic, entry.partition)
                  eosManager.updateSequence(topic, entry.partition, entry.messages.length)
                })
              })

              let response
              try {
                response = await broker.produce({
                  transactionalId: eosManager.isTransactional()
                    ? eosManager.getTransactionalId()
                    : undefined,
                  producerId: eosManager.getProducerId(),
                  producerEpoch: eosManager.getProducerEpoch(),
                  acks,
                  timeout,
                  compression,
                  topicData,
                })
              } catch (e) {
                topicData.forEach(({ topic, partitions }) => {
                  partitions.forEach(entry => {
                    eosManager.updateSequence(topic, entry.partition, -entry.messages.length)
                  })
                })
                throw e
              }

              topicData.forEach(({ topic, partitions }) => {
                partitions.forEach(entry => done.add(`${topic}/${entry.partition}`))
              })
              const expectResponse = acks !== 0
              if (expectResponse) responses.push(...responseSerializer(response))
            } finally {
              await eosManager.releaseBrokerLock(broker)
            }
          })()
        )
      }
      return requests
    }

    return retrier(async (bail, retryCount, retryTime) => {
      const topics = topicMessages.map(({ topic }) => topic)
      await cluster.addMultipleTargetTopics(topics)

      try {
        const requests = await createProducerRequests()
        // Every request settles before a retry, so none is still in flight when one starts.
        const outcomes = await Promise.allSettled(requests)
        const failed = outcomes.find(outcome => outcome.status === 'rejected')
        if (failed) throw failed.reason
        return responses
      } catch (e) {
        if (e.name === 'KafkaJSConnectionClosedError') {
          cluster.removeBroker({ host: e.host, port: e.port })
        }

        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, {
            retryCount,
            retryTime,
          })
          await cluster.connect()
          await cluster.refreshMetadata()
          throw e
        }

        // This is necessary in case the metadata is stale and the number of partitions
        // for this topic has increased in the meantime
        if (
          staleMetadata(e) ||
          e.name === 'KafkaJSMetadataNotLoaded' ||
          e.name === 'KafkaJSConnectionError' ||
          e.name === 'KafkaJSConnectionClosedError' ||
          (e.name === 'KafkaJSProtocolError' && e.retriable)
        ) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime })
          await cluster.refreshMetadata()
          throw e
        }

        logger.error(`${e.message}`, { retryCount, retryTime })
        if (e.retriable) throw e
        bail(e)
      }
    })
  }
}
