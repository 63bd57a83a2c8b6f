#!/bin/sh
# One-shot topic creation for docker-compose (runs in the apache/kafka image, then exits 0).
#
# The broker has auto.create.topics.enable=false, so every topic Ring uses is created here with
# its retention: event topics keep every record (the replayable feed; consumers may start from
# the first event), dead-letter topics keep 30 days. Idempotent: existing topics are left alone.
set -eu

BOOTSTRAP="${RING_KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${RING_TOPIC_PARTITIONS:-4}"
REPLICATION="${RING_TOPIC_REPLICATION:-1}"
DLQ_RETENTION_MS=2592000000 # 30 days

# Log in as the SCRAM user `ring-admin` (created by kafka-start.sh).
if [ -z "${SCRAM_ADMIN_PASSWORD:-}" ]; then
    echo "kafka-init: SCRAM_ADMIN_PASSWORD is not set (run \`ring keys\`)" >&2
    exit 1
fi
CLIENT_CONFIG=/tmp/ring-admin.properties
cat > "$CLIENT_CONFIG" <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="ring-admin" password="$SCRAM_ADMIN_PASSWORD";
PROPERTIES

# Keep in sync with libs/events/src/ring_events/topics.py (tests/deploy checks it).
EVENT_TOPICS="ring.task.events ring.matching.events ring.voucher.events ring.ledger.events ring.dispute.events"

create() { # topic retention.ms
    /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" \
        --command-config "$CLIENT_CONFIG" --create --if-not-exists \
        --topic "$1" --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
        --config "retention.ms=$2" --config cleanup.policy=delete
}

for topic in $EVENT_TOPICS; do
    create "$topic" -1
    create "$topic.dlq" "$DLQ_RETENTION_MS"
done
# The relays' loss markers (ring_runtime.relay) and the signed audit checkpoints
# (ring_runtime.integrity): both kept for good, since their absence is what proves a loss.
PLATFORM_TOPICS="ring.relay.markers ring.audit.checkpoints"
for topic in $PLATFORM_TOPICS; do
    create "$topic" -1
done
/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_CONFIG" \
    --describe --exclude-internal
