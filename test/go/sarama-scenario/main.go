// A user's session with sarama (Shopify's Go client for Kafka, Debian's 1.22.1) against a broker or a cluster: topic admin,
// an idempotent snappy-compressed producer, a consumer group that commits, group admin, DeleteRecords and
// DescribeCluster. Each step that fails ends the program with its error on stderr and status 1; at the end it
// prints what it saw as one JSON object on stdout for the test to check.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

const records = 40

type summary struct {
	Partitions     int      `json:"partitions"`
	RetentionMs    string   `json:"retentionMs"`
	Produced       int      `json:"produced"`
	Consumed       []string `json:"consumed"`
	GroupListed    bool     `json:"groupListed"`
	GroupState     string   `json:"groupState"`
	CommittedTotal int64    `json:"committedTotal"`
	TrimmedFrom    int32    `json:"trimmedFrom"`
	LogStartOffset int64    `json:"logStartOffset"`
	Brokers        int      `json:"brokers"`
}

func check(err error, step string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", step, err)
		os.Exit(1)
	}
}

type collector struct {
	values chan string
}

func (collector) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (collector) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (c collector) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for message := range claim.Messages() {
		c.values <- string(message.Key) + "=" + string(message.Value)
		session.MarkMessage(message, "")
	}
	return nil
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: sarama-scenario BROKERS TOPIC GROUP REPLICATION_FACTOR")
		os.Exit(2)
	}
	brokers, topic, group := strings.Split(os.Args[1], ","), os.Args[2], os.Args[3]
	replicationFactor, err := strconv.Atoi(os.Args[4])
	check(err, "replication factor")
	config := sarama.NewConfig()
	config.ClientID = "sarama-scenario"
	config.Version = sarama.V2_0_0_0
	config.Producer.Idempotent = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Retry.Max = 5
	config.Producer.Return.Successes = true
	config.Producer.Compression = sarama.CompressionSnappy
	config.Net.MaxOpenRequests = 1
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	var out summary

	admin, err := sarama.NewClusterAdmin(brokers, config)
	check(err, "admin")
	retention := "86400000"
	check(admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions: 3, ReplicationFactor: int16(replicationFactor), ConfigEntries: map[string]*string{"retention.ms": &retention},
	}, false), "create topic")
	shorter := "3600000"
	check(admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.ms": &shorter}, false), "alter config")
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	check(err, "describe config")
	for _, entry := range entries {
		if entry.Name == "retention.ms" {
			out.RetentionMs = entry.Value
		}
	}
	check(admin.CreatePartitions(topic, 4, nil, false), "create partitions")
	metadata, err := admin.DescribeTopics([]string{topic})
	check(err, "describe topics")
	out.Partitions = len(metadata[0].Partitions)

	producer, err := sarama.NewSyncProducer(brokers, config)
	check(err, "producer")
	for i := 0; i < records; i++ {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{
			Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("edge-%d", i%5)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)),
		})
		check(err, "produce")
		out.Produced++
	}
	check(producer.Close(), "close producer")

	consumerGroup, err := sarama.NewConsumerGroup(brokers, group, config)
	check(err, "consumer group")
	values := make(chan string, records)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := consumerGroup.Consume(ctx, []string{topic}, collector{values}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for len(out.Consumed) < records {
		select {
		case value := <-values:
			out.Consumed = append(out.Consumed, value)
		case <-ctx.Done():
			check(ctx.Err(), fmt.Sprintf("consume (%d of %d records)", len(out.Consumed), records))
		}
	}
	// Past the commit interval, so the marked offsets are committed before the group is left.
	time.Sleep(300 * time.Millisecond)
	cancel()
	check(<-done, "consume")
	check(consumerGroup.Close(), "close consumer group")
	sort.Strings(out.Consumed)

	groups, err := admin.ListConsumerGroups()
	check(err, "list groups")
	_, out.GroupListed = groups[group]
	descriptions, err := admin.DescribeConsumerGroups([]string{group})
	check(err, "describe groups")
	out.GroupState = descriptions[0].State
	partitions := []int32{0, 1, 2, 3}
	offsets, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
	check(err, "list group offsets")

	client, err := sarama.NewClient(brokers, config)
	check(err, "client")
	out.TrimmedFrom = -1
	for _, partition := range partitions {
		block := offsets.GetBlock(topic, partition)
		if block == nil || block.Err != sarama.ErrNoError {
			check(fmt.Errorf("no committed offset for partition %d", partition), "list group offsets")
		}
		out.CommittedTotal += block.Offset
		end, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
		check(err, "list offsets")
		if out.TrimmedFrom < 0 && end > 1 {
			out.TrimmedFrom = partition
		}
	}
	// Sent to the partition's leader with sarama's broker API: this sarama's ClusterAdmin.DeleteRecords sends
	// the request to the controller and ignores the partitions' errors, so on a cluster it trims only the
	// partitions the controller happens to lead, and says nothing of the others.
	leader, err := client.Leader(topic, out.TrimmedFrom)
	check(err, "leader")
	deleted, err := leader.DeleteRecords(&sarama.DeleteRecordsRequest{
		Topics:  map[string]*sarama.DeleteRecordsRequestTopic{topic: {PartitionOffsets: map[int32]int64{out.TrimmedFrom: 1}}},
		Timeout: 10 * time.Second,
	})
	check(err, "delete records")
	if partitionError := deleted.Topics[topic].Partitions[out.TrimmedFrom].Err; partitionError != sarama.ErrNoError {
		check(partitionError, "delete records")
	}
	out.LogStartOffset, err = client.GetOffset(topic, out.TrimmedFrom, sarama.OffsetOldest)
	check(err, "list offsets after delete records")
	check(client.Close(), "close client")

	clusterBrokers, _, err := admin.DescribeCluster()
	check(err, "describe cluster")
	out.Brokers = len(clusterBrokers)
	check(admin.Close(), "close admin")
	check(json.NewEncoder(os.Stdout).Encode(out), "print")
}
