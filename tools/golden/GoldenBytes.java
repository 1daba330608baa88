// Prints the Java client's encoding of a fixed set of protocol messages, one per line:
//   <case name> TAB <version> TAB <hex>
// tools/golden/generate_golden.py compiles and runs this against the pinned kafka-clients
// jar and stores the output in tests/unit/protocol/golden/golden.json. The Python side of
// every case (the same field values) lives in tests/unit/protocol/test_golden.py.

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.DescribeTopicPartitionsRequestData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.types.RawTaggedField;
import org.apache.kafka.common.record.internal.MemoryRecords;

public final class GoldenBytes {
    static final Uuid TOPIC_ID = new Uuid(0x0123456789abcdefL, 0x1032547698badcfeL);
    static final Uuid DIR_ID = new Uuid(0x1111111111111111L, 0x2222222222222222L);
    static final byte[] RECORDS = new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, (byte) 0xfe, (byte) 0xff};

    private GoldenBytes() {}

    static void emit(String name, Message message, int version) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        short v = (short) version;
        int size = message.size(cache, v);
        ByteBuffer buf = ByteBuffer.allocate(size);
        message.write(new ByteBufferAccessor(buf), cache, v);
        if (buf.position() != size) {
            throw new IllegalStateException(name + ": wrote " + buf.position() + " of " + size);
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : buf.array()) {
            hex.append(String.format("%02x", b & 0xff));
        }
        System.out.println(name + "\t" + version + "\t" + hex);
    }

    static MemoryRecords records() {
        return MemoryRecords.readableRecords(ByteBuffer.wrap(RECORDS));
    }

    static MetadataRequestData metadataRequest() {
        List<MetadataRequestData.MetadataRequestTopic> topics = new ArrayList<>();
        topics.add(new MetadataRequestData.MetadataRequestTopic().setName("orders"));
        topics.add(new MetadataRequestData.MetadataRequestTopic().setTopicId(TOPIC_ID).setName(null));
        return new MetadataRequestData()
            .setTopics(topics)
            .setAllowAutoTopicCreation(false)
            .setIncludeTopicAuthorizedOperations(true);
    }

    static ProduceRequestData produceRequest(boolean byId) {
        ProduceRequestData.TopicProduceDataCollection topics = new ProduceRequestData.TopicProduceDataCollection();
        ProduceRequestData.TopicProduceData topic = new ProduceRequestData.TopicProduceData();
        if (byId) {
            topic.setTopicId(TOPIC_ID);
        } else {
            topic.setName("orders");
        }
        topic.setPartitionData(Arrays.asList(
            new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(records()),
            new ProduceRequestData.PartitionProduceData().setIndex(1).setRecords(null)));
        topics.add(topic);
        return new ProduceRequestData()
            .setTransactionalId(byId ? "txn-1" : null)
            .setAcks((short) -1)
            .setTimeoutMs(30000)
            .setTopicData(topics);
    }

    static CreateTopicsRequestData createTopicsRequest() {
        CreateTopicsRequestData.CreatableTopicCollection topics = new CreateTopicsRequestData.CreatableTopicCollection();
        CreateTopicsRequestData.CreatableTopicConfigCollection configs = new CreateTopicsRequestData.CreatableTopicConfigCollection();
        configs.add(new CreateTopicsRequestData.CreatableTopicConfig().setName("cleanup.policy").setValue("compact"));
        configs.add(new CreateTopicsRequestData.CreatableTopicConfig().setName("retention.ms").setValue(null));
        topics.add(new CreateTopicsRequestData.CreatableTopic()
            .setName("orders").setNumPartitions(3).setReplicationFactor((short) 1).setConfigs(configs));
        CreateTopicsRequestData.CreatableReplicaAssignmentCollection assignments =
            new CreateTopicsRequestData.CreatableReplicaAssignmentCollection();
        assignments.add(new CreateTopicsRequestData.CreatableReplicaAssignment()
            .setPartitionIndex(0).setBrokerIds(Arrays.asList(1, 2)));
        assignments.add(new CreateTopicsRequestData.CreatableReplicaAssignment()
            .setPartitionIndex(1).setBrokerIds(Arrays.asList(2, 3)));
        topics.add(new CreateTopicsRequestData.CreatableTopic()
            .setName("manual").setNumPartitions(-1).setReplicationFactor((short) -1).setAssignments(assignments));
        return new CreateTopicsRequestData().setTopics(topics).setTimeoutMs(30000).setValidateOnly(true);
    }

    static FetchRequestData fetchRequest(int version) {
        FetchRequestData.FetchPartition partition = new FetchRequestData.FetchPartition()
            .setPartition(0)
            .setCurrentLeaderEpoch(5)
            .setFetchOffset(100)
            .setLastFetchedEpoch(version >= 12 ? 4 : -1)
            .setLogStartOffset(-1)
            .setPartitionMaxBytes(1048576);
        if (version >= 17) {
            partition.setReplicaDirectoryId(DIR_ID);
        }
        if (version >= 18) {
            partition.setHighWatermark(12345);
        }
        FetchRequestData.FetchTopic topic = new FetchRequestData.FetchTopic()
            .setPartitions(Collections.singletonList(partition));
        FetchRequestData.ForgottenTopic forgotten = new FetchRequestData.ForgottenTopic()
            .setPartitions(Arrays.asList(3, 4));
        if (version >= 13) {
            topic.setTopicId(TOPIC_ID);
            forgotten.setTopicId(TOPIC_ID);
        } else {
            topic.setTopic("orders");
            forgotten.setTopic("old");
        }
        FetchRequestData data = new FetchRequestData()
            .setClusterId("cluster-x")
            .setMaxWaitMs(500)
            .setMinBytes(1)
            .setMaxBytes(52428800)
            .setIsolationLevel((byte) 1)
            .setSessionId(0)
            .setSessionEpoch(-1)
            .setTopics(Collections.singletonList(topic))
            .setForgottenTopicsData(version >= 7 ? Collections.singletonList(forgotten) : Collections.emptyList())
            .setRackId("rack-1");
        if (version >= 15) {
            data.setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(3).setReplicaEpoch(7));
        }
        if (version >= 12) {
            data.unknownTaggedFields().add(new RawTaggedField(7, new byte[] {1, 2, 3}));
        }
        return data;
    }

    static MetadataResponseData metadataResponse() {
        MetadataResponseData.MetadataResponseBrokerCollection brokers = new MetadataResponseData.MetadataResponseBrokerCollection();
        brokers.add(new MetadataResponseData.MetadataResponseBroker().setNodeId(1).setHost("localhost").setPort(9092).setRack(null));
        brokers.add(new MetadataResponseData.MetadataResponseBroker().setNodeId(2).setHost("h2").setPort(9093).setRack("r1"));
        MetadataResponseData.MetadataResponseTopicCollection topics = new MetadataResponseData.MetadataResponseTopicCollection();
        topics.add(new MetadataResponseData.MetadataResponseTopic()
            .setErrorCode((short) 0)
            .setName("orders")
            .setTopicId(TOPIC_ID)
            .setIsInternal(false)
            .setPartitions(Collections.singletonList(new MetadataResponseData.MetadataResponsePartition()
                .setErrorCode((short) 0)
                .setPartitionIndex(0)
                .setLeaderId(1)
                .setLeaderEpoch(3)
                .setReplicaNodes(Arrays.asList(1, 2))
                .setIsrNodes(Collections.singletonList(1))
                .setOfflineReplicas(Collections.emptyList()))));
        return new MetadataResponseData()
            .setThrottleTimeMs(0)
            .setBrokers(brokers)
            .setClusterId("abc")
            .setControllerId(1)
            .setTopics(topics);
    }

    static ApiVersionsResponseData apiVersionsResponse() {
        ApiVersionsResponseData.ApiVersionCollection keys = new ApiVersionsResponseData.ApiVersionCollection();
        keys.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 0).setMinVersion((short) 3).setMaxVersion((short) 13));
        keys.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 18).setMinVersion((short) 0).setMaxVersion((short) 4));
        ApiVersionsResponseData.SupportedFeatureKeyCollection supported = new ApiVersionsResponseData.SupportedFeatureKeyCollection();
        supported.add(new ApiVersionsResponseData.SupportedFeatureKey().setName("metadata.version").setMinVersion((short) 1).setMaxVersion((short) 27));
        ApiVersionsResponseData.FinalizedFeatureKeyCollection finalized = new ApiVersionsResponseData.FinalizedFeatureKeyCollection();
        finalized.add(new ApiVersionsResponseData.FinalizedFeatureKey().setName("metadata.version").setMaxVersionLevel((short) 27).setMinVersionLevel((short) 27));
        return new ApiVersionsResponseData()
            .setErrorCode((short) 0)
            .setApiKeys(keys)
            .setThrottleTimeMs(0)
            .setSupportedFeatures(supported)
            .setFinalizedFeaturesEpoch(42)
            .setFinalizedFeatures(finalized);
    }

    static FetchResponseData fetchResponse(int version) {
        FetchResponseData.PartitionData partition = new FetchResponseData.PartitionData()
            .setPartitionIndex(0)
            .setErrorCode((short) 0)
            .setHighWatermark(200)
            .setLastStableOffset(150)
            .setLogStartOffset(0)
            .setAbortedTransactions(Collections.singletonList(
                new FetchResponseData.AbortedTransaction().setProducerId(9).setFirstOffset(120)))
            .setPreferredReadReplica(-1)
            .setRecords(records());
        FetchResponseData.PartitionData empty = new FetchResponseData.PartitionData()
            .setPartitionIndex(1)
            .setErrorCode((short) 6)
            .setHighWatermark(-1)
            .setAbortedTransactions(null)
            .setRecords(null);
        if (version >= 12) {
            empty.setCurrentLeader(new FetchResponseData.LeaderIdAndEpoch().setLeaderId(2).setLeaderEpoch(8));
        }
        FetchResponseData.FetchableTopicResponse topic = new FetchResponseData.FetchableTopicResponse()
            .setPartitions(Arrays.asList(partition, empty));
        if (version >= 13) {
            topic.setTopicId(TOPIC_ID);
        } else {
            topic.setTopic("orders");
        }
        FetchResponseData data = new FetchResponseData()
            .setThrottleTimeMs(0)
            .setErrorCode((short) 0)
            .setSessionId(version >= 7 ? 77 : 0)
            .setResponses(Collections.singletonList(topic));
        if (version >= 16) {
            FetchResponseData.NodeEndpointCollection nodes = new FetchResponseData.NodeEndpointCollection();
            nodes.add(new FetchResponseData.NodeEndpoint().setNodeId(2).setHost("h2").setPort(9093).setRack(null));
            data.setNodeEndpoints(nodes);
        }
        return data;
    }

    static ConsumerGroupHeartbeatResponseData heartbeatResponse(boolean withAssignment) {
        ConsumerGroupHeartbeatResponseData data = new ConsumerGroupHeartbeatResponseData()
            .setThrottleTimeMs(0)
            .setErrorCode((short) 0)
            .setErrorMessage(null)
            .setMemberId("member-1")
            .setMemberEpoch(5)
            .setHeartbeatIntervalMs(3000);
        if (withAssignment) {
            data.setAssignment(new ConsumerGroupHeartbeatResponseData.Assignment()
                .setTopicPartitions(Collections.singletonList(
                    new ConsumerGroupHeartbeatResponseData.TopicPartitions()
                        .setTopicId(TOPIC_ID)
                        .setPartitions(Arrays.asList(0, 2)))));
        }
        return data;
    }

    public static void main(String[] args) {
        emit("metadata_request", metadataRequest(), 12);
        emit("metadata_request", metadataRequest(), 13);
        emit("metadata_request_v4", new MetadataRequestData()
            .setTopics(Collections.singletonList(new MetadataRequestData.MetadataRequestTopic().setName("orders")))
            .setAllowAutoTopicCreation(true), 4);
        emit("metadata_request_all_topics", new MetadataRequestData().setTopics(null), 1);
        emit("metadata_request_all_topics", new MetadataRequestData().setTopics(null), 12);
        emit("api_versions_request", new ApiVersionsRequestData()
            .setClientSoftwareName("kafkaio").setClientSoftwareVersion("0.1.0"), 3);
        emit("api_versions_request", new ApiVersionsRequestData()
            .setClientSoftwareName("kafkaio").setClientSoftwareVersion("0.1.0"), 4);
        emit("api_versions_request_v0", new ApiVersionsRequestData(), 0);
        emit("produce_request", produceRequest(false), 3);
        emit("produce_request", produceRequest(false), 9);
        emit("produce_request", produceRequest(false), 12);
        emit("produce_request_by_id", produceRequest(true), 13);
        emit("find_coordinator_request_v0", new FindCoordinatorRequestData().setKey("group-a"), 0);
        emit("find_coordinator_request_v3", new FindCoordinatorRequestData().setKey("txn-1").setKeyType((byte) 1), 3);
        emit("find_coordinator_request_batched", new FindCoordinatorRequestData()
            .setKeyType((byte) 0).setCoordinatorKeys(Arrays.asList("group-a", "group-b")), 4);
        emit("find_coordinator_request_batched", new FindCoordinatorRequestData()
            .setKeyType((byte) 0).setCoordinatorKeys(Arrays.asList("group-a", "group-b")), 6);
        emit("create_topics_request", createTopicsRequest(), 2);
        emit("create_topics_request", createTopicsRequest(), 5);
        emit("create_topics_request", createTopicsRequest(), 7);
        for (int v : new int[] {4, 11, 12, 13, 15, 16, 17, 18}) {
            emit("fetch_request", fetchRequest(v), v);
        }
        emit("describe_topic_partitions_request", new DescribeTopicPartitionsRequestData()
            .setTopics(Collections.singletonList(new DescribeTopicPartitionsRequestData.TopicRequest().setName("orders")))
            .setResponsePartitionLimit(100)
            .setCursor(new DescribeTopicPartitionsRequestData.Cursor().setTopicName("orders").setPartitionIndex(7)), 0);
        emit("describe_topic_partitions_request_no_cursor", new DescribeTopicPartitionsRequestData()
            .setTopics(Collections.emptyList()), 0);
        emit("metadata_response", metadataResponse(), 8);
        emit("metadata_response", metadataResponse(), 12);
        emit("api_versions_response", apiVersionsResponse(), 3);
        emit("api_versions_response_v0", new ApiVersionsResponseData()
            .setErrorCode((short) 35)
            .setApiKeys(apiVersionsResponse().apiKeys().duplicate()), 0);
        for (int v : new int[] {4, 11, 12, 13, 16}) {
            emit("fetch_response", fetchResponse(v), v);
        }
        emit("consumer_group_heartbeat_response", heartbeatResponse(true), 0);
        emit("consumer_group_heartbeat_response_no_assignment", heartbeatResponse(false), 1);
    }
}
