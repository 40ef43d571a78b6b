#!/usr/bin/env bash
# The compose stack's broker: the official apache/kafka image, single-node KRaft, with the
# authentication of deploy/local/kafka.sh (see its header for who authenticates how):
#   CLIENT     kafka:9093       SASL_SSL, SCRAM-SHA-512, for the pipeline's containers
#   HOST       localhost:19093  the same, published on the host's loopback for trying things
#   CONTROLLER kafka:9094       SSL, only the broker's own certificate (mutual TLS)
# The StandardAuthorizer allows nothing without an ACL; the super users are admin (setup only)
# and broker. Their SCRAM credentials are written when the storage is formatted, so there is
# no unauthenticated window. Secrets come from init-secrets.sh (mounted at $S).
set -euo pipefail

S=/run/secrets/kafka
CONF=/tmp/server.properties
DATA=/var/lib/kafka/data
KAFKA=/opt/kafka

(umask 077 && cat >"$CONF") <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9094
listeners=CLIENT://:9093,HOST://:19093,CONTROLLER://:9094
advertised.listeners=CLIENT://kafka:9093,HOST://localhost:19093
listener.security.protocol.map=CLIENT:SASL_SSL,HOST:SASL_SSL,CONTROLLER:SSL
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER

sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(<"$S/broker.password")";
listener.name.host.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.client.ssl.client.auth=none
listener.name.host.ssl.client.auth=none
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=broker\$/broker/,DEFAULT
ssl.keystore.type=PEM
ssl.keystore.location=$S/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$S/ca.crt
ssl.endpoint.identification.algorithm=https

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:broker

log.dirs=$DATA
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=6
PROPS

# what the healthcheck uses to prove the broker answers, authenticated, over TLS
(umask 077 && cat >/tmp/admin-client.properties) <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(<"$S/admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$S/ca.crt
PROPS

if [[ ! -f "$DATA/meta.properties" ]]; then
  # through a java @argfile, as kafka.sh does: passwords stay off the command line
  args=/tmp/format.args
  (umask 077 && printf '%s\n' kafka.tools.StorageTool format -t "$(<"$S/cluster.id")" -c "$CONF" \
    --add-scram "SCRAM-SHA-512=[name=admin,iterations=8192,password=$(<"$S/admin.password")]" \
    --add-scram "SCRAM-SHA-512=[name=broker,iterations=8192,password=$(<"$S/broker.password")]" \
    >"$args")
  java -cp "$KAFKA/libs/*" "@$args"
  rm -f "$args"
fi

exec "$KAFKA/bin/kafka-server-start.sh" "$CONF"
