#!/bin/bash
# Start the apache/kafka image with SCRAM-SHA-512 users (docker-compose.yml, service `kafka`).
#
# In KRaft mode SCRAM credentials live in the cluster metadata, so the first start formats the
# storage with them (`kafka-storage.sh format --add-scram`); later starts find it formatted and
# keep the users. The broker logs in to its own INTERNAL listener as `ring-broker`; kafka-init
# and the health check as `ring-admin`; each service as `ring-<service>`. Passwords come from
# SCRAM_*_PASSWORD (`ring keys` prints fresh ones); an unset one stops the broker here.
set -euo pipefail

# Every service but the gateway and the web app (no Kafka connection).
SERVICES="task matching voucher ledger dispute notification"
MECHANISM=SCRAM-SHA-512

need() { # variable
    if [ -z "${!1:-}" ]; then
        echo "kafka-start: $1 is not set (run \`ring keys\`)" >&2
        exit 1
    fi
}

need SCRAM_BROKER_PASSWORD
need SCRAM_ADMIN_PASSWORD
scram=(--add-scram "$MECHANISM=[name=ring-broker,password=$SCRAM_BROKER_PASSWORD]"
       --add-scram "$MECHANISM=[name=ring-admin,password=$SCRAM_ADMIN_PASSWORD]")
for service in $SERVICES; do
    variable="SCRAM_${service^^}_PASSWORD"
    need "$variable"
    scram+=(--add-scram "$MECHANISM=[name=ring-$service,password=${!variable}]")
done

# The broker's own login (inter-broker traffic on INTERNAL); the image wants it in KAFKA_OPTS.
cat > /tmp/ring-broker-jaas.conf <<JAAS
KafkaServer {
    org.apache.kafka.common.security.scram.ScramLoginModule required
    username="ring-broker" password="$SCRAM_BROKER_PASSWORD";
};
JAAS
export KAFKA_OPTS="${KAFKA_OPTS:-} -Djava.security.auth.login.config=/tmp/ring-broker-jaas.conf"

# Client settings of the admin user, for the health check.
cat > /tmp/ring-admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="ring-admin" password="$SCRAM_ADMIN_PASSWORD";
PROPERTIES

# Format once with the users (a formatted volume is left alone), from a minimal config.
cat > /tmp/ring-format.properties <<PROPERTIES
node.id=$KAFKA_NODE_ID
process.roles=$KAFKA_PROCESS_ROLES
controller.quorum.voters=$KAFKA_CONTROLLER_QUORUM_VOTERS
controller.listener.names=$KAFKA_CONTROLLER_LISTENER_NAMES
listeners=$KAFKA_LISTENERS
listener.security.protocol.map=$KAFKA_LISTENER_SECURITY_PROTOCOL_MAP
inter.broker.listener.name=$KAFKA_INTER_BROKER_LISTENER_NAME
log.dirs=$KAFKA_LOG_DIRS
PROPERTIES
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" \
    --config /tmp/ring-format.properties "${scram[@]}"

exec /etc/kafka/docker/run
