"""Write topics.yaml and users.yaml from the code's catalogues (schemas/topics.py,
schemas/principals.py): `.venv/bin/python deploy/kubernetes/render_catalogue.py`.

Why generated: the files were written once by hand and drifted the first time a topic (the
disclosures) and a retention changed; tests/unit/deploy/test_kubernetes.py compares them with
the catalogues, and this makes following a catalogue change one command.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from schemas.principals import PRINCIPALS, grants  # noqa: E402
from schemas.topics import topic_specs  # noqa: E402

CLUSTER, APP_ID, PARTITIONS, REPLICAS = "consent", "consent", 6, 3
RESOURCE = {"topic": "topic", "group": "group", "transactional_id": "transactionalId"}
PATTERN = {"literal": "literal", "prefixed": "prefix"}

TOPICS_HEADER = """\
# The pipeline's topics, for the Strimzi Topic Operator: exactly schemas/topics.py with an empty
# topic prefix (tests/unit/deploy/test_kubernetes.py compares them; regenerate with
# render_catalogue.py). Every topic has the same partition count (CONSENT_PARTITIONS in
# pipeline.yaml): the send filter relies on partition p of mail-requests and of every consent
# input holding the same contacts. Adding partitions later breaks that: see README,
# Operations, "Scaling".
"""
USERS_HEADER = """\
# One KafkaUser per principal of schemas/principals.py, for the Strimzi User Operator: SCRAM-SHA-512,
# and exactly the ACLs `Principal.grants("", "consent")` gives (empty topic prefix, app id
# `consent`), compared by tests/unit/deploy/test_kubernetes.py; regenerate with
# render_catalogue.py. The operator keeps each password in a Secret named after the user;
# pipeline.yaml hands each process its own. No user is a super user: topics are the Topic
# Operator's, ACLs the User Operator's.
"""


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def topics() -> str:
    out = [TOPICS_HEADER]
    for spec in topic_specs():
        out += ["---", "apiVersion: kafka.strimzi.io/v1beta2", "kind: KafkaTopic", "metadata:",
                f"  name: {spec.name}", "  labels:", f"    strimzi.io/cluster: {CLUSTER}",
                "spec:", f"  partitions: {PARTITIONS}", f"  replicas: {REPLICAS}", "  config:"]
        out += [f"    {k}: {_q(v)}" for k, v in spec.config.items()]
    return "\n".join(out) + "\n"


def users() -> str:
    out = [USERS_HEADER]
    by_user: dict[str, dict[tuple[str, str, str], list[str]]] = {p.name: {} for p in PRINCIPALS}
    for g in grants("", APP_ID):
        key = (RESOURCE[g.resource.value], g.name, PATTERN[g.pattern.value])
        by_user[g.principal].setdefault(key, []).append(g.operation.value.capitalize())
    for p in PRINCIPALS:
        out += ["---", "apiVersion: kafka.strimzi.io/v1beta2", "kind: KafkaUser", "metadata:",
                f"  name: {p.name}", "  labels:", f"    strimzi.io/cluster: {CLUSTER}",
                "  annotations:", f"    consent/role: {_q(p.role)}", "spec:", "  authentication:",
                "    type: scram-sha-512", "  authorization:", "    type: simple", "    acls:"]
        for (rtype, name, pattern), ops in by_user[p.name].items():
            out += ["      - resource:", f"          type: {rtype}", f"          name: {name}",
                    f"          patternType: {pattern}",
                    f"        operations: [{', '.join(ops)}]", '        host: "*"']
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    (HERE / "topics.yaml").write_text(topics(), encoding="utf-8")
    (HERE / "users.yaml").write_text(users(), encoding="utf-8")
    print(f"wrote {HERE / 'topics.yaml'} and {HERE / 'users.yaml'}")
